//! Files sent in multipart request bodies.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A file field of a multipart request (the spec's `format: binary`): a path
/// read when the request is sent (streamed, never loaded whole), or bytes
/// already in memory.
///
/// This crate does no I/O: a path is only remembered here. In JSON (which
/// multipart requests never use on the wire) a file is its name.
///
/// ```
/// use oai_types::InputFile;
///
/// let from_disk = InputFile::from_path("data/train.jsonl");
/// assert_eq!(from_disk.file_name(), "train.jsonl");
///
/// let in_memory = InputFile::from_bytes("notes.txt", b"hello".to_vec()).with_mime("text/plain");
/// assert_eq!(in_memory.bytes(), Some(&b"hello"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    file_name: String,
    mime: Option<String>,
    source: FileSource,
}

/// Where the content of an [`InputFile`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSource {
    /// Read from this path when the request is sent.
    Path(PathBuf),
    /// These bytes.
    Bytes(Arc<[u8]>),
}

impl InputFile {
    /// A file on disk; its name on the wire is the last component of `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        Self {
            file_name,
            mime: None,
            source: FileSource::Path(path.to_path_buf()),
        }
    }

    /// Bytes in memory, sent under `file_name`.
    pub fn from_bytes(file_name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Self {
            file_name: file_name.into(),
            mime: None,
            source: FileSource::Bytes(bytes.into()),
        }
    }

    /// Sets the file name sent on the wire.
    #[must_use]
    pub fn with_file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// Sets the content type of the part (else it is guessed from the name).
    #[must_use]
    pub fn with_mime(mut self, mime: impl Into<String>) -> Self {
        self.mime = Some(mime.into());
        self
    }

    /// The file name sent on the wire.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The content type, when set.
    pub fn mime(&self) -> Option<&str> {
        self.mime.as_deref()
    }

    /// Where the content comes from.
    pub fn source(&self) -> &FileSource {
        &self.source
    }

    /// The content, when it is in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.source {
            FileSource::Bytes(b) => Some(b),
            FileSource::Path(_) => None,
        }
    }
}

impl Default for InputFile {
    fn default() -> Self {
        Self::from_bytes("file", Vec::new())
    }
}

impl Serialize for InputFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.file_name)
    }
}

impl<'de> Deserialize<'de> for InputFile {
    /// A name only: the content is empty (JSON carries no file content).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::from_bytes(name, Vec::new()))
    }
}

impl crate::tolerant::Empty for InputFile {
    fn empty() -> Self {
        Self::default()
    }
}
