//! [`Call`]: what every non-streamed operation returns before it is awaited.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use oai_transport::{RawResponse, RequestBuilder, RequestOptions, Response};

use crate::Result;
use serde::de::DeserializeOwned;

/// How a call turns the body it read into its answer. The decoding is
/// chosen by type and runs only where a call is awaited, so the deserializer
/// of an answer type is compiled only into programs that use that operation.
pub trait Decoder<T>: Send + 'static {
    /// Decodes `raw` into the answer.
    ///
    /// # Errors
    /// A decode error with an excerpt of the body.
    fn decode(raw: RawResponse) -> Result<T>;
}

/// Answers that are JSON.
#[derive(Debug)]
pub struct Json;

impl<T: DeserializeOwned> Decoder<T> for Json {
    fn decode(raw: RawResponse) -> Result<T> {
        Ok(raw.json()?)
    }
}

/// Answers that are the body's bytes (audio, file contents).
#[derive(Debug)]
pub struct Raw;

impl Decoder<bytes::Bytes> for Raw {
    fn decode(raw: RawResponse) -> Result<bytes::Bytes> {
        Ok(raw.body)
    }
}

/// Answers with no body worth reading.
#[derive(Debug)]
pub struct Empty;

impl Decoder<()> for Empty {
    fn decode(_: RawResponse) -> Result<()> {
        Ok(())
    }
}

/// One operation, checked and ready to send. Awaiting it sends the request and
/// gives the typed answer; [`Call::with_meta`] gives the answer with the
/// response's metadata (status, request id, rate limits, attempts);
/// [`Call::options`] changes timeouts, retries, headers or body fields for this
/// call only.
///
/// Nothing is sent until the call is awaited. A request that failed its checks
/// is reported then, before any I/O.
///
/// ```no_run
/// # async fn demo(client: oai::Client) -> Result<(), oai::Error> {
/// use std::time::Duration;
///
/// // The answer alone.
/// let models = client.models().list().await?;
///
/// // The answer and what the server said about it.
/// let answer = client.models().list().with_meta().await?;
/// let limits = answer.meta.rate_limit();
/// println!(
///     "{} models; {:?} requests left, window resets in {:?}; request id {:?}",
///     answer.data.data.len(),
///     limits.remaining_requests,
///     limits.reset_requests,
///     answer.meta.request_id(),
/// );
///
/// // Other settings for one call.
/// let models = client
///     .models()
///     .list()
///     .options(oai::RequestOptions::new().timeout(Duration::from_secs(5)).max_retries(0))
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<T, D = Json> {
    request: Result<RequestBuilder>,
    _answer: PhantomData<fn() -> (T, D)>,
}

impl<T, D> fmt::Debug for Call<T, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<T, D> Call<T, D> {
    /// A call sending `request` (or failing with its error when awaited).
    // With no API area enabled, no generated method makes one.
    #[cfg_attr(not(feature = "full"), allow(dead_code))]
    pub(crate) fn new(request: Result<RequestBuilder>) -> Self {
        Self {
            request,
            _answer: PhantomData,
        }
    }

    /// Per-call settings, merged over the client's (and over any set before).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.request = self.request.map(|rb| rb.options(options));
        self
    }
}

impl<T: Send + 'static, D: Decoder<T>> Call<T, D> {
    /// Sends the request and returns the answer with the response's metadata.
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] of the call.
    pub async fn with_meta(self) -> Result<Response<T>> {
        let raw = self.request?.send_raw().await?;
        let meta = raw.meta.clone();
        Ok(Response {
            data: D::decode(raw)?,
            meta,
        })
    }

    /// Sends the request and returns the answer (what awaiting the call does).
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] of the call.
    pub async fn send(self) -> Result<T> {
        let raw = self.request?.send_raw().await?;
        D::decode(raw)
    }
}

impl<T: Send + 'static, D: Decoder<T>> IntoFuture for Call<T, D> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
