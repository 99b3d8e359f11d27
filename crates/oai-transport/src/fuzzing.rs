//! Property checks shared by the fuzz targets and the corpus replay tests.
//!
//! Each function takes arbitrary bytes and panics only when a property of the
//! parsers is broken; the fuzz crate calls them, and `cargo test` replays every
//! committed corpus input through them.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, StatusCode};

use crate::api_error::{MAX_FIELD_BYTES, MAX_MESSAGE_BYTES, parse_error_body};
use crate::error::EXCERPT_CHARS;
use crate::page::parse_page;
use crate::retry::{Decision, MAX_DELAY, MAX_RETRY_AFTER, decide, retry_after, retry_delay};
use crate::sse::{SseLimits, decode_all, decode_lent, decode_split};

/// The names of the targets, as in `fuzz/fuzz_targets/`.
pub const TARGETS: &[&str] = &["sse_decoder", "error_body", "retry_after", "page_envelope"];

/// Runs target `name` on `data`. Returns `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "sse_decoder" => sse_decoder(data),
        "error_body" => error_body(data),
        "retry_after" => retry_after_header(data),
        "page_envelope" => page_envelope(data),
        _ => return false,
    }
    true
}

/// The first 8 bytes choose cut points and caps; the rest is the stream. Any
/// split must decode exactly as the whole input does, fed or pushed and
/// lent.
pub fn sse_decoder(data: &[u8]) {
    let (head, input) = data.split_at(data.len().min(8));
    let cuts: Vec<usize> = head.iter().map(|&b| usize::from(b) * 7).collect();
    let small = head.first().is_some_and(|b| b & 1 == 1);
    let limits = if small {
        SseLimits {
            max_line_bytes: 64,
            max_event_bytes: 128,
        }
    } else {
        SseLimits::default()
    };
    let whole = decode_all(input, limits);
    let split = decode_split(input, &cuts, limits);
    assert_eq!(whole, split, "split decoding differs");
    assert_eq!(
        whole,
        decode_lent(input, &cuts, limits),
        "pushed and lent decoding differs"
    );
    let bytewise: Vec<usize> = (0..input.len()).collect();
    assert_eq!(
        whole,
        decode_split(input, &bytewise, limits),
        "bytewise decoding differs"
    );
    // Bytes kept against bytes in: every event's data is within the event
    // cap (counted after UTF-8 repair), and all the text kept, with an id
    // shared by many events counted once, is within three times the input
    // (the repair) plus the id cap.
    let mut kept = 0usize;
    let mut last_id: Option<&std::sync::Arc<str>> = None;
    for ev in &whole.0 {
        assert!(ev.data.len() <= limits.max_event_bytes);
        kept += ev.data.len() + ev.event.as_ref().map_or(0, String::len);
        if let Some(id) = &ev.id
            && !last_id.is_some_and(|l| std::sync::Arc::ptr_eq(l, id))
        {
            kept += id.len();
            last_id = Some(id);
        }
    }
    assert!(kept <= 3 * input.len() + crate::sse::MAX_ID_BYTES);
}

/// Any body gives details whose fields stay under their caps and whose
/// excerpt stays on one line.
pub fn error_body(data: &[u8]) {
    // A credential the input may echo: no 8-byte piece of it survives.
    const KEY: &str = "sk-fuzz-0123456789";
    let scrub = crate::redact::Scrubber::new().with_secret(KEY);
    for status in [None, Some(400), Some(502)] {
        let d = parse_error_body(status, data, &scrub);
        for f in [
            Some(d.message()),
            d.error_type(),
            d.code(),
            d.param(),
            d.raw_excerpt(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                !KEY.as_bytes()
                    .windows(8)
                    .any(|w| f.as_bytes().windows(8).any(|t| t == w))
            );
        }
        assert!(d.message().len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
        for f in [d.error_type(), d.code(), d.param()].into_iter().flatten() {
            assert!(f.len() <= MAX_FIELD_BYTES + '…'.len_utf8());
        }
        if let Some(e) = d.raw_excerpt() {
            assert!(e.chars().count() <= EXCERPT_CHARS + 1);
            assert!(!e.contains('\n') && !e.contains('\r'));
        }
    }
}

/// The input split at the first NUL gives `retry-after-ms` and `retry-after`;
/// the delay is always within bounds.
pub fn retry_after_header(data: &[u8]) {
    let mut parts = data.splitn(2, |&b| b == 0);
    let ms = parts.next().unwrap_or_default();
    let secs = parts.next().unwrap_or_default();
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(ms) {
        h.insert("retry-after-ms", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(secs) {
        h.insert("retry-after", v);
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    for retry in [0, 1, 5, u32::MAX] {
        let d = retry_delay(Some(&h), retry, now, 0.5);
        assert!(d > Duration::ZERO && d <= MAX_RETRY_AFTER);
        if retry_after(&h, now).is_none() {
            assert!(d <= MAX_DELAY);
        }
        // Whatever the cap, a retry waits more than zero and at most the
        // cap (or a backoff step); a wait above the cap is never retried.
        for cap in [Duration::ZERO, Duration::from_secs(1), MAX_RETRY_AFTER] {
            match decide(
                StatusCode::TOO_MANY_REQUESTS,
                &h,
                None,
                retry,
                now,
                0.5,
                cap,
            ) {
                Decision::Retry(d) => {
                    assert!(d > Duration::ZERO && d <= cap.max(MAX_DELAY));
                }
                Decision::WaitTooLong(w) => assert!(w > cap),
                _ => {}
            }
        }
    }
}

/// Any body parses as a page or fails cleanly; a page's cursor is consistent.
pub fn page_envelope(data: &[u8]) {
    if let Ok(page) = parse_page::<serde_json::Value>(data) {
        let next = page.next_cursor();
        if !page.has_more {
            assert!(next.is_none());
        }
        if let Some(c) = next {
            assert!(!c.query_pair().1.is_empty() || page.next_page.is_some());
        }
    }
}
