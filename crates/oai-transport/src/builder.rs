//! The raw request builder: any path, any serde types.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::multipart::MultipartForm;
use crate::options::RequestOptions;
use crate::paginate::PageStream;
use crate::response::{RawResponse, Response};
use crate::stream::{ByteStream, JsonStream, SseStream, StreamOptions};
use crate::transport::{Request, RequestBody, Transport};

/// Builds and sends one request. Setters never fail: the first problem is kept
/// and returned by the sending method, before any I/O.
#[must_use = "a request does nothing until it is sent"]
#[derive(Debug)]
pub struct RequestBuilder {
    transport: Transport,
    request: Request,
    error: Option<Error>,
}

impl RequestBuilder {
    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.request.method
    }

    /// The request's path under the base URL.
    pub fn path(&self) -> &str {
        &self.request.path
    }

    /// The request's JSON body as it will be sent, when it has one (before
    /// any extra body fields of its options are merged in).
    pub fn json_body(&self) -> Option<&[u8]> {
        match &self.request.body {
            crate::transport::RequestBody::Json(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The transport the request goes through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A request for `path` under the base URL.
    pub fn new(transport: Transport, method: Method, path: impl Into<String>) -> Self {
        Self {
            transport,
            request: Request::new(method, path),
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Adds a query pair.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.request.push_query(name, value.to_string());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(mut v)) => {
                if crate::redact::is_sensitive(&n) {
                    v.set_sensitive(true);
                }
                self.request.insert_header(n, v);
            }
            _ => self.fail(Error::invalid_input(format!(
                "header {name:?} has an invalid name or value"
            ))),
        }
        self
    }

    /// Serializes `body` as the JSON body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.request.set_body(RequestBody::Json(Bytes::from(bytes))),
            Err(e) => self.fail(Error::invalid_input_from(
                "the body could not be serialized as JSON",
                e,
            )),
        }
        self
    }

    /// Sends a multipart form.
    pub fn multipart(mut self, form: MultipartForm) -> Self {
        self.request.set_body(RequestBody::Multipart(form));
        self
    }

    /// Sends raw bytes with a content type.
    pub fn bytes(mut self, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        match HeaderValue::try_from(content_type) {
            Ok(ct) => self.request.set_body(RequestBody::Bytes {
                content_type: ct,
                bytes: bytes.into(),
            }),
            Err(_) => self.fail(Error::invalid_input(format!(
                "content type {content_type:?} is invalid"
            ))),
        }
        self
    }

    /// Per-call overrides (headers, query, body fields, timeouts, retries).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.request.set_options(options);
        self
    }

    /// The request as built so far.
    ///
    /// # Errors
    /// The first problem met while building.
    pub fn build(self) -> Result<(Transport, Request)> {
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.transport, self.request)),
        }
    }

    /// Sends the request and reads the body without decoding it.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn send_raw(self) -> Result<RawResponse> {
        let (transport, request) = self.build()?;
        transport.execute(&request).await
    }

    /// Sends the request and decodes the JSON body into `T`.
    ///
    /// # Errors
    /// Any [`Error`]; a body that is not a `T` is a decode error.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T> {
        self.send_raw().await?.json()
    }

    /// As [`RequestBuilder::send`], keeping the response's metadata.
    ///
    /// # Errors
    /// As [`RequestBuilder::send`].
    pub async fn send_with_meta<T: DeserializeOwned>(self) -> Result<Response<T>> {
        self.send_raw().await?.into_response()
    }

    /// Sends the request and returns the raw server-sent events.
    ///
    /// # Errors
    /// Any [`Error`] before the stream begins.
    pub async fn events(self) -> Result<SseStream> {
        let (transport, request) = self.build()?;
        let opened = transport.execute_streaming(&request).await?;
        Ok(SseStream::new(opened, transport.config().sse_limits()))
    }

    /// Sends the request and returns its events decoded as `T`, ending at
    /// `[DONE]` (see [`RequestBuilder::stream_with`] for other terminal events).
    ///
    /// # Errors
    /// Any [`Error`] before the stream begins.
    pub async fn stream<T: DeserializeOwned>(self) -> Result<JsonStream<T>> {
        self.stream_with(StreamOptions::default()).await
    }

    /// As [`RequestBuilder::stream`] with explicit end markers.
    ///
    /// # Errors
    /// Any [`Error`] before the stream begins.
    pub async fn stream_with<T: DeserializeOwned>(
        self,
        options: StreamOptions,
    ) -> Result<JsonStream<T>> {
        Ok(JsonStream::new(self.events().await?, options))
    }

    /// Sends the request and returns its body as it arrives, for a download
    /// that should not be held in memory whole (see [`ByteStream`]: the
    /// length is checked against `Content-Length`; the byte cap applies only
    /// when this request's options set one).
    ///
    /// # Errors
    /// Any [`Error`] before the body begins.
    pub async fn download(self) -> Result<ByteStream> {
        let (transport, request) = self.build()?;
        let cap = request.options().max_response_bytes;
        let opened = transport.execute_streaming(&request).await?;
        Ok(ByteStream::new(opened, cap))
    }

    /// The pages of a cursor-paginated list, fetched lazily.
    ///
    /// # Errors
    /// The first problem met while building.
    pub fn paginate<T: DeserializeOwned + Send + 'static>(self) -> Result<PageStream<T>> {
        let (transport, request) = self.build()?;
        Ok(PageStream::new(transport, request))
    }
}
