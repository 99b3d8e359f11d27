//! Client configuration: a builder, and the same settings read from the environment.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;
use url::Url;

use crate::auth::{AuthStyle, CredentialProvider, CredentialSource, check_key};
use crate::error::{Error, Result};
use crate::redact::{Scrubber, is_sensitive_name};
use crate::retry::{DEFAULT_MAX_RETRIES, MAX_RETRY_AFTER};
use crate::sse::SseLimits;

/// The API's address, used when no other is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Environment variable holding the API key.
pub const ENV_API_KEY: &str = "OPENAI_API_KEY";
/// Environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "OPENAI_BASE_URL";
/// Environment variable holding the organization id.
pub const ENV_ORG_ID: &str = "OPENAI_ORG_ID";
/// Environment variable holding the project id.
pub const ENV_PROJECT_ID: &str = "OPENAI_PROJECT_ID";

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default timeout of one attempt of a whole request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Default longest gap between two chunks of a streamed body.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Default cap on a response body, in bytes (a float-JSON embeddings answer of
/// 2,048 x 1,536 values is about 60 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 128 << 20;

/// The three timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (5 s).
    pub connect: Duration,
    /// One attempt of a request, up to the last byte of a non-streamed body, or
    /// to the headers of a streamed one (600 s).
    pub request: Duration,
    /// Longest gap between chunks of a streamed body (600 s).
    pub stream_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            request: DEFAULT_REQUEST_TIMEOUT,
            stream_idle: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }
}

/// A checked, immutable configuration. Build one with [`Config::builder`] or
/// [`Config::from_env`].
#[derive(Clone)]
pub struct Config {
    pub(crate) base_url: Url,
    pub(crate) credentials: CredentialSource,
    pub(crate) credential_name: String,
    pub(crate) auth_style: AuthStyle,
    pub(crate) default_headers: HeaderMap,
    pub(crate) default_query: Vec<(String, String)>,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_retries: u32,
    pub(crate) max_retry_after: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) stream_deadline: Option<Duration>,
    pub(crate) sse_limits: SseLimits,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) proxy: Option<Url>,
    pub(crate) azure: Option<crate::azure::AzureRouting>,
    pub(crate) rate_limiter: Option<crate::limiter::RateLimiter>,
    pub(crate) layers: Vec<crate::layer::Wrap>,
    pub(crate) trace_content: bool,
    pub(crate) http2_prior_knowledge: bool,
    pub(crate) scrubber: Scrubber,
}

impl Config {
    /// A builder with the defaults and nothing read from the environment.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The configuration the environment describes (`OPENAI_API_KEY`,
    /// `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`).
    ///
    /// # Errors
    /// A configuration error naming the variable that is missing or malformed.
    pub fn from_env() -> Result<Config> {
        ConfigBuilder::from_env().build()
    }

    /// A builder for an Azure OpenAI configuration, with nothing read from the
    /// environment (see [`crate::azure`]).
    pub fn azure() -> crate::azure::AzureBuilder {
        crate::azure::AzureBuilder::default()
    }

    /// A builder for Azure OpenAI holding what the environment says
    /// (`AZURE_OPENAI_ENDPOINT`, `OPENAI_API_VERSION`, `AZURE_OPENAI_API_KEY` or
    /// `AZURE_OPENAI_AD_TOKEN`); settings made on it win.
    pub fn azure_from_env() -> crate::azure::AzureBuilder {
        crate::azure::AzureBuilder::from_env_with(|name| std::env::var(name).ok())
    }

    /// Whether this configuration talks to Azure OpenAI.
    pub fn is_azure(&self) -> bool {
        self.azure.is_some()
    }

    /// The base URL every path is appended to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
    /// Whether GenAI spans carry content (see [`ConfigBuilder::trace_content`]).
    pub fn trace_content(&self) -> bool {
        self.trace_content
    }
    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// The longest wait a server may ask for (`retry-after-ms`,
    /// `retry-after`) that is honoured before a retry.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
    /// The response body cap, in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }
    /// The caps of the event-stream decoder.
    pub fn sse_limits(&self) -> SseLimits {
        self.sse_limits
    }
    /// Headers sent with every request (organization and project included).
    pub fn default_headers(&self) -> &HeaderMap {
        &self.default_headers
    }
    /// The scrubber for server text, knowing every credential this
    /// configuration holds: the static key, the values of sensitive default
    /// headers and of sensitive default query pairs. (A credential provider's
    /// credential is added per attempt.)
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }
    /// The explicit proxy, if one was set with [`ConfigBuilder::proxy`].
    pub fn proxy(&self) -> Option<&Url> {
        self.proxy.as_ref()
    }
}

/// Query pairs for `Debug`: the values of sensitive names hidden.
struct QueryPairs<'a>(&'a [(String, String)], &'a Scrubber);

impl fmt::Debug for QueryPairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for (k, v) in self.0 {
            if is_sensitive_name(k) {
                l.entry(&(k, crate::redact::REDACTED));
            } else {
                l.entry(&(k, self.1.scrub(v)));
            }
        }
        l.finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url.as_str())
            .field("credentials", &self.credentials)
            .field("auth_style", &self.auth_style)
            .field(
                "default_headers",
                &crate::redact::Headers(&self.default_headers),
            )
            .field(
                "default_query",
                &QueryPairs(&self.default_query, &self.scrubber),
            )
            .field("timeouts", &self.timeouts)
            .field("max_retries", &self.max_retries)
            .field("max_retry_after", &self.max_retry_after)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("custom_http_client", &self.http_client.is_some())
            .field("proxy", &self.proxy.as_ref().map(|p| p.host_str()))
            .field("azure", &self.azure)
            .field("rate_limiter", &self.rate_limiter)
            .field("layers", &self.layers.len())
            .field("http2_prior_knowledge", &self.http2_prior_knowledge)
            .finish()
    }
}

enum KeySetting {
    Unset,
    /// The environment was read and the variable was absent.
    EnvMissing,
    Key {
        secret: SecretString,
        from: String,
    },
    Provider(Arc<dyn CredentialProvider>),
    NoAuth,
}

/// Builds a [`Config`]. Setters never fail; the first problem is reported by
/// [`ConfigBuilder::build`]. Settings made after [`ConfigBuilder::from_env`]
/// override what the environment said.
#[must_use]
pub struct ConfigBuilder {
    base_url: Option<(String, String)>,
    key: KeySetting,
    auth_style: AuthStyle,
    organization: Option<(String, String)>,
    project: Option<(String, String)>,
    default_headers: HeaderMap,
    default_query: Vec<(String, String)>,
    timeouts: Timeouts,
    max_retries: u32,
    max_retry_after: Duration,
    max_response_bytes: u64,
    stream_deadline: Option<Duration>,
    sse_limits: SseLimits,
    http_client: Option<reqwest::ClientBuilder>,
    proxy: Option<String>,
    insecure_http: bool,
    rate_limiter: Option<crate::limiter::RateLimiter>,
    layers: Vec<crate::layer::Wrap>,
    trace_content: bool,
    http2_prior_knowledge: bool,
    secret_values: Vec<String>,
    error: Option<Error>,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            key: KeySetting::Unset,
            auth_style: AuthStyle::Bearer,
            organization: None,
            project: None,
            default_headers: HeaderMap::new(),
            default_query: Vec::new(),
            timeouts: Timeouts::default(),
            max_retries: DEFAULT_MAX_RETRIES,
            max_retry_after: MAX_RETRY_AFTER,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            stream_deadline: None,
            sse_limits: SseLimits::default(),
            http_client: None,
            proxy: None,
            insecure_http: false,
            rate_limiter: None,
            layers: Vec::new(),
            trace_content: false,
            http2_prior_knowledge: false,
            secret_values: Vec::new(),
            error: None,
        }
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("base_url", &self.base_url.as_ref().map(|b| &b.0))
            .field(
                "key",
                &match self.key {
                    KeySetting::Unset => "unset",
                    KeySetting::EnvMissing => "missing from the environment",
                    KeySetting::Key { .. } => "[REDACTED]",
                    KeySetting::Provider(_) => "provider",
                    KeySetting::NoAuth => "none",
                },
            )
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// A builder holding what the process environment says.
    pub fn from_env() -> Self {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// A builder holding what `lookup` says for each variable name: the same as
    /// [`ConfigBuilder::from_env`] with another source (tests, a config file).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let key = match lookup(ENV_API_KEY) {
            Some(k) => KeySetting::Key {
                secret: SecretString::from(k),
                from: ENV_API_KEY.into(),
            },
            None => KeySetting::EnvMissing,
        };
        let setting = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (v, name.to_owned()))
        };
        Self {
            key,
            base_url: setting(ENV_BASE_URL),
            organization: setting(ENV_ORG_ID),
            project: setting(ENV_PROJECT_ID),
            ..Self::default()
        }
    }

    /// The API key, sent as `Authorization: Bearer <key>` (or per [`Self::auth_style`]).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.key = KeySetting::Key {
            secret: key.into(),
            from: "the api_key setting".into(),
        };
        self
    }

    pub(crate) fn api_key_from(mut self, key: SecretString, from: String) -> Self {
        self.key = KeySetting::Key { secret: key, from };
        self
    }

    /// A provider asked for the credential before every attempt.
    pub fn credential_provider(mut self, provider: impl CredentialProvider) -> Self {
        self.key = KeySetting::Provider(Arc::new(provider));
        self
    }

    pub(crate) fn credential_provider_boxed(
        mut self,
        provider: Box<dyn CredentialProvider>,
    ) -> Self {
        self.key = KeySetting::Provider(Arc::from(provider));
        self
    }

    pub(crate) fn base_url_from(mut self, url: String, from: String) -> Self {
        self.base_url = Some((url, from));
        self
    }

    /// Sends every request through `limiter`, which holds calls back to stay
    /// under the rate limits the server reports (see [`crate::limiter`]).
    /// Clones of one limiter share their state: give the same limiter to every
    /// client that uses the same key.
    pub fn rate_limiter(mut self, limiter: crate::limiter::RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Wraps every attempt in `layer` (a tower [`Layer`](tower::Layer)):
    /// see [`crate::layer`] for what a layer sees (not the credential) and
    /// what happens to its answer (the client's caps, error mapping and
    /// retries). The first layer added is the outermost. A client without
    /// layers sends straight to reqwest, at no cost.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<crate::layer::Next> + Send + Sync + 'static,
        L::Service: tower::Service<crate::layer::AttemptRequest, Response = crate::layer::AttemptResponse>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<crate::layer::AttemptRequest>>::Error:
            Into<crate::layer::BoxError>,
        <L::Service as tower::Service<crate::layer::AttemptRequest>>::Future: Send + 'static,
    {
        self.layers.push(crate::layer::Wrap::new(layer));
        self
    }

    /// Whether the GenAI spans of the `oai` facade carry the prompts and
    /// the completions (`gen_ai.input.messages`, `gen_ai.output.messages`),
    /// scrubbed of every credential the client knows. Off by default: a
    /// span holds no content unless the application opts in here.
    pub fn trace_content(mut self, on: bool) -> Self {
        self.trace_content = on;
        self
    }

    /// Sends no credential at all (local OpenAI-compatible servers).
    pub fn no_auth(mut self) -> Self {
        self.key = KeySetting::NoAuth;
        self
    }

    /// Where the credential goes: `Authorization: Bearer` (default) or a named header.
    pub fn auth_style(mut self, style: AuthStyle) -> Self {
        self.auth_style = style;
        self
    }

    /// The base URL (default `https://api.openai.com/v1`). It must be `https`
    /// unless its host is loopback or [`Self::danger_accept_insecure_http`] is set.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some((url.into(), "the base_url setting".into()));
        self
    }

    /// Sends `OpenAI-Organization`.
    pub fn organization(mut self, id: impl Into<String>) -> Self {
        self.organization = Some((id.into(), "the organization setting".into()));
        self
    }

    /// Sends `OpenAI-Project`.
    pub fn project(mut self, id: impl Into<String>) -> Self {
        self.project = Some((id.into(), "the project setting".into()));
        self
    }

    /// A header sent with every request. Names and values that are not valid in
    /// HTTP are reported by [`Self::build`].
    ///
    /// A header whose name marks a credential (it holds `auth`, `key`, `token`,
    /// `secret`, `cookie`, `passw`, `sig`, `credential` or `session`, as
    /// `helicone-auth` or `x-portkey-api-key` do) is treated as
    /// [`Self::secret_header`] is; use that for any other name that carries one.
    pub fn default_header(self, name: &str, value: &str) -> Self {
        let secret = HeaderName::try_from(name).is_ok_and(|n| crate::redact::is_sensitive(&n));
        self.header_with(name, value, secret)
    }

    /// A header sent with every request whose value is a credential: it is
    /// marked sensitive, never shown by `Debug` or a log, and scrubbed from
    /// every text the server sends back.
    pub fn secret_header(self, name: &str, value: &str) -> Self {
        self.header_with(name, value, true)
    }

    fn header_with(mut self, name: &str, value: &str, secret: bool) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(mut v)) => {
                if secret {
                    v.set_sensitive(true);
                    self.secret_values.push(value.to_owned());
                }
                self.default_headers.append(n, v);
            }
            _ => self.fail(Error::config(format!(
                "default header {:?} has an invalid name or value",
                crate::redact::single_line(name)
            ))),
        }
        self
    }

    /// A query pair added to every request (Azure's `api-version`, say). A
    /// name that marks a credential (see [`Self::default_header`]) is treated
    /// as [`Self::secret_query`] is.
    pub fn default_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if is_sensitive_name(&name) {
            self.secret_values.push(value.clone());
        }
        self.default_query.push((name, value));
        self
    }

    /// A query pair added to every request whose value is a credential: never
    /// shown by `Debug`, and scrubbed from every text the server sends back.
    pub fn secret_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        self.secret_values.push(value.clone());
        self.default_query.push((name.into(), value));
        self
    }

    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.timeouts.connect = d;
        self
    }

    /// Timeout of one attempt of a request (default 600 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeouts.request = d;
        self
    }

    /// Longest gap between chunks of a streamed body (default 600 s).
    pub fn stream_idle_timeout(mut self, d: Duration) -> Self {
        self.timeouts.stream_idle = d;
        self
    }

    /// Retries after the first attempt (default 2).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The longest wait a server may ask for (`retry-after-ms`, `retry-after`)
    /// that the client honours before a retry (default 120 s, as the Python
    /// SDK). When a server asks for more, the request is not retried: the
    /// error comes back at once and [`Error::retry_after`] tells the wait. A
    /// server asking for no usable wait (none, zero, a date past) gets the
    /// backoff. `Duration::ZERO` makes any requested wait final.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Cap on a response body, in bytes (default 128 MiB). It holds for a
    /// streamed body too: all its bytes together, whatever its events.
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// The longest a streamed body may last in all, from its headers to its
    /// end, however steadily the server sends (off by default: a stream may
    /// then last as long as it keeps sending within the idle timeout).
    pub fn stream_deadline(mut self, d: Duration) -> Self {
        self.stream_deadline = Some(d);
        self
    }

    /// Caps of the event-stream decoder.
    pub fn sse_limits(mut self, limits: SseLimits) -> Self {
        self.sse_limits = limits;
        self
    }

    /// Builds the HTTP client from `builder` instead of a default one, so
    /// that its own settings (TLS roots, connect timeout, default headers)
    /// apply. Three settings are forced on it, whatever it says: redirects
    /// are never followed (they would carry the credential to the redirect
    /// target), a loopback `localhost` resolves to loopback addresses only,
    /// and a loopback or plain-`http` base URL is reached without any proxy
    /// but [`Self::proxy`].
    pub fn http_client(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http_client = Some(builder);
        self
    }

    /// Sends every request through this proxy (`http://`, `https://` or
    /// `socks5://` URL), including requests to a loopback or plain-`http`
    /// base URL, which otherwise never use one. Without this setting, the
    /// environment's proxy (`HTTPS_PROXY`, `ALL_PROXY`, ...) applies to
    /// `https` base URLs that are not loopback, and to nothing else.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Speaks HTTP/2 from the first byte, without asking (no TLS ALPN, no
    /// upgrade): for a gateway or a local server known to speak it, HTTP/2
    /// over plain TCP included. Over TLS the client already negotiates
    /// HTTP/2 when the server offers it (feature `http2`); a server that
    /// does not speak HTTP/2 fails every request with this setting.
    #[cfg(feature = "http2")]
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.http2_prior_knowledge = true;
        self
    }

    /// Accepts a plain `http` base URL for a host that is not loopback. Anyone
    /// on the network path can then read the API key.
    pub fn danger_accept_insecure_http(mut self, yes: bool) -> Self {
        self.insecure_http = yes;
        self
    }

    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Checks everything and returns the configuration.
    ///
    /// # Errors
    /// A configuration error naming the setting or environment variable at fault.
    pub fn build(self) -> Result<Config> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (url_text, url_from) = self
            .base_url
            .unwrap_or_else(|| (DEFAULT_BASE_URL.to_owned(), "the default base URL".into()));
        let base_url = check_base_url(&url_text, &url_from, self.insecure_http)?;
        let proxy =
            match &self.proxy {
                Some(p) => Some(Url::parse(p.trim()).map_err(|_| {
                    Error::config("the proxy setting is not a valid URL".to_owned())
                })?),
                None => None,
            };

        let mut scrubber = Scrubber::new();
        for v in &self.secret_values {
            scrubber = scrubber.with_secret(v);
        }
        let (credentials, credential_name) = match self.key {
            KeySetting::Unset | KeySetting::EnvMissing => {
                return Err(Error::config(format!(
                    "no API key: set the {ENV_API_KEY} environment variable or call api_key() \
                     (or no_auth() for a server without authentication)"
                )));
            }
            KeySetting::Key { secret, from } => {
                let key = secrecy::ExposeSecret::expose_secret(&secret);
                check_key(key, &from)?;
                scrubber = scrubber.with_secret(key);
                (CredentialSource::Static(secret), from)
            }
            KeySetting::Provider(p) => (
                CredentialSource::Provider(p),
                "the credential from the provider".into(),
            ),
            KeySetting::NoAuth => (CredentialSource::None, String::new()),
        };

        let mut default_headers = self.default_headers;
        for (setting, header) in [
            (self.organization, "openai-organization"),
            (self.project, "openai-project"),
        ] {
            if let Some((value, from)) = setting {
                let v = HeaderValue::try_from(value.trim()).map_err(|_| {
                    Error::config(format!("{from} cannot be sent in an HTTP header"))
                })?;
                default_headers.insert(HeaderName::from_static(header), v);
            }
        }
        let http_client = match self.http_client {
            Some(b) => Some(http_client(
                b,
                &base_url,
                proxy.as_ref(),
                self.http2_prior_knowledge,
            )?),
            None => None,
        };
        Ok(Config {
            base_url,
            credentials,
            credential_name,
            auth_style: self.auth_style,
            default_headers,
            default_query: self.default_query,
            timeouts: self.timeouts,
            max_retries: self.max_retries,
            max_retry_after: self.max_retry_after,
            max_response_bytes: self.max_response_bytes,
            stream_deadline: self.stream_deadline,
            sse_limits: self.sse_limits,
            http_client,
            proxy,
            azure: None,
            rate_limiter: self.rate_limiter,
            layers: self.layers,
            trace_content: self.trace_content,
            http2_prior_knowledge: self.http2_prior_knowledge,
            scrubber,
        })
    }
}

/// The HTTP client from `builder`, with the settings the security model needs
/// forced on it: no redirects, `localhost` pinned to loopback addresses, and
/// no proxy for a loopback or plain-`http` base URL unless `proxy` is set.
pub(crate) fn http_client(
    builder: reqwest::ClientBuilder,
    base_url: &Url,
    proxy: Option<&Url>,
    http2_prior_knowledge: bool,
) -> Result<reqwest::Client> {
    let mut builder = builder.redirect(reqwest::redirect::Policy::none());
    #[cfg(feature = "http2")]
    if http2_prior_knowledge {
        builder = builder.http2_prior_knowledge();
    }
    #[cfg(not(feature = "http2"))]
    let _ = http2_prior_knowledge;
    match proxy {
        Some(p) => {
            let proxy = reqwest::Proxy::all(p.as_str())
                .map_err(|e| Error::config("the proxy setting cannot be used").with_source(e))?;
            // `no_proxy` first clears any proxy the builder was given.
            builder = builder.no_proxy().proxy(proxy);
        }
        None if is_loopback(base_url) || base_url.scheme() == "http" => {
            builder = builder.no_proxy();
        }
        None => {}
    }
    if let Some(url::Host::Domain(d)) = base_url.host()
        && d.trim_end_matches('.').eq_ignore_ascii_case("localhost")
    {
        let port = base_url.port_or_known_default().unwrap_or(80);
        let addrs = [
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ];
        builder = builder.resolve_to_addrs(d, &addrs);
    }
    builder
        .build()
        .map_err(|e| Error::config("the HTTP client could not be built").with_source(e))
}

/// Whether `url`'s host is the local machine: a loopback address (`127.0.0.0/8`,
/// `[::1]`) or the name `localhost` itself, which the client resolves to
/// loopback addresses without asking DNS. Other names (`*.localhost`
/// included) are not loopback: a resolver decides where they go.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn check_base_url(text: &str, from: &str, insecure_ok: bool) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::config(format!("{from} is not a valid URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) || insecure_ok => {}
        "http" => {
            return Err(Error::config(format!(
                "{from} uses plain http to a host that is not loopback; use https, or opt in \
                 with danger_accept_insecure_http(true)"
            )));
        }
        other => {
            return Err(Error::config(format!(
                "{from} has unsupported scheme {other:?}"
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::config(format!("{from} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "{from} contains user credentials; configure the key with api_key() instead"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "{from} has a query or fragment; use default_query() for query pairs"
        )));
    }
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = Config::builder().api_key("sk-1").build().unwrap();
        assert_eq!(c.base_url().as_str(), "https://api.openai.com/v1");
        assert_eq!(c.timeouts().connect, Duration::from_secs(5));
        assert_eq!(c.timeouts().request, Duration::from_secs(600));
        assert_eq!(c.max_retries(), 2);
        assert_eq!(c.max_retry_after(), Duration::from_secs(120));
        let c = Config::builder()
            .api_key("sk-1")
            .max_retry_after(Duration::from_secs(30))
            .build()
            .unwrap();
        assert_eq!(c.max_retry_after(), Duration::from_secs(30));
        assert!(c.default_headers().is_empty());
    }

    #[test]
    fn env_values() {
        let c = ConfigBuilder::from_env_with(env(&[
            ("OPENAI_API_KEY", "sk-env"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/"),
            ("OPENAI_ORG_ID", "org-1"),
            ("OPENAI_PROJECT_ID", "proj-1"),
        ]))
        .build()
        .unwrap();
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:8080/v1");
        assert_eq!(c.default_headers()["openai-organization"], "org-1");
        assert_eq!(c.default_headers()["openai-project"], "proj-1");
        // builder settings win over the environment
        let c = ConfigBuilder::from_env_with(env(&[("OPENAI_API_KEY", "sk-env")]))
            .base_url("https://example.test/v1")
            .build()
            .unwrap();
        assert_eq!(c.base_url().host_str(), Some("example.test"));
    }

    #[test]
    fn key_errors_name_the_variable() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[], "OPENAI_API_KEY"),
            (&[("OPENAI_API_KEY", "")], "OPENAI_API_KEY is empty"),
            (
                &[("OPENAI_API_KEY", "sk-abc\n")],
                "OPENAI_API_KEY contains whitespace",
            ),
            (
                &[("OPENAI_API_KEY", "sk-\u{1}x")],
                "OPENAI_API_KEY contains a control",
            ),
        ];
        for (pairs, want) in table {
            let err = ConfigBuilder::from_env_with(env(pairs))
                .build()
                .unwrap_err();
            assert!(err.is_config());
            assert!(err.to_string().contains(want), "{err}");
        }
        let err = Config::builder().api_key("bad key").build().unwrap_err();
        assert!(err.to_string().contains("api_key setting"), "{err}");
    }

    #[test]
    fn base_url_rules() {
        let table: &[(&str, bool, bool)] = &[
            ("https://api.openai.com/v1", false, true),
            ("http://localhost:1234/v1", false, true),
            ("http://127.0.0.5:1234", false, true),
            ("http://[::1]:99/v1", false, true),
            ("http://api.example.com/v1", false, false),
            ("http://api.example.com/v1", true, true),
            ("http://10.0.0.1/v1", false, false),
            ("ftp://example.com", true, false),
            ("https://user:pw@example.com", false, false),
            ("https://example.com/v1?x=1", false, false),
            ("not a url", false, false),
        ];
        for (url, insecure, ok) in table {
            let r = Config::builder()
                .api_key("sk")
                .base_url(*url)
                .danger_accept_insecure_http(*insecure)
                .build();
            assert_eq!(r.is_ok(), *ok, "{url}: {:?}", r.err());
            if let Err(e) = r {
                assert!(e.is_config());
                assert!(e.to_string().contains("base_url"), "{e}");
            }
        }
    }

    #[test]
    fn bad_default_header_reported_at_build() {
        let err = Config::builder()
            .api_key("sk")
            .default_header("bad name", "v")
            .build()
            .unwrap_err();
        assert!(err.is_config());
        let err = Config::builder()
            .api_key("sk")
            .organization("org\n1")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("organization"));
    }

    #[test]
    fn debug_never_shows_key() {
        let b = Config::builder()
            .api_key("sk-very-secret")
            .default_header("api-key", "sk-very-secret");
        assert!(!format!("{b:?}").contains("sk-very-secret"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("sk-very-secret"));
    }
}
