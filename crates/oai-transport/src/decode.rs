//! Typed decoding of JSON answers, with errors that say where and why.
//!
//! A body is decoded at full speed first; only when that fails is it decoded
//! again with the path tracked (`serde_path_to_error`), so a success costs
//! nothing more. The error then names the JSON path that failed
//! (`$.choices[0].message.content`) and why (`invalid type: integer,
//! expected a string`).
//!
//! The reason never quotes a value from the body: a decoder's own message can
//! (`invalid type: string "sk-..."`, ``unknown variant `...` ``), and the
//! body is the server's, so a hostile one chooses what would be quoted:
//! credentials it echoes, escape sequences, text made to look like ours. The
//! reason is rebuilt from the decoder's message keeping only the kind of
//! value found, the type expected (the client's own text), counts, and field
//! names of the client's types; anything else is dropped. Object keys in the
//! path are kept only when they are plain names (`[A-Za-z0-9_-]`, at most 48
//! bytes, shorter than any API key) holding no piece of a credential the
//! scrubber knows, else shown as `?`.

use std::fmt;

use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{Error, Result};
use crate::redact::{Scrubber, single_line};

/// Longest reason kept, in bytes.
const MAX_REASON_BYTES: usize = 300;
/// Longest `expected ...` text kept, in bytes.
const MAX_EXPECTED_BYTES: usize = 200;
/// Longest object key kept in a path, in bytes: the longest field name of the
/// API is 42 bytes; API keys are longer (51 bytes and up).
const MAX_KEY_BYTES: usize = 48;
/// Most path segments shown (the last ones).
const MAX_SEGMENTS: usize = 32;

/// Where and why a JSON text did not decode as the type asked for. Its text
/// holds no value from the body (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    path: Option<String>,
    reason: String,
}

impl DecodeFailure {
    /// The JSON path of the value that failed (`$` for the whole body,
    /// `$.data[3].id`), when the failure lies inside the value; `None` for a
    /// failure after it (trailing characters) or when no path was tracked.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Why, without any value from the body: `missing field `id``,
    /// `invalid type: string, expected u32`, `EOF while parsing an object
    /// (line 1, column 120)`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The failure of `error`, without a path.
    pub fn from_error(error: &serde_json::Error, scrub: &Scrubber) -> Self {
        Self {
            path: None,
            reason: describe(error, scrub),
        }
    }

    /// A failure with a fixed reason of the client's own (never server text).
    pub(crate) fn reason_only(reason: String) -> Self {
        Self { path: None, reason }
    }

    /// This failure of a value found at `prefix` (a path such as
    /// `$.data[2]`) in a larger body.
    pub(crate) fn under(self, prefix: &str) -> Self {
        let path = match self.path.as_deref() {
            Some(p) => format!("{prefix}{}", p.strip_prefix('$').unwrap_or(p)),
            None => prefix.to_owned(),
        };
        Self {
            path: Some(path),
            reason: self.reason,
        }
    }
}

impl fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "at {p}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Decodes `text` as a `T`; on failure the error names the path and the
/// reason (see [`explain`]) besides a scrubbed excerpt of the body.
///
/// # Errors
/// A decode error.
pub fn from_str<T: DeserializeOwned>(
    text: &str,
    status: Option<StatusCode>,
    scrub: &Scrubber,
) -> Result<T> {
    serde_json::from_str(text).map_err(|first| {
        Error::decode_failure(
            status,
            text.as_bytes(),
            explain::<T>(text, &first, scrub),
            scrub,
        )
    })
}

/// As [`from_str`], for bytes (which must be UTF-8, as JSON is).
///
/// # Errors
/// A decode error.
pub fn from_slice<T: DeserializeOwned>(
    bytes: &[u8],
    status: Option<StatusCode>,
    scrub: &Scrubber,
) -> Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_str(text, status, scrub),
        Err(e) => Err(Error::decode(status, bytes, e, scrub)),
    }
}

/// Why `text` does not decode as a `T`, `first` being the error a plain
/// decode gave: `text` is decoded again with the path tracked. The reason is
/// the one of that second pass when it fails too (it always does, the input
/// being the same), else of `first`.
pub fn explain<T: DeserializeOwned>(
    text: &str,
    first: &serde_json::Error,
    scrub: &Scrubber,
) -> DecodeFailure {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => {
            let path = if e.inner().classify() == Category::Data {
                Some(render_path(e.path(), scrub))
            } else {
                // A syntax error is placed by its line and column.
                None
            };
            DecodeFailure {
                path,
                reason: describe(e.inner(), scrub),
            }
        }
        // The value decoded: what failed comes after it (trailing
        // characters), which the tracking pass does not check.
        Ok(_) => DecodeFailure {
            path: None,
            reason: match de.end() {
                Err(e) => describe(&e, scrub),
                Ok(()) => describe(first, scrub),
            },
        },
    }
}

/// A path as `$.choices[0].delta`, keys that are not plain names (or that
/// touch a credential) as `?`.
fn render_path(path: &serde_path_to_error::Path, scrub: &Scrubber) -> String {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let skip = segments.len().saturating_sub(MAX_SEGMENTS);
    let mut out = String::from(if skip > 0 { "$…" } else { "$" });
    for segment in &segments[skip..] {
        match segment {
            Segment::Seq { index } => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('.');
                out.push_str(if is_plain_name(key) && !scrub.touches(key) {
                    key
                } else {
                    "?"
                });
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_KEY_BYTES
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The reason of `error` without any value from the body: syntax errors are
/// fixed texts (with their line and column); a data error's message is
/// rebuilt from what it says of the client's types only.
pub fn describe(error: &serde_json::Error, scrub: &Scrubber) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    let reason = match error.classify() {
        Category::Syntax | Category::Eof => format!(
            "{message} (line {}, column {})",
            error.line(),
            error.column()
        ),
        Category::Io => "the body could not be read".to_owned(),
        Category::Data => describe_message(message),
    };
    scrub.clip(&single_line(&reason), MAX_REASON_BYTES)
}

/// The beginnings of serde's messages, each read by [`template`].
const MARKERS: &[&str] = &[
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown variant ",
    "unknown field ",
    "missing field `",
    "duplicate field `",
];

/// A data error's message, rebuilt: serde's own message at its start, else
/// the innermost one wrapped in a message of the client's types (a union's
/// `invalid `Name` with ...: <message>`), else the message with every quoted
/// string dropped.
fn describe_message(message: &str) -> String {
    if let Some(r) = template(message) {
        return r;
    }
    // The innermost serde message: try the markers from the last one back.
    let mut at: Vec<usize> = MARKERS
        .iter()
        .flat_map(|m| message.match_indices(m).map(|(i, _)| i))
        .filter(|i| *i > 0)
        .collect();
    at.sort_unstable_by(|a, b| b.cmp(a));
    for i in at {
        if let Some(r) = template(&message[i..]) {
            return match union_name(message) {
                Some(name) => format!("in `{name}`: {r}"),
                None => r,
            };
        }
    }
    without_quoted_strings(message)
}

/// The name in a message of the client's unions, `invalid `Name` ...`.
fn union_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("invalid `")?;
    let (name, _) = rest.split_once('`')?;
    is_plain_name(name).then_some(name)
}

/// One of serde's message templates, rebuilt without the value it quotes.
fn template(m: &str) -> Option<String> {
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        let (found, expected) = split_expected(rest, ", expected ");
        return Some(with_expected(
            format!("invalid type: {}", kind(found)),
            expected,
        ));
    }
    if let Some(rest) = m.strip_prefix("invalid value: ") {
        let (found, expected) = split_expected(rest, ", expected ");
        return Some(with_expected(
            format!("invalid value: {}", kind(found)),
            expected,
        ));
    }
    if let Some(rest) = m.strip_prefix("invalid length ") {
        let (count, expected) = split_expected(rest, ", expected ");
        if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) {
            return Some(with_expected(format!("invalid length {count}"), expected));
        }
        return None;
    }
    for what in ["variant", "field"] {
        if let Some(rest) = m.strip_prefix(&format!("unknown {what} `")) {
            if rest.ends_with(&format!("`, there are no {what}s")) {
                return Some(format!("unknown {what}, there are no {what}s"));
            }
            let (_, expected) = split_expected(rest, "`, expected ");
            return Some(with_expected(format!("unknown {what}"), expected));
        }
    }
    for what in ["missing", "duplicate"] {
        if let Some(rest) = m.strip_prefix(&format!("{what} field `")) {
            // The name is the client's field; kept when it is plain and the
            // message ends with it.
            return Some(match rest.strip_suffix('`') {
                Some(name) if is_plain_name(name) => format!("{what} field `{name}`"),
                _ => format!("{what} field"),
            });
        }
    }
    None
}

/// Splits at the last `sep` (serde writes what was expected last, so a
/// separator inside a quoted value comes before it).
fn split_expected<'a>(rest: &'a str, sep: &str) -> (&'a str, Option<&'a str>) {
    match rest.rfind(sep) {
        Some(i) => (&rest[..i], Some(&rest[i + sep.len()..])),
        None => (rest, None),
    }
}

fn with_expected(head: String, expected: Option<&str>) -> String {
    match expected.filter(|e| plausible_expected(e)) {
        Some(e) => format!("{head}, expected {e}"),
        None => head,
    }
}

/// Whether a text after `, expected ` is the client's: short, on one line,
/// with its double quotes and backticks paired. A tail cut out of a quoted
/// value is not: a quoted value escapes its inner quotes, so its tail holds
/// one unescaped quote, the closing one.
fn plausible_expected(e: &str) -> bool {
    if e.is_empty() || e.len() > MAX_EXPECTED_BYTES || e.chars().any(char::is_control) {
        return false;
    }
    let mut quotes = 0usize;
    let mut escaped = false;
    for c in e.chars() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => quotes += 1,
            _ => {}
        }
        escaped = false;
    }
    quotes.is_multiple_of(2) && e.matches('`').count().is_multiple_of(2)
}

/// The kind of value serde found, from the start of its description
/// (`string "..."`, ``integer `5` ``, `null`, `map`): the kind only.
fn kind(found: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "string",
        "integer",
        "floating point",
        "boolean",
        "null",
        "character",
        "byte array",
        "unit value",
        "unit variant",
        "newtype struct",
        "newtype variant",
        "tuple variant",
        "struct variant",
        "Option value",
        "sequence",
        "map",
        "enum",
    ];
    KINDS
        .iter()
        .find(|k| {
            found
                .strip_prefix(**k)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
        .copied()
        .unwrap_or("another value")
}

/// A message of no known template, with every double-quoted string (as
/// `Debug` writes them, inner quotes escaped) replaced by `"…"`; an
/// unterminated one ends the text.
fn without_quoted_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        let mut escaped = false;
        let mut closed = false;
        for q in chars.by_ref() {
            match q {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    closed = true;
                    break;
                }
                _ => escaped = false,
            }
        }
        out.push_str("\"…\"");
        if !closed {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Message {
        role: Role,
        content: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum Role {
        User,
        Assistant,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Choice {
        index: u32,
        message: Message,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Completion {
        id: String,
        choices: Vec<Choice>,
        #[serde(default)]
        metadata: BTreeMap<String, u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        a: u8,
    }

    fn fail<T: DeserializeOwned + fmt::Debug>(text: &str) -> DecodeFailure {
        let first = serde_json::from_str::<T>(text).unwrap_err();
        explain::<T>(text, &first, &Scrubber::new())
    }

    const KEY: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

    #[test]
    fn names_the_path_and_the_reason() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                r#"{"id":"x","choices":[{"index":0,"message":{"role":"user","content":5}}]}"#,
                Some("$.choices[0].message.content"),
                "invalid type: integer, expected a string",
            ),
            (
                r#"{"id":"x","choices":[{"index":0,"message":{"role":"user","content":"a"}},{"index":"1","message":{}}]}"#,
                Some("$.choices[1].index"),
                "invalid type: string, expected u32",
            ),
            (
                r#"{"id":"x","choices":[{"index":0,"message":{"content":"a"}}]}"#,
                Some("$.choices[0].message"),
                "missing field `role`",
            ),
            (
                r#"{"id":"x","choices":[{"index":0,"message":{"role":"system","content":"a"}}]}"#,
                Some("$.choices[0].message.role"),
                "unknown variant, expected `user` or `assistant`",
            ),
            (
                r#"{"id":"x","choices":[{"index":-1,"message":{"role":"user","content":"a"}}]}"#,
                Some("$.choices[0].index"),
                "invalid value: integer, expected u32",
            ),
            (
                r#"{"id":"x","choices":[],"metadata":{"tokens":"many"}}"#,
                Some("$.metadata.tokens"),
                "invalid type: string, expected u32",
            ),
            (
                r#"{"id":null,"choices":[]}"#,
                Some("$.id"),
                "invalid type: null, expected a string",
            ),
            (
                r#"[1,2]"#,
                Some("$[0]"),
                "invalid type: integer, expected a string",
            ),
            (
                r#""text""#,
                Some("$"),
                "invalid type: string, expected struct Completion",
            ),
        ];
        for (text, path, reason) in cases {
            let f = fail::<Completion>(text);
            assert_eq!(f.path(), *path, "{text}");
            assert_eq!(f.reason(), *reason, "{text}");
        }
        let f = fail::<Strict>(r#"{"a":1,"b":2}"#);
        assert_eq!(f.reason(), "unknown field, expected `a`");
        let f = fail::<Strict>(r#"{"a":1,"a":2}"#);
        assert_eq!(f.reason(), "duplicate field `a`");
        let f = fail::<(u8, u8)>("[1]");
        assert_eq!(f.reason(), "invalid length 1, expected a tuple of size 2");
    }

    #[test]
    fn syntax_errors_are_placed_by_line_and_column() {
        let f = fail::<Completion>("{\"id\":\"x\",\n\"choices\":[");
        assert_eq!(f.path(), None);
        assert_eq!(f.reason(), "EOF while parsing a list (line 2, column 11)");
        let f = fail::<Completion>(r#"{"id":"x","choices":[]} trailing"#);
        assert_eq!(f.path(), None);
        assert_eq!(f.reason(), "trailing characters (line 1, column 25)");
        assert_eq!(f.to_string(), "trailing characters (line 1, column 25)");
    }

    /// Whatever the body puts in the values a decoder's message would
    /// quote, the reason and the path hold none of it.
    #[test]
    fn values_from_the_body_are_never_quoted() {
        let hostile = [
            KEY.to_owned(),
            format!("{KEY}\", expected {KEY}"),
            format!("x`, expected `{KEY}"),
            "\u{1b}[31mred\u{1b}[0m\nforged line".to_owned(),
            "invalid type: string, expected freedom".to_owned(),
        ];
        for v in &hostile {
            let texts = [
                // A string where a number goes.
                serde_json::json!({"id": "x", "choices": [{"index": v, "message": {"role": "user", "content": "a"}}]}),
                // An unknown enum variant.
                serde_json::json!({"id": "x", "choices": [{"index": 0, "message": {"role": v, "content": "a"}}]}),
                // A hostile key in a map, with a bad value.
                serde_json::json!({"id": "x", "choices": [], "metadata": {v.as_str(): v}}),
            ];
            for text in texts {
                let text = text.to_string();
                let first = serde_json::from_str::<Completion>(&text).unwrap_err();
                let f = explain::<Completion>(&text, &first, &Scrubber::new().with_secret(KEY));
                let shown = f.to_string();
                assert!(!shown.contains("abcdefgh"), "{shown}");
                assert!(
                    !shown.contains("red") && !shown.contains("forged"),
                    "{shown}"
                );
                assert!(!shown.contains("freedom"), "{shown}");
                assert!(!shown.chars().any(char::is_control), "{shown}");
            }
            let strict = serde_json::json!({"a": 1, v.as_str(): 2}).to_string();
            let first = serde_json::from_str::<Strict>(&strict).unwrap_err();
            let shown =
                explain::<Strict>(&strict, &first, &Scrubber::new().with_secret(KEY)).to_string();
            assert!(
                !shown.contains("abcdefgh") && !shown.contains("forged"),
                "{shown}"
            );
        }
        // A plain key that is a credential the scrubber knows is not shown.
        let text =
            serde_json::json!({"id": "x", "choices": [], "metadata": {"sk-proj-abcdefgh": "x"}})
                .to_string();
        let first = serde_json::from_str::<Completion>(&text).unwrap_err();
        let f = explain::<Completion>(&text, &first, &Scrubber::new().with_secret(KEY));
        assert_eq!(f.path(), Some("$.metadata.?"));
        // A plain key as long as an API key is not shown, known or not.
        let long = format!("sk-{}", "a1".repeat(24));
        let text =
            serde_json::json!({"id": "x", "choices": [], "metadata": {long: "x"}}).to_string();
        assert_eq!(fail::<Completion>(&text).path(), Some("$.metadata.?"));
        // A plain key is kept.
        let text = r#"{"id":"x","choices":[],"metadata":{"prompt_tokens":"x"}}"#;
        assert_eq!(
            fail::<Completion>(text).path(),
            Some("$.metadata.prompt_tokens")
        );
    }

    /// Messages that wrap serde's (the client's unions do) keep the union's
    /// name and the inner reason; unknown messages lose their quoted strings.
    #[test]
    fn wrapped_and_custom_messages() {
        assert_eq!(
            describe_message(&format!(
                "invalid `ChatMessage` with `role` = \"user\": invalid type: string \"{KEY}\", expected u32"
            )),
            "in `ChatMessage`: invalid type: string, expected u32"
        );
        assert_eq!(
            describe_message(
                "invalid `Tool`: tag field `type` must be a string, found string \"sk-x\\\"y\""
            ),
            "invalid `Tool`: tag field `type` must be a string, found string \"…\""
        );
        assert_eq!(
            describe_message("data did not match any variant of untagged enum Content"),
            "data did not match any variant of untagged enum Content"
        );
        assert_eq!(describe_message("cut \"open"), "cut \"…\"");
        // A tail cut out of a quoted value is not taken for what was expected.
        assert_eq!(
            describe_message("invalid type: string \"a, expected b\\\"c\""),
            "invalid type: string"
        );
        assert_eq!(
            describe_message("invalid value: string \"x\", expected the string \"function\""),
            "invalid value: string, expected the string \"function\""
        );
        assert_eq!(describe_message("missing field `a b`"), "missing field");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any text, put where a decoder's message would quote it (a
            /// string for a number, an enum variant, a map key and value,
            /// an unknown field), never shows: the marker `Zq` starting it
            /// is found nowhere in the reason or the path, which stay on
            /// one line and under their caps.
            #[test]
            fn no_value_is_ever_quoted(tail in "\\PC{0,40}", ctl in "[\\x00-\\x1f\\x7f\\u{2028}\\u{202e}]{0,2}") {
                let v = format!("Zq{ctl}{tail}");
                let texts = [
                    serde_json::json!({"id": "x", "choices": [{"index": v, "message": {"role": "user", "content": "a"}}]}).to_string(),
                    serde_json::json!({"id": "x", "choices": [{"index": 0, "message": {"role": v, "content": "a"}}]}).to_string(),
                    serde_json::json!({"id": "x", "choices": [], "metadata": {v.as_str(): v}}).to_string(),
                    serde_json::json!({"id": v, "choices": {}}).to_string(),
                ];
                // A key is shown in a path only when it is a plain name.
                let plain = is_plain_name(&v);
                for text in texts {
                    let f = fail::<Completion>(&text);
                    let shown = f.to_string();
                    prop_assert!(!f.reason().contains("Zq"), "{}", shown);
                    prop_assert!(plain || !shown.contains("Zq"), "{}", shown);
                    prop_assert!(!shown.chars().any(crate::redact::is_unsafe_char), "{}", shown);
                    prop_assert!(f.reason().len() <= MAX_REASON_BYTES);
                }
                let strict = serde_json::json!({"a": 1, v.as_str(): 2}).to_string();
                let f = fail::<Strict>(&strict);
                prop_assert!(!f.reason().contains("Zq"), "{}", f);
                prop_assert!(plain || !f.to_string().contains("Zq"), "{}", f);
            }
        }
    }

    #[test]
    fn long_paths_keep_their_end() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Deep(Vec<Deep>);
        let text = format!("{}\"x\"{}", "[".repeat(40), "]".repeat(40));
        let f = fail::<Deep>(&text);
        let path = f.path().unwrap();
        assert!(path.starts_with("$…[0]"), "{path}");
        assert_eq!(path.matches('[').count(), MAX_SEGMENTS);
    }
}
