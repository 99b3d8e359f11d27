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
//! let mut stream = client.chat().completions().create_stream(request).await?.accumulate();
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
//! let response = client.responses().create_stream(request).await?.collect_final().await?;
//! println!("{:?}", response.status);
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! A stream that breaks (a network error, an early end, an error event) is an
//! [`Error`] of the transport, passed on unchanged. A stream whose events
//! cannot describe one result (two different ids for one tool call, a delta
//! for an output item never announced, a choice that never got a
//! `finish_reason`) is an [`AccumulateError`]; the stream adapter turns it
//! into an [`Error`] for which [`Error::is_decode`] holds and whose
//! [`source`](std::error::Error::source) is the [`AccumulateError`]. What each
//! accumulator tolerates and what it rejects is listed on its type.
//! Accumulating never panics, whatever the input.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::{ApiErrorDetails, Error, Result};

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
    /// An error event becomes an API error (as if the transport had seen it);
    /// anything else a decode error whose source is the [`AccumulateError`].
    fn from(e: AccumulateError) -> Self {
        match &e.api {
            Some(api) => {
                let mut details = ApiErrorDetails::new(e.message.clone());
                if let Some(code) = &api.code {
                    details = details.with_code(code.clone());
                }
                if let Some(param) = &api.param {
                    details = details.with_param(param.clone());
                }
                Error::api(None, None, details)
            }
            None => {
                let text = e.to_string();
                Error::decode(None, text.as_bytes(), e)
            }
        }
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
pub trait StreamEvent: Sized {
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
/// [`JsonStream`](crate::JsonStream)s of `create_stream`).
pub trait AccumulateExt: Stream + Sized {
    /// A stream yielding every event unchanged while accumulating them; ask
    /// [`Accumulating::into_final`] for the final value after the end.
    fn accumulate<E>(self) -> Accumulating<Self, E::Accumulator>
    where
        Self: Stream<Item = Result<E>> + Unpin,
        E: StreamEvent,
    {
        Accumulating {
            stream: self,
            acc: E::Accumulator::default(),
            state: State::Running,
        }
    }

    /// Reads the whole stream and returns the final value.
    ///
    /// # Errors
    /// The first error of the stream, or the [`AccumulateError`] (as an
    /// [`Error`]) when its events do not make one result.
    fn collect_final<E>(self) -> CollectFinal<Self, E::Accumulator>
    where
        Self: Stream<Item = Result<E>> + Unpin,
        E: StreamEvent,
    {
        CollectFinal {
            inner: Some(self.accumulate()),
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
}

impl<S, A: Accumulator> Accumulating<S, A> {
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
        match self.state {
            State::Ended => Ok(self.acc.finish()?),
            State::Running => Err(AccumulateError::new(
                AccumulateErrorKind::Incomplete,
                "the stream was not read to its end",
            )
            .into()),
            State::Pending(_) | State::Failed => Err(AccumulateError::new(
                AccumulateErrorKind::Incomplete,
                "the stream ended with an error",
            )
            .into()),
        }
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
                    Err(e) => State::Pending(e.into()),
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
