//! The HTTP machine under the [`oai`](https://docs.rs/oai) OpenAI client.
//!
//! **You probably want the `oai` crate**, which puts a typed API on top of this
//! one. This crate knows no OpenAI resource: it holds the configuration and
//! credentials, sends requests with timeouts and the SDKs' retry rules, reads
//! bodies under a size cap, decodes server-sent events, pages through cursor
//! lists, and turns every failure into one [`Error`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), oai_transport::Error> {
//! use oai_transport::{Config, Transport, RequestBuilder};
//! use http::Method;
//!
//! let transport = Transport::new(Config::from_env()?)?;
//! let models: serde_json::Value =
//!     RequestBuilder::new(transport, Method::GET, "/models").send().await?;
//! # Ok(()) }
//! ```
//!
//! Without the default `client` feature only the pure parts build (the event
//! stream decoder, the error body, `Retry-After` and page parsers): that is what
//! the fuzz targets link.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod api_error;
pub mod decode;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod page;
pub mod ratelimit;
pub mod redact;
pub mod retry;
pub mod sse;

#[cfg(feature = "client")]
mod auth;
#[cfg(feature = "client")]
pub mod azure;
#[cfg(feature = "client")]
mod builder;
#[cfg(feature = "client")]
pub mod config;
#[cfg(feature = "client")]
pub mod layer;
#[cfg(feature = "client")]
pub mod limiter;
#[cfg(feature = "client")]
pub mod multipart;
#[cfg(feature = "client")]
mod options;
#[cfg(feature = "client")]
pub mod paginate;
#[cfg(feature = "client")]
mod response;
#[cfg(feature = "client")]
pub mod stream;
#[cfg(feature = "client")]
mod transport;

pub use api_error::ApiErrorDetails;
pub use decode::DecodeFailure;
pub use error::{Error, ErrorKind, Result, StreamErrorKind, TimeoutPhase};
pub use page::{Cursor, Page};
pub use ratelimit::RateLimit;
pub use sse::{SseEvent, SseLimits};

#[cfg(feature = "client")]
pub use auth::{AuthStyle, CredentialFuture, CredentialProvider};
#[cfg(feature = "client")]
pub use azure::AzureBuilder;
#[cfg(feature = "client")]
pub use builder::RequestBuilder;
#[cfg(feature = "client")]
pub use config::{Config, ConfigBuilder, Timeouts};
#[cfg(feature = "client")]
pub use limiter::{LimiterStats, RateLimiter};
#[cfg(feature = "client")]
pub use multipart::{MultipartForm, Part};
#[cfg(feature = "client")]
pub use options::RequestOptions;
#[cfg(feature = "client")]
pub use paginate::{ItemStream, PageStream};
#[cfg(feature = "client")]
pub use response::{RawResponse, Response, ResponseMeta};
#[cfg(feature = "client")]
pub use stream::{ByteStream, JsonStream, Observer, SseStream, StreamOptions};
#[cfg(feature = "client")]
pub use transport::{Request, RequestBody, StreamingResponse, Transport, USER_AGENT};

/// The longest duration the client ever waits on: one year. Every timeout,
/// deadline and delay the user or a server gives is clamped to it before it
/// is added to an instant, so `Duration::MAX` ("no limit") never overflows.
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 60 * 60);

/// `d`, at most [`MAX_WAIT`].
pub fn clamp_duration(d: std::time::Duration) -> std::time::Duration {
    d.min(MAX_WAIT)
}

/// Re-exported so callers need not depend on these crates themselves.
#[cfg(feature = "client")]
pub use {http, secrecy};
