//! The bounds of a realtime session.

use std::time::Duration;

/// Caps, queue sizes and timers of a realtime session. Every one has a
/// default and a setter; what the session holds in memory is bounded by
/// them.
///
/// ```
/// use std::time::Duration;
/// use oai::realtime::RealtimeLimits;
///
/// let limits = RealtimeLimits::default()
///     .max_message_bytes(4 << 20)
///     .ping_interval(Some(Duration::from_secs(10)));
/// assert_eq!(limits.get_max_message_bytes(), 4 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealtimeLimits {
    max_frame_bytes: usize,
    max_message_bytes: usize,
    max_collected_bytes: usize,
    outgoing_queue: usize,
    incoming_queue: usize,
    max_queued_bytes: usize,
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    close_timeout: Duration,
}

/// Default cap of one frame and of one message (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Default cap on the raw text of the server messages read ahead of the
/// application (32 MiB: two messages at the default message cap).
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 32 << 20;
/// Default cap on what a helper collects from one response (64 MiB: about
/// 20 minutes of 24 kHz PCM16 audio).
pub const DEFAULT_MAX_COLLECTED_BYTES: usize = 64 << 20;

impl Default for RealtimeLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_collected_bytes: DEFAULT_MAX_COLLECTED_BYTES,
            outgoing_queue: 64,
            incoming_queue: 256,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(5),
        }
    }
}

impl RealtimeLimits {
    /// Cap of one incoming WebSocket frame, checked from its header before
    /// its payload is read (default 16 MiB; at least 1 KiB).
    pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = bytes.max(1024);
        self
    }

    /// Cap of one message, incoming (all its frames together) or outgoing
    /// (one serialized client event) (default 16 MiB; at least 1 KiB).
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes.max(1024);
        self
    }

    /// Cap of the text and audio a helper such as
    /// [`collect_response`](super::RealtimeReceiver::collect_response)
    /// gathers from one response (default 64 MiB).
    pub fn max_collected_bytes(mut self, bytes: usize) -> Self {
        self.max_collected_bytes = bytes;
        self
    }

    /// Client events queued for sending before `send` waits (default 64; at
    /// least 1).
    pub fn outgoing_queue(mut self, events: usize) -> Self {
        self.outgoing_queue = events.max(1);
        self
    }

    /// Server events read ahead of the application (default 256; at least
    /// 1). When the queue is full (in events, or in bytes: see
    /// [`max_queued_bytes`](Self::max_queued_bytes)) the connection is not
    /// read, so the server is slowed down rather than buffered without
    /// bound.
    pub fn incoming_queue(mut self, events: usize) -> Self {
        self.incoming_queue = events.max(1);
        self
    }

    /// Bytes of server messages read ahead of the application (default 32
    /// MiB; at least 1 KiB, at most 4 GiB). Messages wait in the queue as
    /// the text that arrived and are decoded into events only when the
    /// application takes them, so this bounds what the queue holds: a
    /// message that does not fit waits, and the connection is not read,
    /// until the application has taken enough. A message larger than the
    /// whole cap (possible when it is under the message cap) is let in
    /// alone, once the queue is empty. At most one message more, the one
    /// just read, is held outside the queue.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes.clamp(1024, u32::MAX as usize);
        self
    }

    /// How often a ping is sent (default every 20 s; `None` sends none).
    pub fn ping_interval(mut self, every: Option<Duration>) -> Self {
        self.ping_interval = every
            .filter(|d| !d.is_zero())
            .map(oai_transport::clamp_duration);
        self
    }

    /// How long the server has to answer a ping before the session ends
    /// with [`KeepAliveTimeout`](super::RealtimeError::KeepAliveTimeout)
    /// (default 20 s; at most one year). It also bounds each write to the
    /// socket: a write that cannot finish in this time ends the session the
    /// same way.
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = oai_transport::clamp_duration(timeout);
        self
    }

    /// How long a clean close waits for the server's answer before the
    /// connection is dropped (default 5 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = oai_transport::clamp_duration(timeout);
        self
    }

    /// The frame cap.
    pub fn get_max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }
    /// The message cap.
    pub fn get_max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }
    /// The cap on what a helper collects from one response.
    pub fn get_max_collected_bytes(&self) -> usize {
        self.max_collected_bytes
    }
    /// The outgoing queue's size.
    pub fn get_outgoing_queue(&self) -> usize {
        self.outgoing_queue
    }
    /// The incoming queue's size.
    pub fn get_incoming_queue(&self) -> usize {
        self.incoming_queue
    }
    /// The cap on the bytes of the incoming queue.
    pub fn get_max_queued_bytes(&self) -> usize {
        self.max_queued_bytes
    }
    /// The ping interval.
    pub fn get_ping_interval(&self) -> Option<Duration> {
        self.ping_interval
    }
    /// The pong deadline.
    pub fn get_pong_timeout(&self) -> Duration {
        self.pong_timeout
    }
    /// The close timeout.
    pub fn get_close_timeout(&self) -> Duration {
        self.close_timeout
    }
}
