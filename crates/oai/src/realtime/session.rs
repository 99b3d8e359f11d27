//! The open session: a task that owns the socket, and the two halves the
//! application holds (a sender and a receiver), joined by bounded queues.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use oai_types::{RealtimeClientEvent, RealtimeServerEvent};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::error::{RealtimeError, Scrubber, excerpt, scrubbed};
use super::limits::RealtimeLimits;

/// What the receiver gets: an event, or an error.
pub(crate) type Item = Result<RealtimeServerEvent, RealtimeError>;

/// What waits in the incoming queue: a message as it arrived, decoded only
/// when the receiver takes it.
enum Raw {
    Text(String),
    Binary(usize),
    Failed(RealtimeError),
}

/// One entry of the incoming queue, with its share of the byte budget,
/// given back when the receiver has decoded it.
struct Queued {
    raw: Raw,
    _bytes: Option<OwnedSemaphorePermit>,
}

/// What the halves ask of the task.
enum Command {
    Text(String),
    Close(oneshot::Sender<Result<(), RealtimeError>>),
}

/// Shared between the halves and the task.
#[derive(Debug, Default)]
struct State {
    /// Set once nothing more can be sent.
    closed: AtomicBool,
}

/// An open realtime session. Send client events and read server events on
/// it directly, or [`split`](Self::split) it to send audio from one task
/// while another reads.
///
/// Dropping the session (both halves) closes the connection.
#[derive(Debug)]
pub struct RealtimeSession {
    sender: RealtimeSender,
    receiver: RealtimeReceiver,
}

/// The sending half: cheap to clone; every clone sends on the same session.
#[derive(Clone)]
pub struct RealtimeSender {
    commands: mpsc::Sender<Command>,
    state: Arc<State>,
    limits: RealtimeLimits,
}

/// The receiving half: server events in the order they arrived.
///
/// It is a [`Stream`](futures_core::Stream) of
/// `Result<RealtimeServerEvent, RealtimeError>`: event types this version
/// does not know arrive as `RealtimeServerEvent::Unknown` with their JSON,
/// never as errors; a server `error` event arrives as
/// [`RealtimeError::Server`] and the stream goes on; an error that ends the
/// session is the last item before `None`.
pub struct RealtimeReceiver {
    events: mpsc::Receiver<Queued>,
    /// The byte budget of the incoming queue (permits are bytes).
    budget: Arc<Semaphore>,
    pub(super) scrub: Scrubber,
    pub(crate) limits: RealtimeLimits,
    _state: Arc<State>,
}

impl fmt::Debug for RealtimeSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealtimeSender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RealtimeReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealtimeReceiver")
            .field("queued", &self.events.len())
            .field("queued_bytes", &self.queued_bytes())
            .finish_non_exhaustive()
    }
}

impl RealtimeSession {
    /// Starts the task that owns `ws` (already past its handshake).
    pub(crate) fn start<S>(ws: WebSocketStream<S>, limits: RealtimeLimits, scrub: Scrubber) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (command_tx, command_rx) = mpsc::channel(limits.get_outgoing_queue());
        let (event_tx, event_rx) = mpsc::channel(limits.get_incoming_queue());
        let budget = Arc::new(Semaphore::new(limits.get_max_queued_bytes()));
        let state = Arc::new(State::default());
        let driver = Driver {
            ws,
            commands: command_rx,
            events: event_tx,
            budget: Arc::clone(&budget),
            limits,
            scrub: scrub.clone(),
            state: Arc::clone(&state),
        };
        tokio::spawn(driver.run());
        Self {
            sender: RealtimeSender {
                commands: command_tx,
                state: Arc::clone(&state),
                limits,
            },
            receiver: RealtimeReceiver {
                events: event_rx,
                budget,
                scrub,
                limits,
                _state: state,
            },
        }
    }

    /// The two halves, to send and read from different tasks.
    pub fn split(self) -> (RealtimeSender, RealtimeReceiver) {
        (self.sender, self.receiver)
    }

    /// The sending half.
    pub fn sender(&self) -> &RealtimeSender {
        &self.sender
    }

    /// The receiving half.
    pub fn receiver(&mut self) -> &mut RealtimeReceiver {
        &mut self.receiver
    }

    /// Sends one client event (see [`RealtimeSender::send`]).
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn send(&self, event: impl Into<RealtimeClientEvent>) -> Result<(), RealtimeError> {
        self.sender.send(event).await
    }

    /// The next server event (see [`RealtimeReceiver::next_event`]).
    pub async fn next_event(&mut self) -> Option<Result<RealtimeServerEvent, RealtimeError>> {
        self.receiver.next_event().await
    }

    /// Closes the session cleanly (see [`RealtimeSender::close`]).
    ///
    /// # Errors
    /// As [`RealtimeSender::close`].
    pub async fn close(&self) -> Result<(), RealtimeError> {
        self.sender.close().await
    }
}

impl RealtimeSender {
    /// Sends one client event. It is serialized here and refused, before it
    /// is queued, when it is over the message cap. Waits while the outgoing
    /// queue is full.
    ///
    /// # Errors
    /// [`RealtimeError::TooLarge`] (nothing sent), [`RealtimeError::SendAfterClose`].
    pub async fn send(&self, event: impl Into<RealtimeClientEvent>) -> Result<(), RealtimeError> {
        let event = event.into();
        let text = serde_json::to_string(&event)
            .map_err(|e| RealtimeError::Protocol(format!("the event could not be written: {e}")))?;
        self.send_text(text).await
    }

    /// Sends a JSON text the caller wrote (an event type this version does
    /// not know, say). It must be under the message cap.
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn send_raw(&self, text: impl Into<String>) -> Result<(), RealtimeError> {
        self.send_text(text.into()).await
    }

    async fn send_text(&self, text: String) -> Result<(), RealtimeError> {
        if self.is_closed() {
            return Err(RealtimeError::SendAfterClose);
        }
        let limit = self.limits.get_max_message_bytes();
        if text.len() > limit {
            return Err(RealtimeError::TooLarge {
                what: "outgoing message",
                size: Some(text.len()),
                limit,
            });
        }
        self.commands
            .send(Command::Text(text))
            .await
            .map_err(|_| RealtimeError::SendAfterClose)
    }

    /// Whether the session is closed for sending.
    pub fn is_closed(&self) -> bool {
        self.state.closed.load(Ordering::Acquire) || self.commands.is_closed()
    }

    /// Closes the session cleanly: sends a close frame (code 1000) after the
    /// events already queued, and waits for the server's answer (at most the
    /// close timeout). Events the server sent before its answer can still be
    /// read from the receiver. Closing a closed session does nothing.
    ///
    /// # Errors
    /// [`RealtimeError::CloseTimeout`] when the server did not answer in
    /// time (the connection was dropped anyway).
    pub async fn close(&self) -> Result<(), RealtimeError> {
        // Set first: an event another clone sends from now on is refused,
        // never queued behind the close and dropped.
        self.state.closed.store(true, Ordering::Release);
        let (done_tx, done_rx) = oneshot::channel();
        if self.commands.send(Command::Close(done_tx)).await.is_err() {
            return Ok(());
        }
        done_rx.await.unwrap_or(Ok(()))
    }

    pub(crate) fn limits(&self) -> &RealtimeLimits {
        &self.limits
    }
}

impl RealtimeReceiver {
    /// The next server event, `None` once the session has ended (after a
    /// clean close, or after the error that ended it).
    pub async fn next_event(&mut self) -> Option<Result<RealtimeServerEvent, RealtimeError>> {
        let queued = self.events.recv().await?;
        Some(self.unpack(queued))
    }

    /// Bytes of server messages waiting in the incoming queue (their raw
    /// text), and of the one the session holds for lack of room in it:
    /// never more than [`RealtimeLimits::max_queued_bytes`].
    pub fn queued_bytes(&self) -> usize {
        self.limits
            .get_max_queued_bytes()
            .saturating_sub(self.budget.available_permits())
    }

    /// Decodes a queued message; its bytes go back to the budget once its
    /// text is dropped.
    fn unpack(&self, queued: Queued) -> Item {
        let Queued { raw, _bytes } = queued;
        match raw {
            Raw::Text(text) => decode(&self.scrub, &text),
            Raw::Binary(bytes) => Err(RealtimeError::UnexpectedBinary { bytes }),
            Raw::Failed(error) => Err(error),
        }
    }
}

impl futures_core::Stream for RealtimeReceiver {
    type Item = Result<RealtimeServerEvent, RealtimeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events
            .poll_recv(cx)
            .map(|queued| queued.map(|q| self.unpack(q)))
    }
}

/// The task that owns the socket.
struct Driver<S> {
    ws: WebSocketStream<S>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Queued>,
    budget: Arc<Semaphore>,
    limits: RealtimeLimits,
    scrub: Scrubber,
    state: Arc<State>,
}

/// How the task ended.
enum End {
    /// Cleanly: a close handshake (either side began it).
    Clean,
    /// With this error, delivered as the last item.
    Failed(RealtimeError),
}

/// The close that is under way, begun by us.
struct Closing {
    deadline: Instant,
    waiters: Vec<oneshot::Sender<Result<(), RealtimeError>>>,
}

impl<S> Driver<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self) {
        let end = self.serve().await;
        self.state.closed.store(true, Ordering::Release);
        self.commands.close();
        let Driver { ws, events, .. } = self;
        // The socket goes before the last item is handed over, so a
        // receiver that never reads again cannot hold the connection open.
        drop(ws);
        if let End::Failed(error) = end {
            let last = Queued {
                raw: Raw::Failed(error),
                _bytes: None,
            };
            let _ = events.send(last).await;
        }
    }

    async fn serve(&mut self) -> End {
        let Self {
            ws,
            commands,
            events,
            budget,
            limits,
            scrub,
            state,
        } = self;
        let limits = *limits;
        let scrub = &*scrub;
        let mut pinger = limits.get_ping_interval().map(|every| {
            let every = oai_transport::clamp_duration(every);
            let mut t = tokio::time::interval_at(later(every), every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        let mut pong_deadline: Option<Instant> = None;
        // The message read and not yet queued, with its bytes once reserved.
        let mut pending: Option<Raw> = None;
        let mut reserved: Option<OwnedSemaphorePermit> = None;
        let mut paused_at: Option<Instant> = None;
        let mut closing: Option<Closing> = None;
        let mut commands_open = true;
        let mut receiver_gone = false;
        loop {
            let far = later(std::time::Duration::from_secs(86_400));
            // Unbiased: neither a stream of commands (audio) nor a stream of
            // server events can starve the other, or the timers.
            tokio::select! {
                // Room in bytes first, then a place in the queue.
                bytes = Arc::clone(budget).acquire_many_owned(share(&limits, pending.as_ref())), if pending.is_some() && reserved.is_none() => {
                    // The budget is never closed; `Err` cannot happen.
                    reserved = bytes.ok();
                }
                permit = events.reserve(), if pending.is_some() && reserved.is_some() => match permit {
                    Ok(permit) => {
                        if let Some(raw) = pending.take() {
                            permit.send(Queued { raw, _bytes: reserved.take() });
                        }
                        // Time spent waiting on the application does not
                        // count against the server's pong.
                        if let (Some(at), Some(deadline)) = (paused_at.take(), pong_deadline.as_mut()) {
                            *deadline = deadline.checked_add(at.elapsed()).unwrap_or(*deadline);
                        }
                    }
                    Err(_) => {
                        pending = None;
                        reserved = None;
                        receiver_gone = true;
                    }
                },
                () = events.closed(), if !receiver_gone && pending.is_none() => {
                    receiver_gone = true;
                }
                command = commands.recv(), if commands_open && closing.is_none() => match command {
                    Some(Command::Text(text)) => {
                        if let Err(end) = bounded(&limits, scrub, false, ws.send(Message::text(text))).await {
                            return end;
                        }
                    }
                    Some(Command::Close(done)) => {
                        if let Some(end) = begin_close(ws, state, &mut closing, done, limits, scrub).await {
                            return end;
                        }
                    }
                    None => commands_open = false,
                },
                // While closing, the server's answer is read even when the
                // application has stopped taking events.
                message = ws.next(), if pending.is_none() || closing.is_some() => {
                    let Some(message) = message else {
                        return if closing.is_some() {
                            finish_close(closing, None)
                        } else {
                            End::Failed(RealtimeError::EndedWithoutClose)
                        };
                    };
                    let message = match message {
                        Ok(m) => m,
                        Err(e) => {
                            let clean = closing.is_some();
                            let error = map_error(scrub, &limits, e, clean);
                            return match error {
                                RealtimeError::Closed => finish_close(closing, None),
                                error => {
                                    let _ = finish_close(closing, None);
                                    End::Failed(error)
                                }
                            };
                        }
                    };
                    match message {
                        Message::Text(text) => {
                            let raw = Raw::Text(text.as_str().to_owned());
                            drop(text);
                            if closing.is_some() || receiver_gone {
                                // Closing: what fits is kept, nothing waits.
                                if !receiver_gone {
                                    try_queue(events, budget, &limits, raw);
                                }
                            } else {
                                pending = Some(raw);
                                paused_at = Some(Instant::now());
                            }
                        }
                        Message::Binary(bytes) => {
                            if closing.is_none() && !receiver_gone {
                                pending = Some(Raw::Binary(bytes.len()));
                                paused_at = Some(Instant::now());
                            }
                        }
                        Message::Ping(_) => {
                            // The pong is queued by the protocol; send it now.
                            if let Err(end) = bounded(&limits, scrub, closing.is_some(), ws.flush()).await {
                                return end;
                            }
                        }
                        Message::Pong(_) => pong_deadline = None,
                        Message::Close(frame) => {
                            // The protocol answers the close; send it out.
                            let _ = tokio::time::timeout(limits.get_close_timeout(), ws.flush()).await;
                            if closing.is_some() {
                                return finish_close(closing, None);
                            }
                            return match frame {
                                Some(frame) if !is_normal(frame.code) => End::Failed(RealtimeError::AbnormalClose {
                                    code: u16::from(frame.code),
                                    reason: excerpt(scrub, frame.reason.as_str(), 200),
                                }),
                                _ => End::Clean,
                            };
                        }
                        Message::Frame(_) => {}
                    }
                },
                _ = async {
                    match pinger.as_mut() {
                        Some(t) => { t.tick().await; }
                        None => std::future::pending::<()>().await,
                    }
                }, if pinger.is_some() && pong_deadline.is_none() && closing.is_none() => {
                    if let Err(end) = bounded(&limits, scrub, false, ws.send(Message::Ping(Default::default()))).await {
                        return end;
                    }
                    pong_deadline = Some(later(limits.get_pong_timeout()));
                }
                () = tokio::time::sleep_until(pong_deadline.unwrap_or(far)), if pong_deadline.is_some() && pending.is_none() => {
                    let _ = finish_close(closing, None);
                    return End::Failed(RealtimeError::KeepAliveTimeout(limits.get_pong_timeout()));
                }
                () = tokio::time::sleep_until(closing.as_ref().map_or(far, |c| c.deadline)), if closing.is_some() => {
                    let timeout = limits.get_close_timeout();
                    let _ = finish_close(closing, Some(timeout));
                    return End::Clean;
                }
            }
            // Nobody can read nor send any more: close.
            if receiver_gone && !commands_open && closing.is_none() {
                let (done, _) = oneshot::channel();
                if let Some(end) = begin_close(ws, state, &mut closing, done, limits, scrub).await {
                    return end;
                }
            }
        }
    }
}

/// The instant `after` from now, `after` clamped so that it cannot overflow.
fn later(after: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(oai_transport::clamp_duration(after))
        .unwrap_or(now)
}

/// The bytes a message takes from the incoming queue's budget: its length,
/// at most the whole budget (a larger message then waits for an empty
/// queue and goes in alone).
fn share(limits: &RealtimeLimits, raw: Option<&Raw>) -> u32 {
    let len = match raw {
        Some(Raw::Text(text)) => text.len(),
        _ => 0,
    };
    u32::try_from(len.min(limits.get_max_queued_bytes())).unwrap_or(u32::MAX)
}

/// Queues `raw` if there is room now, in events and in bytes; drops it
/// otherwise (while closing nothing waits).
fn try_queue(
    events: &mpsc::Sender<Queued>,
    budget: &Arc<Semaphore>,
    limits: &RealtimeLimits,
    raw: Raw,
) {
    let Ok(bytes) = Arc::clone(budget).try_acquire_many_owned(share(limits, Some(&raw))) else {
        return;
    };
    let _ = events.try_send(Queued {
        raw,
        _bytes: Some(bytes),
    });
}

/// Awaits one write to the socket for at most the pong timeout: a peer that
/// stops reading (a dead path, a full send buffer) ends the session as a
/// missing pong would, instead of stalling every timer behind the write.
async fn bounded<F>(
    limits: &RealtimeLimits,
    scrub: &Scrubber,
    clean: bool,
    write: F,
) -> Result<(), End>
where
    F: std::future::Future<Output = Result<(), tokio_tungstenite::tungstenite::Error>>,
{
    match tokio::time::timeout(limits.get_pong_timeout(), write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(End::Failed(map_error(scrub, limits, e, clean))),
        Err(_) => Err(End::Failed(RealtimeError::KeepAliveTimeout(
            limits.get_pong_timeout(),
        ))),
    }
}

/// Sends our close frame; `Some` when the task must end now.
async fn begin_close<S>(
    ws: &mut WebSocketStream<S>,
    state: &State,
    closing: &mut Option<Closing>,
    done: oneshot::Sender<Result<(), RealtimeError>>,
    limits: RealtimeLimits,
    scrub: &Scrubber,
) -> Option<End>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    state.closed.store(true, Ordering::Release);
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let sent = match tokio::time::timeout(limits.get_close_timeout(), ws.close(Some(frame))).await {
        Ok(sent) => sent,
        Err(_) => {
            let _ = done.send(Err(RealtimeError::CloseTimeout(limits.get_close_timeout())));
            return Some(End::Failed(RealtimeError::CloseTimeout(
                limits.get_close_timeout(),
            )));
        }
    };
    match sent {
        Ok(()) => {
            *closing = Some(Closing {
                deadline: later(limits.get_close_timeout()),
                waiters: vec![done],
            });
            None
        }
        Err(e) => {
            let error = map_error(scrub, &limits, e, true);
            let _ = done.send(Ok(()));
            Some(match error {
                RealtimeError::Closed => End::Clean,
                other => End::Failed(other),
            })
        }
    }
}

/// One text frame as an item: an event, a typed server error, or a
/// decode error keeping the raw text.
fn decode(scrub: &Scrubber, text: &str) -> Item {
    match serde_json::from_str::<RealtimeServerEvent>(text) {
        Ok(RealtimeServerEvent::Error(mut event)) => {
            let e = &mut event.error;
            e.message = scrubbed(scrub, &e.message);
            e.r#type = scrubbed(scrub, &e.r#type);
            for field in [&mut e.code, &mut e.param, &mut e.event_id] {
                *field = field.as_deref().map(|t| scrubbed(scrub, t));
            }
            Err(RealtimeError::Server(Box::new(event)))
        }
        Ok(event) => Ok(event),
        Err(e) => {
            let event_type = serde_json::from_str::<TypeOnly>(text)
                .ok()
                .and_then(|t| t.r#type)
                .map(|t| excerpt(scrub, &t, 200));
            Err(RealtimeError::Decode {
                event_type,
                raw: scrubbed(scrub, text),
                // Where it failed and why, without any value from the text.
                message: excerpt(
                    scrub,
                    &oai_transport::decode::explain::<RealtimeServerEvent>(text, &e, scrub)
                        .to_string(),
                    500,
                ),
            })
        }
    }
}

/// A WebSocket error as ours. `closing`: a close handshake is under way,
/// so the end of the connection is expected ([`RealtimeError::Closed`]).
fn map_error(
    scrub: &Scrubber,
    limits: &RealtimeLimits,
    e: WsError,
    closing: bool,
) -> RealtimeError {
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed if closing => RealtimeError::Closed,
        WsError::ConnectionClosed | WsError::AlreadyClosed => RealtimeError::EndedWithoutClose,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) if closing => {
            RealtimeError::Closed
        }
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            RealtimeError::EndedWithoutClose
        }
        WsError::Io(_) if closing => RealtimeError::Closed,
        WsError::Io(_) => RealtimeError::EndedWithoutClose,
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            let what = if max_size == limits.get_max_frame_bytes()
                && max_size != limits.get_max_message_bytes()
            {
                "frame"
            } else {
                "message"
            };
            RealtimeError::TooLarge {
                what,
                size: Some(size),
                limit: max_size,
            }
        }
        WsError::Capacity(other) => RealtimeError::Protocol(other.to_string()),
        WsError::Utf8(_) => RealtimeError::Protocol("a text frame is not UTF-8".to_owned()),
        other => RealtimeError::Protocol(excerpt(scrub, &other.to_string(), 200)),
    }
}

#[derive(serde::Deserialize)]
struct TypeOnly {
    r#type: Option<String>,
}

fn is_normal(code: CloseCode) -> bool {
    matches!(code, CloseCode::Normal | CloseCode::Away)
}

/// Answers whoever waits on our close (with the close timeout when it
/// passed), and ends cleanly.
fn finish_close(closing: Option<Closing>, timed_out: Option<std::time::Duration>) -> End {
    if let Some(closing) = closing {
        for waiter in closing.waiters {
            let _ = waiter.send(match timed_out {
                Some(d) => Err(RealtimeError::CloseTimeout(d)),
                None => Ok(()),
            });
        }
    }
    End::Clean
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,20}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The credential of the property below: digits after `sk-`, so that
    /// none of its characters can come from the filler around it.
    fn key_of(digits: &str) -> String {
        format!("sk-{digits}")
    }

    /// Whether `shown` holds any part of a key: a digit, or its `sk-`
    /// prefix, once the redaction marker is taken out.
    fn leaks(shown: &str) -> bool {
        let rest = shown.replace("[REDACTED]", "");
        rest.contains("sk-") || rest.chars().any(|c| c.is_ascii_digit())
    }

    proptest! {
        /// The key, whole or any piece of 8 bytes or more of it, put
        /// anywhere around the 200-character cut of server text (a close
        /// reason, a refused handshake's body and request id, an error
        /// event, an event that does not decode): no part of it is kept.
        #[test]
        fn no_piece_of_the_key_survives_a_cut(
            digits in "[0-9]{29,45}",
            before in 150usize..260,
            span in (0usize..40, 8usize..48),
        ) {
            let key = key_of(&digits);
            let start = span.0.min(key.len() - 8);
            let end = (start + span.1).min(key.len());
            let piece = &key[start..end];
            let scrub = Scrubber::new().with_secret(&key);
            let filler: String = "ab cd.ef gh ".chars().cycle().take(before).collect();
            for quoted in [key.as_str(), piece] {
                let text = format!("{filler}{quoted} after");
                // A close reason.
                let reason = excerpt(&scrub, &text, 200);
                prop_assert!(!leaks(&reason), "{reason:?}");
                prop_assert!(reason.chars().count() <= 201);
                // A refused handshake.
                let response = tokio_tungstenite::tungstenite::http::Response::builder()
                    .status(401)
                    .header("x-request-id", quoted)
                    .body(Some(text.clone().into_bytes()))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                match super::super::connect::handshake_error(WsError::Http(Box::new(response)), &scrub) {
                    RealtimeError::Handshake { request_id, body, .. } => {
                        prop_assert_eq!(request_id, None);
                        let body = body.unwrap_or_default();
                        prop_assert!(!leaks(&body), "{body:?}");
                    }
                    other => prop_assert!(false, "{other:?}"),
                }
                // An error event.
                let event = serde_json::json!({"type": "error", "event_id": "ev_1", "error": {"type": quoted, "code": quoted, "message": text, "param": quoted, "event_id": quoted}});
                match decode(&scrub, &event.to_string()) {
                    Err(RealtimeError::Server(event)) => {
                        let e = &event.error;
                        for field in [Some(&e.message), Some(&e.r#type), e.code.as_ref(), e.param.as_ref(), e.event_id.as_ref()] {
                            let field = field.map(String::as_str).unwrap_or_default();
                            prop_assert!(!leaks(field), "{field:?}");
                        }
                    }
                    other => prop_assert!(false, "{other:?}"),
                }
                // A known event that does not decode.
                let bad = serde_json::json!({"type": "session.created", "session": text});
                match decode(&scrub, &bad.to_string()) {
                    Err(RealtimeError::Decode { raw, message, .. }) => {
                        prop_assert!(!leaks(&raw), "{raw:?}");
                        let message = message.split(" at line ").next().unwrap_or_default();
                        prop_assert!(!leaks(message), "{message:?}");
                    }
                    other => prop_assert!(false, "{other:?}"),
                }
            }
        }

        /// Any text frame gives an item, never a panic.
        #[test]
        fn any_text_decodes_without_panic(text in ".{0,300}") {
            let _ = decode(&Scrubber::new(), &text);
        }

        /// Any JSON with a known or unknown type gives an item; an unknown
        /// type is kept whole.
        #[test]
        fn any_json_event_decodes_without_panic(
            tag in prop_oneof![
                Just("response.output_text.delta".to_owned()),
                Just("error".to_owned()),
                Just("session.created".to_owned()),
                "x-[a-z.]{1,20}",
            ],
            body in json_value(),
        ) {
            let mut object = match body {
                serde_json::Value::Object(map) => map,
                other => [("payload".to_owned(), other)].into_iter().collect(),
            };
            object.insert("type".into(), serde_json::Value::from(tag.clone()));
            let value = serde_json::Value::Object(object);
            let item = decode(&Scrubber::new(), &value.to_string());
            if tag.starts_with("x-") {
                prop_assert_eq!(item.ok().and_then(|e| e.as_unknown().cloned()), Some(value));
            }
        }
    }
}
