//! [`Call`]: what every non-streamed operation returns before it is awaited.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use oai_transport::{RawResponse, RequestBuilder, RequestOptions, Response, Result};
use serde::de::DeserializeOwned;

/// How a call turns the body it read into its answer.
type Decode<T> = fn(RawResponse) -> Result<T>;

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
pub struct Call<T> {
    request: Result<RequestBuilder>,
    decode: Decode<T>,
    _answer: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Call<T> {
    fn new(request: Result<RequestBuilder>, decode: Decode<T>) -> Self {
        Self {
            request,
            decode,
            _answer: PhantomData,
        }
    }

    /// Per-call settings, merged over the client's (and over any set before).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.request = self.request.map(|rb| rb.options(options));
        self
    }

    /// Sends the request and returns the answer with the response's metadata.
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] of the call.
    pub async fn with_meta(self) -> Result<Response<T>> {
        let raw = self.request?.send_raw().await?;
        let meta = raw.meta.clone();
        Ok(Response {
            data: (self.decode)(raw)?,
            meta,
        })
    }

    /// Sends the request and returns the answer (what awaiting the call does).
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] of the call.
    pub async fn send(self) -> Result<T> {
        let raw = self.request?.send_raw().await?;
        (self.decode)(raw)
    }
}

impl<T: DeserializeOwned + Send + 'static> Call<T> {
    /// A call whose answer is JSON.
    pub(crate) fn json(request: Result<RequestBuilder>) -> Self {
        Self::new(request, |raw| raw.json())
    }
}

impl Call<bytes::Bytes> {
    /// A call whose answer is the body's bytes.
    pub(crate) fn bytes(request: Result<RequestBuilder>) -> Self {
        Self::new(request, |raw| Ok(raw.body))
    }
}

impl Call<()> {
    /// A call whose answer has no body worth reading.
    pub(crate) fn empty(request: Result<RequestBuilder>) -> Self {
        Self::new(request, |_| Ok(()))
    }
}

impl<T: Send + 'static> IntoFuture for Call<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
