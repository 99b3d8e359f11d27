//! The realtime API over a WebSocket (feature `realtime-ws`).
//!
//! A session is one WebSocket to `/realtime`: the client sends typed
//! [`RealtimeClientEvent`]s and reads typed [`RealtimeServerEvent`]s. The
//! connection uses the [`Client`]'s configuration (key or credential
//! provider, organization, project, Azure endpoint, `api-version` and
//! `api-key` header, the https rule with its loopback exception), or an
//! ephemeral client secret alone ([`RealtimeConnect::connect_with_secret`])
//! for a program that was only handed one (`client.realtime().client_secrets()
//! .create(..)` makes them).
//!
//! ```no_run
//! use oai::realtime::RealtimeConnect;
//! use oai::types::{RealtimeSessionCreateRequestGA, RealtimeSessionCreateRequestGAOutputModalitiesItem as Modality};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = oai::Client::from_env()?;
//! let mut session = RealtimeConnect::model("gpt-realtime").connect(&client).await?;
//! session
//!     .sender()
//!     .update_session(RealtimeSessionCreateRequestGA {
//!         output_modalities: Some(vec![Modality::Text]),
//!         instructions: Some("Answer in one sentence.".into()),
//!         ..Default::default()
//!     })
//!     .await?;
//! session.sender().send_user_text("What is the capital of Peru?").await?;
//! session.sender().create_response().await?;
//! let turn = session.collect_response().await?;
//! println!("{}", turn.text);
//! session.close().await?;
//! # Ok(()) }
//! ```
//!
//! To send audio while events are read, [`split`](RealtimeSession::split)
//! the session: the [`RealtimeSender`] (cheap to clone) goes to the task
//! that captures audio ([`RealtimeSender::append_audio_pcm16`] cuts any
//! amount into events under the message cap), the [`RealtimeReceiver`] (a
//! [`Stream`](futures_core::Stream)) to the one that plays it.
//!
//! What the session promises:
//!
//! - **Nothing is lost, nothing breaks on new events.** An event type this
//!   version does not know arrives as `RealtimeServerEvent::Unknown` with its
//!   JSON. A known type that does not match its schema arrives as
//!   [`RealtimeError::Decode`] with the raw text; a server `error` event as
//!   [`RealtimeError::Server`], typed. The session goes on after all three.
//! - **Bounded memory.** Frames and messages over their caps are refused
//!   from the frame header, before their payload is read; outgoing events
//!   over the message cap are refused before they are queued; both queues
//!   are bounded in events, the incoming one also in bytes: it holds the
//!   messages' raw text, decoded only when the application takes them, and
//!   when it is full the connection is not read. See [`RealtimeLimits`].
//! - **Every end is told apart.** A clean close ends the stream (`None`);
//!   an abnormal close code, a dropped connection, a missing pong, an
//!   oversized frame are each a [`RealtimeError`] delivered last.
//! - **The key stays secret.** It travels in a sensitive header; `Debug` of
//!   every type here and every error leave it out, and text from the server
//!   has it replaced by `[REDACTED]`.
//! - **Tool calls go through the registry.** [`RealtimeReceiver::run_tools`]
//!   (feature `tools`) answers function calls through a
//!   [`ToolRunner`](crate::tools::ToolRunner): unknown names refused,
//!   arguments checked against the schema before any handler runs, handlers
//!   under a timeout.
//!
//! TLS is rustls with the ring provider and the platform's roots, as for
//! HTTP. There is no automatic reconnection: a session's state lives on the
//! server and cannot be resumed.

mod connect;
mod error;
mod flows;
mod limits;
mod session;

use std::fmt;
use std::time::Duration;

use oai_transport::http::{HeaderMap, HeaderName, HeaderValue, Method};
use oai_transport::secrecy::SecretString;

pub use error::RealtimeError;
#[cfg(feature = "tools")]
pub use flows::RealtimeToolRun;
pub use flows::{RealtimeFunctionCall, RealtimeTurn, pcm16_base64, pcm16_samples_per_message};
pub use limits::{
    DEFAULT_MAX_COLLECTED_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_QUEUED_BYTES,
    RealtimeLimits,
};
pub use oai_types::{RealtimeClientEvent, RealtimeServerEvent};
pub use session::{RealtimeReceiver, RealtimeSender, RealtimeSession};

use crate::Client;

/// How to open a realtime session: the model, limits, extra headers.
///
/// ```no_run
/// use std::time::Duration;
/// use oai::realtime::{RealtimeConnect, RealtimeLimits};
///
/// # async fn demo(client: oai::Client) -> Result<(), oai::realtime::RealtimeError> {
/// let session = RealtimeConnect::model("gpt-realtime")
///     .limits(RealtimeLimits::default().ping_interval(Some(Duration::from_secs(15))))
///     .connect(&client)
///     .await?;
/// # let _ = session; Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RealtimeConnect {
    model: Option<String>,
    limits: RealtimeLimits,
    headers: HeaderMap,
    header_error: Option<String>,
    connect_timeout: Option<Duration>,
    base_url: Option<String>,
    insecure_http: bool,
}

impl fmt::Debug for RealtimeConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealtimeConnect")
            .field("model", &self.model)
            .field("limits", &self.limits)
            .field("headers", &oai_transport::redact::Headers(&self.headers))
            .field("connect_timeout", &self.connect_timeout)
            .field("base_url", &self.base_url)
            .field("insecure_http", &self.insecure_http)
            .finish()
    }
}

impl Default for RealtimeConnect {
    fn default() -> Self {
        Self::new()
    }
}

impl RealtimeConnect {
    /// A session with `model` (sent as `?model=`; on Azure, the deployment).
    pub fn model(model: impl Into<String>) -> Self {
        Self {
            model: Some(model.into()),
            ..Self::new()
        }
    }

    /// A session without a model in the URL: for an ephemeral secret, whose
    /// session was configured when it was made.
    pub fn new() -> Self {
        Self {
            model: None,
            limits: RealtimeLimits::default(),
            headers: HeaderMap::new(),
            header_error: None,
            connect_timeout: None,
            base_url: None,
            insecure_http: false,
        }
    }

    /// The caps, queues and timers (see [`RealtimeLimits`]).
    pub fn limits(mut self, limits: RealtimeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// A header sent with the handshake, after the configuration's own. An
    /// invalid name or value is reported when connecting.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(mut v)) => {
                if oai_transport::redact::is_sensitive(&n) {
                    v.set_sensitive(true);
                }
                self.headers.insert(n, v);
            }
            _ => {
                self.header_error
                    .get_or_insert_with(|| format!("header {name:?} has an invalid name or value"));
            }
        }
        self
    }

    /// The longest TCP, TLS and the handshake together may take (default:
    /// the client's connect timeout, 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The base URL for [`connect_with_secret`](Self::connect_with_secret)
    /// (default `https://api.openai.com/v1`), under the same rule as the
    /// client's: `https`, or `http` to a loopback host. A client's own base
    /// URL is used by [`connect`](Self::connect), which ignores this.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Accepts plain `http` to a host that is not loopback for
    /// [`connect_with_secret`](Self::connect_with_secret). Anyone on the
    /// network path can then read the secret.
    pub fn danger_accept_insecure_http(mut self, yes: bool) -> Self {
        self.insecure_http = yes;
        self
    }

    fn checked_headers(&self) -> Result<(), RealtimeError> {
        match &self.header_error {
            Some(e) => Err(connect::config_error(e.clone())),
            None => Ok(()),
        }
    }

    /// Connects with `client`'s configuration: its base URL (`https` becomes
    /// `wss`), credential (a provider is asked now), organization, project,
    /// default headers and Azure settings.
    ///
    /// # Errors
    /// [`RealtimeError::Config`] before any I/O; then connect, timeout and
    /// handshake errors.
    pub async fn connect(self, client: &Client) -> Result<RealtimeSession, RealtimeError> {
        self.checked_headers()?;
        let config = client.config();
        let probe = client
            .transport()
            .url(&oai_transport::Request::new(Method::GET, "/realtime"))?;
        let url = connect::realtime_url(probe, config.is_azure(), self.model.as_deref())?;
        self.open(url, config, config.default_headers()).await
    }

    /// Connects with an ephemeral client secret (`ek_...`) and nothing
    /// else: no key, organization or project is sent, only
    /// `Authorization: Bearer <secret>`.
    ///
    /// ```no_run
    /// use oai::realtime::RealtimeConnect;
    ///
    /// # async fn demo(secret_from_my_server: String) -> Result<(), oai::realtime::RealtimeError> {
    /// let mut session = RealtimeConnect::new()
    ///     .connect_with_secret(secret_from_my_server)
    ///     .await?;
    /// while let Some(event) = session.next_event().await {
    ///     println!("{:?}", event?.tag());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with_secret(
        self,
        secret: impl Into<SecretString>,
    ) -> Result<RealtimeSession, RealtimeError> {
        self.checked_headers()?;
        let mut builder = crate::Config::builder()
            .api_key(secret)
            .danger_accept_insecure_http(self.insecure_http);
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url.clone());
        }
        let config = builder.build()?;
        let mut probe = config.base_url().clone();
        let path = format!("{}/realtime", probe.path().trim_end_matches('/'));
        probe.set_path(&path);
        let url = connect::realtime_url(probe, false, self.model.as_deref())?;
        self.open(url, &config, &HeaderMap::new()).await
    }

    /// The handshake to `url` with `config`'s credential, `defaults` and
    /// this builder's headers, under the connect timeout.
    async fn open(
        &self,
        url: url::Url,
        config: &crate::Config,
        defaults: &HeaderMap,
    ) -> Result<RealtimeSession, RealtimeError> {
        let credential = config.credential_header().await?;
        let (headers, scrub) = connect::headers(
            credential,
            defaults,
            &self.headers,
            config.scrubber().clone(),
        );
        let timeout = self.connect_timeout.unwrap_or(config.timeouts().connect);
        let target = connect::Target {
            url,
            headers,
            scrub,
        };
        connect::open(target, self.limits, timeout).await
    }
}

impl crate::generated::Realtime<'_> {
    /// Opens a session with this client's configuration: the same as
    /// [`RealtimeConnect::connect`] with this client.
    ///
    /// ```no_run
    /// use oai::realtime::RealtimeConnect;
    /// # async fn demo(client: oai::Client) -> Result<(), oai::realtime::RealtimeError> {
    /// let session = client
    ///     .realtime()
    ///     .connect(RealtimeConnect::model("gpt-realtime"))
    ///     .await?;
    /// session.close().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`RealtimeConnect::connect`].
    pub async fn connect(
        &self,
        connect: RealtimeConnect,
    ) -> Result<RealtimeSession, RealtimeError> {
        connect.connect(self.client).await
    }
}
