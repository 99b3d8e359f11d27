//! The error object the API puts in a failed response's body.
//!
//! The usual shape is `{"error": {"message", "type", "param", "code"}}`; servers
//! that speak the protocol loosely send `{"error": "text"}`, a bare
//! `{"message": ...}`, an array of errors, FastAPI's `{"detail": ...}`, a
//! problem document, an error framed as an event stream, or an HTML page from
//! a proxy (see [`parse_error_body`]). Every shape yields details; none panics
//! (the `error_body` fuzz target checks it).

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

/// The text fields found in one JSON error shape, before they are scrubbed
/// and cut.
#[derive(Default)]
struct Found {
    message: Option<String>,
    error_type: Option<String>,
    code: Option<String>,
    param: Option<String>,
}

impl Found {
    /// `self`, with the fields it lacks taken from `other`.
    fn or(self, other: Found) -> Found {
        Found {
            message: self.message.or(other.message),
            error_type: self.error_type.or(other.error_type),
            code: self.code.or(other.code),
            param: self.param.or(other.param),
        }
    }

    fn into_details(self, scrub: &Scrubber) -> ApiErrorDetails {
        let cut = |s: String, max| clip(scrub.scrub(&s).into_owned(), max);
        ApiErrorDetails {
            message: self
                .message
                .map(|m| cut(m, MAX_MESSAGE_BYTES))
                .unwrap_or_default(),
            error_type: self.error_type.map(|t| cut(t, MAX_FIELD_BYTES)),
            code: self.code.map(|c| cut(c, MAX_FIELD_BYTES)),
            param: self.param.map(|p| cut(p, MAX_FIELD_BYTES)),
            raw_excerpt: None,
        }
    }
}

/// How deep the shapes are searched (an array of wrappers of a message that
/// is the JSON text of another error...).
const MAX_DEPTH: usize = 6;
/// How many elements of an array of errors are looked at.
const MAX_LIST: usize = 8;
/// How many FastAPI validation items the message names.
const MAX_VALIDATION_ITEMS: usize = 4;

/// Reads the error details out of a failed response's body.
///
/// The shapes read, as real servers send them:
///
/// - `{"error": {"message", "type", "code", "param"}}` (OpenAI; `type` absent
///   or `null` on Azure; `code` a number on several servers; Google's `status`
///   is read as the type when there is no `type`);
/// - `{"error": "text"}` (with TGI's `error_type`), and a bare
///   `{"message", "type", "code", "param"}` (vLLM, Mistral, the Responses
///   stream's `error` event), whose `message` may itself be an object;
/// - an array of those (`[{"error": {...}}]`, Gemini's OpenAI endpoint), and
///   `{"errors": [...]}`;
/// - FastAPI's `{"detail": "text"}` and `{"detail": [{"loc", "msg", "type"}]}`
///   (llama-cpp-python, vLLM): each item reads `body.messages.0: Field
///   required`, and the `input` an item echoes is never kept;
/// - `application/problem+json`: `title` and `detail` make the message, `type`
///   the type (`about:blank` is none);
/// - a message that is itself the JSON text of an error (a gateway passing its
///   upstream's error on): the inner message is kept, and the inner fields
///   fill those the outer error lacks;
/// - any of those framed as an event stream (`data: {"error": ...}` lines), as
///   a gateway answers a streamed request that failed.
///
/// A `type`, `code` or `param` that is empty, `null` or the text `None` (some
/// Python gateways send that) is absent. Always returns details: when the body
/// is none of those shapes the message names the status and the details keep
/// an excerpt of the body. Every text is scrubbed with `scrub` before it is cut.
pub fn parse_error_body(status: Option<u16>, body: &[u8], scrub: &Scrubber) -> ApiErrorDetails {
    if let Some(d) = parse_json_error(body, scrub) {
        return d;
    }
    if let Some(d) = parse_event_stream_error(body, scrub) {
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

/// The JSON shapes only (see [`parse_error_body`]); `None` when the body is
/// not one of them. Every text is scrubbed with `scrub` before it is cut.
pub fn parse_json_error(body: &[u8], scrub: &Scrubber) -> Option<ApiErrorDetails> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some(find(&value, 0)?.into_details(scrub))
}

/// An error body framed as an event stream: the first event whose data is a
/// JSON error. The last event counts without its closing blank line too (the
/// body is whole).
fn parse_event_stream_error(body: &[u8], scrub: &Scrubber) -> Option<ApiErrorDetails> {
    let text = std::str::from_utf8(body).ok()?;
    let mut data = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty()
                && let Some(d) = parse_json_error(data.as_bytes(), scrub)
            {
                return Some(d);
            }
            data.clear();
        } else if let Some(rest) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    None
}

/// The error `v` describes, when it has one of the shapes.
fn find(v: &Value, depth: usize) -> Option<Found> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Array(items) => items.iter().take(MAX_LIST).find_map(|i| find(i, depth + 1)),
        Value::Object(obj) => find_in_object(obj, depth),
        _ => None,
    }
}

fn find_in_object(obj: &serde_json::Map<String, Value>, depth: usize) -> Option<Found> {
    // What the object says besides its message.
    let own = Found {
        message: None,
        error_type: field(obj.get("type"))
            .filter(|t| t != "about:blank")
            .or_else(|| field(obj.get("error_type")))
            .or_else(|| field(obj.get("status").filter(|s| s.is_string()))),
        code: field(obj.get("code")),
        param: field(obj.get("param")),
    };
    match obj.get("error") {
        Some(e @ (Value::Object(_) | Value::Array(_))) => {
            if let Some(inner) = find(e, depth + 1) {
                return Some(inner.or(own));
            }
        }
        Some(Value::String(s)) => return Some(own.or(text_message(s, depth))),
        Some(Value::Null) | None => {}
        Some(other) => {
            return Some(own.or(Found {
                message: Some(other.to_string()),
                ..Found::default()
            }));
        }
    }
    if let Some(Value::Array(errors)) = obj.get("errors")
        && let Some(inner) = errors
            .iter()
            .take(MAX_LIST)
            .find_map(|e| find(e, depth + 1))
    {
        return Some(inner.or(own));
    }
    match obj.get("detail") {
        Some(Value::String(detail)) => {
            // FastAPI's `{"detail": "..."}`, or a problem document's.
            let message = match obj.get("title").and_then(Value::as_str) {
                Some(title) if !title.trim().is_empty() && title != detail => {
                    format!("{title}: {detail}")
                }
                _ => detail.clone(),
            };
            return Some(Found {
                message: Some(message),
                ..own
            });
        }
        Some(Value::Array(items)) => {
            if let Some(found) = validation_items(items) {
                return Some(own.or(found));
            }
        }
        Some(detail @ Value::Object(_)) => {
            if let Some(inner) = find(detail, depth + 1) {
                return Some(own.or(inner));
            }
        }
        _ => {}
    }
    for key in ["message", "msg"] {
        match obj.get(key) {
            Some(Value::String(s)) => return Some(own.or(text_message(s, depth))),
            Some(m @ (Value::Object(_) | Value::Array(_))) => {
                let inner = find(m, depth + 1).unwrap_or_else(|| Found {
                    message: Some(m.to_string()),
                    ..Found::default()
                });
                return Some(own.or(inner));
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                return Some(own.or(Found {
                    message: Some(other.to_string()),
                    ..Found::default()
                }));
            }
        }
    }
    if let Some(title) = obj.get("title").and_then(Value::as_str)
        && !title.trim().is_empty()
    {
        return Some(Found {
            message: Some(title.to_owned()),
            ..own
        });
    }
    // A code or a type without any message still says what failed (a
    // `status` alone does not: `{"status": "ok"}` is no error).
    let named_type = ["type", "error_type"]
        .iter()
        .any(|k| field(obj.get(*k)).is_some_and(|t| t != "about:blank"));
    if own.code.is_some() || named_type {
        return Some(own);
    }
    None
}

/// A message text; when it is itself the JSON text of an error (a gateway
/// passing its upstream's error on), that error.
fn text_message(text: &str, depth: usize) -> Found {
    let trimmed = text.trim_start();
    if depth < MAX_DEPTH
        && (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(inner) = serde_json::from_str::<Value>(text)
        && let Some(found) = find(&inner, depth + 1)
        && found
            .message
            .as_deref()
            .is_some_and(|m| !m.trim().is_empty())
    {
        return found;
    }
    Found {
        message: Some(text.to_owned()),
        ..Found::default()
    }
}

/// FastAPI's validation items, `{"loc": [...], "msg": "...", "type": "..."}`:
/// `loc.joined: msg` for the first few, the first item's `type` as the type.
/// The `input` an item may echo is never read.
fn validation_items(items: &[Value]) -> Option<Found> {
    let mut lines = Vec::new();
    let mut first_type = None;
    let mut usable = 0usize;
    for item in items {
        let line = match item {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("msg").and_then(Value::as_str).map(|msg| {
                let loc: Vec<String> = match o.get("loc") {
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| match p {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                if first_type.is_none() {
                    first_type = field(o.get("type"));
                }
                if loc.is_empty() {
                    msg.to_owned()
                } else {
                    format!("{}: {msg}", loc.join("."))
                }
            }),
            _ => None,
        };
        if let Some(line) = line {
            usable += 1;
            if lines.len() < MAX_VALIDATION_ITEMS {
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let mut message = lines.join("; ");
    if usable > lines.len() {
        message.push_str(&format!("; and {} more", usable - lines.len()));
    }
    Some(Found {
        message: Some(message),
        error_type: first_type,
        ..Found::default()
    })
}

/// A `type`, `code` or `param` value as text: numbers and booleans written
/// out; absent when null, empty, `None`/`null` as text, or not a scalar.
fn field(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty() && t != "None" && t != "null").then(|| s.clone())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
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

    /// What one body should give: message, type, code, param.
    type Want<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn check(body: &str, want: Want<'_>) {
        let d = parse_error_body(Some(400), body.as_bytes(), &Scrubber::new());
        assert_eq!(
            (d.message(), d.error_type(), d.code(), d.param()),
            want,
            "{body}"
        );
        assert!(d.raw_excerpt().is_none(), "{body}");
    }

    /// Bodies real servers sent, as recorded in public reports (the source
    /// is named above each).
    #[test]
    fn recorded_bodies_of_real_servers() {
        // Azure OpenAI, no `type` (chatboxai/chatbox#861).
        check(
            r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#,
            (
                "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
                None,
                Some("DeploymentNotFound"),
                None,
            ),
        );
        // Azure OpenAI's content filter, no `type` and an `innererror`
        // (openai/openai-agents-python#806); and the same with `type` null.
        let filtered = r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","code":"content_filter","innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"jailbreak":{"detected":true,"filtered":true}}}}}"#;
        let with_null = filtered.replace(
            r#""code":"content_filter","#,
            r#""type":null,"param":"prompt","code":"content_filter","#,
        );
        for (body, param) in [(filtered, None), (with_null.as_str(), Some("prompt"))] {
            check(
                body,
                (
                    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
                    None,
                    Some("content_filter"),
                    param,
                ),
            );
        }
        // vLLM, no wrapper and an integer code (QwenLM/Qwen3#998).
        check(
            r#"{"object":"error","message":"name 'Extension' is not defined","type":"BadRequestError","param":null,"code":400}"#,
            (
                "name 'Extension' is not defined",
                Some("BadRequestError"),
                Some("400"),
                None,
            ),
        );
        // Gemini's OpenAI endpoint: an array of errors, `status` and no `type`
        // (google-gemini/gemini-cli#12823).
        check(
            r#"[{"error":{"code":400,"message":"Request contains an invalid argument.","errors":[{"message":"Request contains an invalid argument.","domain":"global","reason":"badRequest"}],"status":"INVALID_ARGUMENT"}}]"#,
            (
                "Request contains an invalid argument.",
                Some("INVALID_ARGUMENT"),
                Some("400"),
                None,
            ),
        );
        // llama-cpp-python's 401 (FastAPI `HTTPException`, `authenticate` in
        // llama_cpp/server/app.py).
        check(
            r#"{"detail":"Invalid API key"}"#,
            ("Invalid API key", None, None, None),
        );
        // FastAPI validation, pydantic 1 (hiyouga/LlamaFactory#2644).
        check(
            r#"{"detail":[{"loc":["body","messages",2,"content"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]}"#,
            (
                "body.messages.2.content: none is not an allowed value",
                Some("type_error.none.not_allowed"),
                None,
                None,
            ),
        );
        // A problem document (NVIDIA NGC's `ProblemDetail`, as its CLI
        // prints it in public reports).
        check(
            r#"{"type":"urn:kaizen:problem-details:artifact-not-found","title":"Not Found","status":404,"detail":"Model not found"}"#,
            (
                "Not Found: Model not found",
                Some("urn:kaizen:problem-details:artifact-not-found"),
                None,
                None,
            ),
        );
        // A gateway passing Gemini's error on as the JSON text of its
        // message (lbjlaq/Antigravity-Manager#1942): the inner message, the
        // outer `status` as the type.
        check(
            r#"{"error":{"code":400,"message":"{\n  \"error\": {\n    \"code\": 400,\n    \"message\": \"Request contains an invalid argument.\",\n    \"status\": \"INVALID_ARGUMENT\"\n  }\n}\n","status":"UPSTREAM_ERROR"}}"#,
            (
                "Request contains an invalid argument.",
                Some("UPSTREAM_ERROR"),
                Some("400"),
                None,
            ),
        );
        // LiteLLM's proxy writes Python's `None` as text (a 429 of NVIDIA's
        // inference API, quoted in a public task log).
        check(
            r#"{"error":{"message":"{'error': 'Priority-based rate limit exceeded. Priority: dev, Rate limit type: tokens, Remaining: -354884, Model saturation: 72.1%'}","type":"None","param":"None","code":"429"}}"#,
            (
                "{'error': 'Priority-based rate limit exceeded. Priority: dev, Rate limit type: tokens, Remaining: -354884, Model saturation: 72.1%'}",
                None,
                Some("429"),
                None,
            ),
        );
        // Hugging Face TGI/TEI: a string `error` and `error_type` (a 413
        // quoted in infiniflow/ragflow's API tests).
        check(
            r#"{"error":"Input validation error: `inputs` cannot be empty","error_type":"Validation"}"#,
            (
                "Input validation error: `inputs` cannot be empty",
                Some("Validation"),
                None,
                None,
            ),
        );
        // Anthropic's shape (its errors documentation): the inner type wins.
        check(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ("Overloaded", Some("overloaded_error"), None, None),
        );
    }

    /// OpenRouter's error for a Gemini quota, as its stream carried it
    /// (vercel/ai#2698), framed as a gateway frames the body of a streamed
    /// request that failed: with and without the closing blank line, after
    /// a comment and an `event` line.
    #[test]
    fn an_error_framed_as_an_event_stream() {
        let payload = r#"{"error":{"message":"{\n  \"error\": {\n    \"code\": 429,\n    \"message\": \"Resource has been exhausted (e.g. check quota).\",\n    \"status\": \"RESOURCE_EXHAUSTED\"\n  }\n}\n","code":429}}"#;
        for body in [
            format!("data: {payload}\n\n"),
            format!("data: {payload}"),
            format!(
                ": keep-alive\r\n\r\nevent: error\r\ndata:{payload}\r\n\r\ndata: [DONE]\r\n\r\n"
            ),
            format!("data: not json\n\ndata: {payload}\n\n"),
        ] {
            check(
                &body,
                (
                    "Resource has been exhausted (e.g. check quota).",
                    Some("RESOURCE_EXHAUSTED"),
                    Some("429"),
                    None,
                ),
            );
        }
        // A stream of no error is no error.
        let d = parse_error_body(Some(500), b"data: {\"a\":1}\n\n", &Scrubber::new());
        assert!(d.message().contains("not a JSON error"), "{d:?}");
        assert!(d.raw_excerpt().is_some());
    }

    /// FastAPI on pydantic 2 echoes the request in `input`: never kept. Many
    /// items are cut after four. Mistral nests such a list in `message`.
    #[test]
    fn validation_lists() {
        let body = serde_json::json!({"detail": [
            {"type": "missing", "loc": ["body", "model"], "msg": "Field required",
             "input": {"messages": [{"role": "user", "content": "my secret prompt"}]}},
            {"type": "string_type", "loc": ["body", "messages", 0, "content"], "msg": "Input should be a valid string", "input": 5},
            {"type": "x", "loc": [], "msg": "third"},
            {"type": "x", "loc": ["body"], "msg": "fourth"},
            {"type": "x", "loc": ["body"], "msg": "fifth"},
            {"type": "x", "loc": ["body"], "msg": "sixth"},
            {"no": "msg"},
        ]})
        .to_string();
        check(
            &body,
            (
                "body.model: Field required; body.messages.0.content: Input should be a valid string; third; body: fourth; and 2 more",
                Some("missing"),
                None,
                None,
            ),
        );
        check(
            r#"{"object":"error","message":{"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{}}]},"type":"invalid_request_message_error","param":null,"code":null}"#,
            (
                "body.messages: Field required",
                Some("invalid_request_message_error"),
                None,
                None,
            ),
        );
    }

    #[test]
    fn other_shapes() {
        // A code without any message still names the failure.
        check(
            r#"{"error":{"code":"Unauthorized"}}"#,
            ("", None, Some("Unauthorized"), None),
        );
        // `errors` lists; `msg`; empty fields are absent; a title alone.
        check(
            r#"{"success":false,"errors":[{"code":7003,"message":"No route for the URI"}]}"#,
            ("No route for the URI", None, Some("7003"), None),
        );
        check(
            r#"{"code":1214,"msg":"bad model"}"#,
            ("bad model", None, Some("1214"), None),
        );
        check(
            r#"{"error":{"message":"x","type":"","code":" ","param":"null"}}"#,
            ("x", None, None, None),
        );
        check(
            r#"{"type":"about:blank","title":"Too Many Requests","status":429}"#,
            ("Too Many Requests", None, None, None),
        );
        // A message that looks like JSON but holds no error stays as sent.
        check(
            r#"{"message":"{not json"}"#,
            ("{not json", None, None, None),
        );
        check(r#"{"message":"[1, 2]"}"#, ("[1, 2]", None, None, None));
        // Nothing error-like: not an error.
        for body in [r#"{"status":"ok"}"#, "[]", "[1]", "\"text\"", "{}"] {
            let d = parse_error_body(Some(400), body.as_bytes(), &Scrubber::new());
            assert!(d.message().contains("not a JSON error"), "{body}: {d:?}");
        }
        // Deep nesting ends, without an error found or a panic.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let d = parse_error_body(Some(400), deep.as_bytes(), &Scrubber::new());
        assert!(d.message().contains("not a JSON error"));
    }

    /// The key echoed through a nested message, a validation item and an
    /// event-stream body is scrubbed.
    #[test]
    fn every_new_shape_is_scrubbed() {
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
        let scrub = Scrubber::new().with_secret(key);
        let nested = serde_json::json!({"error": {"message": serde_json::json!({"error": {"message": format!("bad key {key}"), "code": key}}).to_string()}}).to_string();
        let validation = serde_json::json!({"detail": [{"loc": ["body", key], "msg": format!("no {key}"), "type": key}]}).to_string();
        let problem = serde_json::json!({"title": key, "detail": key, "type": key}).to_string();
        let framed = format!("data: {nested}\n\n");
        for body in [nested, validation, problem, framed] {
            let d = parse_error_body(Some(401), body.as_bytes(), &scrub);
            for f in [Some(d.message()), d.error_type(), d.code(), d.param()]
                .into_iter()
                .flatten()
            {
                assert!(!f.contains("abcdefgh"), "{f}");
            }
            assert!(d.message().contains("[REDACTED]"), "{d:?}");
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
