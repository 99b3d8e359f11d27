//! The request machine: credentials, headers, timeouts, retries, capped bodies.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use tracing::{Instrument, field::Empty};
use url::Url;

use crate::api_error::parse_error_body;
use crate::config::Config;
use crate::error::{Error, Result, TimeoutPhase};
use crate::multipart::MultipartForm;
use crate::options::RequestOptions;
use crate::redact::{self, Scrubber};
use crate::response::{RawResponse, ResponseMeta};
use crate::retry;

/// Cap on an error body: enough for any JSON error, small enough to never matter.
const MAX_ERROR_BODY_BYTES: u64 = 64 << 10;

/// The user agent sent with every request.
pub const USER_AGENT: &str = concat!("oai-rust/", env!("CARGO_PKG_VERSION"));

/// The body of a request.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum RequestBody {
    /// No body.
    #[default]
    Empty,
    /// Serialized JSON.
    Json(Bytes),
    /// A multipart form, rebuilt for every attempt.
    Multipart(MultipartForm),
    /// Raw bytes with a content type.
    Bytes {
        /// `Content-Type`.
        content_type: HeaderValue,
        /// The bytes.
        bytes: Bytes,
    },
}

/// A request ready to send: method, path under the base URL, query, headers,
/// body and per-call options. Cheap to clone (the body is shared).
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: RequestBody,
    pub(crate) options: RequestOptions,
}

impl Request {
    /// A request for `path` (which must start with `/`) under the base URL.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: RequestBody::Empty,
            options: RequestOptions::default(),
        }
    }
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The path under the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Adds a query pair.
    pub fn push_query(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.query.push((name.into(), value.into()));
    }
    /// Replaces every query pair named `name` by one pair.
    pub fn set_query(&mut self, name: &str, value: impl Into<String>) {
        self.query.retain(|(k, _)| k != name);
        self.query.push((name.to_owned(), value.into()));
    }
    /// The query pairs.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
    /// Adds a header.
    pub fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }
    /// Sets the body.
    pub fn set_body(&mut self, body: RequestBody) {
        self.body = body;
    }
    /// Sets the per-call options (merged over any set before).
    pub fn set_options(&mut self, options: RequestOptions) {
        self.options = std::mem::take(&mut self.options).merge(options);
    }
    /// The per-call options.
    pub fn options(&self) -> &RequestOptions {
        &self.options
    }
}

struct Shared {
    config: Config,
    http: reqwest::Client,
    /// The credential header of a fixed key, made once: each request then
    /// shares it (a reference-counted value) instead of formatting the key
    /// into a new one, so the key is not copied once per request either.
    /// `None` for a provider's rotating credentials, or a key that cannot be
    /// a header value (each request then reports it).
    static_auth: Option<(http::HeaderName, HeaderValue)>,
    /// The configured layers over `http`, when there are any.
    stack: Option<crate::layer::Next>,
}

/// The HTTP machine. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("config", &self.shared.config)
            .finish()
    }
}

/// A successful response whose body has not been read yet (for streams).
#[derive(Debug)]
pub struct StreamingResponse {
    /// The metadata.
    pub meta: ResponseMeta,
    pub(crate) response: reqwest::Response,
    pub(crate) idle_timeout: Duration,
    /// The overall deadline, if one is set: its length, counted from now.
    pub(crate) deadline: Option<Duration>,
    /// The most bytes the whole body may hold.
    pub(crate) max_bytes: u64,
    pub(crate) scrubber: Scrubber,
}

impl StreamingResponse {
    /// The scrubber for this response's server text (every credential the
    /// request carried).
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }
}

impl Transport {
    /// A transport for `config`.
    ///
    /// # Errors
    /// The HTTP client could not be built (TLS roots unavailable, say).
    pub fn new(config: Config) -> Result<Self> {
        let http = match &config.http_client {
            Some(c) => c.clone(),
            None => crate::config::http_client(
                reqwest::Client::builder()
                    .connect_timeout(crate::clamp_duration(config.timeouts.connect))
                    .user_agent(USER_AGENT),
                &config.base_url,
                config.proxy.as_ref(),
                config.http2_prior_knowledge,
            )?,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                static_auth: match &config.credentials {
                    crate::auth::CredentialSource::Static(secret) => crate::auth::auth_header(
                        &config.auth_style,
                        secret,
                        &config.credential_name,
                    )
                    .ok(),
                    _ => None,
                },
                stack: (!config.layers.is_empty())
                    .then(|| crate::layer::stack(http.clone(), &config.layers)),
                config,
                http,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The scrubber for server text, knowing the credentials of the
    /// configuration (see [`Config::scrubber`]).
    pub fn scrubber(&self) -> &Scrubber {
        &self.shared.config.scrubber
    }

    /// The absolute URL of `request`.
    ///
    /// # Errors
    /// The path is not a plain path under the base URL.
    pub fn url(&self, request: &Request) -> Result<Url> {
        let routed = match &self.shared.config.azure {
            Some(azure) => azure.route(&request.path, &request.body)?,
            None => None,
        };
        self.url_with_path(request, routed.as_deref().unwrap_or(&request.path))
    }

    fn url_with_path(&self, request: &Request, path: &str) -> Result<Url> {
        let base = &self.shared.config.base_url;
        check_path(path)?;
        // The base URL is parsed once, at configuration; only the path is
        // parsed here, so the scheme, host and port cannot change.
        let mut url = base.clone();
        let base_path = base.path().trim_end_matches('/');
        let mut full = String::with_capacity(base_path.len() + path.len());
        full.push_str(base_path);
        full.push_str(path);
        url.set_path(&full);
        // Defence in depth: whatever the URL parser made of the path, it must
        // still lie under the base path.
        let under = url
            .path()
            .strip_prefix(base_path)
            .is_some_and(|rest| rest.starts_with('/'));
        if !under {
            return Err(Error::invalid_input(
                "the path does not stay under the base URL's path",
            ));
        }
        let extra = &self.shared.config.default_query;
        if !(extra.is_empty() && request.query.is_empty() && request.options.query.is_empty()) {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in extra
                .iter()
                .chain(&request.query)
                .chain(&request.options.query)
            {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Sends `request`, retrying per the policy, and reads the whole body under
    /// the size cap.
    ///
    /// # Errors
    /// Any [`Error`]: input, credentials, connect, timeout, API refusal, body too large.
    pub async fn execute(&self, request: &Request) -> Result<RawResponse> {
        let span = span(request);
        async {
            match self.run(request, true).await? {
                Outcome::Read(raw) => Ok(raw),
                Outcome::Open(_) => Err(Error::invalid_input("internal: body was not read")),
            }
        }
        .instrument(span)
        .await
    }

    /// Sends `request`, retrying until response headers arrive, and returns the
    /// unread body for streaming. Retries stop once a stream has begun.
    ///
    /// # Errors
    /// As [`Transport::execute`].
    pub async fn execute_streaming(&self, request: &Request) -> Result<StreamingResponse> {
        let span = span(request);
        async {
            match self.run(request, false).await? {
                Outcome::Open(s) => Ok(s),
                Outcome::Read(_) => Err(Error::invalid_input("internal: body was read")),
            }
        }
        .instrument(span)
        .await
    }

    async fn run(&self, request: &Request, read_body: bool) -> Result<Outcome> {
        let cfg = &self.shared.config;
        request.options.check()?;
        let url = self.url(request)?;
        let body = prepare_body(&request.body, &request.options)?;
        let max_retries = request.options.max_retries.unwrap_or(cfg.max_retries);
        let timeout =
            crate::clamp_duration(request.options.timeout.unwrap_or(cfg.timeouts.request));
        let idle_timeout = crate::clamp_duration(
            request
                .options
                .stream_idle_timeout
                .unwrap_or(cfg.timeouts.stream_idle),
        );
        let stream_deadline = request
            .options
            .stream_deadline
            .or(cfg.stream_deadline)
            .map(crate::clamp_duration);
        let started = Instant::now();
        let span = tracing::Span::current();
        let mut retry: u32 = 0;
        loop {
            let attempt = retry + 1;
            span.record("attempt", attempt);
            // A fixed key's header is made once (see `Shared::static_auth`).
            let secret = match &self.shared.static_auth {
                Some(_) => None,
                None => cfg.credentials.resolve().await?,
            };
            let scrubber = attempt_scrubber(cfg, request, secret.as_ref());
            let (req, credential) = self.build(request, &url, &body, secret.as_ref()).await?;
            // Held until this attempt's answer has been read (or, for a
            // stream, until its headers arrive).
            let permit = match &cfg.rate_limiter {
                Some(l) => Some(l.acquire(estimated_tokens(request, &body)).await),
                None => None,
            };
            tracing::debug!(attempt, "sending request");
            if tracing::enabled!(tracing::Level::TRACE) {
                tracing::trace!(headers = ?redact::LoggedHeaders::new(req.headers(), &scrubber), "request headers");
            }
            let deadline = tokio::time::Instant::now() + timeout;
            let response = match &self.shared.stack {
                None => {
                    match tokio::time::timeout_at(deadline, self.shared.http.execute(req)).await {
                        Err(_) => Err(Error::timeout(TimeoutPhase::Request, Some(timeout))),
                        Ok(Err(e)) => Err(map_send_error(e)),
                        Ok(Ok(r)) => Ok(r),
                    }
                }
                Some(stack) => {
                    let layered = crate::layer::send(stack, req, credential, attempt, &scrubber);
                    match tokio::time::timeout_at(deadline, layered).await {
                        Err(_) => Err(Error::timeout(TimeoutPhase::Request, Some(timeout))),
                        Ok(r) => r,
                    }
                }
            };
            let mut response = match response {
                Ok(r) => r,
                Err(e) => {
                    if e.is_transient() && retry < max_retries {
                        let delay = retry::backoff(retry, fastrand::f64());
                        tracing::info!(attempt, error = %e, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                        retry += 1;
                        continue;
                    }
                    return Err(e);
                }
            };
            let status = response.status();
            // The metadata takes the headers; the body is read from `response`,
            // which needs them no more.
            let headers = std::mem::take(response.headers_mut());
            if let Some(l) = &cfg.rate_limiter {
                l.observe(status, &headers);
            }
            span.record("status", status.as_u16());
            if tracing::enabled!(tracing::Level::TRACE) {
                tracing::trace!(headers = ?redact::LoggedHeaders::new(&headers, &scrubber), "response headers");
            }
            let meta = ResponseMeta::new(
                status,
                headers,
                attempt,
                started.elapsed(),
                scrubber.clone(),
            );
            if !span.is_disabled()
                && let Some(id) = meta.request_id()
            {
                span.record("request_id", id);
            }

            if status.is_redirection() {
                let location = meta
                    .headers()
                    .get(http::header::LOCATION)
                    .map(|l| String::from_utf8_lossy(l.as_bytes()));
                return Err(Error::redirect(status, location.as_deref(), &scrubber));
            }

            if status.is_success() {
                if !read_body {
                    span.record("duration_ms", started.elapsed().as_millis() as u64);
                    return Ok(Outcome::Open(StreamingResponse {
                        meta,
                        response,
                        idle_timeout,
                        deadline: stream_deadline,
                        max_bytes: request
                            .options
                            .max_response_bytes
                            .unwrap_or(cfg.max_response_bytes),
                        scrubber,
                    }));
                }
                let cap = request
                    .options
                    .max_response_bytes
                    .unwrap_or(cfg.max_response_bytes);
                match read_capped(response, cap, deadline, timeout).await {
                    Ok(body) => {
                        span.record("duration_ms", started.elapsed().as_millis() as u64);
                        tracing::debug!(
                            status = status.as_u16(),
                            bytes = body.len(),
                            "response read"
                        );
                        return Ok(Outcome::Read(RawResponse { meta, body }));
                    }
                    Err(e) if e.is_transient() && retry < max_retries => {
                        let delay = retry::backoff(retry, fastrand::f64());
                        tracing::info!(attempt, error = %e, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                        retry += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }

            // An error status: read what the server says, under a small cap.
            let body = read_capped(response, MAX_ERROR_BODY_BYTES, deadline, timeout)
                .await
                .unwrap_or_default();
            drop(permit);
            let details = parse_error_body(Some(status.as_u16()), &body, &scrubber);
            let now = SystemTime::now();
            if retry < max_retries {
                match retry::decide(
                    status,
                    meta.headers(),
                    details.code(),
                    retry,
                    now,
                    fastrand::f64(),
                    cfg.max_retry_after,
                ) {
                    retry::Decision::Retry(delay) => {
                        tracing::info!(
                            attempt,
                            status = status.as_u16(),
                            delay_ms = delay.as_millis() as u64,
                            "retrying"
                        );
                        tokio::time::sleep(delay).await;
                        retry += 1;
                        continue;
                    }
                    retry::Decision::WaitTooLong(wait) => {
                        tracing::info!(
                            attempt,
                            status = status.as_u16(),
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "not retrying: the server asks to wait longer than max_retry_after"
                        );
                    }
                    _ => {}
                }
            }
            span.record("duration_ms", started.elapsed().as_millis() as u64);
            tracing::debug!(status = status.as_u16(), "API error");
            return Err(Error::api_answer(
                status,
                meta.request_id().map(str::to_owned),
                details,
                meta.headers(),
                now,
            ));
        }
    }

    async fn build(
        &self,
        request: &Request,
        url: &Url,
        body: &PreparedBody,
        secret: Option<&SecretString>,
    ) -> Result<(reqwest::Request, Option<(http::HeaderName, HeaderValue)>)> {
        let cfg = &self.shared.config;
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        // With layers, the credential stays out of the headers they see: it
        // goes back to the caller, which hands it to the stack's bottom.
        let mut aside = None;
        let layered = self.shared.stack.is_some();
        if let Some((name, value)) = &self.shared.static_auth {
            if layered {
                aside = Some((name.clone(), value.clone()));
            } else {
                headers.insert(name.clone(), value.clone());
            }
        } else if let Some(secret) = secret {
            let (name, value) = crate::auth::auth_header(
                &cfg.auth_style,
                secret,
                &cfg.credential_name,
            )
            .map_err(|e| {
                if matches!(cfg.credentials, crate::auth::CredentialSource::Provider(_)) {
                    Error::credentials(
                        "the provider returned a credential that cannot be sent in an HTTP header",
                    )
                } else {
                    e
                }
            })?;
            if layered {
                aside = Some((name, value));
            } else {
                headers.insert(name, value);
            }
        }
        for (name, value) in cfg
            .default_headers
            .iter()
            .chain(&request.headers)
            .chain(&request.options.headers)
        {
            headers.insert(name, value.clone());
        }
        // The request is assembled directly (no `RequestBuilder`, whose
        // `headers()` merges a second map into the first).
        let mut req = reqwest::Request::new(request.method.clone(), url.clone());
        match body {
            PreparedBody::Empty => {}
            PreparedBody::Bytes(content_type, bytes) => {
                headers.insert(http::header::CONTENT_TYPE, content_type.clone());
                *req.body_mut() = Some(reqwest::Body::from(bytes.clone()));
            }
            PreparedBody::Multipart(form) => {
                // reqwest sets the multipart content type and length.
                req = self
                    .shared
                    .http
                    .request(request.method.clone(), url.clone())
                    .headers(headers)
                    .multipart(form.to_reqwest().await?)
                    .build()
                    .map_err(|e| Error::invalid_input_from("the request could not be built", e))?;
                return Ok((req, aside));
            }
        }
        *req.headers_mut() = headers;
        Ok((req, aside))
    }
}

enum Outcome {
    Read(RawResponse),
    Open(StreamingResponse),
}

enum PreparedBody {
    Empty,
    Bytes(HeaderValue, Bytes),
    Multipart(MultipartForm),
}

fn prepare_body(body: &RequestBody, options: &RequestOptions) -> Result<PreparedBody> {
    let json = HeaderValue::from_static("application/json");
    Ok(match body {
        RequestBody::Empty if options.body.is_empty() => PreparedBody::Empty,
        RequestBody::Empty => PreparedBody::Bytes(
            json,
            Bytes::from(serde_json::to_vec(&options.body).map_err(|e| {
                Error::invalid_input_from("extra body fields could not be serialized", e)
            })?),
        ),
        RequestBody::Json(bytes) if options.body.is_empty() => {
            PreparedBody::Bytes(json, bytes.clone())
        }
        RequestBody::Json(bytes) => {
            let mut value: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(bytes).map_err(|e| {
                    Error::invalid_input_from("extra body fields need a JSON object body", e)
                })?;
            value.extend(options.body.clone());
            let bytes = serde_json::to_vec(&value)
                .map_err(|e| Error::invalid_input_from("the body could not be serialized", e))?;
            PreparedBody::Bytes(json, Bytes::from(bytes))
        }
        RequestBody::Bytes { .. } | RequestBody::Multipart(_) if !options.body.is_empty() => {
            return Err(Error::invalid_input(
                "extra body fields apply to JSON bodies only",
            ));
        }
        RequestBody::Bytes {
            content_type,
            bytes,
        } => PreparedBody::Bytes(content_type.clone(), bytes.clone()),
        RequestBody::Multipart(form) => PreparedBody::Multipart(form.clone()),
    })
}

/// The tokens a limiter reserves for one attempt: the caller's estimate, else
/// a quarter of the JSON body's bytes (about one token per four characters).
fn estimated_tokens(request: &Request, body: &PreparedBody) -> u64 {
    request.options.estimated_tokens.unwrap_or(match body {
        PreparedBody::Bytes(_, b) => (b.len() as u64).div_ceil(4),
        _ => 1,
    })
}

/// The scrubber of one attempt: the configuration's, plus the credential the
/// provider gave for this attempt and the values of the call's own sensitive
/// headers and query pairs. Without any of those it is the configuration's
/// (one reference count, no copy).
fn attempt_scrubber(cfg: &Config, request: &Request, secret: Option<&SecretString>) -> Scrubber {
    let mut scrubber = cfg.scrubber.clone();
    if let Some(s) = secret
        && matches!(cfg.credentials, crate::auth::CredentialSource::Provider(_))
    {
        scrubber = scrubber.with_secret(s.expose_secret());
    }
    for (name, value) in request.headers.iter().chain(&request.options.headers) {
        if (redact::is_sensitive(name) || value.is_sensitive())
            && let Ok(v) = value.to_str()
        {
            scrubber = scrubber.with_secret(v);
        }
    }
    for (name, value) in request.query.iter().chain(&request.options.query) {
        if redact::is_sensitive_name(name) {
            scrubber = scrubber.with_secret(value);
        }
    }
    scrubber
}

/// Refuses a path that could leave the base path or the base URL in any
/// spelling: it must start with one `/` and hold no space, `?`, `#`, control
/// character, backslash (plain or `%5C`), and no segment that is `.` or `..`
/// once `%2E` (either case) is read as a dot.
pub(crate) fn check_path(path: &str) -> Result<()> {
    let bad_byte = |b: u8| b.is_ascii_control() || matches!(b, b' ' | b'#' | b'?' | b'\\');
    // `%5c` in any case: an encoded backslash.
    let encoded_backslash = path
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'5' && w[2].eq_ignore_ascii_case(&b'c'));
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.bytes().any(bad_byte)
        || encoded_backslash
        || path.split('/').any(is_dot_segment)
    {
        return Err(Error::invalid_input(format!(
            "path {:?} must start with one '/' and hold no '.' or '..' segment (plain or \
             percent-encoded), no backslash (plain or encoded), spaces, '?', '#' or control \
             characters",
            redact::single_line(path)
        )));
    }
    Ok(())
}

/// Whether `segment` is `.` or `..`, each dot written plain or as `%2e` in
/// either case (without allocating: this runs on every call).
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(b".") {
            rest = r;
        } else if rest.len() >= 3 && rest[..2] == *b"%2" && rest[2].eq_ignore_ascii_case(&b'e') {
            rest = &rest[3..];
        } else {
            return false;
        }
        dots += 1;
        if dots > 2 {
            return false;
        }
    }
    dots > 0
}

fn span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "oai.request",
        method = %request.method,
        path = %redact::single_line(&request.path),
        attempt = Empty,
        status = Empty,
        request_id = Empty,
        duration_ms = Empty,
    )
}

/// The transport's error for a failed send. The URL is dropped from the
/// source (it may hold a query pair that is a credential).
pub(crate) fn map_send_error(e: reqwest::Error) -> Error {
    let e = e.without_url();
    if e.is_timeout() {
        // reqwest reports its own connect timeout as a timeout.
        if e.is_connect() {
            return Error::timeout(TimeoutPhase::Connect, None).with_source(e);
        }
        return Error::timeout(TimeoutPhase::Request, None).with_source(e);
    }
    if e.is_connect() {
        return Error::connect(e);
    }
    if e.is_builder() {
        return Error::invalid_input_from("the request could not be built", e);
    }
    Error::request(
        "the request could not be sent or its response could not be read",
        e,
    )
}

/// Reads `response`'s body, refusing more than `cap` bytes.
async fn read_capped(
    mut response: reqwest::Response,
    cap: u64,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<Bytes> {
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(Error::body_too_large(cap));
    }
    let mut buf = BytesMut::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .map_err(|_| Error::timeout(TimeoutPhase::Request, Some(timeout)))?
            .map_err(|e| {
                Error::request(
                    "the connection broke while reading the response body",
                    e.without_url(),
                )
            })?;
        match chunk {
            None => return Ok(buf.freeze()),
            Some(c) => {
                if buf.len() as u64 + c.len() as u64 > cap {
                    return Err(Error::body_too_large(cap));
                }
                if buf.is_empty() && c.len() as u64 == response.content_length().unwrap_or(0) {
                    return Ok(c);
                }
                buf.extend_from_slice(&c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn transport(base: &str) -> Transport {
        Transport::new(
            Config::builder()
                .api_key("sk-test")
                .base_url(base)
                .default_query("api-version", "v 1")
                .build()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn url_is_base_path_then_request_path_then_query() {
        let t = transport("https://example.com/v1/");
        let mut r = Request::new(Method::GET, "/files/file-1/content");
        r.push_query("after", "a&b");
        assert_eq!(
            t.url(&r).unwrap().as_str(),
            "https://example.com/v1/files/file-1/content?api-version=v+1&after=a%26b"
        );
        let t = transport("http://127.0.0.1:8080");
        let r = Request::new(Method::GET, "/models/ft:gpt-4o:org:x:1%2F2");
        assert_eq!(
            t.url(&r).unwrap().as_str(),
            "http://127.0.0.1:8080/models/ft:gpt-4o:org:x:1%2F2?api-version=v+1"
        );
    }

    /// The path rule as first written (allocating), the oracle for the
    /// one that runs on every call.
    fn plain_rule(path: &str) -> bool {
        let bad_byte = |b: u8| b.is_ascii_control() || matches!(b, b' ' | b'#' | b'?' | b'\\');
        let dot_segment = |seg: &str| {
            let decoded = seg.to_ascii_lowercase().replace("%2e", ".");
            decoded == "." || decoded == ".."
        };
        !(!path.starts_with('/')
            || path.starts_with("//")
            || path.bytes().any(bad_byte)
            || path.to_ascii_lowercase().contains("%5c")
            || path.split('/').any(dot_segment))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        #[test]
        fn the_path_rule_agrees_with_its_plain_form(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "/", "/", ".", ".", "%2e", "%2E", "%2", "e", "%5c", "%5C", "%", "a", "?", " ", "\\",
                ]),
                0..10,
            )
        ) {
            let path = parts.concat();
            proptest::prop_assert_eq!(check_path(&path).is_ok(), plain_rule(&path), "{:?}", path);
        }
    }

    /// A fixed key's header is made once: every request shares the same
    /// bytes (no copy of the key per request), marked sensitive.
    #[tokio::test]
    async fn a_fixed_key_header_is_shared_and_sensitive() {
        let t = transport("https://example.com/v1");
        let r = Request::new(Method::GET, "/models");
        let url = t.url(&r).unwrap();
        let (a, _) = t.build(&r, &url, &PreparedBody::Empty, None).await.unwrap();
        let (b, _) = t.build(&r, &url, &PreparedBody::Empty, None).await.unwrap();
        let (ha, hb) = (&a.headers()["authorization"], &b.headers()["authorization"]);
        assert!(ha.is_sensitive() && hb.is_sensitive());
        assert_eq!(ha.as_bytes(), b"Bearer sk-test");
        assert_eq!(ha.as_bytes().as_ptr(), hb.as_bytes().as_ptr());
    }

    #[test]
    fn paths_that_are_not_plain_are_refused() {
        let t = transport("https://example.com/v1");
        for bad in [
            "",
            "models",
            "//evil.example/x",
            "/a b",
            "/a?b=1",
            "/a#f",
            "/a\nb",
        ] {
            assert!(t.url(&Request::new(Method::GET, bad)).is_err(), "{bad:?}");
        }
    }

    /// Every spelling of a step up, with a base path two levels deep: none
    /// leaves `/tenant-a/v1`.
    #[test]
    fn dot_segments_in_any_spelling_are_refused() {
        let t = transport("https://gw.example.com/tenant-a/v1");
        for bad in [
            "/../../tenant-b/v1/files",
            "/%2e%2e/%2E%2e/tenant-b/v1/files",
            "/.%2e/.%2E/admin",
            "/%2E./x",
            "/..\\..\\admin",
            "/%5c..%5cadmin",
            "/files/./x",
            "/files/%2e/x",
            "/files/..",
            "/files/%2E%2E",
        ] {
            let r = t.url(&Request::new(Method::GET, bad));
            assert!(r.is_err(), "{bad:?} gave {:?}", r.map(|u| u.to_string()));
        }
        // Dots inside a segment are ordinary characters.
        let ok = t
            .url(&Request::new(Method::GET, "/files/a..b/.hidden/v1.2"))
            .unwrap();
        assert_eq!(ok.path(), "/tenant-a/v1/files/a..b/.hidden/v1.2");
    }

    proptest! {
        /// Whatever the path, the URL never leaves the base's scheme, host and
        /// port, never carries a fragment, and its path stays under the base
        /// path.
        #[test]
        fn no_path_leaves_the_base(
            path in prop_oneof![
                "/[ -~\\u{80}-\\u{10FFFF}]{0,40}",
                proptest::collection::vec(
                    prop_oneof![
                        Just(".."), Just("."), Just("%2e%2E"), Just(".%2e"), Just("%2E."),
                        Just("\\"), Just("%5C"), Just("a"), Just("files"), Just("%2F"),
                    ],
                    0..8,
                ).prop_map(|v| format!("/{}", v.join("/"))),
            ],
        ) {
            let t = transport("https://example.com:8443/tenant-a/v1");
            if let Ok(url) = t.url(&Request::new(Method::GET, path)) {
                prop_assert_eq!(url.scheme(), "https");
                prop_assert_eq!(url.host_str(), Some("example.com"));
                prop_assert_eq!(url.port(), Some(8443));
                prop_assert!(url.fragment().is_none());
                prop_assert!(url.path().starts_with("/tenant-a/v1/"), "{}", url);
                prop_assert!(!url.path()["/tenant-a/v1/".len()..]
                    .split('/')
                    .any(|s| s == ".." || s.eq_ignore_ascii_case("%2e%2e")), "{}", url);
            }
        }
    }
}
