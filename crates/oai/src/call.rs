//! [`Call`]: what every operation returns. One value per operation, whatever
//! the answer's form: awaited for the answer, [`Call::stream`]ed where the
//! operation streams, [`Call::pages`]/[`Call::items`] where it pages, and
//! [`Call::options`]/[`Call::with_meta`] on all of them.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use oai_transport::{RawResponse, RequestBuilder, RequestOptions, StreamOptions};
use serde::de::DeserializeOwned;

use crate::stream::{ByteStream, EventStream, ItemStream, PageStream};
use crate::telemetry::Telemetry;
use crate::{Client, Result, WithMeta};

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

/// The form of an operation that only answers (no stream, no pages).
#[derive(Debug)]
pub struct Plain;

/// The form of an operation that can also stream its answer as events of
/// type `E` ([`Call::stream`]).
#[derive(Debug)]
pub struct Streams<E>(PhantomData<fn() -> E>);

/// The form of an operation whose answer is a page of a list of `I`
/// ([`Call::pages`], [`Call::items`]).
#[derive(Debug)]
pub struct Pages<I>(PhantomData<fn() -> I>);

/// Builds the request of a call when it is sent: `true` asks for the
/// streamed form (the operation sets its own `stream` flag and `Accept`).
type Build = Box<dyn FnOnce(&Client, bool) -> Result<RequestBuilder> + Send>;

/// One operation, ready to send. Nothing is sent until it is awaited (or
/// streamed, or its pages read); a request that breaks the API's constraints
/// is refused then, before any I/O, with every violation.
///
/// - awaited: the answer (`T`);
/// - [`Call::with_meta`]: the answer with the response's metadata (status,
///   request id, rate limits, attempts);
/// - [`Call::options`]: timeouts, retries, headers, query or body fields for
///   this call only, in every form;
/// - [`Call::stream`], where the operation streams: its typed events (the
///   call sets the `stream` flag itself);
/// - [`Call::pages`] and [`Call::items`], where the operation pages: every
///   page or every item, fetched lazily.
///
/// ```no_run
/// # async fn demo(client: oai::Client) -> oai::Result<()> {
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use oai::builders::CreateChatCompletionRequestBuilder as Chat;
/// use oai::types::ChatCompletionRequestMessage as Message;
///
/// // The answer alone; the builder is the request (checked when sent).
/// let chat = Chat::new(Message::user("Hello"), "gpt-4o-mini");
/// let answer = client.chat().completions().create(chat.clone()).await?;
///
/// // The same operation, streamed, with its own settings.
/// let mut stream = client
///     .chat()
///     .completions()
///     .create(chat)
///     .options(oai::RequestOptions::new().stream_idle_timeout(Duration::from_secs(20)))
///     .stream()
///     .await?;
/// while let Some(chunk) = stream.next().await {
///     for choice in chunk?.choices {
///         print!("{}", choice.delta.content.unwrap_or_default());
///     }
/// }
///
/// // Every item of a list, page after page.
/// let mut files = client.files().list(Default::default()).items();
/// while let Some(file) = files.next().await {
///     println!("{}", file?.id);
/// }
///
/// // The answer and what the server said about it.
/// let models = client.models().list().with_meta().await?;
/// println!("{:?} requests left", models.meta.rate_limit().remaining_requests);
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<T, D = Json, F = Plain> {
    client: Client,
    build: Build,
    options: Option<RequestOptions>,
    events: StreamOptions,
    _answer: Kind<T, D, F>,
}

/// The call's answer, decoder and form, as types only.
type Kind<T, D, F> = PhantomData<fn() -> (T, D, F)>;

impl<T, D, F> fmt::Debug for Call<T, D, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("answer", &std::any::type_name::<T>())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<T, D, F> Call<T, D, F> {
    /// A call whose request `build` makes when it is sent.
    // With no API area enabled, no generated method makes one.
    #[cfg_attr(not(feature = "full"), allow(dead_code))]
    pub(crate) fn new<B>(client: &Client, build: B) -> Self
    where
        B: FnOnce(&Client, bool) -> Result<RequestBuilder> + Send + 'static,
    {
        Self {
            client: client.clone(),
            build: Box::new(build),
            options: None,
            events: StreamOptions::default(),
            _answer: PhantomData,
        }
    }

    /// How the streamed form ends (its terminal events).
    #[cfg_attr(not(feature = "full"), allow(dead_code))]
    pub(crate) fn ends_with(mut self, events: StreamOptions) -> Self {
        self.events = events;
        self
    }

    /// Per-call settings, merged over the client's (and over any set
    /// before): they apply to every form of the call (the answer, the
    /// stream, every page).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = Some(match self.options.take() {
            Some(before) => before.merge(options),
            None => options,
        });
        self
    }

    /// The request, built for the form asked for, with the call's options.
    fn request(self, stream: bool) -> Result<RequestBuilder> {
        let rb = (self.build)(&self.client, stream)?;
        Ok(match self.options {
            Some(options) => rb.options(options),
            None => rb,
        })
    }
}

impl<T: Send + 'static, D: Decoder<T>, F> Call<T, D, F> {
    /// Sends the request and returns the answer with the response's metadata.
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] of the call.
    pub async fn with_meta(self) -> Result<WithMeta<T>> {
        let rb = self.request(false)?;
        let meta_of = |meta: oai_transport::ResponseMeta, data| WithMeta { data, meta };
        match Telemetry::start(&rb) {
            Some(telemetry) => observed::<T, D, _>(rb, telemetry, meta_of).await,
            None => {
                let raw = rb.send_raw().await?;
                let meta = raw.meta.clone();
                Ok(meta_of(meta, D::decode(raw)?))
            }
        }
    }

    /// Sends the request and returns the answer (what awaiting the call does).
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] of the call.
    pub async fn send(self) -> Result<T> {
        let rb = self.request(false)?;
        match Telemetry::start(&rb) {
            Some(telemetry) => observed::<T, D, _>(rb, telemetry, |_, data| data).await,
            None => D::decode(rb.send_raw().await?),
        }
    }
}

/// Sends `rb` inside its GenAI span, recording the answer's attributes (or
/// the error) before the span ends; `wrap` shapes the decoded answer.
async fn observed<T, D: Decoder<T>, O>(
    rb: RequestBuilder,
    telemetry: Telemetry,
    wrap: impl FnOnce(oai_transport::ResponseMeta, T) -> O,
) -> Result<O> {
    use tracing::Instrument as _;
    let span = telemetry.span();
    async move {
        let outcome = async {
            let raw = rb.send_raw().await?;
            telemetry.answer_attributes(&raw.body);
            let meta = raw.meta.clone();
            Ok(wrap(meta, D::decode(raw)?))
        }
        .await;
        match &outcome {
            Ok(_) => telemetry.close(None),
            Err(e) => telemetry.fail(e),
        }
        outcome
    }
    .instrument(span)
    .await
}

impl<T, D, E: DeserializeOwned> Call<T, D, Streams<E>> {
    /// Sends the request for the streamed form (the call sets the
    /// operation's `stream` flag and asks for `text/event-stream`) and
    /// returns the events once the answer's headers have arrived.
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] before
    /// the stream begins; errors inside the stream are its items.
    pub async fn stream(self) -> Result<EventStream<E>> {
        let events = self.events.clone();
        let rb = self.request(true)?;
        let Some(telemetry) = Telemetry::start(&rb) else {
            return Ok(rb.stream_with(events).await?.into());
        };
        use tracing::Instrument as _;
        let events = events.observe(telemetry.observer());
        match rb.stream_with(events).instrument(telemetry.span()).await {
            Ok(stream) => Ok(EventStream::from(stream).observed(telemetry)),
            Err(e) => {
                let e = crate::Error::from(e);
                telemetry.fail(&e);
                Err(e)
            }
        }
    }
}

impl<T, D, I: DeserializeOwned + Send + 'static> Call<T, D, Pages<I>> {
    /// Every page of the list, from the one this call asks for, fetched
    /// lazily as the stream is read. An invalid request is the stream's
    /// first (and only) item.
    pub fn pages(self) -> PageStream<I> {
        match self.request(false).and_then(|rb| Ok(rb.paginate()?)) {
            Ok(pages) => pages.into(),
            Err(e) => PageStream::failed(e),
        }
    }

    /// Every item of every page, in order (see [`Call::pages`]).
    pub fn items(self) -> ItemStream<I> {
        self.pages().items()
    }
}

impl<F> Call<bytes::Bytes, Raw, F> {
    /// Sends the request and returns the body as it arrives, without
    /// holding it whole: for files larger than the client's response cap
    /// (128 MiB by default, which still applies when the call is awaited).
    /// A byte cap applies only when the call's options set one
    /// ([`RequestOptions::max_response_bytes`]).
    ///
    /// # Errors
    /// An invalid request (before any I/O), or any [`crate::Error`] before
    /// the body begins; errors while it is read are the stream's items.
    pub async fn bytes_stream(self) -> Result<ByteStream> {
        Ok(self.request(false)?.download().await?.into())
    }

    /// Sends the request and writes the body to `out` as it arrives (one
    /// network chunk in memory at a time), then flushes it; returns the
    /// number of bytes written. The body's length is checked against its
    /// declared `Content-Length`, so a cut download is an error, not a short
    /// file.
    ///
    /// ```no_run
    /// # async fn demo(client: oai::Client) -> oai::Result<()> {
    /// let mut file = tokio::fs::File::create("batch_output.jsonl").await?;
    /// let written = client.files().content("file-abc123").write_to(&mut file).await?;
    /// println!("{written} bytes");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Call::bytes_stream`], and an [`ErrorKind::Io`](crate::ErrorKind::Io)
    /// error when `out` fails.
    pub async fn write_to<W>(self, out: &mut W) -> Result<u64>
    where
        W: tokio::io::AsyncWrite + Unpin + ?Sized,
    {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let mut body = self.bytes_stream().await?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            out.write_all(&chunk)
                .await
                .map_err(|e| crate::Error::from_io("writing the download", e))?;
            written = written.saturating_add(chunk.len() as u64);
        }
        out.flush()
            .await
            .map_err(|e| crate::Error::from_io("writing the download", e))?;
        Ok(written)
    }
}

impl<T: Send + 'static, D: Decoder<T>, F: 'static> IntoFuture for Call<T, D, F> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    // The request is built (checked, serialized) here, before the future is
    // boxed, and the boxed future is the transport's send alone: no layer of
    // ours is moved into the box (each layer of an `async fn` is a copy of
    // the whole send future, several KiB, per call). Awaiting calls this
    // just before the first poll, so nothing observable moves earlier.
    fn into_future(self) -> Self::IntoFuture {
        match self.request(false) {
            Ok(rb) => match Telemetry::start(&rb) {
                None => {
                    let send = rb.send_raw();
                    Box::pin(async move { D::decode(send.await?) })
                }
                Some(telemetry) => Box::pin(observed::<T, D, _>(rb, telemetry, |_, data| data)),
            },
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}
