//! The cassette format of `oai`'s record and replay.
//!
//! A cassette is a [JSON Lines](https://jsonlines.org) file: one recorded
//! [`Exchange`] per line, in the order the exchanges happened. A line holds
//! the request (method, path with its query, a [`fingerprint`] and the body)
//! and the answer (status, the headers an allow-list let through, and the
//! body, or a stream's events one by one with their order). JSON bodies are
//! written as JSON, so a reviewer reads and diffs them like code.
//!
//! ```
//! use oai_cassette::{Cassette, Exchange, RecordedRequest, RecordedResponse};
//!
//! let exchange = Exchange {
//!     request: RecordedRequest::new("GET", "/v1/models", b""),
//!     response: RecordedResponse::new(200, Vec::new(), br#"{"object":"list","data":[]}"#),
//! };
//! let cassette = Cassette::parse(&exchange.to_line()).unwrap();
//! let found = cassette.find("GET", "/v1/models", b"").unwrap();
//! assert_eq!(found.response.status, 200);
//! ```
//!
//! Writing a cassette (and scrubbing secrets from it first) is the
//! recorder's job (`oai::record`); serving one is `oai-mock`'s
//! (`MockServer::replay`). This crate is the format both agree on.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version written in every fingerprint; a change of the fingerprint's
/// recipe changes it, so an old cassette reports mismatches instead of
/// matching wrongly.
const FINGERPRINT_VERSION: &str = "v1";

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// What was asked.
    pub request: RecordedRequest,
    /// What came back.
    pub response: RecordedResponse,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query (`/v1/files?limit=2`), without scheme and
    /// host, so a cassette recorded against one server replays on another.
    pub path: String,
    /// [`fingerprint`] of the method, path and body: what replay matches on
    /// (the path and body hashed, so nothing in it can be a secret).
    pub fingerprint: String,
    /// The body: JSON as JSON, other text as a string; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A body that is not UTF-8 (a multipart upload), base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl RecordedRequest {
    /// The record of a request: its fingerprint computed, its body kept as
    /// JSON when it is JSON.
    pub fn new(method: &str, path: &str, body: &[u8]) -> Self {
        let fingerprint = fingerprint(method, path, body);
        let (body, body_base64) = represent(body);
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            fingerprint,
            body,
            body_base64,
        }
    }
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers the recorder's allow-list let through, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// A whole body: JSON as JSON, other text as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A whole body that is not UTF-8 (audio, say), base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// A server-sent event stream, event by event, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<RecordedEvent>>,
    /// `false` when the stream was not read to its end while recording (the
    /// consumer stopped, or the connection broke): replay then ends it at
    /// the same place.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl RecordedResponse {
    /// The record of a whole (not streamed) answer.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Self {
        let (body, body_base64) = represent(body);
        Self {
            status,
            headers,
            body,
            body_base64,
            events: None,
            complete: true,
        }
    }

    /// The record of a streamed answer.
    pub fn stream(
        status: u16,
        headers: Vec<(String, String)>,
        events: Vec<RecordedEvent>,
        complete: bool,
    ) -> Self {
        Self {
            status,
            headers,
            body: None,
            body_base64: None,
            events: Some(events),
            complete,
        }
    }

    /// The value of header `name` (any case), if it was kept.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The answer's body as bytes on the wire: the body as recorded (JSON
    /// written compactly), or the events written as an event stream, one
    /// chunk per event.
    pub fn body_chunks(&self) -> Vec<Vec<u8>> {
        if let Some(events) = &self.events {
            return events.iter().map(RecordedEvent::to_wire).collect();
        }
        if let Some(b64) = &self.body_base64 {
            return vec![
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_default(),
            ];
        }
        match &self.body {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone().into_bytes()],
            Some(json) => vec![serde_json::to_vec(json).unwrap_or_default()],
        }
    }
}

/// One server-sent event of a recorded stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// The `event:` field, when the server sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The `data:` field (several data lines joined by `\n`).
    pub data: String,
}

impl RecordedEvent {
    /// The event as an event stream writes it.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = String::new();
        if let Some(event) = &self.event {
            out.push_str("event: ");
            out.push_str(event);
            out.push('\n');
        }
        for line in self.data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        out.into_bytes()
    }
}

impl Exchange {
    /// The exchange as one cassette line (no newline at the end).
    pub fn to_line(&self) -> String {
        // A struct of strings, numbers and JSON values always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A JSON body as JSON, a UTF-8 body as a string, anything else as base64;
/// an empty body as nothing.
fn represent(body: &[u8]) -> (Option<Value>, Option<String>) {
    if body.is_empty() {
        return (None, None);
    }
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        // A JSON string body is kept as text, so it cannot be mistaken for a
        // text body on the way back; so is `null`, which would read back as
        // no body at all.
        if !json.is_string() && !json.is_null() {
            return (Some(json), None);
        }
    }
    match std::str::from_utf8(body) {
        Ok(text) => (Some(Value::String(text.to_owned())), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
    }
}

/// The fingerprint of a request: `v1 METHOD hash`, the hash (FNV-1a, 64
/// bits) over the path with its query and the body with the keys of every
/// JSON object sorted, so two bodies that differ only in key order match. A
/// body that is not JSON is hashed as its bytes. The path is hashed, not
/// written: a query may hold a credential, and the fingerprint is written
/// as it is (the `path` beside it is scrubbed).
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hash = Fnv::new();
    hash.write(&(path.len() as u64).to_le_bytes());
    hash.write(path.as_bytes());
    match serde_json::from_slice::<Value>(body) {
        Ok(json) if !body.is_empty() => canonical(&json, &mut hash),
        _ => hash.write(body),
    }
    format!(
        "{FINGERPRINT_VERSION} {} {:016x}",
        method.to_ascii_uppercase(),
        hash.0
    )
}

/// FNV-1a, 64 bits: stable across versions and platforms, which a
/// fingerprint written to a file needs (std's hashers promise neither).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Feeds `v` to `hash` with object keys sorted and every token delimited.
fn canonical(v: &Value, hash: &mut Fnv) {
    match v {
        Value::Null => hash.write(b"n"),
        Value::Bool(b) => hash.write(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            hash.write(b"#");
            hash.write(n.to_string().as_bytes());
            hash.write(b";");
        }
        Value::String(s) => {
            hash.write(b"\"");
            hash.write(&(s.len() as u64).to_le_bytes());
            hash.write(s.as_bytes());
        }
        Value::Array(items) => {
            hash.write(b"[");
            hash.write(&(items.len() as u64).to_le_bytes());
            for item in items {
                canonical(item, hash);
            }
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hash.write(b"{");
            hash.write(&(keys.len() as u64).to_le_bytes());
            for k in keys {
                hash.write(&(k.len() as u64).to_le_bytes());
                hash.write(k.as_bytes());
                if let Some(v) = map.get(k) {
                    canonical(v, hash);
                }
            }
        }
    }
}

/// A cassette read into memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cassette {
    exchanges: Vec<Exchange>,
}

/// A cassette that cannot be read.
#[derive(Debug)]
pub struct CassetteError {
    message: String,
}

impl fmt::Display for CassetteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CassetteError {}

impl Cassette {
    /// A cassette of `exchanges`.
    pub fn new(exchanges: Vec<Exchange>) -> Self {
        Self { exchanges }
    }

    /// Reads a cassette's text: one exchange per line; blank lines are
    /// skipped.
    ///
    /// # Errors
    /// A line that is not an exchange, with its number.
    pub fn parse(text: &str) -> Result<Self, CassetteError> {
        let mut exchanges = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let exchange = serde_json::from_str(line).map_err(|e| CassetteError {
                message: format!("cassette line {}: not an exchange: {e}", n + 1),
            })?;
            exchanges.push(exchange);
        }
        Ok(Self { exchanges })
    }

    /// Reads the cassette at `path`.
    ///
    /// # Errors
    /// The file cannot be read, or a line is not an exchange.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CassetteError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| CassetteError {
            message: format!("cannot read the cassette {}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// The exchanges, in recorded order.
    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// The first exchange recorded for this request.
    pub fn find(&self, method: &str, path: &str, body: &[u8]) -> Option<&Exchange> {
        let fp = fingerprint(method, path, body);
        self.exchanges.iter().find(|e| e.request.fingerprint == fp)
    }

    /// The indices of every exchange recorded for this request, in order.
    pub fn matches(&self, method: &str, path: &str, body: &[u8]) -> Vec<usize> {
        let fp = fingerprint(method, path, body);
        self.exchanges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.request.fingerprint == fp)
            .map(|(i, _)| i)
            .collect()
    }

    /// The recorded exchange closest to a request that none matches, and
    /// where they differ: for the error that names it.
    pub fn closest(&self, method: &str, path: &str, body: &[u8]) -> Option<Closest> {
        let asked: Option<Value> = serde_json::from_slice(body).ok();
        let mut best: Option<(u64, usize, String)> = None;
        for (i, e) in self.exchanges.iter().enumerate() {
            let r = &e.request;
            let mut score = 0u64;
            let mut difference = String::new();
            if !r.method.eq_ignore_ascii_case(method) {
                score += 1_000_000;
                difference = format!("the method ({} here)", r.method);
            }
            if r.path != path {
                score += 100_000;
                if difference.is_empty() {
                    difference = format!("the path ({} here)", r.path);
                }
            }
            let (count, first) = match (&asked, &r.body) {
                (Some(a), Some(b)) => json_difference(a, b, "$"),
                (None, None) => (0, None),
                _ => (1, Some("the body".to_owned())),
            };
            score += count;
            if difference.is_empty()
                && let Some(first) = first
            {
                difference = format!("the body at {first}");
            }
            if difference.is_empty() {
                difference = "nothing the cassette shows (an older fingerprint?)".to_owned();
            }
            if best.as_ref().is_none_or(|b| score < b.0) {
                best = Some((score, i, difference));
            }
        }
        best.map(|(_, index, difference)| Closest {
            index,
            line: index + 1,
            method: self.exchanges[index].request.method.clone(),
            path: self.exchanges[index].request.path.clone(),
            difference,
        })
    }
}

/// A cassette being served: each request gets the next exchange recorded
/// with its fingerprint, in recorded order; once they are used up, the last
/// one answers again.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    cassette: Cassette,
    served: std::collections::HashMap<String, usize>,
}

impl Replay {
    /// Serving `cassette` from its first exchanges.
    pub fn new(cassette: Cassette) -> Self {
        Self {
            cassette,
            served: std::collections::HashMap::new(),
        }
    }

    /// The cassette served.
    pub fn cassette(&self) -> &Cassette {
        &self.cassette
    }

    /// The exchange that answers this request, if the cassette holds one.
    pub fn next(&mut self, method: &str, path: &str, body: &[u8]) -> Option<&Exchange> {
        let matches = self.cassette.matches(method, path, body);
        let last = *matches.last()?;
        let n = self
            .served
            .entry(fingerprint(method, path, body))
            .or_insert(0);
        let index = matches.get(*n).copied().unwrap_or(last);
        *n += 1;
        self.cassette.exchanges.get(index)
    }
}

/// The recorded exchange nearest to an unmatched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closest {
    /// Its index in the cassette.
    pub index: usize,
    /// Its line in the cassette file (blank lines aside), from 1.
    pub line: usize,
    /// Its method.
    pub method: String,
    /// Its path.
    pub path: String,
    /// Where the request differs from it (`the body at $.messages[0].content`).
    pub difference: String,
}

impl fmt::Display for Closest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the closest recorded one is {} {} (exchange {}), which differs in {}",
            self.method, self.path, self.line, self.difference
        )
    }
}

/// How many leaves of `a` and `b` differ, and the path of the first.
fn json_difference(a: &Value, b: &Value, at: &str) -> (u64, Option<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            let mut count = 0;
            let mut first = None;
            for k in keys {
                let here = format!("{at}.{k}");
                let (c, f) = match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => json_difference(p, q, &here),
                    _ => (1, Some(here)),
                };
                count += c;
                if first.is_none() {
                    first = f;
                }
            }
            (count, first)
        }
        (Value::Array(x), Value::Array(y)) => {
            let mut count = x.len().abs_diff(y.len()) as u64;
            let mut first = (x.len() != y.len()).then(|| format!("{at} (length)"));
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                let (c, f) = json_difference(p, q, &format!("{at}[{i}]"));
                count += c;
                if first.is_none() {
                    first = f;
                }
            }
            (count, first)
        }
        _ if a == b => (0, None),
        _ => (1, Some(at.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_fingerprint_and_values_do() {
        let a = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        let b = br#"{"messages":[{"content":"hi","role":"user"}],"model":"m"}"#;
        let c = br#"{"model":"m","messages":[{"role":"user","content":"ho"}]}"#;
        let fp = |x: &[u8]| fingerprint("POST", "/v1/chat/completions", x);
        assert_eq!(fp(a), fp(b));
        assert_ne!(fp(a), fp(c));
        assert_ne!(fp(a), fingerprint("POST", "/v1/completions", a));
        assert_ne!(fp(a), fingerprint("PUT", "/v1/chat/completions", a));
        // Token boundaries are delimited: ["ab","c"] is not ["a","bc"].
        assert_ne!(fp(br#"["ab","c"]"#), fp(br#"["a","bc"]"#));
        assert_ne!(fp(br#"{"a":"b"}"#), fp(br#"{"ab":""}"#));
    }

    #[test]
    fn a_line_reads_back_as_it_was_written() {
        let e = Exchange {
            request: RecordedRequest::new("POST", "/v1/x?y=1", br#"{"a":1}"#),
            response: RecordedResponse::stream(
                200,
                vec![("content-type".into(), "text/event-stream".into())],
                vec![
                    RecordedEvent {
                        event: Some("response.created".into()),
                        data: "{\"n\":1}".into(),
                    },
                    RecordedEvent {
                        event: None,
                        data: "a\nb".into(),
                    },
                ],
                false,
            ),
        };
        let line = e.to_line();
        assert!(!line.contains('\n'));
        let back = Cassette::parse(&format!("\n{line}\n\n")).unwrap();
        assert_eq!(back.exchanges(), std::slice::from_ref(&e));
        assert_eq!(
            e.response.body_chunks().concat(),
            b"event: response.created\ndata: {\"n\":1}\n\ndata: a\ndata: b\n\n"
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        let e = Cassette::parse("\n{\"request\": 1}\n").unwrap_err();
        assert!(e.to_string().starts_with("cassette line 2:"), "{e}");
    }

    #[test]
    fn the_closest_exchange_names_where_it_differs() {
        let c = Cassette::new(vec![
            Exchange {
                request: RecordedRequest::new("GET", "/v1/models", b""),
                response: RecordedResponse::new(200, vec![], b"{}"),
            },
            Exchange {
                request: RecordedRequest::new(
                    "POST",
                    "/v1/chat/completions",
                    br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
                ),
                response: RecordedResponse::new(200, vec![], b"{}"),
            },
        ]);
        let asked = br#"{"model":"m","messages":[{"role":"user","content":"hello"}]}"#;
        assert!(c.find("POST", "/v1/chat/completions", asked).is_none());
        let near = c.closest("POST", "/v1/chat/completions", asked).unwrap();
        assert_eq!(near.line, 2);
        assert_eq!(near.difference, "the body at $.messages[0].content");
        assert!(
            near.to_string()
                .contains("POST /v1/chat/completions (exchange 2)")
        );
        let near = c.closest("GET", "/v1/models/m", b"").unwrap();
        assert_eq!(near.line, 1);
        assert!(near.difference.contains("the path"), "{}", near.difference);
    }

    #[test]
    fn replay_serves_repeated_requests_in_order_then_repeats_the_last() {
        let answer = |n: u16| Exchange {
            request: RecordedRequest::new("POST", "/v1/x", b"{}"),
            response: RecordedResponse::new(200 + n, vec![], b"{}"),
        };
        let mut replay = Replay::new(Cassette::new(vec![answer(0), answer(1)]));
        let status = |r: &mut Replay| r.next("POST", "/v1/x", b"{}").map(|e| e.response.status);
        assert_eq!(status(&mut replay), Some(200));
        assert_eq!(status(&mut replay), Some(201));
        assert_eq!(status(&mut replay), Some(201));
        assert!(replay.next("POST", "/v1/y", b"{}").is_none());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z\\\\\"]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// A recorded request matches the request it records (the
        /// fingerprint read back from the line is the one computed from the
        /// bytes), and every body survives the line.
        #[test]
        fn a_recorded_request_matches_itself(body in json_value(), text in "[ -~]{0,12}", raw in prop::collection::vec(any::<u8>(), 0..12)) {
            for bytes in [serde_json::to_vec(&body).unwrap(), text.into_bytes(), raw] {
                let e = Exchange {
                    request: RecordedRequest::new("POST", "/v1/x", &bytes),
                    response: RecordedResponse::new(200, vec![], &bytes),
                };
                let c = Cassette::parse(&e.to_line()).unwrap();
                prop_assert!(c.find("POST", "/v1/x", &bytes).is_some());
                let back = c.exchanges()[0].response.body_chunks().concat();
                if serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| !v.is_string()) {
                    let a: Value = serde_json::from_slice(&back).unwrap();
                    let b: Value = serde_json::from_slice(&bytes).unwrap();
                    prop_assert_eq!(a, b);
                } else {
                    prop_assert_eq!(back, bytes);
                }
            }
        }
    }
}
