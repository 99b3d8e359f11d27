//! [`RequestBuilder`]: a request to any path with any serde types, for what
//! the typed API does not cover (a vendor's endpoint, a field not yet in the
//! spec). The transport's builder underneath; its errors are [`Error`]s.

use std::fmt;

use bytes::Bytes;
use oai_transport::{MultipartForm, RawResponse, RequestOptions, StreamOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::stream::{ByteStream, EventStream, PageStream};
use crate::{Error, Result, WithMeta};

/// A request being built by hand (from [`Client::request`](crate::Client::request),
/// `get`, `post`, `delete`). Paths are checked as strictly as the generated
/// methods' (they cannot leave the base URL), and the same retries, caps,
/// timeouts and redaction apply.
///
/// ```no_run
/// # async fn demo(client: oai::Client) -> oai::Result<()> {
/// use serde_json::{Value, json};
///
/// let answer: Value = client
///     .post("/chat/completions")
///     .json(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    inner: oai_transport::RequestBuilder,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl From<oai_transport::RequestBuilder> for RequestBuilder {
    fn from(inner: oai_transport::RequestBuilder) -> Self {
        Self { inner }
    }
}

impl RequestBuilder {
    /// Adds a query pair.
    pub fn query(self, name: impl Into<String>, value: impl ToString) -> Self {
        self.inner.query(name, value).into()
    }

    /// Sets a header (an invalid name or value is an error when sent).
    pub fn header(self, name: &str, value: &str) -> Self {
        self.inner.header(name, value).into()
    }

    /// A JSON body.
    pub fn json<B: Serialize + ?Sized>(self, body: &B) -> Self {
        self.inner.json(body).into()
    }

    /// A multipart body.
    pub fn multipart(self, form: MultipartForm) -> Self {
        self.inner.multipart(form).into()
    }

    /// A body of bytes with its content type.
    pub fn bytes(self, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        self.inner.bytes(content_type, bytes).into()
    }

    /// Per-call settings (headers, query, body fields, timeouts, retries).
    pub fn options(self, options: RequestOptions) -> Self {
        self.inner.options(options).into()
    }

    /// Sends the request and reads the body without decoding it.
    ///
    /// # Errors
    /// Any [`Error`] of the call.
    pub async fn send_raw(self) -> Result<RawResponse> {
        Ok(self.inner.send_raw().await?)
    }

    /// Sends the request and decodes the JSON body into `T`.
    ///
    /// # Errors
    /// Any [`Error`]; a body that is not a `T` is a decode error.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T> {
        Ok(self.inner.send().await?)
    }

    /// As [`RequestBuilder::send`], with the response's metadata.
    ///
    /// # Errors
    /// As [`RequestBuilder::send`].
    pub async fn send_with_meta<T: DeserializeOwned>(self) -> Result<WithMeta<T>> {
        Ok(self.inner.send_with_meta().await?)
    }

    /// Sends the request and returns its events decoded as `T`, ending at
    /// `[DONE]`.
    ///
    /// # Errors
    /// Any [`Error`] before the stream begins.
    pub async fn stream<T: DeserializeOwned>(self) -> Result<EventStream<T>> {
        Ok(self.inner.stream().await?.into())
    }

    /// As [`RequestBuilder::stream`], ending as `options` says (terminal
    /// events).
    ///
    /// # Errors
    /// As [`RequestBuilder::stream`].
    pub async fn stream_with<T: DeserializeOwned>(
        self,
        options: StreamOptions,
    ) -> Result<EventStream<T>> {
        Ok(self.inner.stream_with(options).await?.into())
    }

    /// Sends the request and returns the body as it arrives (see
    /// [`ByteStream`]).
    ///
    /// # Errors
    /// Any [`Error`] before the body begins.
    pub async fn download(self) -> Result<ByteStream> {
        Ok(self.inner.download().await?.into())
    }

    /// The pages of a cursor-paginated list, fetched lazily; a request that
    /// cannot be built is the stream's first item.
    pub fn paginate<T: DeserializeOwned + Send + 'static>(self) -> PageStream<T> {
        match self.inner.paginate() {
            Ok(pages) => pages.into(),
            Err(e) => PageStream::failed(Error::from(e)),
        }
    }

    /// The transport's builder, for what only it offers (the raw
    /// server-sent events of [`oai_transport::RequestBuilder::events`]).
    pub fn into_transport(self) -> oai_transport::RequestBuilder {
        self.inner
    }
}
