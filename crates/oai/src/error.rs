//! [`Error`]: the one error of the facade, which every error of the library
//! converts into with `?`.
//!
//! The layers underneath keep errors of their own (the transport's
//! [`transport::Error`](oai_transport::Error), the builders'
//! [`ValidationError`]), and each helper has an
//! error that says where it stopped ([`UploadError`](crate::upload::UploadError)
//! knows the parts already sent, `BatchRunError` the batch id to resume with).
//! None of them is lost on the way up: an [`Error`] answers the questions of
//! the error it holds ([`Error::status`], [`Error::violations`], ...), and
//! [`Error::downcast_ref`] gives back a helper's own error.
//!
//! The kinds are the library's to set: nothing outside this crate constructs
//! an [`Error`] except by converting one of the library's errors, and each
//! conversion decides the kind from what happened (a server that broke the
//! protocol is [`ErrorKind::Protocol`], never the user's invalid input).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use oai_builders::{ValidationError, Violation};
use oai_transport::decode::DecodeFailure;
use oai_transport::http::StatusCode;
use oai_transport::{ApiErrorDetails, StreamErrorKind, TimeoutPhase};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure the library reports: configuration, input, network, the
/// API's refusal, an unreadable answer, a broken stream, and what the helpers
/// add (a failed batch, a refused webhook, an answer that is not the
/// requested type).
///
/// `Display` is one line and does not repeat its [`source`](StdError::source).
/// No error ever holds a credential: server text is scrubbed of the
/// credentials in use before it is kept.
///
/// ```
/// // Any of the library's errors converts with `?`, validation included.
/// fn request() -> oai::Result<oai::types::CreateEmbeddingRequest> {
///     let builder = oai::builders::CreateEmbeddingRequestBuilder::new("hi", "text-embedding-3-small");
///     Ok(builder.dimensions(0).build()?)
/// }
/// let err = request().unwrap_err();
/// assert!(err.is_invalid_input());
/// assert_eq!(err.violations()[0].path, "dimensions");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    repr: Repr,
}

enum Repr {
    /// What the HTTP machine reported.
    Transport(oai_transport::Error),
    /// A request that breaks the API's constraints.
    Invalid(ValidationError),
    /// The facade's own: a message in this crate's words, and its cause.
    Own {
        message: String,
        source: Option<BoxError>,
    },
    /// A helper's error, kept whole (see [`Error::downcast_ref`]).
    Helper(BoxError),
}

/// The broad class of an [`Error`], for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client configuration is unusable (a missing or malformed key, a
    /// bad base URL, a webhook secret that is not one).
    Config,
    /// The request was refused before it was sent: it breaks the API's
    /// constraints ([`Error::violations`] lists them), a value cannot be
    /// encoded, a helper was given input it cannot use.
    InvalidInput,
    /// The credential provider failed or returned an unusable credential.
    Credentials,
    /// No connection could be made to the server.
    Connect,
    /// A connect, request, stream-idle or helper timeout elapsed.
    Timeout,
    /// The request could not be sent or the response could not be read (I/O).
    Request,
    /// The server answered with an error status, or sent an error inside a
    /// stream or a realtime session.
    Api,
    /// The server answered with a redirect, which is never followed with
    /// credentials.
    Redirect,
    /// The response body exceeded the configured size cap.
    BodyTooLarge,
    /// The response body could not be decoded into the expected type.
    Decode,
    /// A server-sent event stream broke: truncated, malformed, or over a cap.
    Stream,
    /// A bound the client sets on what a server may make it hold or do was
    /// reached (bytes of a stream, pages of a list, tool calls of a round).
    Limit,
    /// The server's answers contradict the protocol in a way no retry fixes
    /// (a repeated pagination cursor, events that disagree, an answer with
    /// no choice).
    Protocol,
    /// Reading or writing a local file or stream failed (the source of an
    /// upload, the destination of a download).
    Io,
    /// A job the server ran ended in failure (a batch with status `failed`).
    Failed,
    /// The answer arrived but cannot be used as asked: the model refused, it
    /// was cut short, or its text is not the requested type.
    Answer,
    /// A webhook delivery was refused: unsigned, forged, too old, replayed.
    Webhook,
    /// A realtime session was closed (by either side, or dropped) while it
    /// was still needed.
    Closed,
    /// A layer around the request ([`crate::ConfigBuilder::layer`]) failed
    /// with an error of its own ([`Error::downcast_ref`] reaches it).
    Layer,
}

impl Error {
    fn new(kind: ErrorKind, repr: Repr) -> Self {
        Self {
            inner: Box::new(Inner { kind, repr }),
        }
    }

    /// An error in the facade's words.
    pub(crate) fn own(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(
            kind,
            Repr::Own {
                message: message.into(),
                source: None,
            },
        )
    }

    /// An error in the facade's words, caused by `source`.
    pub(crate) fn own_from(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::new(
            kind,
            Repr::Own {
                message: message.into(),
                source: Some(source.into()),
            },
        )
    }

    /// The user's input cannot be used; nothing was sent.
    #[cfg_attr(not(feature = "full"), allow(dead_code))]
    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::own(ErrorKind::InvalidInput, message)
    }

    /// The user's input cannot be used because of `source`; nothing was sent.
    pub(crate) fn invalid_input_from(
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::own_from(ErrorKind::InvalidInput, message, source)
    }

    /// The configuration cannot be used.
    #[cfg_attr(not(feature = "realtime-ws"), allow(dead_code))]
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::own(ErrorKind::Config, message)
    }

    /// The server broke the protocol; `what` is our text, never the server's.
    #[cfg_attr(not(feature = "full"), allow(dead_code))]
    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        Self::own(ErrorKind::Protocol, what)
    }

    /// A bound the client sets was reached.
    pub(crate) fn limit(what: &'static str, limit: u64) -> Self {
        oai_transport::Error::limit(what, limit).into()
    }

    /// A helper's own error, whose kind the helper decided.
    pub(crate) fn helper(kind: ErrorKind, error: impl Into<BoxError>) -> Self {
        Self::new(kind, Repr::Helper(error.into()))
    }

    /// A local I/O error, `doing` saying what failed.
    pub(crate) fn from_io(doing: &str, error: std::io::Error) -> Self {
        Self::own_from(ErrorKind::Io, format!("{doing} failed"), error)
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
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
    /// A bound the client sets was reached.
    pub fn is_limit(&self) -> bool {
        self.kind() == ErrorKind::Limit
    }
    /// The server's answers broke the protocol.
    pub fn is_protocol(&self) -> bool {
        self.kind() == ErrorKind::Protocol
    }
    /// The stream ended before its terminal marker.
    pub fn is_truncated(&self) -> bool {
        self.stream_error_kind() == Some(StreamErrorKind::Truncated)
    }

    /// The transport's error underneath, when the HTTP machine reported this
    /// (directly, or as the cause of a helper's error).
    pub fn transport(&self) -> Option<&oai_transport::Error> {
        match &self.inner.repr {
            Repr::Transport(e) => Some(e),
            Repr::Invalid(_) => None,
            Repr::Own { source, .. } => source.as_deref().and_then(find_transport),
            Repr::Helper(e) => find_transport(&**e),
        }
    }

    /// Every violation of the API's constraints, with its path
    /// (`$.messages[0].content`), when the request was refused for them;
    /// empty otherwise.
    pub fn violations(&self) -> &[Violation] {
        match &self.inner.repr {
            Repr::Invalid(e) => e.violations(),
            _ => &[],
        }
    }

    /// The helper's own error of type `E`, when this error is one (or was
    /// caused by one): an `UploadError` with the parts already sent, a
    /// `BatchRunError` with the batch id, a structured `ParseError` with the
    /// model's text.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        let mut next: Option<&(dyn StdError + 'static)> = match &self.inner.repr {
            Repr::Transport(e) => Some(e),
            Repr::Invalid(e) => Some(e),
            Repr::Own { source, .. } => source.as_deref().map(|s| s as _),
            Repr::Helper(e) => Some(&**e),
        };
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            if let Some(inner) = e.downcast_ref::<Error>() {
                return inner.downcast_ref::<E>();
            }
            next = e.source();
        }
        None
    }

    /// The HTTP status of the response this error comes from, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.transport().and_then(oai_transport::Error::status)
    }

    /// The `x-request-id` of the failed response, when the server sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.transport().and_then(oai_transport::Error::request_id)
    }

    /// The error object of the API's answer (`type`, `code`, `param`, `message`).
    pub fn api_error(&self) -> Option<&ApiErrorDetails> {
        self.transport().and_then(oai_transport::Error::api_error)
    }

    /// A short, scrubbed excerpt of an undecodable body.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.transport()
            .and_then(oai_transport::Error::body_excerpt)
    }

    /// Where and why a body did not decode (the JSON path and the reason).
    pub fn decode_failure_details(&self) -> Option<&DecodeFailure> {
        self.transport()
            .and_then(oai_transport::Error::decode_failure_details)
    }

    /// Which timeout of the transport elapsed.
    pub fn timeout_phase(&self) -> Option<TimeoutPhase> {
        self.transport()
            .and_then(oai_transport::Error::timeout_phase)
    }

    /// What broke in a stream.
    pub fn stream_error_kind(&self) -> Option<StreamErrorKind> {
        self.transport()
            .and_then(oai_transport::Error::stream_error_kind)
    }

    /// Whether trying the same request again may succeed, as the client's
    /// retry policy judges it (see [`oai_transport::Error::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.transport()
            .is_some_and(oai_transport::Error::is_transient)
    }

    /// The wait the server asked for in a failed answer's `retry-after-ms`
    /// or `retry-after` header.
    pub fn retry_after(&self) -> Option<Duration> {
        self.transport().and_then(oai_transport::Error::retry_after)
    }
}

/// The first transport error in `e`'s chain (through facade errors too).
fn find_transport<'a>(
    e: &'a (dyn StdError + Send + Sync + 'static),
) -> Option<&'a oai_transport::Error> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<oai_transport::Error>() {
            return Some(t);
        }
        if let Some(f) = e.downcast_ref::<Error>() {
            return f.transport();
        }
        next = e.source();
    }
    None
}

/// The facade's kind for a transport kind.
fn kind_of(e: &oai_transport::Error) -> ErrorKind {
    use oai_transport::ErrorKind as T;
    match e.kind() {
        T::Config => ErrorKind::Config,
        T::InvalidInput => ErrorKind::InvalidInput,
        T::Credentials => ErrorKind::Credentials,
        T::Connect => ErrorKind::Connect,
        T::Timeout => ErrorKind::Timeout,
        T::Api => ErrorKind::Api,
        T::Redirect => ErrorKind::Redirect,
        T::BodyTooLarge => ErrorKind::BodyTooLarge,
        T::Decode => ErrorKind::Decode,
        T::Stream => ErrorKind::Stream,
        T::Limit => ErrorKind::Limit,
        T::Protocol => ErrorKind::Protocol,
        T::Layer => ErrorKind::Layer,
        // `Request`, and any kind a later transport adds: I/O of the call.
        _ => ErrorKind::Request,
    }
}

impl From<oai_transport::Error> for Error {
    fn from(e: oai_transport::Error) -> Self {
        Self::new(kind_of(&e), Repr::Transport(e))
    }
}

#[cfg(feature = "webhooks")]
impl From<oai_webhooks::WebhookError> for Error {
    /// A refused delivery is [`ErrorKind::Webhook`], an unusable secret
    /// [`ErrorKind::Config`]; [`Error::downcast_ref`] gives the reason back.
    fn from(e: oai_webhooks::WebhookError) -> Self {
        let kind = match e {
            oai_webhooks::WebhookError::InvalidSecret(_) => ErrorKind::Config,
            _ => ErrorKind::Webhook,
        };
        Self::helper(kind, e)
    }
}

impl From<std::io::Error> for Error {
    /// A local I/O error (a file the application opens for a download, say)
    /// is [`ErrorKind::Io`], so one `?` serves the whole function.
    fn from(e: std::io::Error) -> Self {
        Self::own_from(ErrorKind::Io, "local I/O failed", e)
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Self::new(ErrorKind::InvalidInput, Repr::Invalid(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
            Repr::Transport(e) => fmt::Display::fmt(e, f),
            Repr::Invalid(e) => fmt::Display::fmt(e, f),
            Repr::Helper(e) => fmt::Display::fmt(e, f),
            Repr::Own { message, .. } => match self.inner.kind {
                ErrorKind::InvalidInput => write!(f, "invalid request: {message}"),
                ErrorKind::Config => write!(f, "configuration error: {message}"),
                ErrorKind::Protocol => write!(f, "the server broke the protocol: {message}"),
                _ => f.write_str(message),
            },
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("oai::Error");
        d.field("kind", &self.kind());
        d.field("message", &format_args!("{self}"));
        if let Some(s) = self.source() {
            d.field("source", &format_args!("{s}"));
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.inner.repr {
            Repr::Transport(e) => e.source(),
            Repr::Invalid(e) => e.source(),
            Repr::Own { source, .. } => source.as_deref().map(|s| s as _),
            Repr::Helper(e) => e.source(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_and_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn transport_errors_keep_their_answers() {
        let details = ApiErrorDetails::new("slow down").with_code("rate_limit_exceeded");
        let t = oai_transport::Error::api(
            Some(StatusCode::TOO_MANY_REQUESTS),
            Some("req_1".into()),
            details,
        );
        let text = t.to_string();
        let e = Error::from(t);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(e.request_id(), Some("req_1"));
        assert_eq!(
            e.api_error().and_then(|d| d.code()),
            Some("rate_limit_exceeded")
        );
        assert!(e.is_transient());
        assert_eq!(e.to_string(), text);
    }

    #[test]
    fn a_helper_error_caused_by_a_transport_error_answers_for_it() {
        #[derive(Debug)]
        struct Stage(Error);
        impl fmt::Display for Stage {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("stage failed")
            }
        }
        impl StdError for Stage {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let t = oai_transport::Error::api(
            Some(StatusCode::BAD_GATEWAY),
            None,
            ApiErrorDetails::new("x"),
        );
        let e = Error::helper(ErrorKind::Api, Stage(t.into()));
        assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
        assert!(e.downcast_ref::<Stage>().is_some());
        assert!(e.downcast_ref::<oai_transport::Error>().is_some());
        assert_eq!(e.to_string(), "stage failed");
    }
}
