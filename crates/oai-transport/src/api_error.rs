//! The error object the API puts in a failed response's body.
//!
//! The usual shape is `{"error": {"message", "type", "param", "code"}}`; servers
//! that speak the protocol loosely send `{"error": "text"}`, a bare
//! `{"message": ...}`, or an HTML page from a proxy. Every shape yields details;
//! none panics (the `error_body` fuzz target checks it).

use serde::Deserialize;
use serde_json::Value;

use crate::error::EXCERPT_CHARS;
use crate::redact::Scrubber;

/// Longest `message` kept from a server body, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Longest `type`, `code` or `param` kept, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// The API's description of a failure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiErrorDetails {
    message: String,
    error_type: Option<String>,
    code: Option<String>,
    param: Option<String>,
    raw_excerpt: Option<String>,
}

impl ApiErrorDetails {
    /// Details with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: clip(message.into(), MAX_MESSAGE_BYTES),
            ..Self::default()
        }
    }

    /// Sets `type`.
    #[must_use]
    pub fn with_type(mut self, t: impl Into<String>) -> Self {
        self.error_type = Some(clip(t.into(), MAX_FIELD_BYTES));
        self
    }

    /// Sets `code`.
    #[must_use]
    pub fn with_code(mut self, c: impl Into<String>) -> Self {
        self.code = Some(clip(c.into(), MAX_FIELD_BYTES));
        self
    }

    /// Sets `param`.
    #[must_use]
    pub fn with_param(mut self, p: impl Into<String>) -> Self {
        self.param = Some(clip(p.into(), MAX_FIELD_BYTES));
        self
    }

    /// The human-readable message (empty when the server sent none).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The error `type`, such as `invalid_request_error`.
    pub fn error_type(&self) -> Option<&str> {
        self.error_type.as_deref()
    }
    /// The error `code`, such as `insufficient_quota`; numeric codes are given as text.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    /// The request parameter the error is about.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }
    /// For a body that was not a JSON error object, a short excerpt of it.
    pub fn raw_excerpt(&self) -> Option<&str> {
        self.raw_excerpt.as_deref()
    }

    /// Replaces every occurrence of `secret` (and every 8-byte piece of it) in
    /// the text fields by `[REDACTED]`. Details read by the transport are
    /// already scrubbed before they were cut; this is for details built by hand.
    pub fn redact(&mut self, secret: &str) {
        self.scrub_with(&Scrubber::new().with_secret(secret));
    }

    /// Scrubs every text field with `scrub`.
    pub fn scrub_with(&mut self, scrub: &Scrubber) {
        if scrub.is_empty() {
            return;
        }
        for field in [
            Some(&mut self.message),
            self.error_type.as_mut(),
            self.code.as_mut(),
            self.param.as_mut(),
            self.raw_excerpt.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let std::borrow::Cow::Owned(clean) = scrub.scrub(field) {
                *field = clean;
            }
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default, rename = "type")]
    error_type: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    param: Option<Value>,
}

/// Reads the error details out of a failed response's body.
///
/// Always returns details: when the body is not a recognizable JSON error the
/// message names the status and the details keep an excerpt of the body. Every
/// text is scrubbed with `scrub` before it is cut.
pub fn parse_error_body(status: Option<u16>, body: &[u8], scrub: &Scrubber) -> ApiErrorDetails {
    if let Some(d) = parse_json_error(body, scrub) {
        return d;
    }
    let trimmed = body.trim_ascii();
    let mut d = ApiErrorDetails::new(match status {
        Some(s) if trimmed.is_empty() => format!("the server answered {s} with an empty body"),
        Some(s) => format!("the server answered {s} with a body that is not a JSON error"),
        None => "the server sent an error that is not a JSON error object".to_owned(),
    });
    if !trimmed.is_empty() {
        d.raw_excerpt = Some(scrub.excerpt(trimmed, EXCERPT_CHARS));
    }
    d
}

/// The JSON shapes only; `None` when the body is not one of them. Every text is
/// scrubbed with `scrub` before it is cut.
pub fn parse_json_error(body: &[u8], scrub: &Scrubber) -> Option<ApiErrorDetails> {
    let env: Envelope = serde_json::from_slice(body).ok()?;
    match env.error {
        Some(Value::Object(obj)) => Some(from_fields(
            obj.get("message"),
            obj.get("type"),
            obj.get("code"),
            obj.get("param"),
            scrub,
        )),
        Some(Value::String(s)) => Some(from_fields(
            Some(&Value::String(s)),
            None,
            None,
            None,
            scrub,
        )),
        Some(Value::Null) | None => {
            // A bare object with a message, as the Responses stream `error` event.
            if env.message.is_some() {
                Some(from_fields(
                    env.message.as_ref(),
                    env.error_type.as_ref(),
                    env.code.as_ref(),
                    env.param.as_ref(),
                    scrub,
                ))
            } else {
                None
            }
        }
        Some(other) => Some(from_fields(Some(&other), None, None, None, scrub)),
    }
}

fn from_fields(
    message: Option<&Value>,
    error_type: Option<&Value>,
    code: Option<&Value>,
    param: Option<&Value>,
    scrub: &Scrubber,
) -> ApiErrorDetails {
    let field = |v: Option<&Value>| -> Option<String> {
        match v {
            None | Some(Value::Null) => None,
            Some(v) => Some(clip(scrub.scrub(&text_of(v)).into_owned(), MAX_FIELD_BYTES)),
        }
    };
    ApiErrorDetails {
        message: message
            .map(|m| clip(scrub.scrub(&text_of(m)).into_owned(), MAX_MESSAGE_BYTES))
            .unwrap_or_default(),
        error_type: field(error_type),
        code: field(code),
        param: field(param),
        raw_excerpt: None,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        type Case<'a> = (
            &'a [u8],
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case<'_>] = &[
            (
                br#"{"error":{"message":"You exceeded your quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
                "You exceeded your quota",
                Some("insufficient_quota"),
                Some("insufficient_quota"),
                None,
            ),
            (
                br#"{"error":{"message":"bad","type":"invalid_request_error","param":"messages[0]","code":400}}"#,
                "bad",
                Some("invalid_request_error"),
                Some("400"),
                Some("messages[0]"),
            ),
            (br#"{"error":"plain text"}"#, "plain text", None, None, None),
            (
                br#"{"type":"error","code":"server_error","message":"boom","param":null}"#,
                "boom",
                Some("error"),
                Some("server_error"),
                None,
            ),
        ];
        for (body, msg, ty, code, param) in cases {
            let d = parse_error_body(Some(400), body, &Scrubber::new());
            assert_eq!(d.message(), *msg);
            assert_eq!(d.error_type(), *ty);
            assert_eq!(d.code(), *code);
            assert_eq!(d.param(), *param);
            assert!(d.raw_excerpt().is_none());
        }
    }

    #[test]
    fn html_body_gives_clear_details() {
        let d = parse_error_body(
            Some(502),
            b"<html><body><h1>502 Bad Gateway</h1></body></html>\n",
            &Scrubber::new(),
        );
        assert!(d.message().contains("502"));
        assert!(d.raw_excerpt().is_some_and(|e| e.contains("Bad Gateway")));
        let empty = parse_error_body(Some(500), b"  ", &Scrubber::new());
        assert!(empty.message().contains("empty"));
        assert!(empty.raw_excerpt().is_none());
    }

    #[test]
    fn long_fields_are_clipped() {
        let long = "é".repeat(10_000);
        let body = serde_json::json!({"error": {"message": long, "code": long}}).to_string();
        let d = parse_error_body(Some(400), body.as_bytes(), &Scrubber::new());
        assert!(d.message().len() <= MAX_MESSAGE_BYTES + 3);
        assert!(d.code().is_some_and(|c| c.len() <= MAX_FIELD_BYTES + 3));
    }

    #[test]
    fn redact_removes_secret_everywhere() {
        let mut d = ApiErrorDetails::new("Incorrect API key provided: sk-live-123")
            .with_param("sk-live-123")
            .with_code("x");
        d.redact("sk-live-123");
        assert!(!d.message().contains("sk-live-123"));
        assert_eq!(d.param(), Some("[REDACTED]"));
    }

    #[test]
    fn scrubbed_before_clipped() {
        // The key straddles the message cap: a prefix of it would survive a
        // cut made before the scrub.
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
        for pad in (MAX_MESSAGE_BYTES - key.len())..=MAX_MESSAGE_BYTES {
            let msg = format!("{}{key}", "x".repeat(pad));
            let body = serde_json::json!({"error": {"message": msg, "code": msg}}).to_string();
            let d = parse_error_body(
                Some(401),
                body.as_bytes(),
                &Scrubber::new().with_secret(key),
            );
            assert!(!d.message().contains("sk-proj-"), "pad {pad}");
            assert!(!d.message().contains("abcdefgh"), "pad {pad}");
            assert!(!d.code().unwrap_or("").contains("sk-proj-"), "pad {pad}");
        }
    }
}
