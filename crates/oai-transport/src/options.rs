//! Per-call options.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;

/// Settings for one call that override the client's: extra headers, query pairs
/// and JSON body fields (for parameters this version does not know yet), the
/// timeouts, and the number of retries.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RequestOptions {
    pub(crate) headers: HeaderMap,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: serde_json::Map<String, serde_json::Value>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) stream_idle_timeout: Option<Duration>,
    pub(crate) stream_deadline: Option<Duration>,
    pub(crate) max_response_bytes: Option<u64>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) estimated_tokens: Option<u64>,
    pub(crate) error: Option<String>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header (replacing one of the same name from the client's defaults).
    /// An invalid name or value makes the call fail before any I/O.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(mut v)) => {
                if crate::redact::is_sensitive(&n) {
                    v.set_sensitive(true);
                }
                self.headers.append(n, v);
            }
            _ => {
                self.error
                    .get_or_insert_with(|| format!("header {name:?} has an invalid name or value"));
            }
        }
        self
    }

    /// Adds a query pair.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a top-level field of the JSON body, overriding the typed value.
    pub fn body_field(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.body.insert(name.into(), value);
        self
    }

    /// Timeout of each attempt.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Longest gap between chunks of a streamed body.
    pub fn stream_idle_timeout(mut self, d: Duration) -> Self {
        self.stream_idle_timeout = Some(d);
        self
    }

    /// The longest a streamed body may last in all, from its headers to its
    /// end, however steadily the server sends (comments included). Off by
    /// default; see [`crate::ConfigBuilder::stream_deadline`].
    pub fn stream_deadline(mut self, d: Duration) -> Self {
        self.stream_deadline = Some(d);
        self
    }

    /// Cap on this call's response body, streamed or not, in bytes.
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.max_response_bytes = Some(n);
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// The tokens this call is expected to use, for a [`crate::RateLimiter`]
    /// (prompt plus the most the answer may take). Without it the limiter
    /// counts one token per four bytes of the JSON body.
    pub fn estimated_tokens(mut self, tokens: u64) -> Self {
        self.estimated_tokens = Some(tokens);
        self
    }

    /// Adds `other`'s settings on top of these.
    pub fn merge(mut self, other: RequestOptions) -> Self {
        for (name, value) in &other.headers {
            self.headers.append(name, value.clone());
        }
        self.query.extend(other.query);
        self.body.extend(other.body);
        self.timeout = other.timeout.or(self.timeout);
        self.stream_idle_timeout = other.stream_idle_timeout.or(self.stream_idle_timeout);
        self.stream_deadline = other.stream_deadline.or(self.stream_deadline);
        self.max_response_bytes = other.max_response_bytes.or(self.max_response_bytes);
        self.max_retries = other.max_retries.or(self.max_retries);
        self.estimated_tokens = other.estimated_tokens.or(self.estimated_tokens);
        if self.error.is_none() {
            self.error = other.error;
        }
        self
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(Error::invalid_input(e.clone())),
            None => Ok(()),
        }
    }
}
