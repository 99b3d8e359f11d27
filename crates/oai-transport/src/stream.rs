//! Streamed responses: raw server-sent events, and typed JSON events on top.

use std::borrow::Cow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::api_error::{ApiErrorDetails, parse_error_body};
use crate::error::{Error, Result, StreamErrorKind, TimeoutPhase};
use crate::redact::Scrubber;
use crate::response::ResponseMeta;
use crate::sse::{SseDecoder, SseEvent, SseEventRef, SseLimits};
use crate::transport::StreamingResponse;

type ByteChunks = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The raw events of a streamed response.
///
/// It reads the body only when polled, one network chunk at a time: nothing is
/// read ahead of the consumer, no task is spawned, no channel is used. A gap
/// between chunks longer than the idle timeout ends it with a timeout error;
/// more bytes in all than the response cap ends it with a limit error, and so
/// does the overall stream deadline when one is set.
pub struct SseStream {
    body: ByteChunks,
    decoder: SseDecoder,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The overall deadline's timer and its length.
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    read: u64,
    max_bytes: u64,
    finished: bool,
    /// Bytes arrived since the idle timer was last set: it is set again
    /// only when the stream is about to wait, not once per network chunk.
    fresh: bool,
    meta: ResponseMeta,
    scrubber: Scrubber,
}

impl std::fmt::Debug for SseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseStream")
            .field("idle", &self.idle)
            .field("finished", &self.finished)
            .field("request_id", &self.meta.request_id())
            .finish_non_exhaustive()
    }
}

impl SseStream {
    /// Events of `response`, decoded under `limits`.
    pub fn new(response: StreamingResponse, limits: SseLimits) -> Self {
        let StreamingResponse {
            meta,
            response,
            idle_timeout,
            deadline,
            max_bytes,
            scrubber,
        } = response;
        let idle = crate::clamp_duration(idle_timeout);
        Self {
            body: Box::pin(response.bytes_stream()),
            decoder: SseDecoder::new(limits),
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            deadline: deadline.map(|d| {
                let d = crate::clamp_duration(d);
                (Box::pin(tokio::time::sleep(d)), d)
            }),
            read: 0,
            max_bytes,
            finished: false,
            fresh: false,
            meta,
            scrubber,
        }
    }

    /// The scrubber for this stream's server text.
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    /// The response's metadata (status, request id, rate limits).
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }
}

impl SseStream {
    /// Reads up to the next event, which the decoder then lends
    /// ([`SseDecoder::current`]): `Ready(Some(Ok(())))` when there is one.
    fn poll_advance(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<()>>> {
        loop {
            // One event at a time from the last chunk read: the chunk is
            // held as read, its events are decoded only as they are taken.
            match self.decoder.advance() {
                Ok(true) => return Poll::Ready(Some(Ok(()))),
                Ok(false) => {}
                Err(e) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if self.finished {
                return Poll::Ready(None);
            }
            if let Some((timer, length)) = self.deadline.as_mut()
                && timer.as_mut().poll(cx).is_ready()
            {
                self.finished = true;
                return Poll::Ready(Some(Err(Error::limit(
                    "the duration of the event stream, in milliseconds,",
                    u64::try_from(length.as_millis()).unwrap_or(u64::MAX),
                ))));
            }
            match self.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.read = self.read.saturating_add(chunk.len() as u64);
                    if self.read > self.max_bytes {
                        self.finished = true;
                        return Poll::Ready(Some(Err(Error::limit(
                            "the bytes of the event stream",
                            self.max_bytes,
                        ))));
                    }
                    self.fresh = true;
                    if let Err(e) = self.decoder.push(chunk) {
                        self.finished = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(Error::request(
                        "the connection broke during the event stream",
                        e.without_url(),
                    ))));
                }
                Poll::Ready(None) => {
                    self.finished = true;
                    if let Err(e) = self.decoder.finish() {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Pending => {
                    // The gap is timed from the moment the stream runs out
                    // of input, which follows the last chunk's arrival.
                    if std::mem::take(&mut self.fresh) {
                        let deadline = tokio::time::Instant::now() + self.idle;
                        self.sleep.as_mut().reset(deadline);
                    }
                    if self.sleep.as_mut().poll(cx).is_ready() {
                        self.finished = true;
                        return Poll::Ready(Some(Err(Error::timeout(
                            TimeoutPhase::StreamIdle,
                            Some(self.idle),
                        ))));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Stream for SseStream {
    type Item = Result<SseEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.poll_advance(cx) {
            Poll::Ready(Some(Ok(()))) => {
                // `advance` said an event is there to lend.
                let ev = this.decoder.current().map(|ev| ev.to_owned());
                Poll::Ready(Some(Ok(ev.unwrap_or_default())))
            }
            other => other.map(|o| o.map(|r| r.map(|()| SseEvent::default()))),
        }
    }
}

/// How a typed stream recognizes its end, and who else reads its events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct StreamOptions {
    done_marker: bool,
    terminal_events: Cow<'static, [&'static str]>,
    observer: Option<Observer>,
}

/// A function shown every event of a typed stream before it is decoded (the
/// facade's telemetry reads the model, usage and finish reasons from them).
#[derive(Clone)]
pub struct Observer(std::sync::Arc<dyn Fn(SseEventRef<'_>) + Send + Sync>);

impl Observer {
    /// An observer calling `f` with each event.
    pub fn new(f: impl Fn(SseEventRef<'_>) + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// Observers are equal when they are the same function.
impl PartialEq for Observer {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Observer {}

impl Default for StreamOptions {
    /// Ends at `data: [DONE]`, the chat completions convention.
    fn default() -> Self {
        Self {
            done_marker: true,
            terminal_events: Cow::Borrowed(&[]),
            observer: None,
        }
    }
}

impl StreamOptions {
    /// Ends at `data: [DONE]` only.
    pub fn done_marker() -> Self {
        Self::default()
    }

    /// Ends after an event whose type (the SSE `event` field, or else the JSON
    /// `type` field) is one of `names`; `[DONE]` also ends it.
    pub fn terminal_events(names: &'static [&'static str]) -> Self {
        Self {
            done_marker: true,
            terminal_events: Cow::Borrowed(names),
            observer: None,
        }
    }

    /// Shows every event to `observer` before it is decoded (on the task
    /// that decodes, which may run ahead of the consumer).
    pub fn observe(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    fn is_terminal(&self, ev: &SseEventRef<'_>) -> bool {
        if self.terminal_events.is_empty() {
            return false;
        }
        if let Some(name) = ev.event
            && name != "message"
        {
            return self.terminal_events.contains(&name);
        }
        // No event name: look at the JSON `type`, only when it may match.
        if !self.terminal_events.iter().any(|t| ev.data.contains(t)) {
            return false;
        }
        #[derive(Deserialize)]
        struct Type<'a> {
            #[serde(borrow, rename = "type")]
            kind: Option<Cow<'a, str>>,
        }
        serde_json::from_str::<Type<'_>>(ev.data)
            .ok()
            .and_then(|t| t.kind)
            .is_some_and(|k| self.terminal_events.contains(&k.as_ref()))
    }
}

/// A stream of JSON events decoded into `T`.
///
/// Ends cleanly at `[DONE]` or a terminal event; a body that ends before either
/// is a [`StreamErrorKind::Truncated`] error. An `error` event, or an event
/// whose JSON has a top-level `error`, becomes an API error. After any error
/// the stream ends.
///
/// Polled from a task, or on a current-thread runtime, it reads and decodes
/// only when polled, one event at a time, in the polling task. Polled from
/// outside any task on a multi-thread runtime (the body of `#[tokio::main]`,
/// or of `Runtime::block_on`), it moves the reading and decoding to a task
/// on a worker, which runs at most [`READ_AHEAD_BYTES`] ahead of the
/// consumer (counting each event's JSON and its decoded value) and then
/// waits, so the connection is read no faster than the consumer takes
/// events; the task ends when the stream ends or is dropped. That thread
/// otherwise sleeps and is woken for every network read, which costs more
/// than the decoding.
pub struct JsonStream<T> {
    state: State<T>,
}

/// How far a typed stream read on a worker may run ahead of its consumer:
/// the JSON text of the events read and not yet taken, plus the in-memory
/// size of their decoded values. An event larger than this is still read,
/// alone.
pub const READ_AHEAD_BYTES: usize = 128 << 10;

// The inline state is the large and the common one: not boxed.
#[allow(clippy::large_enum_variant)]
enum State<T> {
    /// Not polled yet, or polled from a task: decoded as polled.
    Inline(Inline),
    /// Decoded by a task on a worker.
    Ahead(Ahead<T>),
}

/// What the typed stream reads with, in the polling task.
struct Inline {
    events: SseStream,
    options: StreamOptions,
    done: bool,
    /// Whether the first poll chose where to decode.
    placed: bool,
}

/// The receiving end of a typed stream decoded on a worker.
struct Ahead<T> {
    items: tokio::sync::mpsc::UnboundedReceiver<(Result<T>, u32)>,
    /// The bytes the reader may still run ahead.
    budget: std::sync::Arc<tokio::sync::Semaphore>,
    task: Option<tokio::task::JoinHandle<()>>,
    meta: ResponseMeta,
    done: bool,
}

impl<T> Drop for Ahead<T> {
    fn drop(&mut self) {
        // Nobody takes the events any more: stop reading.
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl<T> std::fmt::Debug for JsonStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("JsonStream");
        match &self.state {
            State::Inline(i) => d.field("events", &i.events).field("done", &i.done),
            State::Ahead(a) => d
                .field("read_ahead", &true)
                .field("request_id", &a.meta.request_id())
                .field("done", &a.done),
        }
        .finish()
    }
}

impl<T: DeserializeOwned> JsonStream<T> {
    /// Typed events over `events`.
    pub fn new(events: SseStream, options: StreamOptions) -> Self {
        Self {
            state: State::Inline(Inline {
                events,
                options,
                done: false,
                placed: false,
            }),
        }
    }

    /// The response's metadata.
    pub fn meta(&self) -> &ResponseMeta {
        match &self.state {
            State::Inline(i) => i.events.meta(),
            State::Ahead(a) => &a.meta,
        }
    }
}

/// Whether this thread polls outside any task on a multi-thread runtime
/// (the body of `block_on`), where a typed stream decodes on a worker.
fn polled_outside_a_task() -> bool {
    tokio::task::try_id().is_none()
        && tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

impl Inline {
    /// The next item and the size of its JSON, decoded in the caller.
    fn poll_item<T: DeserializeOwned>(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(Result<T>, usize)>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match self.events.poll_advance(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(()))) => {
                    // The event is read where the decoder holds it.
                    if let Some(ev) = self.events.decoder.current() {
                        let size = ev.data.len();
                        if let Some(item) = handle(ev, &self.options, &self.events, &mut self.done)
                        {
                            return Poll::Ready(Some((item, size)));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Some((Err(e), 0)));
                }
                Poll::Ready(None) => {
                    self.done = true;
                    let e = Error::stream(StreamErrorKind::Truncated, None);
                    return Poll::Ready(Some((Err(e), 0)));
                }
            }
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> JsonStream<T> {
    /// Moves the reading and decoding into a task (see the type's docs).
    fn read_ahead(&mut self) {
        let State::Inline(inline) = &self.state else {
            return;
        };
        let budget = std::sync::Arc::new(tokio::sync::Semaphore::new(READ_AHEAD_BYTES));
        let (tx, items) = tokio::sync::mpsc::unbounded_channel();
        let ahead = State::Ahead(Ahead {
            items,
            budget: budget.clone(),
            task: None,
            meta: inline.events.meta().clone(),
            done: false,
        });
        let State::Inline(mut inline) = std::mem::replace(&mut self.state, ahead) else {
            return;
        };
        let task = tokio::spawn(async move {
            loop {
                let next = std::future::poll_fn(|cx| inline.poll_item::<T>(cx)).await;
                let Some((item, size)) = next else { return };
                let cost = size
                    .saturating_add(std::mem::size_of::<T>())
                    .min(READ_AHEAD_BYTES);
                // Under the cap, the cost fits a `u32`.
                let cost = u32::try_from(cost).unwrap_or(u32::MAX);
                // The budget is never closed: this waits until the consumer
                // has taken enough.
                match budget.acquire_many(cost).await {
                    Ok(permits) => permits.forget(),
                    Err(_) => return,
                }
                if tx.send((item, cost)).is_err() {
                    return;
                }
            }
        });
        if let State::Ahead(ahead) = &mut self.state {
            ahead.task = Some(task);
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for JsonStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let State::Inline(inline) = &mut this.state
            && !inline.placed
        {
            inline.placed = true;
            if polled_outside_a_task() {
                this.read_ahead();
            }
        }
        match &mut this.state {
            State::Inline(inline) => inline.poll_item(cx).map(|o| o.map(|(item, _)| item)),
            State::Ahead(ahead) => {
                if ahead.done {
                    return Poll::Ready(None);
                }
                match ahead.items.poll_recv(cx) {
                    Poll::Ready(Some((item, cost))) => {
                        ahead.budget.add_permits(cost as usize);
                        if item.is_err() {
                            ahead.done = true;
                        }
                        Poll::Ready(Some(item))
                    }
                    Poll::Ready(None) => {
                        // The reader ends after the stream's last item; one
                        // that ended otherwise (a panic while decoding)
                        // must not pass for a clean end.
                        if let Some(task) = ahead.task.as_mut() {
                            let Poll::Ready(ended) = Pin::new(task).poll(cx) else {
                                return Poll::Pending;
                            };
                            ahead.task = None;
                            if ended.is_err() {
                                ahead.done = true;
                                let e = Error::stream(StreamErrorKind::Truncated, None);
                                return Poll::Ready(Some(Err(e)));
                            }
                        }
                        ahead.done = true;
                        Poll::Ready(None)
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// What a typed stream does with one event: its item, or `None` to go on
/// (the `[DONE]` marker). Sets `done` when the stream ends with it.
fn handle<T: DeserializeOwned>(
    ev: SseEventRef<'_>,
    options: &StreamOptions,
    events: &SseStream,
    done: &mut bool,
) -> Option<Result<T>> {
    if let Some(observer) = &options.observer {
        (observer.0)(ev);
    }
    let api_error =
        |details| Error::api(None, events.meta.request_id().map(str::to_owned), details);
    if options.done_marker && ev.data.starts_with('[') && ev.data.trim_end() == "[DONE]" {
        *done = true;
        return None;
    }
    if ev.event == Some("error") {
        *done = true;
        return Some(Err(api_error(parse_error_body(
            None,
            ev.data.as_bytes(),
            &events.scrubber,
        ))));
    }
    if ERROR_KEY.find(ev.data.as_bytes()).is_some()
        && let Some(details) = top_level_error(ev.data, &events.scrubber)
    {
        *done = true;
        return Some(Err(api_error(details)));
    }
    let terminal = options.is_terminal(&ev);
    match serde_json::from_str::<T>(ev.data) {
        Ok(item) => {
            if terminal {
                *done = true;
            }
            Some(Ok(item))
        }
        Err(e) => {
            *done = true;
            // Decoded again, tracking the path, only now that it failed.
            let failure = crate::decode::explain::<T>(ev.data, &e, &events.scrubber);
            Some(Err(Error::decode_failure(
                None,
                ev.data.as_bytes(),
                failure,
                &events.scrubber,
            )))
        }
    }
}

/// The quoted key `"error"`, searched for before an event's JSON is read.
static ERROR_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"error\""));

/// The `error` member of a JSON object, when present and not null.
fn top_level_error(data: &str, scrubber: &Scrubber) -> Option<ApiErrorDetails> {
    #[derive(Deserialize)]
    struct Peek<'a> {
        #[serde(borrow)]
        error: Option<&'a serde_json::value::RawValue>,
    }
    let peek: Peek<'_> = serde_json::from_str(data).ok()?;
    let raw = peek.error?;
    if raw.get() == "null" {
        return None;
    }
    Some(parse_error_body(None, data.as_bytes(), scrubber))
}

/// The body of a response as it arrives, chunk by chunk: for downloads
/// (file contents, audio, video) that should not be held in memory whole.
///
/// Like [`SseStream`] it reads only when polled (no read-ahead beyond the
/// chunk in hand), ends with a timeout error after an idle gap longer than
/// the stream-idle timeout, and with a limit error past the overall stream
/// deadline. Its length is checked: a body that ends before the length its
/// `Content-Length` declared is a [`StreamErrorKind::Truncated`] error, never
/// a short file taken for a whole one, and one that goes past it is a
/// protocol error. A cap on the bytes applies only when the call sets one
/// ([`RequestOptions::max_response_bytes`](crate::RequestOptions::max_response_bytes));
/// the client's default cap is for bodies held in memory.
pub struct ByteStream {
    body: ByteChunks,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    read: u64,
    max_bytes: Option<u64>,
    declared: Option<u64>,
    finished: bool,
    meta: ResponseMeta,
}

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("read", &self.read)
            .field("declared", &self.declared)
            .field("max_bytes", &self.max_bytes)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ByteStream {
    /// The body of `response`, capped at `max_bytes` when given.
    pub fn new(response: StreamingResponse, max_bytes: Option<u64>) -> Self {
        let StreamingResponse {
            meta,
            response,
            idle_timeout,
            deadline,
            ..
        } = response;
        let idle = crate::clamp_duration(idle_timeout);
        // From the header the metadata kept (the response's own headers
        // were moved there); a malformed one declares nothing.
        let declared = meta
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        Self {
            declared,
            body: Box::pin(response.bytes_stream()),
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            deadline: deadline.map(|d| {
                let d = crate::clamp_duration(d);
                (Box::pin(tokio::time::sleep(d)), d)
            }),
            read: 0,
            max_bytes,
            finished: false,
            meta,
        }
    }

    /// The response's metadata (status, request id, rate limits).
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The length the response declared (`Content-Length`), if it did.
    pub fn declared_length(&self) -> Option<u64> {
        self.declared
    }

    /// How many bytes have been read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes>>> {
        self.finished = true;
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some((timer, length)) = this.deadline.as_mut()
            && timer.as_mut().poll(cx).is_ready()
        {
            let ms = u64::try_from(length.as_millis()).unwrap_or(u64::MAX);
            return this.fail(Error::limit(
                "the duration of the download, in milliseconds,",
                ms,
            ));
        }
        match this.body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.read = this.read.saturating_add(chunk.len() as u64);
                if let Some(max) = this.max_bytes
                    && this.read > max
                {
                    return this.fail(Error::limit("the bytes of the download", max));
                }
                if let Some(declared) = this.declared
                    && this.read > declared
                {
                    return this.fail(Error::protocol(
                        "the body is longer than its declared Content-Length",
                    ));
                }
                let deadline = tokio::time::Instant::now() + this.idle;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            // A connection that closes before the declared length is a cut
            // body: the same error as a clean end that comes too early.
            Poll::Ready(Some(Err(_)))
                if this.declared.is_some_and(|declared| this.read < declared) =>
            {
                this.fail(Error::stream(StreamErrorKind::Truncated, None))
            }
            Poll::Ready(Some(Err(e))) => this.fail(Error::request(
                "the connection broke during the download",
                e.without_url(),
            )),
            Poll::Ready(None) => {
                this.finished = true;
                match this.declared {
                    Some(declared) if this.read < declared => {
                        Poll::Ready(Some(Err(Error::stream(StreamErrorKind::Truncated, None))))
                    }
                    _ => Poll::Ready(None),
                }
            }
            Poll::Pending => {
                if this.sleep.as_mut().poll(cx).is_ready() {
                    let idle = this.idle;
                    return this.fail(Error::timeout(TimeoutPhase::StreamIdle, Some(idle)));
                }
                Poll::Pending
            }
        }
    }
}
