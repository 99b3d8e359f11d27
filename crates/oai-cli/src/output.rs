//! Where the CLI's output goes, and how text a server or a model chose is
//! made safe before a person sees it.
//!
//! Two modes, chosen once per run:
//!
//! - **terminal** (stdout is a terminal, or `--terminal`): every piece of
//!   server or model text written to stdout is scrubbed of the credentials the
//!   configuration holds (the key, whole or any 8-byte piece of it) and made
//!   safe text: control characters (escape sequences included) and the Unicode
//!   characters that reorder text are replaced by spaces; model text keeps its
//!   newlines and tabs. JSON keeps its exact value: unsafe characters inside
//!   its strings are written as `\u` escapes.
//! - **raw** (a pipe or a file): stdout gets the exact text, so that scripts
//!   see what the API sent.
//!
//! Lines on stderr (failures, progress) are for people whatever the mode:
//! always scrubbed and one line.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use oai::transport::redact::{PIECE, Scrubber, single_line};

use crate::exit::{self, Failure};

/// How stdout is written, and the scrubber for server text.
#[derive(Clone, Debug)]
pub struct Output {
    terminal: bool,
    scrubber: Scrubber,
}

impl Output {
    /// Terminal mode when `force_terminal` is set or stdout is a terminal.
    pub fn new(force_terminal: bool, scrubber: Scrubber) -> Self {
        Self {
            terminal: force_terminal || std::io::stdout().is_terminal(),
            scrubber,
        }
    }

    /// A one-line field a server chose (an id, a status, a file name), for
    /// stdout.
    pub fn field<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.terminal {
            return Cow::Borrowed(text);
        }
        match self.scrubber.scrub(text) {
            Cow::Borrowed(t) => single_line(t),
            Cow::Owned(t) => Cow::Owned(single_line(&t).into_owned()),
        }
    }

    /// Text a model wrote (it may span lines), for stdout.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.terminal {
            return Cow::Borrowed(text);
        }
        match self.scrubber.scrub(text) {
            Cow::Borrowed(t) => terminal_text(t),
            Cow::Owned(t) => Cow::Owned(terminal_text(&t).into_owned()),
        }
    }

    /// JSON text for stdout (`text` must be valid JSON: ours, or a server's
    /// once parsed): on a terminal, unsafe characters inside its strings are
    /// written as `\u` escapes and tabs and carriage returns between its
    /// tokens as spaces (the JSON value is unchanged).
    pub fn json<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.terminal {
            json_for_terminal(text)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// A line for stderr (always scrubbed and made one line).
    pub fn line(&self, text: &str) -> String {
        single_line(&self.scrubber.scrub(text)).into_owned()
    }

    /// Writes `text` as one line on stderr, scrubbed ([`Output::line`]). A
    /// stderr that cannot be written is ignored (there is nowhere to say so).
    pub fn note(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", self.line(text));
    }

    /// Writes `text` to stdout and flushes it (a closed pipe is an error,
    /// never a panic).
    pub fn write(&self, text: &str) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Failure::new(exit::LOCAL, format!("could not write to stdout: {e}")))
    }

    /// Writes `text` and a newline to stdout.
    pub fn write_line(&self, text: &str) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(|e| Failure::new(exit::LOCAL, format!("could not write to stdout: {e}")))
    }

    /// A writer for text that arrives in pieces (a streamed answer).
    pub fn stream(&self) -> TextStream<'_> {
        TextStream {
            output: self,
            held: Holdback::new(self.scrubber.clone()),
        }
    }
}

/// Streamed model text on its way to stdout: raw mode writes each piece as
/// it comes; terminal mode scrubs across piece boundaries ([`Holdback`]) and
/// writes safe text.
pub struct TextStream<'o> {
    output: &'o Output,
    held: Holdback,
}

impl TextStream<'_> {
    /// Adds a piece of text.
    pub fn push(&mut self, piece: &str) -> Result<(), Failure> {
        if !self.output.terminal {
            return self.output.write(piece);
        }
        let ready = self.held.push(piece);
        if ready.is_empty() {
            return Ok(());
        }
        self.output.write(&terminal_text(&ready))
    }

    /// Writes what is held back, then `end`.
    pub fn finish(self, end: &str) -> Result<(), Failure> {
        let held = self.held.finish();
        let text = format!("{}{end}", terminal_text(&held));
        self.output.write(&text)
    }
}

/// Scrubbing of text that arrives in pieces. It holds back the last
/// `PIECE - 1` bytes (a few more to end on a character boundary) of what it
/// has scrubbed, and scrubs them again with the next piece, so that a
/// credential a server splits over several pieces is still seen whole. What
/// it keeps is that tail: nothing grows with the length of the stream.
struct Holdback {
    scrubber: Scrubber,
    held: String,
}

impl Holdback {
    fn new(scrubber: Scrubber) -> Self {
        Self {
            scrubber,
            held: String::new(),
        }
    }

    /// The scrubbed text that can be shown now.
    fn push(&mut self, piece: &str) -> String {
        if self.scrubber.is_empty() {
            return piece.to_owned();
        }
        self.held.push_str(piece);
        let scrubbed = self.scrubber.scrub(&self.held).into_owned();
        let mut cut = scrubbed.len().saturating_sub(PIECE - 1);
        while !scrubbed.is_char_boundary(cut) {
            cut -= 1;
        }
        self.held = scrubbed[cut..].to_owned();
        let mut ready = scrubbed;
        ready.truncate(cut);
        ready
    }

    /// What is left, scrubbed.
    fn finish(self) -> String {
        self.scrubber.scrub(&self.held).into_owned()
    }
}

pub use oai::transport::redact::{is_unsafe_char as is_unsafe, terminal_text};

/// Valid JSON text with every unsafe character but the newline made safe,
/// the value unchanged. A tab or a carriage return can only be whitespace
/// between tokens (JSON strings hold them escaped, never raw): it becomes a
/// space. Any other unsafe character can only be inside a string, where a
/// `\u` escape means the same character.
fn json_for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c == '\t' || c == '\r' {
            out.push(' ');
        } else if c != '\n' && is_unsafe(c) {
            // Every character `single_line` replaces is in the Basic
            // Multilingual Plane: one escape each.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const HOSTILE: &str =
        "a\x1b]52;c;SGk=\x07b\x1b]8;;https://x.example/\x1b\\c\u{9b}31m\u{202e}d\re\u{7f}";

    fn terminal(secret: &str) -> Output {
        Output {
            terminal: true,
            scrubber: Scrubber::new().with_secret(secret),
        }
    }

    #[test]
    fn terminal_text_keeps_lines_and_tabs_only() {
        assert_eq!(terminal_text("a\n\tb"), "a\n\tb");
        let clean = terminal_text(HOSTILE);
        assert!(
            !clean
                .chars()
                .any(|c| c != '\n' && c != '\t' && is_unsafe(c)),
            "{clean:?}"
        );
        assert!(!clean.contains('\x1b') && !clean.contains('\r'));
        assert_eq!(clean.chars().count(), HOSTILE.chars().count());
    }

    #[test]
    fn json_for_terminal_keeps_the_value() {
        let value = serde_json::json!({"text": HOSTILE, "list": ["\u{2066}x"]});
        for text in [
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            let shown = json_for_terminal(&text);
            assert!(!shown.chars().any(|c| c != '\n' && is_unsafe(c)), "{shown}");
            let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
            assert_eq!(back, value);
        }
    }

    /// A server's JSON laid out with tabs and CRLF line ends, with unsafe
    /// characters inside its strings: safe on a terminal, the same value.
    #[test]
    fn json_for_terminal_keeps_a_servers_layout_valid() {
        let text = "{\r\n\t\"a\": \"x\u{9b}y\u{202e}\",\r\n\t\"b\":\t[1,\t\"\u{7f}\"]\r\n}\r\n";
        let before: serde_json::Value = serde_json::from_str(text).unwrap();
        let shown = json_for_terminal(text);
        assert!(
            !shown.chars().any(|c| c != '\n' && is_unsafe(c)),
            "{shown:?}"
        );
        let after: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(after, before);
    }

    #[test]
    fn raw_mode_is_exact() {
        let out = Output {
            terminal: false,
            scrubber: Scrubber::new().with_secret("sk-0123456789abcdef"),
        };
        assert_eq!(out.text(HOSTILE), HOSTILE);
        assert_eq!(out.field("sk-0123456789abcdef"), "sk-0123456789abcdef");
        assert_eq!(out.json(HOSTILE), HOSTILE);
    }

    /// Whether any 8-byte piece of `secret` is in `text`.
    fn leaks(text: &str, secret: &str) -> bool {
        secret
            .as_bytes()
            .windows(PIECE)
            .any(|w| text.as_bytes().windows(PIECE).any(|t| t == w))
    }

    #[test]
    fn fields_and_lines_are_scrubbed_and_one_line() {
        let secret = "sk-live-0123456789abcdef";
        let out = terminal(secret);
        let raw = format!("id\n{secret}\x1b[2J");
        let field = out.field(&raw);
        assert!(!leaks(&field, secret) && !field.contains('\x1b') && !field.contains('\n'));
        let line = Output {
            terminal: false,
            ..out
        }
        .line(&format!("x {secret} \u{202e}y\nz"));
        assert_eq!(line, "x [REDACTED]  y z");
    }

    /// The streamed text as a terminal shows it: every split of the stream
    /// into pieces, with the key at every offset, leaves no piece of the key.
    #[test]
    fn a_key_split_across_pieces_is_still_scrubbed() {
        let secret = "sk-proj-AbCdEfGh0123456789";
        let text = format!("hello {secret} and {}é end", &secret[3..15]);
        let out = terminal(secret);
        for size in 1..12 {
            let mut shown = String::new();
            let mut held = Holdback::new(out.scrubber.clone());
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(size) {
                let piece: String = piece.iter().collect();
                shown.push_str(&held.push(&piece));
                assert!(held.held.len() < PIECE + 3, "{}", held.held);
            }
            shown.push_str(&held.finish());
            assert!(!leaks(&shown, secret), "size {size}: {shown}");
            assert!(
                shown.starts_with("hello ") && shown.ends_with("é end"),
                "{shown}"
            );
        }
    }
}
