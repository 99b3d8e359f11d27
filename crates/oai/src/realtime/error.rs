//! The one error type of realtime sessions.

use std::fmt;
use std::time::Duration;

use oai_types::RealtimeServerEventError;

/// What went wrong with a realtime session.
///
/// Some errors end the session ([`RealtimeError::is_fatal`]): the receiver
/// yields the error, then `None`. The others ([`RealtimeError::Server`],
/// [`RealtimeError::Decode`], [`RealtimeError::UnexpectedBinary`]) concern
/// one event, and the session goes on.
///
/// No variant ever holds the credential: text that comes from the server
/// (error events, close reasons, handshake bodies, undecodable events) has it
/// replaced by `[REDACTED]` before it is kept.
#[derive(Debug)]
#[non_exhaustive]
pub enum RealtimeError {
    /// The configuration cannot make a connection (a bad base URL, key,
    /// header or model), found before any I/O.
    Config(crate::Error),
    /// The connection could not be made: DNS, TCP, TLS, or a malformed
    /// handshake answer.
    Connect(String),
    /// Connecting (TCP, TLS and the WebSocket handshake) took longer than
    /// the connect timeout.
    ConnectTimeout(Duration),
    /// The server refused the WebSocket handshake with this HTTP answer.
    Handshake {
        /// The HTTP status.
        status: u16,
        /// The `x-request-id` header, if the server sent one.
        request_id: Option<String>,
        /// The start of the answer's body (at most 200 characters, control
        /// characters removed), if it had one.
        body: Option<String>,
    },
    /// The server sent an `error` event (kept typed). The session goes on.
    Server(Box<RealtimeServerEventError>),
    /// The server closed the connection with a close code other than
    /// normal (1000) or going away (1001).
    AbnormalClose {
        /// The close code.
        code: u16,
        /// The reason the server gave (at most 200 characters).
        reason: String,
    },
    /// The connection ended without a close handshake (the TCP connection
    /// was dropped or reset).
    EndedWithoutClose,
    /// The session closed normally while a helper still waited for an event
    /// (a `response.done`, say).
    Closed,
    /// A frame or message over its cap, refused before it was read or sent
    /// (or text and audio collected by a helper beyond its cap).
    TooLarge {
        /// What was too large: `"frame"`, `"message"`, `"outgoing message"`,
        /// `"collected output"`.
        what: &'static str,
        /// Its size in bytes, when known.
        size: Option<usize>,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The server did not answer a keep-alive ping within the pong deadline.
    KeepAliveTimeout(Duration),
    /// The server did not answer our close within the close timeout; the
    /// connection was dropped.
    CloseTimeout(Duration),
    /// The session is closed (by [`close`](super::RealtimeSender::close), by
    /// the server, or by an error): nothing more can be sent.
    SendAfterClose,
    /// A server event of a known type that does not match its schema, or a
    /// text frame that is not a JSON object with a `type`. The raw text is
    /// kept. The session goes on.
    Decode {
        /// The event's `type`, if one could be read.
        event_type: Option<String>,
        /// The whole text of the frame.
        raw: String,
        /// What did not match.
        message: String,
    },
    /// The server sent a binary frame, which the realtime API never does.
    /// The session goes on.
    UnexpectedBinary {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The server broke the WebSocket protocol (a malformed frame, invalid
    /// UTF-8 in a text frame, ...).
    Protocol(String),
}

impl RealtimeError {
    /// Whether this error ended the session.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Self::Server(_) | Self::Decode { .. } | Self::UnexpectedBinary { .. }
        )
    }

    /// The server's `error` event, if this is one.
    pub fn server_error(&self) -> Option<&RealtimeServerEventError> {
        match self {
            Self::Server(event) => Some(event),
            _ => None,
        }
    }
}

impl fmt::Display for RealtimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "realtime configuration: {e}"),
            Self::Connect(why) => write!(f, "realtime connection failed: {why}"),
            Self::ConnectTimeout(d) => write!(
                f,
                "realtime connection not established within {:.1} s",
                d.as_secs_f64()
            ),
            Self::Handshake {
                status,
                request_id,
                body,
            } => {
                write!(f, "realtime handshake refused with HTTP {status}")?;
                if let Some(id) = request_id {
                    write!(f, " (request id {id})")?;
                }
                if let Some(body) = body {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            Self::Server(event) => {
                let e = &event.error;
                write!(f, "realtime server error {}", e.r#type)?;
                if let Some(code) = &e.code {
                    write!(f, " ({code})")?;
                }
                write!(f, ": {}", e.message)
            }
            Self::AbnormalClose { code, reason } if reason.is_empty() => {
                write!(f, "realtime session closed by the server with code {code}")
            }
            Self::AbnormalClose { code, reason } => write!(
                f,
                "realtime session closed by the server with code {code}: {reason}"
            ),
            Self::EndedWithoutClose => {
                f.write_str("realtime connection ended without a close handshake")
            }
            Self::Closed => f.write_str("realtime session closed before the awaited event"),
            Self::TooLarge { what, size, limit } => match size {
                Some(size) => write!(
                    f,
                    "realtime {what} of {size} bytes is over the cap of {limit} bytes"
                ),
                None => write!(f, "realtime {what} is over the cap of {limit} bytes"),
            },
            Self::KeepAliveTimeout(d) => write!(
                f,
                "realtime server did not answer a ping within {:.1} s",
                d.as_secs_f64()
            ),
            Self::CloseTimeout(d) => write!(
                f,
                "realtime server did not answer the close within {:.1} s",
                d.as_secs_f64()
            ),
            Self::SendAfterClose => f.write_str("realtime session is closed; nothing can be sent"),
            Self::Decode {
                event_type: Some(t),
                message,
                ..
            } => write!(f, "realtime event {t:?} could not be read: {message}"),
            Self::Decode { message, .. } => {
                write!(f, "realtime event could not be read: {message}")
            }
            Self::UnexpectedBinary { bytes } => {
                write!(f, "realtime server sent a binary frame of {bytes} bytes")
            }
            Self::Protocol(why) => write!(f, "realtime protocol error: {why}"),
        }
    }
}

impl From<RealtimeError> for crate::Error {
    /// The kind of what happened: a configuration or connection failure, a
    /// timeout (connect, keep-alive, close), the server's refusal or error
    /// event (API), a cap (limit), an undecodable event (decode), a broken
    /// WebSocket protocol, a session that closed while it was needed.
    /// [`crate::Error::downcast_ref`] gives the realtime error back.
    fn from(e: RealtimeError) -> Self {
        use crate::ErrorKind as K;
        let kind = match &e {
            RealtimeError::Config(inner) => inner.kind(),
            RealtimeError::Connect(_) => K::Connect,
            RealtimeError::ConnectTimeout(_)
            | RealtimeError::KeepAliveTimeout(_)
            | RealtimeError::CloseTimeout(_) => K::Timeout,
            RealtimeError::Handshake { .. } | RealtimeError::Server(_) => K::Api,
            RealtimeError::TooLarge { .. } => K::Limit,
            RealtimeError::Decode { .. } => K::Decode,
            RealtimeError::UnexpectedBinary { .. } | RealtimeError::Protocol(_) => K::Protocol,
            RealtimeError::AbnormalClose { .. }
            | RealtimeError::EndedWithoutClose
            | RealtimeError::Closed
            | RealtimeError::SendAfterClose => K::Closed,
        };
        crate::Error::helper(kind, e)
    }
}

impl std::error::Error for RealtimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for RealtimeError {
    fn from(e: crate::Error) -> Self {
        Self::Config(e)
    }
}

impl From<oai_transport::Error> for RealtimeError {
    fn from(e: oai_transport::Error) -> Self {
        Self::Config(e.into())
    }
}

/// The one scrubbing step of the transport, for text the server chose (an
/// error event, a close reason, a refused handshake's body).
pub(crate) use oai_transport::redact::Scrubber;

/// At most `max` characters of `text` for an error: every credential `scrub`
/// knows, and every 8-byte piece of one, replaced first (a cut made before
/// would leave a prefix of a key that straddles it), then cut, then made one
/// line (control, bidi and line-separator characters become spaces).
pub(crate) fn excerpt(scrub: &Scrubber, text: &str, max: usize) -> String {
    oai_transport::redact::single_line(&scrub.excerpt(text.as_bytes(), max)).into_owned()
}

/// `text` with every credential `scrub` knows replaced, uncut.
pub(crate) fn scrubbed(scrub: &Scrubber, text: &str) -> String {
    scrub.scrub(text).into_owned()
}
