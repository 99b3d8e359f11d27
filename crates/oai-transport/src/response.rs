//! What comes back besides the body.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::ratelimit::RateLimit;

/// Metadata of a response: status, request id, rate limits, timing, headers.
///
/// Only the status, the headers and the timing are stored; the request id,
/// the rate limits and the processing time are read from the headers when
/// asked for (the rate limits once, then kept), so a call whose caller never
/// looks pays nothing for them.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    status: StatusCode,
    headers: HeaderMap,
    rate_limit: OnceLock<RateLimit>,
    attempts: u32,
    elapsed: Duration,
}

/// `x-request-id`.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `openai-processing-ms`.
const PROCESSING_MS: HeaderName = HeaderName::from_static("openai-processing-ms");
/// The longest request id kept; a longer header is cut here.
const MAX_REQUEST_ID: usize = 200;

impl ResponseMeta {
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        attempts: u32,
        elapsed: Duration,
    ) -> Self {
        Self {
            status,
            headers,
            rate_limit: OnceLock::new(),
            attempts,
            elapsed,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// All response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// `x-request-id`, to quote when asking OpenAI about a request (at most
    /// 200 characters of it).
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
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

/// The `x-request-id` header, cut to [`MAX_REQUEST_ID`] bytes. A header value
/// that reads as text is visible ASCII, so any byte is a character boundary.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    let id = headers.get(REQUEST_ID)?.to_str().ok()?;
    id.get(..id.len().min(MAX_REQUEST_ID))
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
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The metadata.
    pub meta: ResponseMeta,
    /// The body.
    pub body: Bytes,
}

impl RawResponse {
    /// Decodes the body as JSON.
    ///
    /// # Errors
    /// A decode error with an excerpt of the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        // Read from `&str`, as event streams and pages are: every type's
        // deserializer is compiled for one input kind, not two. JSON is UTF-8.
        let text = std::str::from_utf8(&self.body)
            .map_err(|e| Error::decode(Some(self.meta.status()), &self.body, e))?;
        serde_json::from_str(text)
            .map_err(|e| Error::decode(Some(self.meta.status()), &self.body, e))
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
