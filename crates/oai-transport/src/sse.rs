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
}

/// The incremental decoder. Feed it chunks with [`SseDecoder::feed`], take events
/// with [`SseDecoder::next_event`], and call [`SseDecoder::finish`] at the end.
#[derive(Debug, Default)]
pub struct SseDecoder {
    limits: SseLimits,
    line: Vec<u8>,
    after_cr: bool,
    started: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
    retry: Option<u64>,
    last_id: Option<Arc<str>>,
    ready: VecDeque<SseEvent>,
    /// The undecoded rest of the chunk given to [`SseDecoder::push`].
    pending: Bytes,
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
        self.check_failed()?;
        self.drain_pending()?;
        let skipped = self.skip_bom(chunk)?;
        self.feed_lines(&chunk[skipped..], false)?;
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
        self.check_failed()?;
        if self.pending.is_empty() {
            let skipped = self.skip_bom(&chunk)?;
            self.pending = chunk.slice(skipped..);
        } else {
            // Input is pending only once the start (and a mark) is past.
            let mut joined = bytes::BytesMut::with_capacity(self.pending.len() + chunk.len());
            joined.extend_from_slice(&self.pending);
            joined.extend_from_slice(&chunk);
            self.pending = joined.freeze();
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
        self.check_failed()?;
        while !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let used = self.feed_lines(&pending, true)?;
            self.pending = pending.slice(used..);
            if let Some(ev) = self.ready.pop_front() {
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    /// Decodes all of the pushed chunk that is left.
    fn drain_pending(&mut self) -> Result<(), Error> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.feed_lines(&pending, false)?;
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
            self.feed_lines(&held, false)?;
            Ok(0)
        }
    }

    /// Decodes the lines of `chunk`; with `stop_at_event`, stops after the
    /// first line that dispatches an event. Returns how many bytes were used.
    fn feed_lines(&mut self, chunk: &[u8], stop_at_event: bool) -> Result<usize, Error> {
        let whole = chunk.len();
        let mut chunk = chunk;
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = chunk.split_at(pos);
            let is_cr = tail[0] == b'\r';
            let mut rest = &tail[1..];
            if is_cr {
                if let Some(r) = rest.strip_prefix(b"\n") {
                    rest = r;
                } else if rest.is_empty() {
                    self.after_cr = true;
                }
            }
            let dispatched = if self.line.is_empty() {
                self.check_line(head.len())?;
                self.process_line(head)?
            } else {
                self.check_line(self.line.len() + head.len())?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                let dispatched = self.process_line(&line)?;
                line.clear();
                self.line = line;
                dispatched
            };
            chunk = rest;
            if dispatched && stop_at_event {
                return Ok(whole - chunk.len());
            }
        }
        if !chunk.is_empty() {
            self.check_line(self.line.len() + chunk.len())?;
            self.line.extend_from_slice(chunk);
        }
        Ok(whole)
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
        self.data = String::new();
        self.pending = Bytes::new();
        Error::stream(kind, Some(limit))
    }

    fn check_line(&mut self, len: usize) -> Result<(), Error> {
        if len > self.limits.max_line_bytes {
            return Err(self.fail(StreamErrorKind::LineTooLong, self.limits.max_line_bytes));
        }
        Ok(())
    }

    /// Whether the line dispatched an event.
    fn process_line(&mut self, line: &[u8]) -> Result<bool, Error> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(false);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &line[..0]),
        };
        match field {
            b"data" => {
                // The cap is on the text kept: checked after the lossy UTF-8
                // conversion, which turns each invalid byte into three.
                let text = String::from_utf8_lossy(value);
                let extra = text.len() + usize::from(self.has_data);
                if self.data.len() + extra > self.limits.max_event_bytes {
                    return Err(
                        self.fail(StreamErrorKind::EventTooLarge, self.limits.max_event_bytes)
                    );
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&text);
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
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
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(false)
    }

    /// Whether an event was dispatched (one without data is not).
    fn dispatch(&mut self) -> bool {
        let event = self.event.take();
        let retry = self.retry.take();
        if !self.has_data {
            return false;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        self.ready.push_back(SseEvent {
            event,
            data,
            id: self.last_id.clone(),
            retry,
        });
        true
    }

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
        self.check_failed()?;
        self.drain_pending()?;
        self.line.clear();
        self.data.clear();
        self.has_data = false;
        self.event = None;
        self.retry = None;
        Ok(())
    }
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
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            if input.is_empty() {
                0
            } else {
                c % (input.len() + 1)
            }
        })
        .collect();
    points.push(0);
    points.push(input.len());
    points.sort_unstable();
    points.dedup();
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
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
            points.extend([0, input.len()]);
            points.sort_unstable();
            points.dedup();
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
