//! The bare baseline for event streams: what a hand-written client does.
//!
//! Events are cut at each blank line (`\n\n`), the `event:` and `data:` lines
//! are taken as they are (one `data:` line per event, as the API sends), and
//! the payload goes to `serde_json`. No line-ending variants, no caps, no
//! error events, no end-marker checks: the least work that decodes the API's
//! streams, which is the limit the client is measured against.

/// One event as cut from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEvent<'a> {
    /// The `event:` field, if any.
    pub event: Option<&'a [u8]>,
    /// The `data:` payload.
    pub data: &'a [u8],
}

/// The position of the first `\n\n` in `buf`.
fn blank_line(buf: &[u8]) -> Option<usize> {
    memchr::memmem::find(buf, b"\n\n")
}

/// Parses one event block (without its closing blank line).
pub fn parse_block(block: &[u8]) -> Option<RawEvent<'_>> {
    let mut event = None;
    let mut data = None;
    for line in block.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"data:") {
            data = Some(v.strip_prefix(b" ").unwrap_or(v));
        } else if let Some(v) = line.strip_prefix(b"event:") {
            event = Some(v.strip_prefix(b" ").unwrap_or(v));
        }
    }
    data.map(|data| RawEvent { event, data })
}

/// Every event of a whole buffer, in order.
pub fn events(mut buf: &[u8]) -> impl Iterator<Item = RawEvent<'_>> {
    std::iter::from_fn(move || {
        loop {
            let end = blank_line(buf)?;
            let (block, rest) = buf.split_at(end);
            buf = rest.get(2..).unwrap_or_default();
            if let Some(ev) = parse_block(block) {
                return Some(ev);
            }
        }
    })
}

/// The incremental form, for bytes arriving in network chunks: keeps the
/// unfinished tail between calls.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: Vec<u8>,
}

impl Splitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `each` on every event `chunk` completes. Events that lie
    /// whole in `chunk` are read in place; only an unfinished tail is kept
    /// (copied) until the next chunk completes it.
    pub fn push(&mut self, chunk: &[u8], mut each: impl FnMut(RawEvent<'_>)) {
        let mut input = chunk;
        if !self.buf.is_empty() {
            // Complete the held event with the head of this chunk.
            let held = self.buf.len();
            self.buf.extend_from_slice(chunk);
            let Some(end) =
                blank_line(&self.buf[held.saturating_sub(1)..]).map(|i| i + held.saturating_sub(1))
            else {
                return;
            };
            if let Some(ev) = parse_block(&self.buf[..end]) {
                each(ev);
            }
            let used = (end + 2).saturating_sub(held);
            self.buf.clear();
            input = chunk.get(used..).unwrap_or_default();
        }
        let mut used = 0;
        while let Some(end) = input.get(used..).and_then(blank_line) {
            if let Some(ev) = input.get(used..used + end).and_then(parse_block) {
                each(ev);
            }
            used += end + 2;
        }
        self.buf
            .extend_from_slice(input.get(used..).unwrap_or_default());
    }

    /// Bytes held that do not form a whole event yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}
