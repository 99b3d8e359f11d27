//! Exit codes, and the one-line failure every command reports.

use std::fmt;

/// Success.
pub const OK: u8 = 0;
/// The API answered with an error (the line has its status and request id).
pub const API: u8 = 1;
/// The command line is wrong (clap's usage error).
pub const USAGE: u8 = 2;
/// The configuration is missing or malformed (no `OPENAI_API_KEY`, a bad
/// `OPENAI_BASE_URL`).
pub const CONFIG: u8 = 3;
/// The server could not be reached, timed out, or broke a stream.
pub const NETWORK: u8 = 4;
/// A local problem: a file that cannot be read or written, a malformed
/// JSONL line, an answer that could not be decoded or that passed the size
/// the CLI keeps of a streamed answer.
pub const LOCAL: u8 = 5;
/// A batch or upload did not finish (failed, expired, cancelled or timed
/// out); the line says how to resume when that is possible.
pub const UNFINISHED: u8 = 6;

/// The exit codes, for `--help`.
pub const HELP: &str = "\
Environment: OPENAI_API_KEY (required), OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID.

Exit codes:
  0  success
  1  the API answered with an error (status and request id on stderr)
  2  usage error
  3  configuration error (missing or malformed key or base URL)
  4  network error: unreachable, timed out, or a stream that broke
  5  local error: unreadable file, malformed JSONL, undecodable answer, or a
     streamed answer over the 16 MiB the CLI keeps of one
  6  a batch or upload did not finish (rerun with the printed --resume id)

Output: on a terminal (or with --terminal), text from the server or the model
is shown as safe text: the key is scrubbed, escape sequences and other control
characters are replaced. Pipes and files get the exact text; --json prints the
exact JSON (on a terminal, such characters as \\u escapes). Failure and progress
lines on stderr are always scrubbed and one line.";

/// A failed command: the line printed on stderr and its exit code.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message holds (the key is scrubbed where
        // the line is printed: `Output::line`).
        f.write_str(&oai::transport::redact::single_line(&self.message))
    }
}

/// The exit code of a library error.
pub fn code_of(e: &oai::Error) -> u8 {
    if e.is_config() || e.is_credentials() {
        CONFIG
    } else if e.is_api() {
        API
    } else if e.is_connect()
        || e.is_timeout()
        || e.is_stream()
        || e.is_redirect()
        || matches!(e.kind(), oai::ErrorKind::Request | oai::ErrorKind::Closed)
    {
        NETWORK
    } else if e.kind() == oai::ErrorKind::Failed {
        UNFINISHED
    } else {
        LOCAL
    }
}

/// The line of a library error: its message, with the request id when the
/// server gave one. The id comes only from the library's accessor (which
/// keeps only plausible ids); the line is scrubbed and made one line where it
/// is printed.
pub fn line_of(e: &oai::Error) -> String {
    with_request_id(e.to_string(), e.request_id())
}

/// `line` ending with `(request id ID)`, said once: the library's message of
/// an API error already names it, and then nothing is added.
fn with_request_id(mut line: String, id: Option<&str>) -> String {
    if let Some(id) = id {
        let named = format!("(request id {id})");
        if !line.contains(&named) {
            line.push(' ');
            line.push_str(&named);
        }
    }
    line
}

impl From<oai::Error> for Failure {
    fn from(e: oai::Error) -> Self {
        Self::new(code_of(&e), line_of(&e))
    }
}

impl From<oai::transport::Error> for Failure {
    fn from(e: oai::transport::Error) -> Self {
        oai::Error::from(e).into()
    }
}

impl From<oai::upload::UploadError> for Failure {
    fn from(e: oai::upload::UploadError) -> Self {
        let code = match e.api_error() {
            Some(api) => code_of(api),
            None if e.is_invalid_input() => LOCAL,
            None => UNFINISHED,
        };
        let mut line = e.to_string();
        if let Some(source) = std::error::Error::source(&e) {
            line.push_str(&format!(": {source}"));
        }
        let id = e.api_error().and_then(oai::Error::request_id);
        Self::new(code, with_request_id(line, id))
    }
}

/// The command that resumes batch `id`, for a person to copy: only for an id
/// of letters, digits, `_` and `-` (a server-chosen id such as
/// `b; rm -rf ~` would make a command that does something else).
pub fn resume_hint(id: &str) -> String {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!("resume with: oai batch run --resume {id}")
    } else {
        "the server's batch id is not a plain id, so no command to resume it is printed".to_owned()
    }
}

impl From<oai::batch::BatchRunError> for Failure {
    fn from(e: oai::batch::BatchRunError) -> Self {
        let mut line = e.to_string();
        if let Some(api) = e.api_error() {
            line.push_str(&format!(": {}", line_of(api)));
        }
        let code = match (e.batch_id(), e.api_error()) {
            (Some(id), _) => {
                line.push_str(&format!("; {}", resume_hint(id)));
                UNFINISHED
            }
            (None, Some(api)) => code_of(api),
            (None, None) if e.is_invalid_input() => LOCAL,
            (None, None) => UNFINISHED,
        };
        Self::new(code, line)
    }
}
