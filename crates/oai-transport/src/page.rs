//! The list envelope of paginated endpoints and its cursor.
//!
//! Cursor lists answer `{"object": "list", "data": [...], "has_more", "first_id",
//! "last_id"}` and take the next page with `after=<last id>`; the usage and cost
//! endpoints answer `next_page` and take it back as `page=<next_page>`.

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;

use crate::decode::{DecodeFailure, explain};
use crate::redact::Scrubber;

/// How to ask for the page after this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Send `after=<id>`.
    After(String),
    /// Send `page=<token>`.
    Page(String),
}

impl Cursor {
    /// The query pair that asks for the next page.
    pub fn query_pair(&self) -> (&'static str, &str) {
        match self {
            Cursor::After(id) => ("after", id),
            Cursor::Page(token) => ("page", token),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Whether the server holds more items after this page.
    pub has_more: bool,
    /// `first_id`, when sent.
    pub first_id: Option<String>,
    /// `last_id`, or else the `id` of the last item, when either exists.
    pub last_id: Option<String>,
    /// `next_page`, for the endpoints that page by token.
    pub next_page: Option<String>,
}

impl<T> Page<T> {
    /// The cursor for the next page, or `None` when this is the last page. A
    /// page that claims more items but gives no cursor is treated as the last:
    /// asking again with no cursor would loop on the first page.
    pub fn next_cursor(&self) -> Option<Cursor> {
        if !self.has_more {
            return None;
        }
        if let Some(token) = &self.next_page {
            return Some(Cursor::Page(token.clone()));
        }
        self.last_id
            .clone()
            .filter(|id| !id.is_empty())
            .map(Cursor::After)
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    has_more: Option<bool>,
    #[serde(default)]
    first_id: Option<String>,
    #[serde(default)]
    last_id: Option<String>,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// Parses a page body.
///
/// # Errors
/// The body is not a JSON object of this shape, or an item is not a `T`.
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<T>, serde_json::Error> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        // serde would read a JSON array as a struct in field order
        return Err(serde::de::Error::custom("a page must be a JSON object"));
    }
    let env: Envelope<'_> = serde_json::from_slice(body)?;
    let mut data = Vec::with_capacity(env.data.len());
    for raw in &env.data {
        data.push(serde_json::from_str(raw.get())?);
    }
    let last_id = match env.last_id {
        Some(id) => Some(id),
        None => env.data.last().and_then(|raw| {
            serde_json::from_str::<IdOnly>(raw.get())
                .ok()
                .and_then(|i| match i.id {
                    Some(serde_json::Value::String(s)) => Some(s),
                    _ => None,
                })
        }),
    };
    Ok(Page {
        data,
        has_more: env.has_more.unwrap_or(false),
        first_id: env.first_id,
        last_id,
        next_page: env.next_page,
    })
}

/// The envelope as an owned type, to say which of its fields failed.
#[derive(Deserialize)]
#[allow(dead_code)]
struct EnvelopeShape {
    #[serde(default)]
    data: Vec<IgnoredAny>,
    #[serde(default)]
    has_more: Option<bool>,
    #[serde(default)]
    first_id: Option<String>,
    #[serde(default)]
    last_id: Option<String>,
    #[serde(default)]
    next_page: Option<String>,
}

/// Where and why `body` is not a page of `T`s, `first` being the error
/// [`parse_page`] gave: the first item that does not decode (`$.data[3].id`),
/// else the envelope's field. Nothing is tracked unless `parse_page` failed.
pub fn explain_page<T: DeserializeOwned>(
    body: &[u8],
    first: &serde_json::Error,
    scrub: &Scrubber,
) -> DecodeFailure {
    let Ok(text) = std::str::from_utf8(body) else {
        return DecodeFailure::from_error(first, scrub);
    };
    if let Ok(env) = serde_json::from_str::<Envelope<'_>>(text) {
        for (i, raw) in env.data.iter().enumerate() {
            if let Err(e) = serde_json::from_str::<T>(raw.get()) {
                return explain::<T>(raw.get(), &e, scrub).under(&format!("$.data[{i}]"));
            }
        }
    }
    if body.trim_ascii_start().first() != Some(&b'{') {
        return DecodeFailure::from_error(first, scrub);
    }
    explain::<EnvelopeShape>(text, first, scrub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn cursor_from_last_id() {
        let p: Page<Value> =
            parse_page(br#"{"object":"list","data":[{"id":"a"},{"id":"b"}],"first_id":"a","last_id":"b","has_more":true}"#)
                .unwrap();
        assert_eq!(p.data.len(), 2);
        assert_eq!(p.next_cursor(), Some(Cursor::After("b".into())));
    }

    #[test]
    fn cursor_from_item_id_when_no_last_id() {
        let p: Page<Value> =
            parse_page(br#"{"data":[{"id":"x1"},{"id":"x2"}],"has_more":true}"#).unwrap();
        assert_eq!(p.next_cursor(), Some(Cursor::After("x2".into())));
    }

    #[test]
    fn next_page_token() {
        let p: Page<Value> =
            parse_page(br#"{"object":"page","data":[{}],"has_more":true,"next_page":"page_AA"}"#)
                .unwrap();
        assert_eq!(p.next_cursor(), Some(Cursor::Page("page_AA".into())));
        assert_eq!(p.next_cursor().map(|c| c.query_pair().0), Some("page"));
    }

    #[test]
    fn last_page_and_missing_cursor() {
        let p: Page<Value> = parse_page(br#"{"data":[{"id":"a"}],"has_more":false}"#).unwrap();
        assert_eq!(p.next_cursor(), None);
        let p: Page<Value> = parse_page(br#"{"data":[{"no":"id"}],"has_more":true}"#).unwrap();
        assert_eq!(p.next_cursor(), None);
        let p: Page<Value> = parse_page(br#"{"data":[]}"#).unwrap();
        assert!(!p.has_more);
    }

    #[test]
    fn a_failure_names_the_item_or_the_envelope_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Model {
            id: String,
            created: u64,
        }
        let why = |body: &str| {
            let first = parse_page::<Model>(body.as_bytes()).unwrap_err();
            explain_page::<Model>(body.as_bytes(), &first, &Scrubber::new()).to_string()
        };
        assert_eq!(
            why(r#"{"data":[{"id":"a","created":1},{"id":"b","created":"yesterday"}]}"#),
            "at $.data[1].created: invalid type: string, expected u64"
        );
        assert_eq!(
            why(r#"{"data":[{"created":1}]}"#),
            "at $.data[0]: missing field `id`"
        );
        assert_eq!(
            why(r#"{"data":[],"has_more":"yes"}"#),
            "at $.has_more: invalid type: string, expected a boolean"
        );
        assert_eq!(why("[]"), "a page must be a JSON object");
        assert_eq!(
            why(r#"{"data":[{"id":"a","created":1}"#),
            "EOF while parsing a list (line 1, column 31)"
        );
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert!(parse_page::<Value>(b"[]").is_err());
        assert!(parse_page::<Value>(b"{\"data\":{}}").is_err());
        assert!(parse_page::<u32>(br#"{"data":["x"]}"#).is_err());
    }
}
