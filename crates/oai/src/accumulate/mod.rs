//! Stream accumulators: fold the events of a streamed call into the value the
//! same call returns when it is not streamed.
//!
//! - [`ChatCompletionAccumulator`] folds chat completion chunks
//!   ([`CreateChatCompletionStreamResponse`](oai_types::CreateChatCompletionStreamResponse))
//!   into a [`CreateChatCompletionResponse`](oai_types::CreateChatCompletionResponse):
//!   text, refusal, log probabilities, usage and tool calls reassembled from
//!   their fragments (feature `chat`).
//! - [`ResponseAccumulator`] folds Responses API events
//!   ([`ResponseStreamEvent`](oai_types::ResponseStreamEvent)) into a
//!   [`Response`](oai_types::Response) (feature `responses`).
//!
//! Both can be fed by hand ([`Accumulator::push`], then
//! [`Accumulator::finish`]), or through the [`AccumulateExt`] adapter on any
//! stream of events, which hands every event to the caller unchanged while
//! accumulating, and yields the final value once the stream has ended cleanly:
//!
//! ```no_run
//! # #[cfg(feature = "chat")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::StreamExt;
//! use oai::accumulate::{AccumulateExt, StreamEvent};
//! use oai::builders::CreateChatCompletionRequestBuilder as Chat;
//! use oai::types::ChatCompletionRequestMessage as Message;
//!
//! let client = oai::Client::from_env()?;
//! let request = Chat::new(Message::user("Hello"), "gpt-4o-mini").build()?;
//! let mut stream = client.chat().completions().create(request).stream().await?.accumulate();
//! while let Some(chunk) = stream.next().await {
//!     print!("{}", chunk?.text_delta().unwrap_or_default());
//! }
//! let completion = stream.into_final()?;
//! println!("\n{:?}", completion.choices[0].message);
//! # Ok(()) }
//! ```
//!
//! Or in one call, when the events themselves are not needed:
//!
//! ```no_run
//! # #[cfg(feature = "responses")]
//! # async fn demo(client: oai::Client, request: oai::types::CreateResponse) -> Result<(), oai::Error> {
//! use oai::accumulate::AccumulateExt;
//!
//! let response = client.responses().create(request).stream().await?.collect_final().await?;
//! println!("{:?}", response.status);
//! # Ok(()) }
//! ```
//!
//! # Bounds
//!
//! What an accumulator holds is bounded whatever the server sends: the bytes
//! it gathers ([`DEFAULT_MAX_ACCUMULATED_BYTES`]), the number of choices
//! ([`DEFAULT_MAX_CHOICES`]) and of tool calls ([`DEFAULT_MAX_TOOL_CALLS`]) of
//! a chat completion, the number of output items of a response
//! ([`DEFAULT_MAX_OUTPUT_ITEMS`]). Each has a setter on the accumulator; give
//! a configured accumulator to the stream with
//! [`AccumulateExt::accumulate_with`]. A bound reached is an
//! [`AccumulateError`] of kind [`Limit`](AccumulateErrorKind::Limit), an
//! [`Error`] for which [`Error::is_limit`] holds.
//!
//! # Errors
//!
//! A stream that breaks (a network error, an early end, an error event) is an
//! [`Error`] of the transport, passed on unchanged. A stream whose events
//! cannot describe one result (two different ids for one tool call, a delta
//! for an output item never announced, a choice that never got a
//! `finish_reason`) is an [`AccumulateError`]; the stream adapter turns it
//! into an [`Error`] for which [`Error::is_decode`] holds and whose message
//! and [`source`](std::error::Error::source) carry the [`AccumulateError`]'s
//! text, scrubbed of the credentials of the stream's configuration (the ids
//! and names it quotes come from the server); the typed [`AccumulateError`]
//! is what [`Accumulator::push`] and [`Accumulator::finish`] return. What
//! each accumulator tolerates and what it rejects is listed on its type.
//! Accumulating never panics, whatever the input.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use oai_transport::redact::Scrubber;

use crate::{ApiErrorDetails, Error, Result};

/// Default cap on the bytes an accumulator gathers: text, refusals,
/// arguments, tool inputs, ids and names as their deltas arrive (a `.done`
/// event's text counts again), and 64 bytes plus the token for each log
/// probability entry (64 MiB).
pub const DEFAULT_MAX_ACCUMULATED_BYTES: usize = 64 << 20;
/// Default cap on the choices of a chat completion (128, the API's largest
/// `n`).
pub const DEFAULT_MAX_CHOICES: usize = 128;
/// Default cap on the tool calls of a chat completion, all choices together
/// (1024).
pub const DEFAULT_MAX_TOOL_CALLS: usize = 1024;
/// Default cap on the output items of a response (1024).
pub const DEFAULT_MAX_OUTPUT_ITEMS: usize = 1024;

/// The byte budget of one accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
pub(crate) struct Budget {
    used: usize,
    max: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            used: 0,
            max: DEFAULT_MAX_ACCUMULATED_BYTES,
        }
    }
}

#[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
impl Budget {
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Counts `bytes` more; an error once the total is over the cap.
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), AccumulateError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.max {
            return Err(AccumulateError::limit(
                "the bytes an accumulator gathers",
                self.max,
            ));
        }
        Ok(())
    }
}

#[cfg(feature = "chat")]
mod chat;
#[cfg(feature = "responses")]
mod responses;

#[cfg(feature = "chat")]
pub use chat::{ChatCompletionAccumulator, PartialChoice, PartialToolCall};
#[cfg(feature = "responses")]
pub use responses::{ResponseAccumulator, ResponseDelta};

/// The class of an [`AccumulateError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccumulateErrorKind {
    /// No event at all was accumulated.
    Empty,
    /// The events ended before the result was complete (a choice without a
    /// `finish_reason`, a tool call without an id or a name), or the final
    /// value was asked of a stream that was not read to its end.
    Incomplete,
    /// Two events disagree (two ids for one tool call, chunks of two
    /// completions, a role other than `assistant`).
    Conflict,
    /// An event refers to something no earlier event created (a delta for an
    /// output item or a content part never added, a negative index), or to
    /// something of another kind (a text delta for a function call).
    OutOfOrder,
    /// The server sent an `error` event.
    ErrorEvent,
    /// A bound of the accumulator was reached (bytes gathered, choices, tool
    /// calls, output items); see [`AccumulateError::limit_value`].
    Limit,
}

/// Why a stream of events could not be folded into one result.
///
/// `Display` is one line naming what is wrong and where (choice, tool call,
/// output item and content indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulateError {
    kind: AccumulateErrorKind,
    message: String,
    api: Option<ApiFields>,
    limit: Option<(&'static str, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ApiFields {
    code: Option<String>,
    param: Option<String>,
}

impl AccumulateError {
    pub(crate) fn new(kind: AccumulateErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            api: None,
            limit: None,
        }
    }

    /// A bound reached: `what` names it, `limit` is its value.
    #[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
    pub(crate) fn limit(what: &'static str, limit: usize) -> Self {
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        Self {
            kind: AccumulateErrorKind::Limit,
            message: format!("{what} reached the cap of {limit}"),
            api: None,
            limit: Some((what, limit)),
        }
    }

    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) fn error_event(message: &str, code: Option<&str>, param: Option<&str>) -> Self {
        Self {
            kind: AccumulateErrorKind::ErrorEvent,
            message: message.to_owned(),
            api: Some(ApiFields {
                code: code.map(str::to_owned),
                param: param.map(str::to_owned),
            }),
            limit: None,
        }
    }

    pub(crate) fn empty() -> Self {
        Self::new(AccumulateErrorKind::Empty, "the stream carried no event")
    }

    /// The class of the error.
    pub fn kind(&self) -> AccumulateErrorKind {
        self.kind
    }

    /// What is wrong, in words (the server's message for an error event).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a [`Limit`](AccumulateErrorKind::Limit) error, what reached its
    /// bound and the bound.
    pub fn limit_value(&self) -> Option<(&'static str, u64)> {
        self.limit
    }

    /// This error as an [`Error`], every text from the server in it
    /// scrubbed with `scrub` (the credentials of the configuration the
    /// events came through): an error event becomes an API error (as if the
    /// transport had seen it), a bound reached a limit error, anything else
    /// (events that disagree, come out of order, or end too soon) a
    /// protocol error that keeps this error (see [`Error::downcast_ref`]).
    pub fn into_error(mut self, scrub: &Scrubber) -> Error {
        if let Some((what, limit)) = self.limit {
            return Error::limit(what, limit);
        }
        match &self.api {
            Some(api) => {
                let mut details = ApiErrorDetails::new(self.message.clone());
                if let Some(code) = &api.code {
                    details = details.with_code(code.clone());
                }
                if let Some(param) = &api.param {
                    details = details.with_param(param.clone());
                }
                details.scrub_with(scrub);
                oai_transport::Error::api(None, None, details).into()
            }
            None => {
                self.message = scrub.scrub(&self.message).into_owned();
                Error::helper(crate::ErrorKind::Protocol, self)
            }
        }
    }
}

impl fmt::Display for AccumulateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            AccumulateErrorKind::ErrorEvent => {
                write!(f, "the stream carried an error event: {}", self.message)
            }
            _ => write!(f, "cannot accumulate the stream: {}", self.message),
        }
    }
}

impl std::error::Error for AccumulateError {}

impl From<AccumulateError> for Error {
    /// As [`AccumulateError::into_error`] with a scrubber that knows no
    /// credential: for events the caller pushed by hand. The stream adapter
    /// uses the stream's own scrubber.
    fn from(e: AccumulateError) -> Self {
        e.into_error(&Scrubber::new())
    }
}

/// Folds the events of one stream into one final value.
pub trait Accumulator: Default {
    /// The stream's event type.
    type Event;
    /// The final value: what the same call returns when not streamed.
    type Output;

    /// Adds one event.
    ///
    /// # Errors
    /// The event contradicts the earlier ones or refers to something they
    /// never created. The accumulator should not be used after an error.
    fn push(&mut self, event: &Self::Event) -> Result<(), AccumulateError>;

    /// The final value.
    ///
    /// # Errors
    /// No event was pushed, or the events do not make a complete value.
    fn finish(self) -> Result<Self::Output, AccumulateError>;
}

/// An event type that has an [`Accumulator`], with a shortcut to its text.
pub trait StreamEvent: Sized + serde::de::DeserializeOwned {
    /// The accumulator for streams of this event.
    type Accumulator: Accumulator<Event = Self>;

    /// The piece of output text this event adds, if any: the `content` delta
    /// of choice 0 of a chat chunk, the `delta` of a Responses
    /// `response.output_text.delta` event.
    fn text_delta(&self) -> Option<&str>;
}

/// Adds [`accumulate`](AccumulateExt::accumulate) and
/// [`collect_final`](AccumulateExt::collect_final) to every stream of
/// `Result<E>` whose event `E` is a [`StreamEvent`] (such as the
/// [`EventStream`](crate::EventStream)s of `create_stream`).
pub trait AccumulateExt: Stream + Sized {
    /// A stream yielding every event unchanged while accumulating them (with
    /// the default bounds); ask [`Accumulating::into_final`] for the final
    /// value after the end.
    ///
    /// When the stream is an [`EventStream`](crate::EventStream) of the client,
    /// errors are scrubbed with its scrubber (the credentials of the
    /// client's configuration); for another stream, give one with
    /// [`Accumulating::scrub_with`].
    fn accumulate<E>(self) -> Accumulating<Self, E::Accumulator>
    where
        Self: Stream<Item = Result<E>> + Unpin + 'static,
        E: StreamEvent + 'static,
    {
        self.accumulate_with(E::Accumulator::default())
    }

    /// As [`accumulate`](Self::accumulate), into `acc` (an accumulator with
    /// bounds of its own, say).
    fn accumulate_with<E, A>(self, acc: A) -> Accumulating<Self, A>
    where
        Self: Stream<Item = Result<E>> + Unpin + 'static,
        E: StreamEvent + 'static,
        A: Accumulator<Event = E>,
    {
        let any: &dyn std::any::Any = &self;
        let scrub = any
            .downcast_ref::<crate::EventStream<E>>()
            .map(|s| s.meta().scrubber().clone())
            .unwrap_or_default();
        Accumulating {
            stream: self,
            acc,
            state: State::Running,
            scrub,
        }
    }

    /// Reads the whole stream and returns the final value.
    ///
    /// # Errors
    /// The first error of the stream, or the [`AccumulateError`] (as an
    /// [`Error`]) when its events do not make one result.
    fn collect_final<E>(self) -> CollectFinal<Self, E::Accumulator>
    where
        Self: Stream<Item = Result<E>> + Unpin + 'static,
        E: StreamEvent + 'static,
    {
        CollectFinal {
            inner: Some(self.accumulate()),
        }
    }

    /// As [`collect_final`](Self::collect_final), into `acc`.
    ///
    /// # Errors
    /// As [`collect_final`](Self::collect_final).
    fn collect_final_with<E, A>(self, acc: A) -> CollectFinal<Self, A>
    where
        Self: Stream<Item = Result<E>> + Unpin + 'static,
        E: StreamEvent + 'static,
        A: Accumulator<Event = E>,
    {
        CollectFinal {
            inner: Some(self.accumulate_with(acc)),
        }
    }
}

impl<S: Stream> AccumulateExt for S {}

#[derive(Debug)]
enum State {
    Running,
    /// The last event could not be accumulated: yield this error next.
    Pending(Error),
    /// The inner stream ended cleanly.
    Ended,
    /// An error was yielded; the stream is over.
    Failed,
}

/// A stream that passes every event of `S` through unchanged while folding it
/// into the accumulator `A`. Made by [`AccumulateExt::accumulate`].
///
/// If an event cannot be accumulated, the event is still yielded, then the
/// error (an [`Error`] whose source is the [`AccumulateError`]), then the
/// stream ends. After any error of the inner stream, the stream ends.
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Accumulating<S, A> {
    stream: S,
    acc: A,
    state: State,
    scrub: Scrubber,
}

impl<S, A: Accumulator> Accumulating<S, A> {
    /// Scrub errors with `scrub`: the credentials of the configuration the
    /// events came through (server text such as ids and names is quoted in
    /// them).
    pub fn scrub_with(mut self, scrub: Scrubber) -> Self {
        self.scrub = scrub;
        self
    }

    /// The accumulator, for a look at the state so far (for example
    /// [`ChatCompletionAccumulator::choices`] or
    /// [`ResponseAccumulator::snapshot`]).
    pub fn accumulator(&self) -> &A {
        &self.acc
    }

    /// Whether the inner stream has ended cleanly.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Ended)
    }

    /// The final value, once the stream has been read to its clean end.
    ///
    /// # Errors
    /// The stream was not read to its end, or ended with an error (already
    /// yielded), or its events do not make one result.
    pub fn into_final(self) -> Result<A::Output> {
        let scrub = self.scrub;
        let error = match self.state {
            State::Ended => return self.acc.finish().map_err(|e| e.into_error(&scrub)),
            State::Running => AccumulateError::new(
                AccumulateErrorKind::Incomplete,
                "the stream was not read to its end",
            ),
            State::Pending(_) | State::Failed => AccumulateError::new(
                AccumulateErrorKind::Incomplete,
                "the stream ended with an error",
            ),
        };
        Err(error.into_error(&scrub))
    }
}

impl<S, A> Stream for Accumulating<S, A>
where
    S: Stream<Item = Result<A::Event>> + Unpin,
    A: Accumulator + Unpin,
{
    type Item = Result<A::Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match std::mem::replace(&mut this.state, State::Failed) {
            State::Running => {}
            State::Pending(e) => return Poll::Ready(Some(Err(e))),
            State::Failed => return Poll::Ready(None),
            State::Ended => {
                this.state = State::Ended;
                return Poll::Ready(None);
            }
        }
        match Pin::new(&mut this.stream).poll_next(cx) {
            Poll::Pending => {
                this.state = State::Running;
                Poll::Pending
            }
            Poll::Ready(Some(Ok(event))) => {
                this.state = match this.acc.push(&event) {
                    Ok(()) => State::Running,
                    Err(e) => State::Pending(e.into_error(&this.scrub)),
                };
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                this.state = State::Ended;
                Poll::Ready(None)
            }
        }
    }
}

/// The future of [`AccumulateExt::collect_final`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct CollectFinal<S, A> {
    inner: Option<Accumulating<S, A>>,
}

impl<S, A> Future for CollectFinal<S, A>
where
    S: Stream<Item = Result<A::Event>> + Unpin,
    A: Accumulator + Unpin,
{
    type Output = Result<A::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(Err(AccumulateError::new(
                    AccumulateErrorKind::Incomplete,
                    "the final value was already taken",
                )
                .into()));
            };
            match Pin::new(inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => {
                    this.inner = None;
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    let result = match this.inner.take() {
                        Some(done) => done.into_final(),
                        None => Err(AccumulateError::empty().into()),
                    };
                    return Poll::Ready(result);
                }
            }
        }
    }
}

/// Replaces the element at `index` of `items`, or appends it when `index` is
/// the length; anything further is a gap, an error naming `what`.
#[cfg_attr(not(feature = "responses"), allow(dead_code))]
pub(crate) fn put<T>(
    items: &mut Vec<T>,
    index: i64,
    value: T,
    what: impl FnOnce() -> String,
) -> Result<(), AccumulateError> {
    match usize::try_from(index) {
        Ok(i) if i < items.len() => {
            if let Some(slot) = items.get_mut(i) {
                *slot = value;
            }
            Ok(())
        }
        Ok(i) if i == items.len() => {
            items.push(value);
            Ok(())
        }
        _ => Err(AccumulateError::new(
            AccumulateErrorKind::OutOfOrder,
            format!(
                "{} has index {index} but only {} came before it",
                what(),
                items.len()
            ),
        )),
    }
}

/// A string from the server as an error shows it: at most 64 characters,
/// control characters and quotes escaped, so a hostile value cannot flood or
/// forge the message.
#[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}
