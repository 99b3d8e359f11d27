#![cfg_attr(not(feature = "client"), allow(dead_code))]
//! The one error type of the stack.
//!
//! [`Error`] is small (one pointer) and opaque: callers ask questions of it
//! ([`Error::is_timeout`], [`Error::status`], [`Error::api_error`], ...) instead of
//! matching on the types of the HTTP libraries underneath, which never show.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::api_error::ApiErrorDetails;
use crate::decode::DecodeFailure;
use crate::redact::{Scrubber, single_line};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure of the client: configuration, input, network, timeout, the API's
/// refusal, an unreadable response, or a broken stream.
///
/// `Display` is one line and never repeats [`source`](StdError::source). No variant
/// ever holds a credential: messages are built from fixed text, header-free metadata
/// and server bodies from which the credential in use has been scrubbed.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    source: Option<BoxError>,
}

/// The broad class of an [`Error`], for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client configuration is unusable (missing or malformed key, bad base URL).
    Config,
    /// The request was refused before it was sent (invalid input, unserializable body).
    InvalidInput,
    /// The credential provider failed or returned an unusable credential.
    Credentials,
    /// No connection could be made to the server.
    Connect,
    /// A connect, request or stream-idle timeout elapsed.
    Timeout,
    /// The request could not be sent or the response could not be read (I/O).
    Request,
    /// The server answered with an error status, or sent an error inside a stream.
    Api,
    /// The server answered with a redirect, which is never followed with credentials.
    Redirect,
    /// The response body exceeded the configured size cap.
    BodyTooLarge,
    /// The response body could not be decoded into the expected type.
    Decode,
    /// A server-sent event stream broke: truncated, malformed, or over a size cap.
    Stream,
    /// A bound the client sets on what a server may make it hold or do was
    /// reached: the bytes of a stream, an accumulated answer's size, a number
    /// of pages or items, an overall stream deadline.
    Limit,
    /// The server's answers contradict the protocol in a way no retry fixes
    /// (a pagination cursor that repeats, say).
    Protocol,
    /// A layer around the attempt ([`crate::ConfigBuilder::layer`]) failed
    /// with an error of its own. Not retried.
    Layer,
}

/// Which timeout elapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Establishing the connection.
    Connect,
    /// The whole request, from sending to the last byte of a non-streamed body (or
    /// to the response headers of a streamed one).
    Request,
    /// The longest allowed gap between two chunks of a streamed body.
    StreamIdle,
}

/// What went wrong with a server-sent event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// The body ended before the stream's terminal marker (`[DONE]` or a terminal event).
    Truncated,
    /// A line of the stream exceeded the line size cap.
    LineTooLong,
    /// An event's data exceeded the event size cap.
    EventTooLarge,
}

enum Kind {
    Config(String),
    InvalidInput(String),
    Credentials(String),
    Connect,
    Timeout {
        phase: TimeoutPhase,
        after: Option<Duration>,
    },
    Request(&'static str),
    Api(Box<ApiFailure>),
    Redirect {
        status: StatusCode,
        location: Option<String>,
    },
    BodyTooLarge {
        limit: u64,
    },
    Decode {
        status: Option<StatusCode>,
        excerpt: String,
        failure: Option<DecodeFailure>,
    },
    Stream {
        kind: StreamErrorKind,
        limit: Option<usize>,
    },
    Limit {
        what: &'static str,
        limit: u64,
    },
    Protocol(&'static str),
    Layer(String),
}

struct ApiFailure {
    status: Option<StatusCode>,
    request_id: Option<String>,
    details: ApiErrorDetails,
    /// What the retry policy says of the answer (see [`Error::is_transient`]).
    transient: bool,
    /// The wait the server asked for.
    retry_after: Option<Duration>,
}

/// Longest excerpt of a body kept in an error, in characters.
pub const EXCERPT_CHARS: usize = 200;

impl Error {
    fn new(kind: Kind) -> Self {
        Self {
            inner: Box::new(Inner { kind, source: None }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// A configuration error with a message that names the offending setting.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config(message.into()))
    }

    /// An input error: the request was refused before any I/O.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidInput(message.into()))
    }

    /// An input error caused by `source` (for example a serializer error).
    pub fn invalid_input_from(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self::invalid_input(message).with_source(source)
    }

    /// The credential provider failed; `message` must not contain the credential.
    pub fn credentials(message: impl Into<String>) -> Self {
        Self::new(Kind::Credentials(message.into()))
    }

    pub(crate) fn connect(source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Connect).with_source(source)
    }

    pub(crate) fn timeout(phase: TimeoutPhase, after: Option<Duration>) -> Self {
        Self::new(Kind::Timeout { phase, after })
    }

    /// A layer's own failure: its text (scrubbed by the caller) and the
    /// error itself as the source.
    #[cfg(feature = "client")]
    pub(crate) fn layer(message: String, source: BoxError) -> Self {
        Self::new(Kind::Layer(message)).with_source(source)
    }

    pub(crate) fn request(what: &'static str, source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Request(what)).with_source(source)
    }

    /// An API refusal: `status` is `None` for an error delivered inside a stream.
    /// Without the answer's headers, [`Error::is_transient`] reads the status
    /// table and the error code only (see [`Error::api_answer`]).
    pub fn api(
        status: Option<StatusCode>,
        request_id: Option<String>,
        details: ApiErrorDetails,
    ) -> Self {
        let transient = status
            .is_some_and(|s| crate::retry::should_retry(s, &HeaderMap::new(), details.code()));
        Self::new(Kind::Api(Box::new(ApiFailure {
            status,
            request_id,
            details,
            transient,
            retry_after: None,
        })))
    }

    /// The API refusal an error answer makes, judged by the retry policy
    /// with its headers (`x-should-retry`, `retry-after-ms`, `retry-after`,
    /// read at `now`): [`Error::is_transient`] and [`Error::retry_after`]
    /// say what the policy saw.
    pub fn api_answer(
        status: StatusCode,
        request_id: Option<String>,
        details: ApiErrorDetails,
        headers: &HeaderMap,
        now: std::time::SystemTime,
    ) -> Self {
        let transient = crate::retry::should_retry(status, headers, details.code());
        Self::new(Kind::Api(Box::new(ApiFailure {
            status: Some(status),
            request_id,
            details,
            transient,
            retry_after: crate::retry::server_wait(headers, now),
        })))
    }

    pub(crate) fn redirect(status: StatusCode, location: Option<&str>, scrub: &Scrubber) -> Self {
        Self::new(Kind::Redirect {
            status,
            location: location.map(|l| scrub.excerpt(l.as_bytes(), EXCERPT_CHARS)),
        })
    }

    pub(crate) fn body_too_large(limit: u64) -> Self {
        Self::new(Kind::BodyTooLarge { limit })
    }

    /// A body that could not be decoded; keeps a short excerpt of it,
    /// scrubbed of every credential `scrub` knows before it is cut. A JSON
    /// decoder's error (`serde_json::Error`) becomes the reason `Display`
    /// shows, rebuilt without the values it quotes from the body (see
    /// [`crate::decode`]; no path: [`Error::decode_failure`] takes one); an
    /// invalid UTF-8 error too. Any other `source` is kept as its scrubbed
    /// text, as the error's source.
    pub fn decode(
        status: Option<StatusCode>,
        body: &[u8],
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
        scrub: &Scrubber,
    ) -> Self {
        let source: BoxError = source.into();
        let excerpt = scrub.excerpt(body, EXCERPT_CHARS);
        if let Some(e) = source.downcast_ref::<serde_json::Error>() {
            return Self::new(Kind::Decode {
                status,
                excerpt,
                failure: Some(DecodeFailure::from_error(e, scrub)),
            });
        }
        if let Some(e) = source.downcast_ref::<std::str::Utf8Error>() {
            return Self::new(Kind::Decode {
                status,
                excerpt,
                failure: Some(DecodeFailure::reason_only(format!(
                    "the body is not UTF-8 (from byte {})",
                    e.valid_up_to()
                ))),
            });
        }
        Self::new(Kind::Decode {
            status,
            excerpt,
            failure: None,
        })
        .with_source(ScrubbedSource::new(&*source, scrub))
    }

    /// A body that did not decode, with where and why
    /// ([`crate::decode::explain`]), and a scrubbed excerpt of the body.
    pub fn decode_failure(
        status: Option<StatusCode>,
        body: &[u8],
        failure: DecodeFailure,
        scrub: &Scrubber,
    ) -> Self {
        Self::new(Kind::Decode {
            status,
            excerpt: scrub.excerpt(body, EXCERPT_CHARS),
            failure: Some(failure),
        })
    }

    /// A bound the client sets was reached: `what` names it (for example
    /// `"the bytes of the stream"`), `limit` is its value.
    pub fn limit(what: &'static str, limit: u64) -> Self {
        Self::new(Kind::Limit { what, limit })
    }

    /// The server's answers broke the protocol; `what` says how (fixed text,
    /// never server text).
    pub fn protocol(what: &'static str) -> Self {
        Self::new(Kind::Protocol(what))
    }

    /// A broken stream.
    pub fn stream(kind: StreamErrorKind, limit: Option<usize>) -> Self {
        Self::new(Kind::Stream { kind, limit })
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        match &self.inner.kind {
            Kind::Config(_) => ErrorKind::Config,
            Kind::InvalidInput(_) => ErrorKind::InvalidInput,
            Kind::Credentials(_) => ErrorKind::Credentials,
            Kind::Connect => ErrorKind::Connect,
            Kind::Timeout { .. } => ErrorKind::Timeout,
            Kind::Request(_) => ErrorKind::Request,
            Kind::Api(_) => ErrorKind::Api,
            Kind::Redirect { .. } => ErrorKind::Redirect,
            Kind::BodyTooLarge { .. } => ErrorKind::BodyTooLarge,
            Kind::Decode { .. } => ErrorKind::Decode,
            Kind::Stream { .. } => ErrorKind::Stream,
            Kind::Limit { .. } => ErrorKind::Limit,
            Kind::Protocol(_) => ErrorKind::Protocol,
            Kind::Layer(_) => ErrorKind::Layer,
        }
    }

    /// The configuration is unusable.
    pub fn is_config(&self) -> bool {
        self.kind() == ErrorKind::Config
    }
    /// The request was refused before it left the process.
    pub fn is_invalid_input(&self) -> bool {
        self.kind() == ErrorKind::InvalidInput
    }
    /// The credential provider failed.
    pub fn is_credentials(&self) -> bool {
        self.kind() == ErrorKind::Credentials
    }
    /// No connection could be made.
    pub fn is_connect(&self) -> bool {
        self.kind() == ErrorKind::Connect
    }
    /// A timeout elapsed; see [`Error::timeout_phase`].
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }
    /// The API refused the request (or reported an error inside a stream).
    pub fn is_api(&self) -> bool {
        self.kind() == ErrorKind::Api
    }
    /// The server answered with a redirect that was not followed.
    pub fn is_redirect(&self) -> bool {
        self.kind() == ErrorKind::Redirect
    }
    /// The response body exceeded the size cap.
    pub fn is_body_too_large(&self) -> bool {
        self.kind() == ErrorKind::BodyTooLarge
    }
    /// The response could not be decoded.
    pub fn is_decode(&self) -> bool {
        self.kind() == ErrorKind::Decode
    }
    /// A stream broke; see [`Error::stream_error_kind`].
    pub fn is_stream(&self) -> bool {
        self.kind() == ErrorKind::Stream
    }
    /// A bound the client sets was reached (see [`ErrorKind::Limit`]).
    pub fn is_limit(&self) -> bool {
        self.kind() == ErrorKind::Limit
    }
    /// The server's answers broke the protocol (see [`ErrorKind::Protocol`]).
    pub fn is_protocol(&self) -> bool {
        self.kind() == ErrorKind::Protocol
    }
    /// The stream ended before its terminal marker.
    pub fn is_truncated(&self) -> bool {
        self.stream_error_kind() == Some(StreamErrorKind::Truncated)
    }

    /// The HTTP status of the response this error comes from, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.inner.kind {
            Kind::Api(f) => f.status,
            Kind::Redirect { status, .. } => Some(*status),
            Kind::Decode { status, .. } => *status,
            _ => None,
        }
    }

    /// The `x-request-id` of the failed response, when the server sent one.
    pub fn request_id(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Api(f) => f.request_id.as_deref(),
            _ => None,
        }
    }

    /// The error object of the API's response (`type`, `code`, `param`, `message`).
    pub fn api_error(&self) -> Option<&ApiErrorDetails> {
        match &self.inner.kind {
            Kind::Api(f) => Some(&f.details),
            _ => None,
        }
    }

    /// A short, sanitized excerpt of an undecodable body.
    pub fn body_excerpt(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Decode { excerpt, .. } => Some(excerpt),
            Kind::Api(f) => f.details.raw_excerpt(),
            _ => None,
        }
    }

    /// Where and why a body did not decode: the JSON path (`$.choices[0].index`)
    /// and the reason, holding no value from the body (see [`crate::decode`]).
    pub fn decode_failure_details(&self) -> Option<&DecodeFailure> {
        match &self.inner.kind {
            Kind::Decode { failure, .. } => failure.as_ref(),
            _ => None,
        }
    }

    /// Which timeout elapsed.
    pub fn timeout_phase(&self) -> Option<TimeoutPhase> {
        match &self.inner.kind {
            Kind::Timeout { phase, .. } => Some(*phase),
            _ => None,
        }
    }

    /// What broke in a stream.
    pub fn stream_error_kind(&self) -> Option<StreamErrorKind> {
        match &self.inner.kind {
            Kind::Stream { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the retry policy deems the failure worth trying again, as
    /// the client itself decided when it had retries left: connection errors,
    /// timeouts (not stream-idle ones), request I/O errors, and API refusals
    /// that [`crate::retry::should_retry`] retries (408, 409, 429, 5xx, or
    /// `x-should-retry: true`; not a 429 `insufficient_quota`, not
    /// `x-should-retry: false`). An answer whose `retry-after` was longer than
    /// the client's cap is transient too: the client gave up waiting, and
    /// [`Error::retry_after`] says how long the server asked for. An error
    /// inside a stream (no status) is not.
    pub fn is_transient(&self) -> bool {
        match &self.inner.kind {
            Kind::Connect | Kind::Request(_) => true,
            Kind::Timeout { phase, .. } => *phase != TimeoutPhase::StreamIdle,
            Kind::Api(f) => f.transient,
            _ => false,
        }
    }

    /// The wait the server asked for in the failed answer's `retry-after-ms`
    /// or `retry-after` header (see [`crate::retry::server_wait`]), whether or
    /// not the client retried. When it exceeds the client's
    /// `max_retry_after` (120 s by default) the client did not retry and
    /// returned this error at once, as the Python SDK does.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.inner.kind {
            Kind::Api(f) => f.retry_after,
            _ => None,
        }
    }
}

/// A reason phrase for any status: the registered one (`Too Many
/// Requests`), else a known unregistered one (`overloaded` for 529, the
/// Cloudflare 52x, nginx's 499, ...), else the class (`server error`).
pub fn status_reason(status: StatusCode) -> &'static str {
    if let Some(r) = status.canonical_reason() {
        return r;
    }
    match status.as_u16() {
        499 => "client closed request",
        509 => "bandwidth limit exceeded",
        520 => "unknown error",
        521 => "web server is down",
        522 => "connection timed out",
        523 => "origin is unreachable",
        524 => "a timeout occurred",
        525 => "SSL handshake failed",
        526 => "invalid SSL certificate",
        527 => "railgun error",
        529 => "overloaded",
        530 => "origin error",
        598 => "network read timeout",
        599 => "network connect timeout",
        100..=199 => "informational",
        200..=299 => "success",
        300..=399 => "redirection",
        400..=499 => "client error",
        500..=599 => "server error",
        _ => "nonstandard status",
    }
}

/// A status as `429 Too Many Requests`, or, for a status with no registered
/// reason, `529 (overloaded)`: never `<unknown status code>`.
#[derive(Debug, Clone, Copy)]
pub struct StatusText(pub StatusCode);

impl fmt::Display for StatusText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.0.as_u16();
        match self.0.canonical_reason() {
            Some(reason) => write!(f, "{code} {reason}"),
            None => write!(f, "{code} ({})", status_reason(self.0)),
        }
    }
}

/// The text of an error that came with server text (a decoder's message can
/// quote the body), scrubbed and cut; its own sources are flattened into it.
struct ScrubbedSource(String);

impl ScrubbedSource {
    fn new(source: &(dyn StdError + 'static), scrub: &Scrubber) -> Self {
        let mut text = source.to_string();
        let mut next = source.source();
        while let Some(s) = next {
            text.push_str(": ");
            text.push_str(&s.to_string());
            next = s.source();
        }
        Self(crate::redact::single_line(&scrub.clip(&text, 1024)).into_owned())
    }
}

impl fmt::Display for ScrubbedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ScrubbedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl StdError for ScrubbedSource {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::Config(m) => write!(f, "configuration error: {m}"),
            Kind::InvalidInput(m) => write!(f, "invalid request: {m}"),
            Kind::Credentials(m) => write!(f, "credentials unavailable: {m}"),
            Kind::Connect => f.write_str("could not connect to the server"),
            Kind::Timeout { phase, after } => {
                let what = match phase {
                    TimeoutPhase::Connect => "connecting to the server timed out",
                    TimeoutPhase::Request => "the request timed out",
                    TimeoutPhase::StreamIdle => "the stream went idle",
                };
                match after {
                    Some(d) => write!(f, "{what} after {d:?}"),
                    None => f.write_str(what),
                }
            }
            Kind::Request(what) => write!(f, "{what}"),
            Kind::Api(failure) => {
                f.write_str("API error")?;
                if let Some(s) = failure.status {
                    write!(f, " {}", StatusText(s))?;
                }
                let d = &failure.details;
                if let Some(t) = d.error_type() {
                    write!(f, " [{}]", single_line(t))?;
                }
                if let Some(c) = d.code() {
                    write!(f, " (code {})", single_line(c))?;
                }
                if let Some(p) = d.param() {
                    write!(f, " (param {})", single_line(p))?;
                }
                write!(f, ": {}", single_line(d.message()))?;
                if let Some(id) = &failure.request_id {
                    write!(f, " (request id {id})")?;
                }
                if let Some(wait) = failure.retry_after {
                    write!(f, " (the server asks to wait {wait:?})")?;
                }
                Ok(())
            }
            Kind::Redirect { status, location } => {
                write!(
                    f,
                    "the server answered {} with a redirect",
                    StatusText(*status)
                )?;
                if let Some(l) = location {
                    write!(f, " to {l}")?;
                }
                f.write_str("; redirects are not followed with credentials attached")
            }
            Kind::BodyTooLarge { limit } => {
                write!(f, "the response body exceeds the limit of {limit} bytes")
            }
            Kind::Decode {
                status,
                excerpt,
                failure,
            } => {
                f.write_str("could not decode the response")?;
                if let Some(s) = status {
                    write!(f, " (status {})", StatusText(*s))?;
                }
                if let Some(failure) = failure {
                    match failure.path() {
                        Some(p) => write!(f, " at {p}: {}", failure.reason())?,
                        None => write!(f, ": {}", failure.reason())?,
                    }
                }
                if excerpt.is_empty() {
                    f.write_str(if failure.is_some() {
                        "; the body is empty"
                    } else {
                        ": the body is empty"
                    })
                } else {
                    write!(f, "; body starts with: {excerpt}")
                }
            }
            Kind::Stream { kind, limit } => match kind {
                StreamErrorKind::Truncated => {
                    f.write_str("the event stream ended before its terminal event")
                }
                StreamErrorKind::LineTooLong => {
                    write!(
                        f,
                        "an event stream line exceeds {} bytes",
                        limit.unwrap_or(0)
                    )
                }
                StreamErrorKind::EventTooLarge => {
                    write!(
                        f,
                        "an event stream event exceeds {} bytes",
                        limit.unwrap_or(0)
                    )
                }
            },
            Kind::Limit { what, limit } => {
                write!(f, "{what} reached the client's limit of {limit}")
            }
            Kind::Protocol(what) => write!(f, "the server broke the protocol: {what}"),
            Kind::Layer(m) => write!(f, "a layer around the request failed: {}", single_line(m)),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("oai::Error");
        d.field("kind", &self.kind());
        d.field("message", &format_args!("{self}"));
        if let Some(s) = &self.inner.source {
            d.field("source", &format_args!("{s}"));
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }

    fn excerpt(body: &[u8]) -> String {
        Scrubber::new().excerpt(body, EXCERPT_CHARS)
    }

    #[test]
    fn excerpt_is_capped_and_one_line() {
        let body = "<html>\n<body>502 Bad Gateway</body>\r\n</html>".repeat(50);
        let e = excerpt(body.as_bytes());
        assert!(e.chars().count() <= EXCERPT_CHARS + 1);
        assert!(!e.contains('\n') && !e.contains('\r'));
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"short"), "short");
        assert_eq!(excerpt(b""), "");
        // invalid UTF-8 never panics
        assert!(!excerpt(&[0xff, 0xfe, b'a']).is_empty());
    }

    #[test]
    fn every_status_prints_with_a_reason() {
        let text = |code: u16| {
            StatusCode::from_u16(code)
                .map(|s| StatusText(s).to_string())
                .unwrap_or_default()
        };
        assert_eq!(text(429), "429 Too Many Requests");
        assert_eq!(text(529), "529 (overloaded)");
        assert_eq!(text(520), "520 (unknown error)");
        assert_eq!(text(599), "599 (network connect timeout)");
        assert_eq!(text(561), "561 (server error)");
        assert_eq!(text(470), "470 (client error)");
        assert_eq!(text(799), "799 (nonstandard status)");
        for code in 100..=999u16 {
            let t = text(code);
            assert!(t.starts_with(&code.to_string()), "{t}");
            assert!(!t.contains("unknown status"), "{t}");
        }
        let Ok(s) = StatusCode::from_u16(529) else {
            return;
        };
        let e = Error::api(Some(s), None, ApiErrorDetails::new("Overloaded"));
        assert_eq!(e.to_string(), "API error 529 (overloaded): Overloaded");
    }

    /// `is_transient` of an API error is the retry policy's answer.
    #[test]
    fn api_errors_are_transient_as_the_retry_policy_says() {
        for code in 100..=999u16 {
            let Ok(s) = StatusCode::from_u16(code) else {
                continue;
            };
            let e = Error::api(Some(s), None, ApiErrorDetails::new("x"));
            assert_eq!(e.is_transient(), crate::retry::is_retryable(s), "{code}");
            assert_eq!(e.retry_after(), None);
        }
        let quota = ApiErrorDetails::new("x").with_code("insufficient_quota");
        assert!(
            !Error::api(Some(StatusCode::TOO_MANY_REQUESTS), None, quota.clone()).is_transient()
        );
        assert!(Error::api(Some(StatusCode::BAD_GATEWAY), None, quota).is_transient());
        assert!(!Error::api(None, None, ApiErrorDetails::new("in a stream")).is_transient());

        let mut h = HeaderMap::new();
        h.insert("retry-after", http::HeaderValue::from_static("300"));
        h.insert("x-should-retry", http::HeaderValue::from_static("false"));
        let e = Error::api_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            ApiErrorDetails::new("x"),
            &h,
            std::time::SystemTime::now(),
        );
        assert!(!e.is_transient());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(300)));
        assert!(
            e.to_string().ends_with("(the server asks to wait 300s)"),
            "{e}"
        );
    }

    #[test]
    fn display_is_one_line_without_source() {
        let inner = std::io::Error::other("secret-detail-from-source");
        let e = Error::decode(
            Some(StatusCode::BAD_GATEWAY),
            b"<html>\n502</html>",
            inner,
            &Scrubber::new(),
        );
        let s = e.to_string();
        assert!(!s.contains('\n'));
        assert!(!s.contains("secret-detail-from-source"));
        assert!(s.contains("502"));
        assert!(e.source().is_some());
    }
}
