//! An in-process fake of the OpenAI HTTP API, for tests.
//!
//! [`MockServer::start`] binds a loopback port and serves realistic default
//! answers for chat completions, the Responses API (both also streamed),
//! embeddings, models, files and batches, in the shapes the real API uses.
//! Tests script the next replies per endpoint ([`MockServer::chat`],
//! [`MockServer::responses`], [`MockServer::on`]) and read back every request
//! the server received ([`MockServer::requests`]).
//!
//! ```no_run
//! # async fn demo() {
//! let server = oai_mock::MockServer::start().await;
//! // Point the code under test at `server.base_url()` with `server.api_key()`.
//! server.chat().text("Hello from the script");
//! server.chat().error(429, "slow down");
//! // ... run the code under test ...
//! for request in server.requests() {
//!     println!("{} {}", request.method, request.path);
//! }
//! # }
//! ```
//!
//! The server stops when the last [`MockServer`] handle is dropped. It needs a
//! tokio runtime (any flavour) and never leaves the loopback interface.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bodies;
mod embeddings;
mod multipart;
#[cfg(feature = "realtime")]
mod realtime;
mod routes;
mod server;
mod state;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::state::Reply;

/// The API key the mock expects: `Authorization: Bearer sk-mock`.
const API_KEY: &str = "sk-mock";

/// A running fake OpenAI server on `127.0.0.1`.
///
/// Cloning gives another handle to the same server; the server task stops when
/// the last handle is dropped. Every request must carry
/// `Authorization: Bearer` with [`api_key`](Self::api_key), otherwise it gets
/// a 401 in the API's error shape.
///
/// ```no_run
/// use oai_mock::{MockServer, ToolCall};
/// use serde_json::json;
///
/// # async fn demo() -> std::io::Result<()> {
/// let server = MockServer::try_start().await?;
/// let base_url = server.base_url(); // "http://127.0.0.1:PORT/v1"
/// let api_key = server.api_key(); // "sk-mock"
///
/// // The next chat completion calls a tool, the one after that answers text.
/// server
///     .chat()
///     .tool_calls([ToolCall::new("get_weather", json!({"city": "Paris"}))]);
/// server.chat().text("It is sunny in Paris.");
/// // Any other endpoint can be scripted by method and path.
/// server.on("GET", "/v1/models").error(503, "maintenance");
///
/// // ... run the code under test against `base_url` and `api_key` ...
/// # let _ = (base_url, api_key);
///
/// let sent = server.requests();
/// assert!(sent.iter().all(|r| r.header("authorization") == Some("Bearer sk-mock")));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MockServer {
    handle: Arc<server::Handle>,
}

impl MockServer {
    /// Starts a server on `127.0.0.1` with a port chosen by the system.
    ///
    /// # Panics
    ///
    /// When the port cannot be bound or no tokio runtime is running; use
    /// [`try_start`](Self::try_start) to get that as an error instead.
    pub async fn start() -> MockServer {
        match Self::try_start().await {
            Ok(server) => server,
            Err(err) => panic!("oai-mock: the mock server could not start: {err}"),
        }
    }

    /// Starts a server on `127.0.0.1` with a port chosen by the system, or
    /// returns why it could not (no tokio runtime, bind failure).
    pub async fn try_start() -> std::io::Result<MockServer> {
        let handle = server::Handle::start().await?;
        Ok(MockServer {
            handle: Arc::new(handle),
        })
    }

    /// The base URL to give a client: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.handle.addr)
    }

    /// The API key every request must carry as `Authorization: Bearer sk-mock`.
    pub fn api_key(&self) -> &'static str {
        API_KEY
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr
    }

    /// Every request received so far, in arrival order, including refused ones.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.handle.shared.requests()
    }

    /// Drops every queued script and every recorded request. Stored files and
    /// batches stay.
    pub fn reset(&self) {
        self.handle.shared.reset();
    }

    /// Answers every request from `cassette` from now on, offline, instead
    /// of the scripts and default answers: each request gets the next
    /// exchange recorded with its fingerprint (method, path with query, and
    /// body with keys in any order; the last one repeats), with its status,
    /// headers and body, or its events in their order. A request that no
    /// exchange matches gets a 404 whose message names the closest recorded
    /// exchange and where they differ ([`unmatched`](Self::unmatched) lists
    /// them). The API key is not checked: the cassette decides.
    ///
    /// Cassettes are written by `oai::record::Recorder`.
    pub fn replay(&self, cassette: oai_cassette::Cassette) {
        self.handle.shared.lock().replay = Some(state::Replay {
            cassette: oai_cassette::Replay::new(cassette),
            unmatched: Vec::new(),
        });
    }

    /// Every request a replayed cassette had no exchange for, as the error
    /// it was answered with said it.
    pub fn unmatched(&self) -> Vec<String> {
        self.handle
            .shared
            .lock()
            .replay
            .as_ref()
            .map(|r| r.unmatched.clone())
            .unwrap_or_default()
    }

    /// Scripts `POST /v1/chat/completions`.
    pub fn chat(&self) -> Script<'_> {
        self.on("POST", "/v1/chat/completions")
    }

    /// Scripts `POST /v1/responses`.
    pub fn responses(&self) -> Script<'_> {
        self.on("POST", "/v1/responses")
    }

    /// Scripts any endpoint by method and exact path (no query string), such
    /// as `on("GET", "/v1/models")`. A path that does not start with `/v1` is
    /// taken relative to [`base_url`](Self::base_url): `"/models"` is
    /// `"/v1/models"`.
    ///
    /// On endpoints other than chat completions and responses,
    /// [`Script::text`] answers `text/plain` and [`Script::json`] answers the
    /// value itself; tool calls, refusals and cut streams have no meaning
    /// there and answer a 500 that says so.
    pub fn on(&self, method: &str, path: &str) -> Script<'_> {
        Script {
            server: self,
            key: state::script_key(method, path),
        }
    }
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.handle.addr)
            .finish_non_exhaustive()
    }
}

/// Queues one reply for the next matching request; made by
/// [`MockServer::chat`], [`MockServer::responses`] or [`MockServer::on`].
///
/// Replies for one endpoint are used first in, first out. A request with no
/// queued reply gets the server's default answer.
#[must_use = "a script does nothing until one of its reply methods is called"]
pub struct Script<'a> {
    server: &'a MockServer,
    key: String,
}

impl Script<'_> {
    fn push(self, reply: Reply) {
        self.server.handle.shared.push_script(self.key, reply);
    }

    /// Answers with an assistant message holding `text` (streamed as word
    /// deltas when the request asks for a stream).
    pub fn text(self, text: impl Into<String>) {
        self.push(Reply::Text(text.into()));
    }

    /// Answers with tool calls: `message.tool_calls` with finish reason
    /// `tool_calls` in chat completions, `function_call` output items in the
    /// Responses API.
    pub fn tool_calls(self, calls: impl IntoIterator<Item = ToolCall>) {
        self.push(Reply::ToolCalls(calls.into_iter().collect()));
    }

    /// Answers with the JSON text of `value` as the message content, the way
    /// structured outputs arrive.
    pub fn json(self, value: serde_json::Value) {
        self.push(Reply::Json(value));
    }

    /// Answers with a refusal instead of content.
    pub fn refusal(self, text: impl Into<String>) {
        self.push(Reply::Refusal(text.into()));
    }

    /// Answers `status` with the API's error body
    /// `{"error": {"message", "type", "param", "code"}}`; `type` and `code`
    /// follow the status (429 is `rate_limit_exceeded`, 5xx `server_error`).
    pub fn error(self, status: u16, message: impl Into<String>) {
        self.push(Reply::Error {
            status,
            message: message.into(),
            retry_after: None,
        });
    }

    /// Like [`error`](Self::error), with the `retry-after-ms` (milliseconds)
    /// and `retry-after` (whole seconds, rounded up) headers.
    pub fn error_with_retry_after(
        self,
        status: u16,
        message: impl Into<String>,
        retry_after: Duration,
    ) {
        self.push(Reply::Error {
            status,
            message: message.into(),
            retry_after: Some(retry_after),
        });
    }

    /// Answers `status` with `body` as it is.
    pub fn body(self, status: u16, body: serde_json::Value) {
        self.push(Reply::Body { status, body });
    }

    /// The next *streamed* answer of this endpoint (text
    /// `"partial answer ..."`) stops after `events` server-sent events: no
    /// terminal event, no `data: [DONE]`, and the connection is closed.
    /// Requests that do not stream pass over this reply and leave it queued.
    pub fn cut_stream_after(self, events: usize) {
        self.push(Reply::CutStream(events));
    }

    /// Delays the next answer of this endpoint: the status and headers are
    /// sent at once, then nothing for `delay` (a stream stalls after its first
    /// event), then the answer it would have had otherwise (the next queued
    /// reply or the default).
    pub fn stall(self, delay: Duration) {
        self.push(Reply::Stall(delay));
    }
}

impl fmt::Debug for Script<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("endpoint", &self.key)
            .finish()
    }
}

/// One tool call for [`Script::tool_calls`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) arguments: serde_json::Value,
}

impl ToolCall {
    /// A call of the function `name` with `arguments` (sent as their JSON
    /// text). Its id is `call_<n>`, numbered per server, unless
    /// [`with_id`](Self::with_id) sets one.
    pub fn new(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        ToolCall {
            id: None,
            name: name.into(),
            arguments,
        }
    }

    /// Sets the call id (`call_id` in the Responses API).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The method, such as `POST`.
    pub method: String,
    /// The path, such as `/v1/chat/completions`.
    pub path: String,
    /// The query string without `?`, when there was one.
    pub query: Option<String>,
    /// Every header in arrival order, names in lower case, values as sent
    /// (nothing is redacted: this is a test tool).
    pub headers: Vec<(String, String)>,
    /// The body bytes (empty when the body was refused as too large).
    pub body: Bytes,
}

impl ReceivedRequest {
    /// The body parsed as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
