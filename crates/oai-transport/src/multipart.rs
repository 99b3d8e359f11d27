//! Multipart bodies that can be sent again on retry. Every file part carries
//! a `Content-Type`: the one the caller set, else one guessed from its file
//! name ([`guess_mime`]).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{Error, Result};

/// A multipart form. It holds descriptions of its parts (text, bytes, or a file
/// path), and a fresh body is built for every attempt, so a retry re-sends the
/// same content; files are streamed from disk, never loaded whole.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MultipartForm {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Source {
    Text(String),
    Bytes(Bytes),
    File(PathBuf),
}

/// One part of a [`MultipartForm`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Part {
    name: String,
    source: Source,
    file_name: Option<String>,
    mime: Option<String>,
}

impl Part {
    /// A text field.
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            source: Source::Text(value.into()),
            file_name: None,
            mime: None,
        }
    }
    /// A file given as bytes in memory.
    pub fn bytes(
        name: impl Into<String>,
        bytes: impl Into<Bytes>,
        file_name: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            source: Source::Bytes(bytes.into()),
            file_name: Some(file_name.into()),
            mime: None,
        }
    }
    /// A file streamed from `path`; the file name sent is the path's last component.
    pub fn file(name: impl Into<String>, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Self {
            name: name.into(),
            source: Source::File(path),
            file_name,
            mime: None,
        }
    }
    /// Overrides the file name sent.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }
    /// Sets the part's content type (else a file part's is guessed from its
    /// file name, see [`guess_mime`]).
    pub fn mime(mut self, mime: impl Into<String>) -> Self {
        self.mime = Some(mime.into());
        self
    }

    /// The content type the part is sent with: the one set with
    /// [`Part::mime`], else, for a file part, the one [`guess_mime`] gives
    /// its file name (`application/octet-stream` without a name); a text
    /// field has none.
    pub fn content_type(&self) -> Option<&str> {
        match (&self.mime, &self.source) {
            (Some(m), _) => Some(m),
            (None, Source::Text(_)) => None,
            (None, _) => Some(self.file_name.as_deref().map_or(OCTET_STREAM, guess_mime)),
        }
    }
}

const OCTET_STREAM: &str = "application/octet-stream";

/// The content type of a file named `file_name`, from its extension (any
/// case), for the kinds of file the API takes: audio (`mp3`, `wav`, `m4a`,
/// ...), images and video, documents for files and file search (`pdf`,
/// `jsonl`, `txt`, `md`, `docx`, source code, ...), archives. Any other name
/// gives `application/octet-stream`.
pub fn guess_mime(file_name: &str) -> &'static str {
    let Some((_, ext)) = file_name.rsplit_once('.') else {
        return OCTET_STREAM;
    };
    match ext.to_ascii_lowercase().as_str() {
        // Audio (transcriptions, translations, voices).
        "mp3" | "mpga" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "aac" => "audio/aac",
        "weba" => "audio/webm",
        // Video (video inputs; an `mp4`, `mpeg` or `webm` for a transcription
        // is sent as video, as browsers and Python's `mimetypes` name it).
        "mp4" => "video/mp4",
        "mpeg" => "video/mpeg",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        // Images.
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        // Data and documents (files, batches, fine-tuning, file search).
        "jsonl" => "text/jsonl",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        // Source code file search takes.
        "c" | "h" => "text/x-c",
        "cpp" | "cc" | "hpp" => "text/x-c++",
        "cs" => "text/x-csharp",
        "css" => "text/css",
        "go" => "text/x-golang",
        "java" => "text/x-java",
        "js" | "mjs" => "text/javascript",
        "ts" => "application/typescript",
        "php" => "text/x-php",
        "py" => "text/x-python",
        "rb" => "text/x-ruby",
        "sh" => "application/x-sh",
        "tex" => "text/x-tex",
        // Archives (skills, containers).
        "zip" => "application/zip",
        "tar" => "application/x-tar",
        "gz" | "tgz" => "application/gzip",
        _ => OCTET_STREAM,
    }
}

impl MultipartForm {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a text field.
    pub fn text(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.part(Part::text(name, value))
    }
    /// Adds a part.
    pub fn part(mut self, part: Part) -> Self {
        self.parts.push(part);
        self
    }
    /// The number of parts.
    pub fn len(&self) -> usize {
        self.parts.len()
    }
    /// The value of the first text field named `name`.
    pub fn text_field(&self, name: &str) -> Option<&str> {
        self.parts.iter().find_map(|p| match &p.source {
            Source::Text(t) if p.name == name => Some(t.as_str()),
            _ => None,
        })
    }
    /// Whether the form has no part.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Builds the body for one attempt, opening files anew.
    pub(crate) async fn to_reqwest(&self) -> Result<reqwest::multipart::Form> {
        let mut form = reqwest::multipart::Form::new();
        for p in &self.parts {
            let mut part = match &p.source {
                Source::Text(t) => reqwest::multipart::Part::text(t.clone()),
                Source::Bytes(b) => {
                    let len = b.len() as u64;
                    reqwest::multipart::Part::stream_with_length(
                        reqwest::Body::from(b.clone()),
                        len,
                    )
                }
                Source::File(path) => {
                    let file = tokio::fs::File::open(path).await.map_err(|e| {
                        Error::invalid_input_from(format!("could not open {}", path.display()), e)
                    })?;
                    let len = file
                        .metadata()
                        .await
                        .map_err(|e| {
                            Error::invalid_input_from(
                                format!("could not read {}", path.display()),
                                e,
                            )
                        })?
                        .len();
                    let stream = tokio_util::io::ReaderStream::new(file);
                    reqwest::multipart::Part::stream_with_length(
                        reqwest::Body::wrap_stream(stream),
                        len,
                    )
                }
            };
            if let Some(f) = &p.file_name {
                part = part.file_name(f.clone());
            }
            // Every file part carries a content type (a spec-driven server
            // refuses a file part without one); a text field has none.
            if let Some(m) = p.content_type() {
                part = part.mime_str(m).map_err(|e| {
                    Error::invalid_input_from(
                        format!("part {:?} has an invalid content type {m:?}", p.name),
                        e,
                    )
                })?;
            }
            form = form.part(p.name.clone(), part);
        }
        Ok(form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_by_extension_in_any_case() {
        for (name, want) in [
            ("speech.mp3", "audio/mpeg"),
            ("memo.M4A", "audio/mp4"),
            ("a.b.wav", "audio/wav"),
            ("clip.mp4", "video/mp4"),
            ("photo.JPeG", "image/jpeg"),
            ("mask.png", "image/png"),
            ("train.jsonl", "text/jsonl"),
            ("paper.pdf", "application/pdf"),
            ("notes.txt", "text/plain"),
            (
                "report.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("main.py", "text/x-python"),
            ("skill.zip", "application/zip"),
            ("noext", "application/octet-stream"),
            ("trailingdot.", "application/octet-stream"),
            (".bashrc", "application/octet-stream"),
            ("data.bin", "application/octet-stream"),
            ("", "application/octet-stream"),
        ] {
            assert_eq!(guess_mime(name), want, "{name}");
        }
    }

    #[test]
    fn every_file_part_has_a_content_type_and_an_explicit_one_wins() {
        assert_eq!(Part::text("model", "whisper-1").content_type(), None);
        assert_eq!(
            Part::bytes("file", b"x".to_vec(), "a.flac").content_type(),
            Some("audio/flac")
        );
        assert_eq!(
            Part::file("file", "/tmp/dir/b.webp").content_type(),
            Some("image/webp")
        );
        assert_eq!(
            Part::file("file", "/").content_type(),
            Some("application/octet-stream")
        );
        assert_eq!(
            Part::bytes("file", b"x".to_vec(), "a.flac")
                .mime("audio/x-flac")
                .content_type(),
            Some("audio/x-flac")
        );
        assert_eq!(
            Part::text("note", "x").mime("text/markdown").content_type(),
            Some("text/markdown")
        );
        // Renaming changes the guess.
        assert_eq!(
            Part::file("file", "/tmp/upload.tmp")
                .file_name("upload.jsonl")
                .content_type(),
            Some("text/jsonl")
        );
    }
}
