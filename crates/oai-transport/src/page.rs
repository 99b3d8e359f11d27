//! The list envelope of paginated endpoints and its cursor.
//!
//! Cursor lists answer `{"object": "list", "data": [...], "has_more", "first_id",
//! "last_id"}` and take the next page with `after=<last id>`; the usage and cost
//! endpoints answer `next_page` and take it back as `page=<next_page>`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

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
    fn bad_bodies_are_errors() {
        assert!(parse_page::<Value>(b"[]").is_err());
        assert!(parse_page::<Value>(b"{\"data\":{}}").is_err());
        assert!(parse_page::<u32>(br#"{"data":["x"]}"#).is_err());
    }
}
