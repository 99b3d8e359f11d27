//! [`SecretValue`]: a credential inside an API value, hidden from `Debug`.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A credential carried by an API value: an API key the server returns once
/// on creation, an ephemeral client secret, an access token a request hands
/// to a tool server.
///
/// On the wire it is a plain JSON string, read and written unchanged, so a
/// value decoded from an answer can be sent back. In Rust it shows nothing:
/// `Debug` prints `[REDACTED]` and there is no `Display`, so logging a whole
/// answer (`{:?}`) never prints the credential; the text is reached only
/// through [`expose_secret`](Self::expose_secret). Equality compares every
/// byte (it does not stop at the first difference), and the buffer is
/// overwritten with zeros when the value is dropped. Copies made on the way
/// in (the response body, a parser's scratch buffer) are not this type's to
/// clear.
///
/// The fields of this type are listed in one place, the generator's
/// `SECRET_FIELDS` (`xtask/src/codegen/secrets.rs`).
///
/// ```
/// use oai_types::SecretValue;
///
/// let key: SecretValue = serde_json::from_str("\"sk-admin-1234\"").unwrap();
/// assert_eq!(format!("{key:?}"), "[REDACTED]");
/// assert_eq!(key.expose_secret(), "sk-admin-1234");
/// assert_eq!(serde_json::to_string(&key).unwrap(), "\"sk-admin-1234\"");
/// ```
#[derive(Clone)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        SecretValue(secret.into())
    }

    /// The credential's text. Whatever the caller does with it (print it,
    /// log it) is no longer hidden.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for SecretValue {}

impl Drop for SecretValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<String> for SecretValue {
    fn from(secret: String) -> Self {
        SecretValue(secret)
    }
}

impl From<&str> for SecretValue {
    fn from(secret: &str) -> Self {
        SecretValue(secret.to_owned())
    }
}

impl Serialize for SecretValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SecretValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(SecretValue(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(SecretValue(s))
            }
        }
        d.deserialize_string(V)
    }
}

impl crate::tolerant::Empty for SecretValue {
    fn empty() -> Self {
        Self(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::SecretValue;

    #[test]
    fn debug_hides_and_the_wire_form_is_a_plain_string() {
        let v: SecretValue = match serde_json::from_str("\"ek_abc\\u0041def\"") {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(v.expose_secret(), "ek_abcAdef");
        assert_eq!(format!("{v:?}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(v.clone())), "Some([REDACTED])");
        assert_eq!(serde_json::to_value(&v).ok(), Some("ek_abcAdef".into()));
        assert!(serde_json::from_str::<SecretValue>("42").is_err());
    }

    #[test]
    fn equality_compares_the_whole_text() {
        assert_eq!(SecretValue::from("abc"), SecretValue::new("abc"));
        assert_ne!(SecretValue::from("abc"), SecretValue::from("abd"));
        assert_ne!(SecretValue::from("abc"), SecretValue::from("ab"));
        assert_ne!(SecretValue::from(""), SecretValue::from("a"));
    }
}
