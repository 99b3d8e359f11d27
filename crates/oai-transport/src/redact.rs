//! Header redaction for logs and `Debug` output.

use std::fmt;

use http::{HeaderMap, HeaderName};

/// Header names whose values never appear in logs or `Debug` output.
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api-key",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Whether `name` is one of [`SENSITIVE_HEADERS`].
pub fn is_sensitive(name: &HeaderName) -> bool {
    SENSITIVE_HEADERS.contains(&name.as_str())
}

/// Formats a header map with sensitive values (by name, or marked sensitive)
/// replaced by `[REDACTED]`.
pub struct Headers<'a>(pub &'a HeaderMap);

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            if is_sensitive(name) || value.is_sensitive() {
                m.entry(&name.as_str(), &"[REDACTED]");
            } else {
                m.entry(&name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
            }
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn redacts_by_name_and_flag() {
        let mut h = HeaderMap::new();
        for name in SENSITIVE_HEADERS {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static("s3cret-a"),
            );
        }
        let mut marked = HeaderValue::from_static("s3cret-b");
        marked.set_sensitive(true);
        h.insert("x-custom", marked);
        h.insert("x-request-id", HeaderValue::from_static("req_1"));
        let text = format!("{:?}", Headers(&h));
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("req_1"));
        assert_eq!(
            text.matches("[REDACTED]").count(),
            SENSITIVE_HEADERS.len() + 1
        );
    }
}
