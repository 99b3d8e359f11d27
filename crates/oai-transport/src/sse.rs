//! An incremental server-sent events decoder.
//!
//! Follows the WHATWG event-stream rules: lines end with LF, CR or CRLF (a CRLF
//! split across two chunks counts once); `data` lines accumulate, joined by LF;
//! lines starting with `:` are comments; `event`, `id` and `retry` set their
//! fields; an empty line dispatches the event; a leading byte-order mark is
//! dropped; an event not closed by an empty line when the input ends is
//! discarded. Bytes are decoded as UTF-8 with replacement.
//!
//! The decoder holds at most one line and one event in memory, each under a cap.
//! Fed with [`SseDecoder::feed`], it also holds every event of the chunk it was
//! last given; given a chunk with [`SseDecoder::push`], it keeps the chunk
//! itself (no copy) and decodes one event at a time as
//! [`SseDecoder::decode_next`] asks, so a network read full of events never
//! turns into that many decoded strings at once.
//!
//! [`SseDecoder::decode_next_ref`] lends the event instead of handing it over:
//! an event whose `event` and `data` lines each lie within the pushed chunk is
//! read in place, with no allocation and no copy (the typed streams decode
//! their JSON straight from it). Only an event with several `data` lines, one
//! cut by the end of a chunk, or one with invalid UTF-8 is assembled in the
//! decoder's own buffers, which are reused from event to event.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, StreamErrorKind};

/// Size caps for the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseLimits {
    /// Longest line, in bytes, line ending excluded.
    pub max_line_bytes: usize,
    /// Largest event `data`, in bytes.
    pub max_event_bytes: usize,
}

impl Default for SseLimits {
    /// 16 MiB for both: a Responses `response.completed` event carries the whole
    /// response, generated images included.
    fn default() -> Self {
        Self {
            max_line_bytes: 16 << 20,
            max_event_bytes: 16 << 20,
        }
    }
}

/// The longest event id kept, in bytes; a longer `id` line is ignored.
pub const MAX_ID_BYTES: usize = 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field; `None` stands for the default type `message`.
    pub event: Option<String>,
    /// The `data` lines joined by `\n`.
    pub data: String,
    /// The last event id seen so far in the stream, when any. Shared by
    /// every event that carries it (never copied per event); an `id` line
    /// longer than [`MAX_ID_BYTES`] is ignored.
    pub id: Option<Arc<str>>,
    /// The `retry` field of this event, in milliseconds, when valid.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// The event type, `message` when the stream named none.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    /// The event, borrowed.
    pub fn as_ref(&self) -> SseEventRef<'_> {
        SseEventRef {
            event: self.event.as_deref(),
            data: &self.data,
            id: self.id.as_ref(),
            retry: self.retry,
        }
    }
}

/// One dispatched event, lent by [`SseDecoder::decode_next_ref`]: its text
/// lies in the chunk it came in, or in the decoder's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The `event` field; `None` stands for the default type `message`.
    pub event: Option<&'a str>,
    /// The `data` lines joined by `\n`.
    pub data: &'a str,
    /// The last event id seen so far in the stream, when any.
    pub id: Option<&'a Arc<str>>,
    /// The `retry` field of this event, in milliseconds, when valid.
    pub retry: Option<u64>,
}

impl SseEventRef<'_> {
    /// The event type, `message` when the stream named none.
    pub fn event_type(&self) -> &str {
        self.event.unwrap_or("message")
    }

    /// The event, owned (its text copied).
    pub fn to_owned(&self) -> SseEvent {
        SseEvent {
            event: self.event.map(str::to_owned),
            data: self.data.to_owned(),
            id: self.id.cloned(),
            retry: self.retry,
        }
    }
}

/// Where the text of a field of the event being read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Held {
    /// No such line yet.
    #[default]
    Absent,
    /// In the input being decoded, at these offsets, as received (its UTF-8
    /// not yet checked).
    Span(usize, usize),
    /// In the decoder's own buffer for the field, UTF-8 repaired.
    Owned,
}

/// The fields of the event being read, and of the one just dispatched.
#[derive(Debug, Default)]
struct Building {
    data: String,
    data_at: Held,
    event: String,
    event_at: Held,
    retry: Option<u64>,
    /// The last event was dispatched and its fields not yet released.
    dispatched: bool,
}

impl Building {
    fn clear(&mut self) {
        self.data_at = Held::Absent;
        self.event_at = Held::Absent;
        self.retry = None;
        self.dispatched = false;
    }
}

/// The incremental decoder. Feed it chunks with [`SseDecoder::feed`], take events
/// with [`SseDecoder::next_event`], and call [`SseDecoder::finish`] at the end.
#[derive(Debug, Default)]
pub struct SseDecoder {
    limits: SseLimits,
    line: Vec<u8>,
    after_cr: bool,
    started: bool,
    building: Building,
    last_id: Option<Arc<str>>,
    ready: VecDeque<SseEvent>,
    /// An event taken from `ready` and lent by `decode_next_ref`.
    lent: Option<SseEvent>,
    /// The chunk given to [`SseDecoder::push`], and how much of it is decoded.
    buf: Bytes,
    at: usize,
    failed: Option<(StreamErrorKind, usize)>,
}

impl SseDecoder {
    /// A decoder with the given caps.
    pub fn new(limits: SseLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Decodes `chunk`; complete events become available from
    /// [`next_event`](Self::next_event).
    ///
    /// # Errors
    /// A line or an event over its cap; the decoder then refuses further input.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.release();
        self.check_failed()?;
        self.drain_pending()?;
        let skipped = self.skip_bom(chunk)?;
        self.feed_lines(chunk, skipped, false)?;
        Ok(())
    }

    /// Keeps `chunk` to be decoded by [`decode_next`](Self::decode_next), one
    /// event at a time. When an earlier chunk was not fully taken yet, the two
    /// are joined (a copy); a reader that takes every event before pushing
    /// the next chunk never copies.
    ///
    /// # Errors
    /// The decoder has failed before.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), Error> {
        self.release();
        self.check_failed()?;
        if self.at >= self.buf.len() {
            let skipped = self.skip_bom(&chunk)?;
            self.buf = chunk;
            self.at = skipped;
        } else {
            // Input is pending only once the start (and a mark) is past.
            let mut joined = bytes::BytesMut::with_capacity(self.buf.len() - self.at + chunk.len());
            joined.extend_from_slice(&self.buf[self.at..]);
            joined.extend_from_slice(&chunk);
            self.buf = joined.freeze();
            self.at = 0;
        }
        Ok(())
    }

    /// The next event: one already decoded, else the next one decoded from
    /// the chunk given to [`push`](Self::push). `None` when the input given so
    /// far holds no further complete event.
    ///
    /// # Errors
    /// A line or an event over its cap; the decoder then refuses further input.
    pub fn decode_next(&mut self) -> Result<Option<SseEvent>, Error> {
        if let Some(ev) = self.ready.pop_front() {
            return Ok(Some(ev));
        }
        Ok(self.decode_next_ref()?.map(|ev| ev.to_owned()))
    }

    /// As [`decode_next`](Self::decode_next), but lends the event: read in
    /// place in the pushed chunk when it lies there whole, so that taking it
    /// costs no allocation. The loan ends with the next call on the decoder.
    ///
    /// # Errors
    /// A line or an event over its cap; the decoder then refuses further input.
    pub fn decode_next_ref(&mut self) -> Result<Option<SseEventRef<'_>>, Error> {
        if self.advance()? {
            Ok(self.current())
        } else {
            Ok(None)
        }
    }

    /// Decodes up to the next event and keeps it for
    /// [`current`](Self::current); whether there was one. (Two steps, so
    /// that a caller polling in a loop can borrow the event after the loop.)
    pub(crate) fn advance(&mut self) -> Result<bool, Error> {
        self.release();
        if let Some(ev) = self.ready.pop_front() {
            self.lent = Some(ev);
            return Ok(true);
        }
        self.check_failed()?;
        while self.at < self.buf.len() {
            let buf = std::mem::take(&mut self.buf);
            self.at = self.feed_lines(&buf, self.at, true)?;
            let checked = if self.building.dispatched {
                self.check_emitted(&buf)
            } else {
                Ok(())
            };
            self.buf = buf;
            checked?;
            if self.building.dispatched {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The event [`advance`](Self::advance) stopped at, if it did.
    pub(crate) fn current(&self) -> Option<SseEventRef<'_>> {
        if let Some(ev) = &self.lent {
            return Some(ev.as_ref());
        }
        if !self.building.dispatched {
            return None;
        }
        let b = &self.building;
        Some(SseEventRef {
            event: text(&self.buf, b.event_at, &b.event),
            data: text(&self.buf, b.data_at, &b.data).unwrap_or_default(),
            id: self.last_id.as_ref(),
            retry: b.retry,
        })
    }

    /// Ends the loan of the last event: its fields are cleared, and a chunk
    /// fully decoded is let go.
    fn release(&mut self) {
        self.lent = None;
        if self.building.dispatched {
            self.building.clear();
        }
        if self.at >= self.buf.len() && !self.buf.is_empty() {
            self.buf = Bytes::new();
            self.at = 0;
        }
    }

    /// Decodes all of the pushed chunk that is left.
    fn drain_pending(&mut self) -> Result<(), Error> {
        if self.at < self.buf.len() {
            let buf = std::mem::take(&mut self.buf);
            let at = self.at;
            self.at = 0;
            self.feed_lines(&buf, at, false)?;
        }
        Ok(())
    }

    /// How many leading bytes of `chunk` a byte-order mark at the start of
    /// the stream takes (all of them while a split mark may still follow).
    fn skip_bom(&mut self, chunk: &[u8]) -> Result<usize, Error> {
        if self.started {
            return Ok(0);
        }
        // Drop a UTF-8 byte-order mark, which may itself arrive split.
        let bom = b"\xEF\xBB\xBF";
        let have = self.line.len();
        let take = (bom.len() - have).min(chunk.len());
        if bom[have..have + take] == chunk[..take] {
            if have + take < bom.len() {
                self.line.extend_from_slice(&chunk[..take]);
                return Ok(take);
            }
            self.line.clear();
            self.started = true;
            Ok(take)
        } else {
            // Not a BOM: what was held back is ordinary input (a prefix of
            // the mark, so it holds no line ending).
            let held = std::mem::take(&mut self.line);
            self.started = true;
            self.feed_lines(&held, 0, false)?;
            Ok(0)
        }
    }

    /// Decodes the lines of `input` from offset `start`; with
    /// `stop_at_event`, stops after the first line that dispatches an event
    /// (whose fields may then lie in `input`). Returns the offset reached.
    /// Without it, each event goes to `ready` as it is dispatched.
    fn feed_lines(
        &mut self,
        input: &[u8],
        start: usize,
        stop_at_event: bool,
    ) -> Result<usize, Error> {
        let mut pos = start;
        if self.after_cr && pos < input.len() {
            self.after_cr = false;
            if input[pos] == b'\n' {
                pos += 1;
            }
        }
        while let Some(i) = memchr::memchr2(b'\n', b'\r', &input[pos..]) {
            let end = pos + i;
            let mut next = end + 1;
            if input[end] == b'\r' {
                if input.get(next) == Some(&b'\n') {
                    next += 1;
                } else if next == input.len() {
                    self.after_cr = true;
                }
            }
            let dispatched = if self.line.is_empty() {
                self.check_line(end - pos)?;
                self.process_line(input, pos, end)?
            } else {
                self.check_line(self.line.len() + (end - pos))?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&input[pos..end]);
                // No field lies in the input yet (they move out at the end
                // of each input), so what this line leaves in `line` moves
                // out now.
                let dispatched = self
                    .process_line(&line, 0, line.len())
                    .and_then(|d| self.materialize(&line).map(|()| d));
                line.clear();
                self.line = line;
                dispatched?
            };
            pos = next;
            if dispatched {
                if stop_at_event {
                    return Ok(pos);
                }
                let ev = self.emit_owned(input)?;
                self.ready.push_back(ev);
                self.building.clear();
            }
        }
        if pos < input.len() {
            self.check_line(self.line.len() + (input.len() - pos))?;
            self.line.extend_from_slice(&input[pos..]);
        }
        // The input is used up: fields of the event still open that lie in
        // it move to the decoder's buffers.
        self.materialize(input)?;
        Ok(input.len())
    }

    fn check_failed(&self) -> Result<(), Error> {
        match self.failed {
            Some((kind, limit)) => Err(Error::stream(kind, Some(limit))),
            None => Ok(()),
        }
    }

    fn fail(&mut self, kind: StreamErrorKind, limit: usize) -> Error {
        self.failed = Some((kind, limit));
        self.line = Vec::new();
        self.building = Building::default();
        self.buf = Bytes::new();
        self.at = 0;
        Error::stream(kind, Some(limit))
    }

    fn event_too_large(&mut self) -> Error {
        self.fail(StreamErrorKind::EventTooLarge, self.limits.max_event_bytes)
    }

    fn check_line(&mut self, len: usize) -> Result<(), Error> {
        if len > self.limits.max_line_bytes {
            return Err(self.fail(StreamErrorKind::LineTooLong, self.limits.max_line_bytes));
        }
        Ok(())
    }

    /// Copies the fields that lie in `input` into the decoder's buffers.
    fn materialize(&mut self, input: &[u8]) -> Result<(), Error> {
        let b = &mut self.building;
        if let Held::Span(s, e) = b.event_at {
            b.event.clear();
            b.event.push_str(&String::from_utf8_lossy(&input[s..e]));
            b.event_at = Held::Owned;
        }
        if let Held::Span(s, e) = b.data_at {
            let text = String::from_utf8_lossy(&input[s..e]);
            if text.len() > self.limits.max_event_bytes {
                return Err(self.event_too_large());
            }
            let b = &mut self.building;
            b.data.clear();
            b.data.push_str(&text);
            b.data_at = Held::Owned;
        }
        Ok(())
    }

    /// Handles the line `input[start..end]`; whether it dispatched an event.
    fn process_line(&mut self, input: &[u8], start: usize, end: usize) -> Result<bool, Error> {
        let line = &input[start..end];
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(false);
        }
        let (field, value_start) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = start + i + 1;
                (
                    &line[..i],
                    if input.get(v) == Some(&b' ') {
                        v + 1
                    } else {
                        v
                    },
                )
            }
            None => (line, end),
        };
        let value = &input[value_start..end];
        match field {
            b"data" => self.data_line(input, value_start, end)?,
            b"event" => {
                // Replaces an earlier `event` line of the same event.
                self.building.event_at = Held::Span(value_start, end);
            }
            // A repeated id keeps the one already shared.
            b"id"
                if !value.contains(&0)
                    && value.len() <= MAX_ID_BYTES
                    && self.last_id.as_deref().map(str::as_bytes) != Some(value) =>
            {
                self.last_id = Some(Arc::from(String::from_utf8_lossy(value)));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits only: parsing fails only on overflow, which is ignored.
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("x").parse() {
                    self.building.retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(false)
    }

    /// A `data` line whose value is `input[start..end]`.
    fn data_line(&mut self, input: &[u8], start: usize, end: usize) -> Result<(), Error> {
        let max = self.limits.max_event_bytes;
        if self.building.data_at == Held::Absent {
            // The first line: left where it is. Its size after UTF-8 repair
            // is checked when the event is taken.
            if end - start > max {
                return Err(self.event_too_large());
            }
            self.building.data_at = Held::Span(start, end);
            // A line that its repair could take over the cap is repaired
            // now, so that the cap fails on this line whatever follows.
            if (end - start).saturating_mul(3) > max
                && std::str::from_utf8(&input[start..end]).is_err()
            {
                self.materialize(input)?;
            }
            return Ok(());
        }
        // The cap is on the text kept: checked after the lossy UTF-8
        // conversion, which turns each invalid byte into three.
        self.materialize(input)?;
        let text = String::from_utf8_lossy(&input[start..end]);
        if self.building.data.len() + 1 + text.len() > max {
            return Err(self.event_too_large());
        }
        let b = &mut self.building;
        b.data.push('\n');
        b.data.push_str(&text);
        Ok(())
    }

    /// Whether an event was dispatched (one without data is not).
    fn dispatch(&mut self) -> bool {
        if self.building.data_at == Held::Absent {
            self.building.clear();
            return false;
        }
        self.building.dispatched = true;
        true
    }

    /// The event just dispatched, its fields in `input`, copied out.
    fn emit_owned(&mut self, input: &[u8]) -> Result<SseEvent, Error> {
        self.check_emitted(input)?;
        let b = &self.building;
        Ok(SseEventRef {
            event: text(input, b.event_at, &b.event),
            data: text(input, b.data_at, &b.data).unwrap_or_default(),
            id: self.last_id.as_ref(),
            retry: b.retry,
        }
        .to_owned())
    }

    /// Repairs fields in `input` that are not valid UTF-8 (into the
    /// decoder's buffers), checking the data's cap after the repair.
    fn check_emitted(&mut self, input: &[u8]) -> Result<(), Error> {
        let b = &self.building;
        let bad_event =
            matches!(b.event_at, Held::Span(s, e) if std::str::from_utf8(&input[s..e]).is_err());
        let bad_data =
            matches!(b.data_at, Held::Span(s, e) if std::str::from_utf8(&input[s..e]).is_err());
        if bad_event || bad_data {
            self.materialize(input)?;
        }
        Ok(())
    }
}

/// The text of a field: in `input`, or in its buffer.
fn text<'a>(input: &'a [u8], held: Held, owned: &'a str) -> Option<&'a str> {
    match held {
        Held::Absent => None,
        // Checked by `check_emitted`; an unexpected failure reads as empty.
        Held::Span(s, e) => Some(std::str::from_utf8(&input[s..e]).unwrap_or_default()),
        Held::Owned => Some(owned),
    }
}

impl SseDecoder {
    /// The next decoded event, in stream order. Events of a chunk given to
    /// [`push`](Self::push) come from [`decode_next`](Self::decode_next).
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// Number of decoded events not yet taken.
    pub fn pending(&self) -> usize {
        self.ready.len()
    }

    /// Ends the input. An event without its closing empty line is discarded, as
    /// the standard says; events already decoded stay available.
    ///
    /// # Errors
    /// When the decoder had already failed.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.release();
        self.check_failed()?;
        self.drain_pending()?;
        self.line.clear();
        self.building.clear();
        Ok(())
    }
}

/// The offsets that cut an input of `len` bytes: `cuts` taken modulo
/// `len + 1`, with both ends, sorted and without repeats.
fn cut_points(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    points.extend([0, len]);
    points.sort_unstable();
    points.dedup();
    points
}

/// Decodes a whole input at once: the events, and the error if any.
pub fn decode_all(input: &[u8], limits: SseLimits) -> (Vec<SseEvent>, Option<StreamErrorKind>) {
    decode_split(input, &[], limits)
}

/// Decodes `input` fed in pieces cut at the offsets in `cuts` (taken modulo the
/// input length, in any order): any cut gives the same result as
/// [`decode_all`]. Used by the fuzz target and the property tests.
pub fn decode_split(
    input: &[u8],
    cuts: &[usize],
    limits: SseLimits,
) -> (Vec<SseEvent>, Option<StreamErrorKind>) {
    let points = cut_points(input.len(), cuts);
    let mut dec = SseDecoder::new(limits);
    let mut events = Vec::new();
    let mut error = None;
    for w in points.windows(2) {
        if let Err(e) = dec.feed(&input[w[0]..w[1]]) {
            error = e.stream_error_kind();
            break;
        }
    }
    while let Some(ev) = dec.next_event() {
        events.push(ev);
    }
    if error.is_none()
        && let Err(e) = dec.finish()
    {
        error = e.stream_error_kind();
    }
    (events, error)
}

/// As [`decode_split`], through the path the typed streams take: each piece
/// given to [`SseDecoder::push`], each event taken lent by
/// [`SseDecoder::decode_next_ref`] before the next piece. Used by the fuzz
/// target.
pub fn decode_lent(
    input: &[u8],
    cuts: &[usize],
    limits: SseLimits,
) -> (Vec<SseEvent>, Option<StreamErrorKind>) {
    let points = cut_points(input.len(), cuts);
    let mut dec = SseDecoder::new(limits);
    let mut events = Vec::new();
    let mut take_all = |dec: &mut SseDecoder| loop {
        match dec.decode_next_ref() {
            Ok(Some(ev)) => events.push(ev.to_owned()),
            Ok(None) => return None,
            Err(e) => return Some(e.stream_error_kind()),
        }
    };
    for w in points.windows(2) {
        let piece = Bytes::copy_from_slice(&input[w[0]..w[1]]);
        if let Err(e) = dec.push(piece) {
            return (events, e.stream_error_kind());
        }
        if let Some(kind) = take_all(&mut dec) {
            return (events, kind);
        }
    }
    let error = dec.finish().err().and_then(|e| e.stream_error_kind());
    if let Some(kind) = take_all(&mut dec) {
        return (events, kind);
    }
    (events, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &str) -> Vec<SseEvent> {
        let (ev, err) = decode_all(input.as_bytes(), SseLimits::default());
        assert_eq!(err, None);
        ev
    }

    fn data(input: &str) -> Vec<String> {
        events(input).into_iter().map(|e| e.data).collect()
    }

    #[test]
    fn line_endings() {
        assert_eq!(data("data: a\n\ndata: b\n\n"), ["a", "b"]);
        assert_eq!(data("data: a\r\rdata: b\r\r"), ["a", "b"]);
        assert_eq!(data("data: a\r\n\r\ndata: b\r\n\r\n"), ["a", "b"]);
        assert_eq!(data("data: a\r\n\ndata: b\n\r\n"), ["a", "b"]);
    }

    #[test]
    fn multi_line_data_and_fields() {
        let ev = events("event: response.created\nid: 7\nretry: 1500\ndata: {\"a\":\ndata:1}\n\n");
        assert_eq!(
            ev,
            vec![SseEvent {
                event: Some("response.created".into()),
                data: "{\"a\":\n1}".into(),
                id: Some("7".into()),
                retry: Some(1500),
            }]
        );
        assert_eq!(ev[0].event_type(), "response.created");
    }

    #[test]
    fn comments_unknown_fields_and_empty_events() {
        assert_eq!(
            data(": keep-alive\n\nfoo: bar\ndata\n\n: x\ndata: z\n\n"),
            ["", "z"]
        );
        // event without data is not dispatched, and its type does not leak
        let ev = events("event: ping\n\ndata: y\n\n");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].event, None);
        assert_eq!(ev[0].event_type(), "message");
    }

    #[test]
    fn value_space_and_colon_rules() {
        assert_eq!(
            data("data:no-space\n\ndata:  two\n\ndata: a:b\n\n"),
            ["no-space", " two", "a:b"]
        );
    }

    #[test]
    fn id_and_retry_rules() {
        let ev = events(
            "id: 1\ndata: a\n\ndata: b\n\nid: bad\0id\nretry: 12x\ndata: c\n\nid\ndata: d\n\n",
        );
        let ids: Vec<_> = ev.iter().map(|e| e.id.clone()).collect();
        assert_eq!(
            ids,
            vec![
                Some("1".into()),
                Some("1".into()),
                Some("1".into()),
                Some("".into())
            ]
        );
        assert!(ev.iter().all(|e| e.retry.is_none()));
    }

    #[test]
    fn unterminated_event_is_discarded() {
        assert_eq!(data("data: a\n\ndata: b\n"), ["a"]);
        assert_eq!(data("data: a\n\ndata: b"), ["a"]);
    }

    #[test]
    fn bom_is_dropped_even_when_split() {
        let input = b"\xEF\xBB\xBFdata: a\n\n";
        for cut in 0..input.len() {
            let (ev, err) = decode_split(input, &[cut, 1, 2], SseLimits::default());
            assert_eq!(err, None);
            assert_eq!(ev.len(), 1);
            assert_eq!(ev[0].data, "a");
        }
        // only the first BOM is special
        let (ev, _) = decode_all(b"\xEF\xBB\xBFdata: \xEF\xBB\xBFa\n\n", SseLimits::default());
        assert_eq!(ev[0].data, "\u{feff}a");
        // a stream starting with part of a BOM keeps those bytes: the first
        // field is then named "\xEFdata" and ignored
        let (ev, _) = decode_all(b"\xEFdata: a\n\ndata: b\n\n", SseLimits::default());
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].data, "b");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (ev, err) = decode_all(b"data: \xff\xfe ok\n\n", SseLimits::default());
        assert_eq!(err, None);
        assert_eq!(ev[0].data, "\u{fffd}\u{fffd} ok");
    }

    #[test]
    fn line_cap() {
        let limits = SseLimits {
            max_line_bytes: 16,
            max_event_bytes: 1024,
        };
        let (ev, err) = decode_all(b"data: ok\n\ndata: 0123456789abcdef\n\n", limits);
        assert_eq!(ev.len(), 1);
        assert_eq!(err, Some(StreamErrorKind::LineTooLong));
        // a line that never ends is caught while it grows
        let mut dec = SseDecoder::new(limits);
        let mut failed = false;
        for _ in 0..100 {
            if dec.feed(b"aaaa").is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
        assert!(dec.feed(b"\n").is_err(), "a failed decoder stays failed");
    }

    #[test]
    fn event_cap() {
        let limits = SseLimits {
            max_line_bytes: 64,
            max_event_bytes: 10,
        };
        let (_, err) = decode_all(b"data: 12345\ndata: 12345\n\n", limits);
        assert_eq!(err, Some(StreamErrorKind::EventTooLarge));
        let (ev, err) = decode_all(b"data: 12345\ndata: 1234\n\n", limits);
        assert_eq!(err, None);
        assert_eq!(ev[0].data.len(), 10);
    }

    #[test]
    fn event_cap_counts_the_text_after_utf8_repair() {
        // Ten invalid bytes become ten three-byte replacement characters.
        let limits = SseLimits {
            max_line_bytes: 64,
            max_event_bytes: 12,
        };
        let mut input = b"data: ".to_vec();
        input.extend([0xff; 10]);
        input.extend(b"\n\n");
        let (ev, err) = decode_all(&input, limits);
        assert_eq!(err, Some(StreamErrorKind::EventTooLarge), "{ev:?}");
    }

    #[test]
    fn a_long_id_is_shared_not_copied_and_an_oversized_one_ignored() {
        let id = "i".repeat(MAX_ID_BYTES);
        let input = format!("id: {id}\n{}", "data: x\n\n".repeat(100));
        let ev = events(&input);
        assert_eq!(ev.len(), 100);
        let first = ev[0].id.clone().unwrap();
        assert!(
            ev.iter()
                .all(|e| e.id.as_ref().is_some_and(|i| Arc::ptr_eq(i, &first)))
        );
        let too_long = "i".repeat(MAX_ID_BYTES + 1);
        let ev = events(&format!("id: 1\ndata: a\n\nid: {too_long}\ndata: b\n\n"));
        assert_eq!(ev[1].id.as_deref(), Some("1"));
    }

    #[test]
    fn lent_events_are_read_in_place() {
        let chunk = Bytes::from_static(
            b"event: response.output_text.delta\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\ndata: {\"b\"",
        );
        let range = chunk.as_ptr_range();
        let mut dec = SseDecoder::default();
        dec.push(chunk.clone()).unwrap();
        let ev = dec.decode_next_ref().unwrap().unwrap();
        assert_eq!(ev.data, "{\"a\":1}");
        assert_eq!(ev.event, Some("response.output_text.delta"));
        assert!(range.contains(&ev.data.as_ptr()), "data copied");
        assert!(range.contains(&ev.event.unwrap().as_ptr()), "name copied");
        // two data lines are joined in the decoder's buffer
        let ev = dec.decode_next_ref().unwrap().unwrap();
        assert_eq!(ev.data, "x\ny");
        assert!(!range.contains(&ev.data.as_ptr()));
        // an event cut by the end of the chunk is assembled
        assert_eq!(dec.decode_next_ref().unwrap(), None);
        dec.push(Bytes::from_static(b":2}\n\n")).unwrap();
        assert_eq!(dec.decode_next_ref().unwrap().unwrap().data, "{\"b\":2}");
        // invalid UTF-8 is repaired, not lent
        dec.push(Bytes::from_static(b"event: \xffe\ndata: \xfe\n\n"))
            .unwrap();
        let ev = dec.decode_next_ref().unwrap().unwrap();
        assert_eq!((ev.event, ev.data), (Some("\u{fffd}e"), "\u{fffd}"));
        assert_eq!(dec.decode_next_ref().unwrap(), None);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn sse_like() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(b"data: ".to_vec()),
                Just(b"data:".to_vec()),
                Just(b"event: x\n".to_vec()),
                Just(b"id: 1\n".to_vec()),
                Just(b"retry: 10\n".to_vec()),
                Just(b": c\n".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"\xEF\xBB\xBF".to_vec()),
                Just(b"[DONE]".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
                "[a-z{}\":,]{0,12}".prop_map(String::into_bytes),
            ];
            proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
        }

        /// As [`decode_split`], through `push` and `decode_next`, taking one
        /// event at a time and sometimes pushing before the last chunk is
        /// drained (`eager` bit per piece).
        fn decode_pushed(
            input: &[u8],
            cuts: &[usize],
            drain: &[bool],
            limits: SseLimits,
        ) -> (Vec<SseEvent>, Option<StreamErrorKind>) {
            let points = cut_points(input.len(), cuts);
            let mut dec = SseDecoder::new(limits);
            let mut events = Vec::new();
            let take_all = |dec: &mut SseDecoder, events: &mut Vec<SseEvent>| loop {
                match dec.decode_next() {
                    Ok(Some(ev)) => events.push(ev),
                    Ok(None) => return None,
                    Err(e) => return e.stream_error_kind(),
                }
            };
            for (i, w) in points.windows(2).enumerate() {
                if let Err(e) = dec.push(Bytes::copy_from_slice(&input[w[0]..w[1]])) {
                    return (events, e.stream_error_kind());
                }
                if drain.get(i).copied().unwrap_or(true)
                    && let Some(kind) = take_all(&mut dec, &mut events)
                {
                    return (events, Some(kind));
                }
            }
            let error = dec.finish().err().and_then(|e| e.stream_error_kind());
            if let Some(kind) = take_all(&mut dec, &mut events) {
                return (events, Some(kind));
            }
            (events, error)
        }

        /// The standard's algorithm written the plain way, on the whole
        /// input at once (no caps): the oracle for the incremental decoder.
        fn reference(input: &[u8]) -> Vec<SseEvent> {
            let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
            let mut lines = Vec::new();
            let mut line = Vec::new();
            let mut i = 0;
            while i < input.len() {
                match input[i] {
                    b'\r' | b'\n' => {
                        if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
                            i += 1;
                        }
                        lines.push(std::mem::take(&mut line));
                    }
                    // A last line without its ending is not a line.
                    b => line.push(b),
                }
                i += 1;
            }
            let mut out = Vec::new();
            let mut data: Option<String> = None;
            let mut event: Option<String> = None;
            let mut id: Option<Arc<str>> = None;
            let mut retry: Option<u64> = None;
            for line in lines {
                if line.is_empty() {
                    if let Some(d) = data.take() {
                        out.push(SseEvent {
                            event: event.take(),
                            data: d,
                            id: id.clone(),
                            retry: retry.take(),
                        });
                    }
                    event = None;
                    retry = None;
                    continue;
                }
                if line[0] == b':' {
                    continue;
                }
                let (field, value) = match line.iter().position(|&b| b == b':') {
                    Some(c) => (
                        &line[..c],
                        line[c + 1..].strip_prefix(b" ").unwrap_or(&line[c + 1..]),
                    ),
                    None => (&line[..], &b""[..]),
                };
                let text = String::from_utf8_lossy(value).into_owned();
                match field {
                    b"data" => match &mut data {
                        Some(d) => {
                            d.push('\n');
                            d.push_str(&text);
                        }
                        None => data = Some(text),
                    },
                    b"event" => event = Some(text),
                    b"id" if !value.contains(&0) && value.len() <= MAX_ID_BYTES => {
                        id = Some(Arc::from(text))
                    }
                    b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                        if let Ok(ms) = text.parse() {
                            retry = Some(ms);
                        }
                    }
                    _ => {}
                }
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
            #[test]
            fn pushed_chunks_decode_as_fed_ones(
                input in sse_like(),
                cuts in proptest::collection::vec(any::<usize>(), 0..12),
                drain in proptest::collection::vec(any::<bool>(), 0..13),
                small in any::<bool>(),
            ) {
                let limits = if small {
                    SseLimits { max_line_bytes: 24, max_event_bytes: 40 }
                } else {
                    SseLimits::default()
                };
                prop_assert_eq!(decode_all(&input, limits), decode_pushed(&input, &cuts, &drain, limits));
            }

            /// Bytes in against bytes kept: the text of every decoded event
            /// (an id shared by many events counted once) stays within three
            /// times the input (the UTF-8 repair of invalid bytes) plus the
            /// id cap, whatever the input. A copied id would count once per
            /// event and break the bound.
            #[test]
            fn bytes_kept_are_bounded_by_bytes_in(
                id_len in 0usize..2048,
                events in 1usize..200,
                junk in proptest::collection::vec(any::<u8>(), 0..64),
            ) {
                let mut input = format!("id: {}\n", "x".repeat(id_len)).into_bytes();
                for _ in 0..events {
                    input.extend_from_slice(b"data: ");
                    input.extend_from_slice(&junk.iter().map(|b| if *b == b'\n' || *b == b'\r' { b'.' } else { *b }).collect::<Vec<u8>>());
                    input.extend_from_slice(b"\n\n");
                }
                let (evs, _) = decode_all(&input, SseLimits::default());
                let mut ids: Vec<std::sync::Arc<str>> = Vec::new();
                let mut kept = 0usize;
                for e in &evs {
                    kept += e.data.len() + e.event.as_ref().map_or(0, String::len);
                    if let Some(id) = &e.id && !ids.iter().any(|i| std::sync::Arc::ptr_eq(i, id)) {
                        kept += id.len();
                        ids.push(id.clone());
                    }
                }
                prop_assert!(kept <= 3 * input.len() + MAX_ID_BYTES, "kept {} of {}", kept, input.len());
            }

            /// Any split, pushed and lent, gives what the plain algorithm
            /// gives on the whole input.
            #[test]
            fn decoding_agrees_with_the_plain_algorithm(
                input in sse_like(),
                cuts in proptest::collection::vec(any::<usize>(), 0..12),
                drain in proptest::collection::vec(any::<bool>(), 0..13),
            ) {
                let expected = reference(&input);
                prop_assert_eq!(&decode_all(&input, SseLimits::default()), &(expected.clone(), None));
                prop_assert_eq!(decode_pushed(&input, &cuts, &drain, SseLimits::default()), (expected, None));
            }

            #[test]
            fn any_split_decodes_the_same(
                input in sse_like(),
                cuts in proptest::collection::vec(any::<usize>(), 0..12),
                small in any::<bool>(),
            ) {
                let limits = if small {
                    SseLimits { max_line_bytes: 24, max_event_bytes: 40 }
                } else {
                    SseLimits::default()
                };
                let whole = decode_all(&input, limits);
                let split = decode_split(&input, &cuts, limits);
                prop_assert_eq!(whole, split);
                // byte at a time, the hardest split
                let every: Vec<usize> = (0..input.len()).collect();
                prop_assert_eq!(decode_all(&input, limits), decode_split(&input, &every, limits));
            }
        }
    }
}
