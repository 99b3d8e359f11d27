//! Redaction: the one scrubbing step every piece of server-provided text goes
//! through before it is kept, cut, logged or shown, and the header lists that
//! decide what a log may print.
//!
//! A [`Scrubber`] knows every credential in use (the key or the credential of
//! the attempt, the values of headers and query pairs marked sensitive). Its
//! [`Scrubber::scrub`] replaces every occurrence of a credential, *and every
//! run of eight or more bytes that also occurs inside one*, by `[REDACTED]`, so
//! that a server that echoes a key (whole, cut, or split across two places)
//! leaves no piece of it long enough to matter. Text is always scrubbed first
//! and cut after ([`Scrubber::excerpt`], [`Scrubber::clip`]): a cut can then
//! never leave a prefix of a key behind.
//!
//! ```
//! use oai_transport::redact::Scrubber;
//!
//! let scrub = Scrubber::new().with_secret("sk-live-0123456789abcdef");
//! let echoed = "bad key sk-live-0123456789abcdef; did you mean sk-live-0123456789?";
//! let clean = scrub.scrub(echoed);
//! assert!(!clean.contains("0123456789"));
//! assert_eq!(clean, "bad key [REDACTED]; did you mean [REDACTED]?");
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName};

/// What replaces a credential in scrubbed text.
pub const REDACTED: &str = "[REDACTED]";

/// The length of the pieces of a credential that are scrubbed wherever they
/// appear, in bytes. A credential shorter than this is scrubbed whole.
pub const PIECE: usize = 8;

/// A credential shorter than this is not scrubbed at all (it would match
/// ordinary text everywhere). Configuration refuses keys this short.
pub const MIN_SECRET: usize = 4;

/// Header names whose values never appear in logs or `Debug` output.
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api-key",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Words that make a header or query name sensitive wherever they appear in
/// it (`helicone-auth`, `x-portkey-api-key`, `sig`, `access_token`, ...).
const SENSITIVE_WORDS: &[&str] = &[
    "auth",
    "key",
    "token",
    "secret",
    "cookie",
    "passw",
    "sig",
    "credential",
    "session",
];

/// Response and request headers whose values may appear in a log at TRACE
/// (still scrubbed and made one line). Every other header shows its name only.
const LOGGABLE_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "age",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "date",
    "openai-beta",
    "openai-model",
    "openai-processing-ms",
    "openai-version",
    "retry-after",
    "retry-after-ms",
    "server",
    "transfer-encoding",
    "user-agent",
    "vary",
    "x-should-retry",
];

/// Prefixes of header names whose values may appear at TRACE.
const LOGGABLE_PREFIXES: &[&str] = &["x-ratelimit-"];

/// Whether `name` is one of [`SENSITIVE_HEADERS`] or holds a word that marks
/// credentials (`auth`, `key`, `token`, `secret`, `cookie`, `passw`, `sig`,
/// `credential`, `session`).
pub fn is_sensitive(name: &HeaderName) -> bool {
    // Header names are lowercase already.
    let n = name.as_str();
    SENSITIVE_HEADERS.contains(&n) || SENSITIVE_WORDS.iter().any(|w| n.contains(w))
}

/// Whether a header or query parameter called `name` likely carries a
/// credential, by the words in [`is_sensitive`]'s list (case-insensitive).
pub fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_WORDS.iter().any(|w| lower.contains(w))
}

/// Whether a header's value may be printed in a log (an allow-list). The
/// value is still scrubbed and made one line by [`LoggedHeaders`].
pub fn is_loggable(name: &HeaderName) -> bool {
    let n = name.as_str();
    !is_sensitive(name)
        && (LOGGABLE_HEADERS.contains(&n)
            || n == "x-request-id"
            || LOGGABLE_PREFIXES.iter().any(|p| n.starts_with(p)))
}

/// Formats a header map with sensitive values (by name, or marked sensitive)
/// replaced by `[REDACTED]`. Used for `Debug` of headers the *user* set.
pub struct Headers<'a>(pub &'a HeaderMap);

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            if is_sensitive(name) || value.is_sensitive() {
                m.entry(&name.as_str(), &REDACTED);
            } else {
                m.entry(&name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
            }
        }
        m.finish()
    }
}

/// Formats a header map for a log line: values only for the allow-listed
/// names ([`is_loggable`]), each scrubbed and made one line; every other
/// header shows `[hidden]`.
pub struct LoggedHeaders<'a> {
    headers: &'a HeaderMap,
    scrubber: &'a Scrubber,
}

impl<'a> LoggedHeaders<'a> {
    /// The headers, printed through `scrubber`.
    pub fn new(headers: &'a HeaderMap, scrubber: &'a Scrubber) -> Self {
        Self { headers, scrubber }
    }
}

impl fmt::Debug for LoggedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.headers {
            if is_loggable(name) && !value.is_sensitive() {
                let text = String::from_utf8_lossy(value.as_bytes());
                let clean = self.scrubber.clip(&text, 256);
                m.entry(&name.as_str(), &single_line(&clean));
            } else {
                m.entry(&name.as_str(), &"[hidden]");
            }
        }
        m.finish()
    }
}

/// One credential, with the set of its [`PIECE`]-byte windows.
struct Secret {
    text: Box<str>,
    windows: HashSet<[u8; PIECE]>,
}

impl Secret {
    fn new(text: &str) -> Self {
        let windows = text
            .as_bytes()
            .windows(PIECE)
            .filter_map(|w| <[u8; PIECE]>::try_from(w).ok())
            .collect();
        Self {
            text: text.into(),
            windows,
        }
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the copy before its memory is returned.
        let mut bytes = std::mem::take(&mut self.text).into_boxed_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// The scrubbing step for server-provided text: knows the credentials in use
/// and removes them, whole or in pieces, before text is kept or cut.
///
/// Cheap to clone (one `Arc`). `Debug` shows how many credentials it holds,
/// never them.
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Arc<[Arc<Secret>]>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("credentials", &self.secrets.len())
            .finish()
    }
}

impl Scrubber {
    /// A scrubber that knows no credential (it still never fails).
    pub fn new() -> Self {
        Self::default()
    }

    /// This scrubber, also removing `secret` (ignored when shorter than
    /// [`MIN_SECRET`] bytes or already known).
    #[must_use]
    pub fn with_secret(self, secret: &str) -> Self {
        if secret.len() < MIN_SECRET || self.secrets.iter().any(|s| &*s.text == secret) {
            return self;
        }
        // The credentials known already are shared, not rebuilt.
        let secrets: Vec<Arc<Secret>> = self
            .secrets
            .iter()
            .cloned()
            .chain([Arc::new(Secret::new(secret))])
            .collect();
        Self {
            secrets: secrets.into(),
        }
    }

    /// Whether this scrubber knows no credential.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every credential, and every run of [`PIECE`] or more bytes
    /// found inside a credential, replaced by `[REDACTED]`.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.secrets.is_empty() || text.len() < MIN_SECRET {
            return Cow::Borrowed(text);
        }
        let bytes = text.as_bytes();
        // covered[i]: byte i lies inside some credential or credential piece.
        let mut covered: Option<Vec<bool>> = None;
        for secret in self.secrets.iter() {
            let s = secret.text.as_bytes();
            if s.len() < PIECE {
                let mut from = 0;
                while let Some(at) = find(&bytes[from..], s) {
                    let start = from + at;
                    let c = covered.get_or_insert_with(|| vec![false; bytes.len()]);
                    c[start..start + s.len()].fill(true);
                    from = start + 1;
                }
            } else if bytes.len() >= PIECE {
                for start in 0..=bytes.len() - PIECE {
                    let mut w = [0u8; PIECE];
                    w.copy_from_slice(&bytes[start..start + PIECE]);
                    if secret.windows.contains(&w) {
                        let c = covered.get_or_insert_with(|| vec![false; bytes.len()]);
                        c[start..start + PIECE].fill(true);
                    }
                }
            }
        }
        let Some(mut covered) = covered else {
            return Cow::Borrowed(text);
        };
        // Widen every covered run to whole characters, so that the text
        // between runs is always valid UTF-8.
        let mut i = 0;
        while i < bytes.len() {
            if covered[i] {
                let mut a = i;
                while !text.is_char_boundary(a) {
                    a -= 1;
                    covered[a] = true;
                }
                while i < bytes.len() && covered[i] {
                    i += 1;
                }
                while i < bytes.len() && !text.is_char_boundary(i) {
                    covered[i] = true;
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            let run = covered[i];
            while i < bytes.len() && covered[i] == run {
                i += 1;
            }
            if run {
                out.push_str(REDACTED);
            } else {
                out.push_str(&text[start..i]);
            }
        }
        Cow::Owned(out)
    }

    /// Whether `text` holds a credential or a piece of one (whether
    /// [`Self::scrub`] would change it).
    pub fn touches(&self, text: &str) -> bool {
        matches!(self.scrub(text), Cow::Owned(_))
    }

    /// Lossy UTF-8 of `bytes`, scrubbed, then cut to `max_chars` characters
    /// (with `…` when cut) and made one line.
    pub fn excerpt(&self, bytes: &[u8], max_chars: usize) -> String {
        // Read a little more than will be kept, so a credential that starts
        // before the cut and ends after it is still seen whole.
        let room = max_chars.saturating_mul(4).saturating_add(self.longest());
        let cut = &bytes[..bytes.len().min(room)];
        let text = String::from_utf8_lossy(cut);
        let clean = self.scrub(&text);
        let mut out = String::with_capacity(clean.len().min(max_chars * 4));
        for (n, c) in clean.chars().enumerate() {
            if n == max_chars {
                out.push('…');
                return out;
            }
            out.push(if c.is_control() { ' ' } else { c });
        }
        if cut.len() < bytes.len() {
            out.push('…');
        }
        out
    }

    /// `text` scrubbed, then cut to at most `max_bytes` bytes on a character
    /// boundary.
    pub fn clip(&self, text: &str, max_bytes: usize) -> String {
        let clean = self.scrub(text);
        let mut cut = clean.len().min(max_bytes);
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        clean[..cut].to_owned()
    }

    /// The longest credential known, in bytes.
    fn longest(&self) -> usize {
        self.secrets.iter().map(|s| s.text.len()).max().unwrap_or(0)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` with every control character (newlines, escape sequences, ...)
/// replaced by a space: for log fields and terminal output built from text a
/// server or a model chose, so that it cannot forge lines or steer a terminal.
pub fn single_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe_char) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_unsafe_char(c) { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` for a terminal: as [`single_line`], but newlines and tabs are kept
/// (model text has lines); every other control character (ESC included, so no
/// escape sequence survives) and every reordering character is replaced.
pub fn terminal_text(text: &str) -> Cow<'_, str> {
    let unsafe_here = |c: char| c != '\n' && c != '\t' && is_unsafe_char(c);
    if text.chars().any(unsafe_here) {
        Cow::Owned(
            text.chars()
                .map(|c| if unsafe_here(c) { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Control characters, and the Unicode characters that reorder or hide text
/// (bidirectional overrides and isolates, line and paragraph separators):
/// what [`single_line`] replaces.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    #[test]
    fn redacts_by_name_and_flag() {
        let mut h = HeaderMap::new();
        for name in SENSITIVE_HEADERS {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static("s3cret-a"),
            );
        }
        let mut marked = HeaderValue::from_static("s3cret-b");
        marked.set_sensitive(true);
        h.insert("x-custom", marked);
        h.insert("helicone-auth", HeaderValue::from_static("s3cret-c"));
        h.insert("x-portkey-api-key", HeaderValue::from_static("s3cret-d"));
        h.insert("x-request-id", HeaderValue::from_static("req_1"));
        let text = format!("{:?}", Headers(&h));
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("req_1"));
        assert_eq!(
            text.matches("[REDACTED]").count(),
            SENSITIVE_HEADERS.len() + 3
        );
    }

    #[test]
    fn logged_headers_are_an_allow_list() {
        let scrub = Scrubber::new().with_secret("sk-echoed-0123456789");
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("x-echo", HeaderValue::from_static("sk-echoed-0123456789"));
        h.insert(
            "server",
            HeaderValue::from_static("nginx sk-echoed-0123456789"),
        );
        h.insert("x-ratelimit-limit-requests", HeaderValue::from_static("60"));
        let text = format!("{:?}", LoggedHeaders::new(&h, &scrub));
        assert!(!text.contains("0123456789"), "{text}");
        assert!(text.contains("application/json"));
        assert!(text.contains("\"x-echo\": \"[hidden]\""), "{text}");
        assert!(text.contains("nginx [REDACTED]"), "{text}");
        assert!(text.contains("\"60\""));
    }

    #[test]
    fn pieces_and_short_secrets() {
        let s = Scrubber::new().with_secret("abcd");
        assert_eq!(s.scrub("xabcdy abcd"), "x[REDACTED]y [REDACTED]");
        let s = Scrubber::new().with_secret("abc");
        assert_eq!(s.scrub("abc"), "abc", "too short to scrub");
        let s = Scrubber::new().with_secret("sk-0123456789");
        assert_eq!(s.scrub("..0123456789.."), "..[REDACTED]..");
        assert_eq!(s.scrub("sk-01234"), "[REDACTED]");
        assert_eq!(s.scrub("sk-0123"), "sk-0123", "seven bytes are not a piece");
        assert_eq!(s.scrub("plain"), "plain");
    }

    #[test]
    fn multibyte_text_stays_valid() {
        let s = Scrubber::new().with_secret("é-secret-é-secret");
        let out = s.scrub("ééé-secret-é-secretééé");
        assert!(!out.contains("secret"), "{out}");
        assert!(out.starts_with("éé"));
        assert!(out.ends_with("éé"));
    }

    #[test]
    fn terminal_text_keeps_lines_and_tabs_only() {
        assert_eq!(
            terminal_text("a\n\tb\x1b]52;c;x\x07\r\u{202e}"),
            "a\n\tb ]52;c;x   "
        );
        assert!(matches!(terminal_text("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn single_line_removes_controls_and_reordering() {
        assert_eq!(single_line("a\nb\x1b[31mc\u{202e}d"), "a b [31mc d");
        assert!(matches!(single_line("plain"), Cow::Borrowed(_)));
    }

    /// Any 8-byte window of `secret` in `text`.
    fn leaks(text: &str, secret: &str) -> bool {
        secret
            .as_bytes()
            .windows(PIECE)
            .any(|w| text.as_bytes().windows(PIECE).any(|t| t == w))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The oracle: after scrubbing, and after any cut of the scrubbed
        /// text, no 8-byte piece of the secret is left, wherever the secret
        /// (or a piece of it) sat and whatever surrounds it.
        #[test]
        fn no_piece_survives_scrub_then_cut(
            secret in "[A-Za-z0-9_-]{8,60}",
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            piece in (0usize..60, 8usize..60),
            max in 0usize..300,
        ) {
            let (from, len) = piece;
            let from = from.min(secret.len() - 8);
            let to = (from + len).min(secret.len());
            let text = format!("{before}{secret}{after}{}{before}", &secret[from..to]);
            let s = Scrubber::new().with_secret(&secret);
            let clean = s.scrub(&text);
            prop_assert!(!leaks(&clean, &secret), "{clean:?}");
            let ex = s.excerpt(text.as_bytes(), max);
            prop_assert!(!leaks(&ex, &secret), "{ex:?}");
            let cl = s.clip(&text, max);
            prop_assert!(!leaks(&cl, &secret), "{cl:?}");
        }

        /// Scrubbing never panics and keeps text that holds no piece as it is.
        #[test]
        fn scrub_is_total(secret in "\\PC{0,30}", text in "\\PC{0,200}") {
            let s = Scrubber::new().with_secret(&secret);
            let out = s.scrub(&text);
            if secret.len() >= PIECE && !leaks(&text, &secret) {
                prop_assert_eq!(out.as_ref(), text.as_str());
            }
        }
    }
}
