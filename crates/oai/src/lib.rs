//! A client for the OpenAI HTTP API whose security promises are checked by tests.
//!
//! - **Keys that cannot leak.** The key is a [`SecretString`] from configuration to
//!   the header, which is marked sensitive; `Debug`, `Display`, errors and logs
//!   never contain it, even when a server echoes it back.
//! - **Requests checked before they leave.** Paths, headers and bodies are
//!   validated before any I/O; plain `http` is refused except to loopback.
//! - **Parsers that survive hostile bytes.** Bodies are read under a size cap,
//!   event streams under line and event caps, and a stream that stops before its
//!   end marker is an error, never a silent success. The parsers are fuzzed.
//! - **The official SDKs' behaviour.** Same environment variables, timeouts
//!   (5 s connect, 600 s request), retries (2, on connection errors, timeouts,
//!   408, 409, 429 and 5xx, honouring `retry-after-ms`/`retry-after`), errors
//!   (status, request id, `type`/`code`/`param`/`message`).
//!
//! The typed API is generated from the OpenAPI document: one handle per
//! resource and one method per operation, which returns a [`Call`]. A call
//! takes the request or its builder (whose `new` takes the required fields),
//! checks it once when it is sent (before any I/O), and is awaited for the
//! answer, [`Call::stream`]ed where the operation streams, read by
//! [`Call::pages`] or [`Call::items`] where it pages; [`Call::options`] and
//! [`Call::with_meta`] work on all of them. Every error is an [`Error`]:
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use oai::chat::{Chat, Message};
//!
//! # async fn demo() -> oai::Result<()> {
//! let client = oai::Client::from_env()?; // reads OPENAI_API_KEY
//! let request = Chat::new(Message::user("Hello"), "gpt-4o-mini").temperature(0.2);
//!
//! // A plain call.
//! let answer = client.chat().completions().create(request.clone()).await?;
//! println!("{:?}", answer.choices[0].message.content);
//!
//! // The same operation streamed: typed chunks as the server sends them; an
//! // early end is an error.
//! let mut stream = client.chat().completions().create(request).stream().await?;
//! while let Some(chunk) = stream.next().await {
//!     for choice in chunk?.choices {
//!         print!("{}", choice.delta.content.unwrap_or_default());
//!     }
//! }
//!
//! // Every item of a list, page after page.
//! let mut files = client.files().list(Default::default()).items();
//! while let Some(file) = files.next().await {
//!     println!("{}", file?.filename);
//! }
//! # Ok(()) }
//! ```
//!
//! Every endpoint is also reachable through the raw request builder, with any
//! serde types:
//!
//! ```no_run
//! use serde_json::{json, Value};
//!
//! # async fn demo() -> Result<(), oai::Error> {
//! let client = oai::Client::from_env()?;
//! let answer: Value = client
//!     .post("/chat/completions")
//!     .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}))
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! [`Call::with_meta`] gives the answer with the response's metadata
//! (request id, parsed rate-limit headers); [`Call::options`] sets timeouts,
//! retries, headers and body fields for one call, streamed and paged ones
//! included.
//!
//! On top of the API, for what real applications need:
//!
//! - [`accumulate`]: stream accumulators for chat chunks and Responses events;
//! - `structured` (feature `structured`): strict JSON schemas from Rust types
//!   and `parse::<T>()` of the answers;
//! - `webhooks` (feature `webhooks`): signature verification and typed events;
//! - `upload` and `batch`: large files in parts, batch jobs end to end;
//! - [`RateLimiter`]: keeps concurrent bulk calls under the server's limits;
//! - [`Config::azure`]: Azure OpenAI with the same `Client` API;
//! - `realtime` (feature `realtime-ws`, not in the defaults): the realtime
//!   API over a WebSocket, typed events, audio and tool calls.
//!
//! Each API area is a cargo feature. The defaults are the areas most
//! programs call (chat, responses, completions, embeddings, models, files,
//! uploads, images, audio, moderations, batches, vector stores,
//! conversations) with `structured` and `tools`; `full` adds admin,
//! assistants, chatkit, containers, evals, fine-tuning, realtime, skills,
//! videos and webhooks: every operation of the API.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

use std::fmt;

pub mod accumulate;
pub mod call;
pub mod error;
mod generated;
pub mod poll;
mod raw;
#[cfg(feature = "record")]
pub mod record;
pub mod stream;
#[cfg(feature = "structured")]
pub mod structured;
pub mod telemetry;
// With only some areas enabled, some helpers have no caller.
#[cfg_attr(not(feature = "full"), allow(dead_code))]
mod support;
// The runner needs a conversation API to run over (or a realtime session).
#[cfg(all(
    feature = "tools",
    any(feature = "chat", feature = "responses", feature = "realtime-ws")
))]
pub mod tools;
/// Webhook verification and typed events: the `oai-webhooks` crate, which
/// a server that only receives webhooks can depend on alone (no HTTP client).
#[cfg(feature = "webhooks")]
#[doc(inline)]
pub use oai_webhooks as webhooks;

#[cfg(all(feature = "batches", feature = "files"))]
pub mod batch;
#[cfg(feature = "realtime-ws")]
pub mod realtime;
#[cfg(feature = "uploads")]
pub mod upload;

// Empty with no area enabled.
#[allow(unused_imports)]
#[doc(inline)]
pub use generated::areas::*;

/// The resource handles of the API (`client.chat().completions()`, ...).
pub mod resources {
    #[allow(unused_imports)]
    pub use crate::generated::*;
}

use oai_transport::http::Method;

pub use call::Call;
pub use error::{Error, ErrorKind, Result};
pub use oai_builders as builders;
/// The seam around each attempt: tower layers between the retry loop and
/// the wire ([`ConfigBuilder::layer`]).
pub use oai_transport::layer;
pub use oai_transport::secrecy::{self, SecretString};
pub use oai_transport::{
    ApiErrorDetails, AuthStyle, AzureBuilder, Config, ConfigBuilder, CredentialFuture,
    CredentialProvider, Cursor, LimiterStats, MultipartForm, Page, Part, RateLimit, RateLimiter,
    RawResponse, RequestOptions, ResponseMeta, SseEvent, SseLimits, StreamErrorKind, StreamOptions,
    TimeoutPhase, Timeouts,
};
pub use oai_types as types;
pub use raw::RequestBuilder;
pub use stream::{ByteStream, EventStream, ItemStream, PageStream};

/// An answer with the response's metadata (status, request id, rate
/// limits, attempts): what [`Call::with_meta`] gives.
pub type WithMeta<T> = oai_transport::Response<T>;
#[cfg(feature = "webhooks")]
pub use webhooks::{ReplayGuard, WebhookError, WebhookEvent, WebhookVerifier};

/// The lower layer, for advanced uses (a custom transport wrapper, the event
/// stream decoder on its own).
pub use oai_transport as transport;

/// The Rust examples of the workspace README, the one shown at the
/// repository's root, compiled as doc tests (they need a key and a server, so
/// they are built, not run).
#[cfg(all(
    doctest,
    feature = "chat",
    feature = "tools",
    feature = "realtime-ws",
    feature = "record"
))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The client. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    transport: oai_transport::Transport,
    /// Options every request of this client starts from (see
    /// [`Client::with_options`]).
    defaults: Option<std::sync::Arc<RequestOptions>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", self.transport.config())
            .field("defaults", &self.defaults)
            .finish()
    }
}

impl Client {
    /// A client configured from the environment: `OPENAI_API_KEY` (required),
    /// `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`.
    ///
    /// # Errors
    /// A configuration error naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Self> {
        Self::new(Config::from_env()?)
    }

    /// A client for `config`.
    ///
    /// ```
    /// let client = oai::Client::new(
    ///     oai::Config::builder()
    ///         .api_key("sk-example")
    ///         .max_retries(5)
    ///         .build()?,
    /// )?;
    /// # Ok::<(), oai::Error>(())
    /// ```
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(config: Config) -> Result<Self> {
        Ok(Self {
            transport: oai_transport::Transport::new(config)?,
            defaults: None,
        })
    }

    /// A client sharing this one's connections and configuration whose
    /// every request starts from `options` (merged over any this client
    /// already had; a call's own [`Call::options`] are merged over them):
    /// another timeout or retry count, extra headers, query pairs or body
    /// fields for one part of a program.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let client = oai::Client::new(oai::Config::builder().api_key("sk-example").build()?)?;
    /// let patient = client.with_options(
    ///     oai::RequestOptions::new().timeout(Duration::from_secs(1200)).max_retries(5),
    /// );
    /// # let _ = patient;
    /// # Ok::<(), oai::Error>(())
    /// ```
    pub fn with_options(&self, options: RequestOptions) -> Self {
        let merged = match &self.defaults {
            Some(before) => RequestOptions::clone(before).merge(options),
            None => options,
        };
        Self {
            transport: self.transport.clone(),
            defaults: Some(std::sync::Arc::new(merged)),
        }
    }

    /// A builder for the configuration (same as [`Config::builder`]).
    pub fn builder() -> ConfigBuilder {
        Config::builder()
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        self.transport.config()
    }

    /// The transport underneath.
    pub fn transport(&self) -> &oai_transport::Transport {
        &self.transport
    }

    /// A request with any method to `path` under the base URL (`/models`, say).
    pub fn request(&self, method: Method, path: impl Into<String>) -> RequestBuilder {
        self.transport_request(method, path).into()
    }

    /// The transport's builder for a request (what the generated methods
    /// build on), with this client's default options.
    pub(crate) fn transport_request(
        &self,
        method: Method,
        path: impl Into<String>,
    ) -> oai_transport::RequestBuilder {
        let rb = oai_transport::RequestBuilder::new(self.transport.clone(), method, path);
        match &self.defaults {
            Some(options) => rb.options(RequestOptions::clone(options)),
            None => rb,
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: impl Into<String>) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }
}

/// An id (or any value) as one percent-encoded path segment, for the raw
/// requests of [`Client::request`]: the same encoding the generated methods
/// use, so a value can never change which endpoint is called.
///
/// ```
/// assert_eq!(oai::path_segment("file_id", "file-abc123").unwrap(), "file-abc123");
/// assert_eq!(oai::path_segment("file_id", "a/../b?x").unwrap(), "a%2F..%2Fb%3Fx");
/// // Values that no URL can carry as a segment are refused.
/// assert!(oai::path_segment("file_id", "..").unwrap_err().is_invalid_input());
/// assert!(oai::path_segment("file_id", "").is_err());
/// ```
///
/// # Errors
/// An [`ErrorKind::InvalidInput`] error for an empty value, `.` or `..`.
pub fn path_segment(name: &'static str, value: &str) -> Result<String> {
    support::segment(name, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_cheap_clone_send_sync() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<Client>();
    }

    #[test]
    fn debug_hides_key() {
        let c = Client::new(
            Config::builder()
                .api_key("sk-do-not-print")
                .build()
                .unwrap(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("sk-do-not-print"));
    }
}
