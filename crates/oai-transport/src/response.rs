//! What comes back besides the body.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::ratelimit::RateLimit;
use crate::redact::Scrubber;

/// Metadata of a response: status, request id, rate limits, timing, headers.
///
/// Only the status, the headers and the timing are stored; the request id,
/// the rate limits and the processing time are read from the headers when
/// asked for (the rate limits once, then kept), so a call whose caller never
/// looks pays nothing for them.
#[derive(Clone)]
pub struct ResponseMeta {
    status: StatusCode,
    headers: HeaderMap,
    rate_limit: OnceLock<RateLimit>,
    attempts: u32,
    elapsed: Duration,
    scrubber: Scrubber,
}

/// Shows the status, the request id, the timing and the headers a log may
/// show ([`crate::redact::is_loggable`]), scrubbed.
impl std::fmt::Debug for ResponseMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseMeta")
            .field("status", &self.status)
            .field("request_id", &self.request_id())
            .field("attempts", &self.attempts)
            .field("elapsed", &self.elapsed)
            .field(
                "headers",
                &crate::redact::LoggedHeaders::new(&self.headers, &self.scrubber),
            )
            .finish()
    }
}

/// `x-request-id`.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `openai-processing-ms`.
const PROCESSING_MS: HeaderName = HeaderName::from_static("openai-processing-ms");
/// The longest request id kept; a longer one is not a plausible id.
pub const MAX_REQUEST_ID: usize = 128;

impl ResponseMeta {
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        attempts: u32,
        elapsed: Duration,
        scrubber: Scrubber,
    ) -> Self {
        Self {
            status,
            headers,
            rate_limit: OnceLock::new(),
            attempts,
            elapsed,
            scrubber,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// All response headers, as the server sent them (server text: print
    /// them through [`crate::redact::LoggedHeaders`]).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// `x-request-id`, to quote when asking OpenAI about a request: only when
    /// it is a plausible id (1 to 128 of `A-Z a-z 0-9 _ -`) holding no piece
    /// of a credential in use; any other value is not kept.
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers, &self.scrubber)
    }
    /// The scrubber for this response's server text.
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }
    /// The parsed `x-ratelimit-*` headers.
    pub fn rate_limit(&self) -> &RateLimit {
        self.rate_limit
            .get_or_init(|| RateLimit::from_headers(&self.headers))
    }
    /// `openai-processing-ms`: the server's own time on the request.
    pub fn processing_time(&self) -> Option<Duration> {
        self.headers
            .get(PROCESSING_MS)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1e12)
            .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
    }
    /// How many attempts the call took (1 when it succeeded at once).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// Time from the first attempt to the response headers of the last.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

/// The `x-request-id` header when it is a plausible id: 1 to
/// [`MAX_REQUEST_ID`] bytes of `[A-Za-z0-9_-]`, with no piece of a credential
/// `scrubber` knows.
pub(crate) fn request_id<'h>(headers: &'h HeaderMap, scrubber: &Scrubber) -> Option<&'h str> {
    let id = headers.get(REQUEST_ID)?.to_str().ok()?;
    let plausible = !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (plausible && !scrubber.touches(id)).then_some(id)
}

/// A decoded body with the response's metadata.
#[derive(Debug, Clone)]
pub struct Response<T> {
    /// The decoded body.
    pub data: T,
    /// The metadata.
    pub meta: ResponseMeta,
}

/// A response whose body was read (under the size cap) but not decoded.
#[derive(Clone)]
pub struct RawResponse {
    /// The metadata.
    pub meta: ResponseMeta,
    /// The body.
    pub body: Bytes,
}

/// The body is not shown (server text), only its length.
impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("meta", &self.meta)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl RawResponse {
    /// The scrubber for this response's server text.
    pub fn scrubber(&self) -> &Scrubber {
        self.meta.scrubber()
    }

    /// A decode error for this body, scrubbed.
    pub fn decode_error(
        &self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        Error::decode(
            Some(self.meta.status()),
            &self.body,
            source,
            self.scrubber(),
        )
    }

    /// Decodes the body as JSON.
    ///
    /// # Errors
    /// A decode error naming the JSON path that failed and why (never a
    /// value from the body, see [`crate::decode`]), with an excerpt of the
    /// body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        // Read from `&str`, as event streams and pages are: every type's
        // deserializer is compiled for one input kind, not two. JSON is UTF-8.
        // The path is tracked only once a plain decode has failed.
        crate::decode::from_slice(&self.body, Some(self.meta.status()), self.scrubber())
    }

    /// Decodes the body as JSON and keeps the metadata.
    ///
    /// # Errors
    /// A decode error with an excerpt of the body.
    pub fn into_response<T: DeserializeOwned>(self) -> Result<Response<T>> {
        let data = self.json()?;
        Ok(Response {
            data,
            meta: self.meta,
        })
    }
}
