//! `Extra`: the fields of an object that its type does not name.

use core::fmt;
use core::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The fields a server sent that the type does not name (a vendor's
/// additions such as `reasoning_content` or `x_groq`, or fields the API added
/// after this crate was generated), as received. Every generated struct has
/// one, flattened: they are written back on serialization.
///
/// It reads as a [`serde_json::Map`] (through `Deref`), so `extra.get("cost")`,
/// `extra["citations"]` and `extra.insert(..)` work. Its `Debug` hides the
/// value of any field whose name looks like a credential (`secret`,
/// `password`, `api_key`, `access_token`, ...), at any depth, since a server
/// may put one where no type expects it; the value itself is kept as sent.
///
/// ```
/// use oai_types::CompletionUsage;
///
/// let usage: CompletionUsage = serde_json::from_str(
///     r#"{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,
///         "prompt_cache_hit_tokens":4,"client_secret":"ek_live"}"#,
/// )?;
/// assert_eq!(usage.extra["prompt_cache_hit_tokens"], 4);
/// let shown = format!("{usage:?}");
/// assert!(shown.contains("prompt_cache_hit_tokens") && !shown.contains("ek_live"));
/// assert!(serde_json::to_string(&usage)?.contains("ek_live"));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Most objects have no such field: an empty `Extra` takes one word and no
/// allocation, so that it costs the types that carry it next to nothing.
#[derive(Clone, Default)]
pub struct Extra(Option<Box<Map<String, Value>>>);

/// What an empty `Extra` reads as.
static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl Extra {
    /// No fields.
    pub fn new() -> Self {
        Self(None)
    }

    /// The map.
    pub fn into_inner(self) -> Map<String, Value> {
        self.0.map(|m| *m).unwrap_or_default()
    }
}

impl Deref for Extra {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Self::Target {
        self.0.as_deref().unwrap_or(&EMPTY)
    }
}

impl DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for Extra {
    /// Equal when they hold the same fields (an empty map and none alike).
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(map)))
        }
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Self::from)
    }
}

impl crate::tolerant::Empty for Extra {
    fn empty() -> Self {
        Self::new()
    }
}

/// Parts of field names that mark a credential in a JSON document.
const CREDENTIAL_WORDS: &[&str] = &[
    "secret",
    "passw",
    "credential",
    "authoriz",
    "cookie",
    "api_key",
    "apikey",
    "private_key",
    "access_token",
    "refresh_token",
    "id_token",
    "session_token",
    "bearer",
];

fn is_credential_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|w| lower.contains(w))
}

/// A JSON value shown with credential-named fields hidden.
struct Shown<'a>(&'a Value);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Object(map) => Fields(map).fmt(f),
            Value::Array(items) => f.debug_list().entries(items.iter().map(Shown)).finish(),
            other => fmt::Debug::fmt(other, f),
        }
    }
}

struct Fields<'a>(&'a Map<String, Value>);

impl fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            if is_credential_name(name) && !value.is_null() {
                m.entry(name, &format_args!("[REDACTED]"));
            } else {
                m.entry(name, &Shown(value));
            }
        }
        m.finish()
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Fields(self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Extra;

    #[test]
    fn debug_hides_credential_named_fields_at_any_depth() {
        let extra: Extra = serde_json::from_str(
            r#"{"cost":0.5,"session":{"client_secret":{"value":"ek_1"},"api_key":"sk-2"},
                "list":[{"Password":"p3"}],"access_token":null}"#,
        )
        .unwrap_or_default();
        let shown = format!("{extra:?}");
        for secret in ["ek_1", "sk-2", "p3"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("cost") && shown.contains("0.5"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
        assert_eq!(extra["session"]["api_key"], "sk-2");
    }

    #[test]
    fn empty_takes_a_word_and_fills_on_demand() {
        assert_eq!(std::mem::size_of::<Extra>(), std::mem::size_of::<usize>());
        let mut extra = Extra::new();
        assert!(extra.is_empty() && extra.get("x").is_none());
        assert_eq!(extra, Extra::from(serde_json::Map::new()));
        assert_eq!(serde_json::to_string(&extra).unwrap_or_default(), "{}");
        extra.insert("x".into(), 1.into());
        assert_eq!(extra["x"], 1);
        assert_ne!(extra, Extra::new());
        assert_eq!(extra.clone().into_inner().len(), 1);
    }
}
