//! What comes back besides the body.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::ratelimit::RateLimit;

/// Metadata of a response: status, request id, rate limits, timing, headers.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    status: StatusCode,
    headers: HeaderMap,
    request_id: Option<String>,
    rate_limit: RateLimit,
    processing_time: Option<Duration>,
    attempts: u32,
    elapsed: Duration,
}

impl ResponseMeta {
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        attempts: u32,
        elapsed: Duration,
    ) -> Self {
        let request_id = request_id(&headers);
        let rate_limit = RateLimit::from_headers(&headers);
        let processing_time = headers
            .get("openai-processing-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1e12)
            .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
        Self {
            status,
            headers,
            request_id,
            rate_limit,
            processing_time,
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
    /// `x-request-id`, to quote when asking OpenAI about a request.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// The parsed `x-ratelimit-*` headers.
    pub fn rate_limit(&self) -> &RateLimit {
        &self.rate_limit
    }
    /// `openai-processing-ms`: the server's own time on the request.
    pub fn processing_time(&self) -> Option<Duration> {
        self.processing_time
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

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
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
