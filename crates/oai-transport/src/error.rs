#![cfg_attr(not(feature = "client"), allow(dead_code))]
//! The one error type of the stack.
//!
//! [`Error`] is small (one pointer) and opaque: callers ask questions of it
//! ([`Error::is_timeout`], [`Error::status`], [`Error::api_error`], ...) instead of
//! matching on the types of the HTTP libraries underneath, which never show.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::api_error::ApiErrorDetails;
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
}

struct ApiFailure {
    status: Option<StatusCode>,
    request_id: Option<String>,
    details: ApiErrorDetails,
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

    pub(crate) fn request(what: &'static str, source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Request(what)).with_source(source)
    }

    /// An API refusal: `status` is `None` for an error delivered inside a stream.
    pub fn api(
        status: Option<StatusCode>,
        request_id: Option<String>,
        details: ApiErrorDetails,
    ) -> Self {
        Self::new(Kind::Api(Box::new(ApiFailure {
            status,
            request_id,
            details,
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

    /// A body that could not be decoded; keeps a short excerpt of it and the
    /// text of `source`, both scrubbed of every credential `scrub` knows
    /// before they are cut (a decoder's message may quote the body).
    pub fn decode(
        status: Option<StatusCode>,
        body: &[u8],
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
        scrub: &Scrubber,
    ) -> Self {
        let source: BoxError = source.into();
        Self::new(Kind::Decode {
            status,
            excerpt: scrub.excerpt(body, EXCERPT_CHARS),
        })
        .with_source(ScrubbedSource::new(&*source, scrub))
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

    /// Whether the default retry policy would try this request again: connection
    /// errors, timeouts (not stream-idle ones) and request I/O errors. API refusals
    /// are decided from their status and headers, see [`crate::retry`].
    pub fn is_transient(&self) -> bool {
        match &self.inner.kind {
            Kind::Connect | Kind::Request(_) => true,
            Kind::Timeout { phase, .. } => *phase != TimeoutPhase::StreamIdle,
            _ => false,
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
                    write!(f, " {s}")?;
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
                Ok(())
            }
            Kind::Redirect { status, location } => {
                write!(f, "the server answered {status} with a redirect")?;
                if let Some(l) = location {
                    write!(f, " to {l}")?;
                }
                f.write_str("; redirects are not followed with credentials attached")
            }
            Kind::BodyTooLarge { limit } => {
                write!(f, "the response body exceeds the limit of {limit} bytes")
            }
            Kind::Decode { status, excerpt } => {
                f.write_str("could not decode the response")?;
                if let Some(s) = status {
                    write!(f, " (status {s})")?;
                }
                if excerpt.is_empty() {
                    f.write_str(": the body is empty")
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
