//! Multipart bodies that can be sent again on retry.

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
    /// Sets the part's content type.
    pub fn mime(mut self, mime: impl Into<String>) -> Self {
        self.mime = Some(mime.into());
        self
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
            if let Some(m) = &p.mime {
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
