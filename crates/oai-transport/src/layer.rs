//! The seam around each attempt: [tower] layers between the client's retry
//! loop and the wire.
//!
//! A layer added with [`ConfigBuilder::layer`](crate::ConfigBuilder::layer)
//! wraps every attempt of every call (retries included, each its own pass
//! through the stack): it sees the request as it is about to leave (URL,
//! headers, body) and the answer as it comes back (status, headers, body),
//! and may change either, answer by itself (a cache), or fail. What it
//! returns goes through the same checks as an answer from the network: the
//! body cap, the redirect refusal, the API error mapping and the retry
//! policy, which stays the client's and runs outside every layer.
//!
//! **The credential is not in the request a layer sees.** It travels in the
//! request's extensions as a [`Credential`], whose value is out of sight
//! until a layer calls [`Credential::reveal`]; the bottom of the stack puts
//! it in its header just before the bytes leave. A layer that never calls
//! `reveal` cannot log, cache or forward the key by accident. (A layer may
//! also remove the extension: the attempt is then sent without it.)
//!
//! The first layer added is the outermost, as with tower's `ServiceBuilder`.
//! Each attempt also carries an [`Attempt`] extension (its number).
//!
//! ```
//! use std::task::{Context, Poll};
//! use oai_transport::layer::{AttemptRequest, Next};
//! use tower::{Layer, Service};
//!
//! /// Adds a header to every attempt.
//! #[derive(Clone)]
//! struct Tag<S>(S);
//!
//! impl<S: Service<AttemptRequest>> Service<AttemptRequest> for Tag<S> {
//!     type Response = S::Response;
//!     type Error = S::Error;
//!     type Future = S::Future;
//!     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
//!         self.0.poll_ready(cx)
//!     }
//!     fn call(&mut self, mut req: AttemptRequest) -> S::Future {
//!         req.headers_mut().insert("x-team", http::HeaderValue::from_static("search"));
//!         self.0.call(req)
//!     }
//! }
//!
//! struct TagLayer;
//! impl Layer<Next> for TagLayer {
//!     type Service = Tag<Next>;
//!     fn layer(&self, next: Next) -> Tag<Next> {
//!         Tag(next)
//!     }
//! }
//!
//! let config = oai_transport::Config::builder()
//!     .api_key("sk-test")
//!     .layer(TagLayer)
//!     .build();
//! assert!(config.is_ok());
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use crate::error::Error;

/// The error type of the stack: whatever a layer fails with. An error of the
/// client itself (from the wire at the bottom) comes back as it was; any
/// other is an [`ErrorKind::Layer`](crate::ErrorKind::Layer) error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One attempt as the layers see it.
pub type AttemptRequest = http::Request<Body>;

/// One attempt's answer as the layers see it.
pub type AttemptResponse = http::Response<Body>;

/// The future of one pass through the stack.
pub type AttemptFuture = Pin<Box<dyn Future<Output = Result<AttemptResponse, BoxError>> + Send>>;

/// A request or response body in the stack: bytes in memory, or a stream
/// (a multipart upload, an answer read from the network).
pub struct Body(reqwest::Body);

impl Body {
    /// No bytes.
    pub fn empty() -> Self {
        Self(reqwest::Body::from(Bytes::new()))
    }

    /// A body read from `stream` as it is polled.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: futures_core::Stream<Item = Result<Bytes, BoxError>> + Send + 'static,
    {
        Self(reqwest::Body::wrap_stream(stream))
    }

    /// The bytes, when the body is in memory (`None` for a stream).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        self.0.as_bytes()
    }

    /// Reads the whole body, refusing one longer than `limit` bytes.
    ///
    /// # Errors
    /// The stream failed, or the body is longer than `limit`.
    pub async fn collect(self, limit: usize) -> Result<Bytes, BoxError> {
        use http_body_util::BodyExt;
        if let Some(bytes) = self.0.as_bytes() {
            if bytes.len() > limit {
                return Err(too_long(limit));
            }
            return Ok(Bytes::copy_from_slice(bytes));
        }
        let mut out = bytes::BytesMut::new();
        let mut body = self.0;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                if out.len().saturating_add(data.len()) > limit {
                    return Err(too_long(limit));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out.freeze())
    }

    pub(crate) fn into_reqwest(self) -> reqwest::Body {
        self.0
    }
}

fn too_long(limit: usize) -> BoxError {
    format!("the body is longer than {limit} bytes").into()
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_bytes() {
            Some(b) => write!(f, "Body({} bytes)", b.len()),
            None => f.write_str("Body(stream)"),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Self(reqwest::Body::from(b))
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Self(reqwest::Body::from(b))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Self(reqwest::Body::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Self(reqwest::Body::from(s))
    }
}

impl From<reqwest::Body> for Body {
    fn from(b: reqwest::Body) -> Self {
        Self(b)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.0)
            .poll_frame(cx)
            .map_err(|e| Box::new(e.without_url()) as BoxError)
    }
    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.0)
    }
    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.0)
    }
}

/// The attempt's credential header, kept out of the headers a layer sees.
/// Its value shows only through [`Credential::reveal`]; `Debug` prints the
/// header's name alone.
#[derive(Clone)]
pub struct Credential {
    name: HeaderName,
    value: HeaderValue,
}

impl Credential {
    pub(crate) fn new(name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        Self { name, value }
    }

    /// The header the credential goes in (`authorization`, or `api-key` for
    /// Azure keys, or the configured name).
    pub fn header_name(&self) -> &HeaderName {
        &self.name
    }

    /// The header's name and value: the credential itself. Call this only
    /// where the layer needs the key (a request signature that covers it,
    /// say), and keep the value out of logs, caches and recordings.
    pub fn reveal(&self) -> (&HeaderName, &HeaderValue) {
        (&self.name, &self.value)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("header", &self.name)
            .finish_non_exhaustive()
    }
}

/// Which attempt of its call a request is: 1 for the first, 2 for the first
/// retry, and so on. In every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(u32);

impl Attempt {
    /// The attempt's number, from 1.
    pub fn number(self) -> u32 {
        self.0
    }

    /// Whether this attempt is a retry.
    pub fn is_retry(self) -> bool {
        self.0 > 1
    }
}

/// The rest of the stack under a layer, down to the wire: what a layer's
/// [`Layer::layer`] receives and its service calls.
#[derive(Clone)]
pub struct Next(BoxCloneSyncService<AttemptRequest, AttemptResponse, BoxError>);

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next")
    }
}

impl Service<AttemptRequest> for Next {
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        self.0.call(req)
    }
}

impl Next {
    /// Sends `req` through the rest of the stack (waiting until it is
    /// ready): what a layer written with [`from_fn`] calls.
    ///
    /// # Errors
    /// What the layers under this one, or the wire, fail with.
    pub async fn run(self, req: AttemptRequest) -> Result<AttemptResponse, BoxError> {
        self.oneshot(req).await
    }
}

/// A layer from an async function of the request and the rest of the stack,
/// for layers that need no type of their own:
///
/// ```
/// use oai_transport::layer::{AttemptRequest, Next, from_fn};
///
/// let config = oai_transport::Config::builder()
///     .api_key("sk-test")
///     .layer(from_fn(|mut req: AttemptRequest, next: Next| async move {
///         req.headers_mut().insert("x-team", http::HeaderValue::from_static("search"));
///         let answer = next.run(req).await?;
///         tracing::info!(status = %answer.status(), "answered");
///         Ok(answer)
///     }))
///     .build();
/// assert!(config.is_ok());
/// ```
pub fn from_fn<F, Fut>(f: F) -> FromFn<F>
where
    F: Fn(AttemptRequest, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<AttemptResponse, BoxError>> + Send + 'static,
{
    FromFn(f)
}

/// The layer [`from_fn`] makes.
#[derive(Clone)]
pub struct FromFn<F>(F);

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromFn")
    }
}

impl<F: Clone> Layer<Next> for FromFn<F> {
    type Service = FromFnService<F>;
    fn layer(&self, next: Next) -> FromFnService<F> {
        FromFnService {
            f: self.0.clone(),
            next,
        }
    }
}

/// The service of a [`from_fn`] layer over the rest of the stack.
#[derive(Clone)]
pub struct FromFnService<F> {
    f: F,
    next: Next,
}

impl<F> fmt::Debug for FromFnService<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromFnService")
    }
}

impl<F, Fut> Service<AttemptRequest> for FromFnService<F>
where
    F: Fn(AttemptRequest, Next) -> Fut,
    Fut: Future<Output = Result<AttemptResponse, BoxError>> + Send + 'static,
{
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // The rest of the stack is made ready by `Next::run`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        Box::pin((self.f)(req, self.next.clone()))
    }
}

/// A layer, erased: applied once, when the transport is made.
#[derive(Clone)]
pub(crate) struct Wrap(Arc<dyn Fn(Next) -> Next + Send + Sync>);

impl fmt::Debug for Wrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Layer")
    }
}

impl Wrap {
    pub(crate) fn new<L>(layer: L) -> Self
    where
        L: Layer<Next> + Send + Sync + 'static,
        L::Service:
            Service<AttemptRequest, Response = AttemptResponse> + Clone + Send + Sync + 'static,
        <L::Service as Service<AttemptRequest>>::Error: Into<BoxError>,
        <L::Service as Service<AttemptRequest>>::Future: Send + 'static,
    {
        Self(Arc::new(move |next| {
            Next(BoxCloneSyncService::new(
                layer.layer(next).map_err(Into::into),
            ))
        }))
    }
}

/// The stack over `http`, the layers applied with the first outermost.
pub(crate) fn stack(http: reqwest::Client, layers: &[Wrap]) -> Next {
    let mut next = Next(BoxCloneSyncService::new(Wire { http }));
    for wrap in layers.iter().rev() {
        next = (wrap.0)(next);
    }
    next
}

/// The bottom of the stack: puts the credential in its header and sends.
#[derive(Clone)]
struct Wire {
    http: reqwest::Client,
}

impl Service<AttemptRequest> for Wire {
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        let http = self.http.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            if let Some(c) = parts.extensions.remove::<Credential>() {
                parts.headers.entry(c.name).or_insert(c.value);
            }
            let req = http::Request::from_parts(parts, body.into_reqwest());
            let req = reqwest::Request::try_from(req).map_err(|e| {
                Box::new(Error::invalid_input_from(
                    "a layer made a request that cannot be sent",
                    e.without_url(),
                )) as BoxError
            })?;
            let response = http
                .execute(req)
                .await
                .map_err(|e| Box::new(crate::transport::map_send_error(e)) as BoxError)?;
            Ok(http::Response::from(response).map(Body))
        })
    }
}

/// One attempt through `stack`: `req` (its credential header, if any, moved
/// into the extensions) and the answer back as reqwest's.
pub(crate) async fn send(
    stack: &Next,
    req: reqwest::Request,
    credential: Option<(HeaderName, HeaderValue)>,
    attempt: u32,
    scrubber: &crate::redact::Scrubber,
) -> Result<reqwest::Response, Error> {
    let req = http::Request::<reqwest::Body>::try_from(req).map_err(|e| {
        Error::invalid_input_from("the request could not be built", e.without_url())
    })?;
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(Attempt(attempt));
    if let Some((name, value)) = credential {
        parts.extensions.insert(Credential::new(name, value));
    }
    let req = http::Request::from_parts(parts, Body(body));
    match stack.clone().oneshot(req).await {
        Ok(response) => Ok(reqwest::Response::from(response.map(Body::into_reqwest))),
        Err(e) => Err(match e.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(theirs) => Error::layer(scrubber.scrub(&theirs.to_string()).into_owned(), theirs),
        }),
    }
}
