//! Files of any size through the Uploads API.
//!
//! [`LargeUpload`] creates an Upload, sends the file in parts (read one part at
//! a time, at most [`LargeUpload::concurrency`] parts in memory and in flight),
//! reports progress, and completes the Upload with the part ids in file order.
//!
//! ```no_run
//! use oai::upload::LargeUpload;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = oai::Client::from_env()?;
//! let upload = LargeUpload::from_path("train.jsonl", "fine-tune")
//!     .concurrency(3)
//!     .on_progress(|p| println!("{} / {} bytes", p.bytes_sent, p.total_bytes))
//!     .send(&client)
//!     .await?;
//! println!("file id: {:?}", upload.file.map(|f| f.id));
//! # Ok(()) }
//! ```
//!
//! # Retries
//!
//! Each part is one request whose body is the part's bytes in memory, shared
//! (not copied) by every attempt, so the transport's retry policy (connection
//! errors, timeouts, 408, 409, 429, 5xx; [`crate::ConfigBuilder::max_retries`])
//! re-sends exactly the same part. The helper adds no retry loop of its own: a
//! second loop would multiply the attempts and retry errors the transport
//! rightly treats as final (a 400 for a part will not pass the next time).
//! Raise `max_retries` on the client for long uploads over poor links.
//!
//! # Failures and resuming
//!
//! When a part fails, the parts still in flight are abandoned, and by default
//! the Upload is cancelled (best effort); the [`UploadError`] names the failed
//! part and says whether the cancel went through. With
//! [`LargeUpload::cancel_on_failure`]`(false)` the parts in flight are awaited
//! instead, the Upload is left pending (the API expires it an hour after
//! creation), and the error carries its id and the parts that were accepted:
//! [`LargeUpload::resume`] then sends only the missing parts and completes it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use oai_builders::Validate;
use oai_transport::{MultipartForm, Part};
use oai_types::{
    CompleteUploadRequest, CreateUploadRequest, CreateUploadRequestPurpose, FileExpirationAfter,
    Upload, UploadPart,
};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{Client, support};

/// The API's limit on one part: 64 MiB.
pub const MAX_PART_BYTES: usize = 64 << 20;
/// The default part size: the API's limit, 64 MiB.
pub const DEFAULT_PART_BYTES: usize = MAX_PART_BYTES;
/// The API's limit on a whole Upload: 8 GiB.
pub const MAX_UPLOAD_BYTES: u64 = 8 << 30;
/// The default number of parts read and sent at once.
pub const DEFAULT_CONCURRENCY: usize = 2;
/// The most parts this helper splits a file into (a smaller part size is
/// refused for a file that large).
pub const MAX_PARTS: u64 = 10_000;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type ProgressFn = Arc<dyn Fn(&UploadProgress) + Send + Sync>;

/// Progress of a [`LargeUpload`], reported after each accepted part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Bytes the API has accepted so far (parts skipped by a resume count).
    pub bytes_sent: u64,
    /// The size of the file.
    pub total_bytes: u64,
    /// Parts accepted so far.
    pub parts_done: usize,
    /// The number of parts the file is split into.
    pub parts_total: usize,
}

/// A part the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part's number, from 1, in file order.
    pub number: usize,
    /// The part id the API returned.
    pub id: String,
}

/// Which part of the file a failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartInfo {
    /// The part's number, from 1, in file order.
    pub number: usize,
    /// The number of parts of the file.
    pub of: usize,
    /// The part's first byte in the file.
    pub offset: u64,
    /// The part's length in bytes.
    pub len: u64,
}

/// Where a [`LargeUpload`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UploadStage {
    /// The input was refused before any network I/O.
    Validate,
    /// Creating the Upload.
    Create,
    /// Reading the source (the file or reader).
    ReadSource,
    /// Sending a part.
    Part,
    /// Completing the Upload.
    Complete,
}

/// The failure of a [`LargeUpload`]: where, which part, and what is left on
/// the server.
///
/// `Display` is one line naming the stage and part; the cause (the API's
/// [`crate::Error`] or an I/O error) is [`source`](std::error::Error::source).
pub struct UploadError(Box<ErrorInner>);

struct ErrorInner {
    stage: UploadStage,
    message: String,
    upload_id: Option<String>,
    part: Option<PartInfo>,
    completed: Vec<CompletedPart>,
    cancelled: bool,
    source: Option<BoxError>,
}

impl UploadError {
    fn new(stage: UploadStage, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorInner {
            stage,
            message: message.into(),
            upload_id: None,
            part: None,
            completed: Vec::new(),
            cancelled: false,
            source: None,
        }))
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(UploadStage::Validate, message)
    }

    fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Where the upload failed.
    pub fn stage(&self) -> UploadStage {
        self.0.stage
    }

    /// Whether the input was refused before any network I/O.
    pub fn is_invalid_input(&self) -> bool {
        self.0.stage == UploadStage::Validate
    }

    /// The id of the Upload, when one was created.
    pub fn upload_id(&self) -> Option<&str> {
        self.0.upload_id.as_deref()
    }

    /// The part that failed (sending or reading it).
    pub fn failed_part(&self) -> Option<PartInfo> {
        self.0.part
    }

    /// The parts the API accepted before the failure, in file order. Pass them
    /// to [`LargeUpload::resume`] when the Upload was not cancelled.
    pub fn completed_parts(&self) -> &[CompletedPart] {
        &self.0.completed
    }

    /// Whether the Upload was cancelled after the failure (then it cannot be
    /// resumed; start again).
    pub fn was_cancelled(&self) -> bool {
        self.0.cancelled
    }

    /// The API or transport error underneath, when there is one.
    pub fn api_error(&self) -> Option<&crate::Error> {
        self.0
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<crate::Error>())
    }
}

impl fmt::Debug for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadError")
            .field("stage", &self.0.stage)
            .field("message", &self.0.message)
            .field("upload_id", &self.0.upload_id)
            .field("part", &self.0.part)
            .field("completed_parts", &self.0.completed.len())
            .field("cancelled", &self.0.cancelled)
            .field("source", &self.0.source)
            .finish()
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.0.upload_id {
            write!(f, "upload {id}: ")?;
        }
        if let Some(p) = &self.0.part {
            write!(
                f,
                "part {} of {} (bytes {}..{}): ",
                p.number,
                p.of,
                p.offset,
                p.offset.saturating_add(p.len)
            )?;
        }
        f.write_str(&self.0.message)?;
        if self.0.upload_id.is_some() && self.0.stage != UploadStage::Create {
            if self.0.cancelled {
                f.write_str("; the upload was cancelled")?;
            } else {
                write!(
                    f,
                    "; the upload was left pending with {} part(s) accepted",
                    self.0.completed.len()
                )?;
            }
        }
        Ok(())
    }
}

impl From<UploadError> for crate::Error {
    /// The kind of the failure underneath (the API's refusal, a timeout, a
    /// local read); an input refused before any I/O is invalid input, a
    /// source that could not be read is [`crate::ErrorKind::Io`], an answer
    /// the upload cannot go on from is a protocol error.
    /// [`crate::Error::downcast_ref`] gives the upload error back, with the
    /// parts already accepted.
    fn from(e: UploadError) -> Self {
        let kind = match (e.stage(), e.api_error()) {
            (UploadStage::Validate, _) => crate::ErrorKind::InvalidInput,
            (_, Some(inner)) => inner.kind(),
            (UploadStage::ReadSource, None) => crate::ErrorKind::Io,
            (_, None) => crate::ErrorKind::Protocol,
        };
        crate::Error::helper(kind, e)
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

enum Source {
    Path(PathBuf),
    Reader(Box<dyn AsyncRead + Send + Unpin>, u64),
    Bytes(Bytes),
}

/// A file of any size (up to the API's 8 GiB) sent through the Uploads API in
/// parts. See the [module documentation](self) for retries and failures.
///
/// ```no_run
/// use oai::upload::LargeUpload;
///
/// # async fn demo(client: &oai::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let data = tokio::fs::File::open("images.tar").await?;
/// let upload = LargeUpload::from_reader(data, "images.tar", 3 << 30, "assistants")
///     .mime_type("application/x-tar")
///     .part_size(32 << 20)
///     .cancel_on_failure(false)
///     .send(client)
///     .await;
/// if let Err(e) = &upload {
///     // Keep these to call `LargeUpload::resume` later.
///     println!("{e}: {:?} {:?}", e.upload_id(), e.completed_parts());
/// }
/// # Ok(()) }
/// ```
#[must_use = "an upload does nothing until `send` is called"]
pub struct LargeUpload {
    source: Source,
    filename: Option<String>,
    purpose: CreateUploadRequestPurpose,
    mime_type: Option<String>,
    part_size: usize,
    concurrency: usize,
    md5: Option<String>,
    expires_after: Option<FileExpirationAfter>,
    progress: Option<ProgressFn>,
    cancel_on_failure: bool,
    resume: Option<(String, Vec<CompletedPart>)>,
}

impl fmt::Debug for LargeUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Path(p) => format!("path {}", p.display()),
            Source::Reader(_, n) => format!("reader of {n} bytes"),
            Source::Bytes(b) => format!("{} bytes in memory", b.len()),
        };
        f.debug_struct("LargeUpload")
            .field("source", &source)
            .field("filename", &self.filename)
            .field("purpose", &self.purpose)
            .field("mime_type", &self.mime_type)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("md5", &self.md5)
            .field("cancel_on_failure", &self.cancel_on_failure)
            .field("resume", &self.resume.as_ref().map(|(id, _)| id))
            .finish_non_exhaustive()
    }
}

impl LargeUpload {
    fn with_source(source: Source, purpose: CreateUploadRequestPurpose) -> Self {
        Self {
            source,
            filename: None,
            purpose,
            mime_type: None,
            part_size: DEFAULT_PART_BYTES,
            concurrency: DEFAULT_CONCURRENCY,
            md5: None,
            expires_after: None,
            progress: None,
            cancel_on_failure: true,
            resume: None,
        }
    }

    /// The file at `path`, read when [`send`](Self::send) runs. Its name on
    /// the API is the path's last component, and its content type is guessed
    /// from the extension unless [`mime_type`](Self::mime_type) is set.
    pub fn from_path(
        path: impl AsRef<Path>,
        purpose: impl Into<CreateUploadRequestPurpose>,
    ) -> Self {
        Self::with_source(Source::Path(path.as_ref().to_path_buf()), purpose.into())
    }

    /// `bytes` bytes read from `reader`; reading fewer or more is an error.
    pub fn from_reader(
        reader: impl AsyncRead + Send + Unpin + 'static,
        filename: impl Into<String>,
        bytes: u64,
        purpose: impl Into<CreateUploadRequestPurpose>,
    ) -> Self {
        let mut up = Self::with_source(Source::Reader(Box::new(reader), bytes), purpose.into());
        up.filename = Some(filename.into());
        up
    }

    /// Bytes already in memory; each part is a view of them, not a copy.
    pub fn from_bytes(
        bytes: impl Into<Bytes>,
        filename: impl Into<String>,
        purpose: impl Into<CreateUploadRequestPurpose>,
    ) -> Self {
        let mut up = Self::with_source(Source::Bytes(bytes.into()), purpose.into());
        up.filename = Some(filename.into());
        up
    }

    /// The file name sent to the API.
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = Some(name.into());
        self
    }

    /// The content type sent to the API (else guessed from the file name's
    /// extension, `application/octet-stream` when unknown).
    pub fn mime_type(mut self, mime: impl Into<String>) -> Self {
        self.mime_type = Some(mime.into());
        self
    }

    /// The size of each part but the last, from 1 byte to [`MAX_PART_BYTES`]
    /// (default [`DEFAULT_PART_BYTES`]).
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes;
        self
    }

    /// How many parts are read and sent at once, at least 1 (default
    /// [`DEFAULT_CONCURRENCY`]). Memory use is at most this many parts.
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts;
        self
    }

    /// The MD5 of the whole file, 32 hexadecimal digits, for the API to check
    /// when completing.
    pub fn md5(mut self, hex: impl Into<String>) -> Self {
        self.md5 = Some(hex.into());
        self
    }

    /// When the created file expires.
    pub fn expires_after(mut self, after: FileExpirationAfter) -> Self {
        self.expires_after = Some(after);
        self
    }

    /// Calls `f` after each accepted part.
    pub fn on_progress(mut self, f: impl Fn(&UploadProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Whether a failure cancels the Upload (default `true`). With `false` it
    /// stays pending so that [`resume`](Self::resume) can finish it.
    pub fn cancel_on_failure(mut self, yes: bool) -> Self {
        self.cancel_on_failure = yes;
        self
    }

    /// Continues the pending Upload `upload_id` instead of creating one: the
    /// `completed` parts (from [`UploadError::completed_parts`]) are skipped
    /// in the source, the others sent, then the Upload is completed. The
    /// source, part size and file must be the same as in the first attempt.
    pub fn resume(mut self, upload_id: impl Into<String>, completed: Vec<CompletedPart>) -> Self {
        self.resume = Some((upload_id.into(), completed));
        self
    }

    fn checked_settings(&self) -> Result<(), UploadError> {
        if !self.purpose.is_known() {
            return Err(UploadError::invalid(format!(
                "purpose `{}` is not one of {}",
                self.purpose,
                CreateUploadRequestPurpose::VALUES.join(", ")
            )));
        }
        if self.part_size == 0 || self.part_size > MAX_PART_BYTES {
            return Err(UploadError::invalid(format!(
                "part size {} is outside 1..={MAX_PART_BYTES} bytes",
                self.part_size
            )));
        }
        if self.concurrency == 0 {
            return Err(UploadError::invalid("concurrency must be at least 1"));
        }
        if let Some(m) = &self.md5
            && (m.len() != 32 || !m.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(UploadError::invalid("md5 must be 32 hexadecimal digits"));
        }
        if self
            .mime_type
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            return Err(UploadError::invalid("mime type must not be empty"));
        }
        if self
            .filename
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return Err(UploadError::invalid("file name must not be empty"));
        }
        if let Some((id, _)) = &self.resume {
            support::segment("upload_id", id).map_err(|e| {
                UploadError::invalid("upload id to resume is invalid").with_source(e)
            })?;
        }
        Ok(())
    }

    /// Validates the input, creates the Upload (unless resuming), sends the
    /// parts and completes it. The returned Upload's `file` is the new file.
    ///
    /// Nothing is sent when the settings are invalid, the file is empty or
    /// larger than [`MAX_UPLOAD_BYTES`], or would need more than
    /// [`MAX_PARTS`] parts.
    ///
    /// # Errors
    /// An [`UploadError`] naming the stage and, for a part, which one; see the
    /// [module documentation](self) for what is left on the server.
    pub async fn send(self, client: &Client) -> Result<Upload, UploadError> {
        self.checked_settings()?;
        let LargeUpload {
            source,
            filename,
            purpose,
            mime_type,
            part_size,
            concurrency,
            md5,
            expires_after,
            progress,
            cancel_on_failure,
            resume,
        } = self;

        let (mut reader, total, filename) = open(source, filename).await?;
        if total == 0 {
            return Err(UploadError::invalid("the file is empty (0 bytes)"));
        }
        if total > MAX_UPLOAD_BYTES {
            return Err(UploadError::invalid(format!(
                "the file has {total} bytes, over the Uploads API limit of {MAX_UPLOAD_BYTES}"
            )));
        }
        let part = part_size as u64;
        let parts_total = total.div_ceil(part);
        if parts_total > MAX_PARTS {
            return Err(UploadError::invalid(format!(
                "{total} bytes in parts of {part_size} would make {parts_total} parts, over {MAX_PARTS}; use a larger part size"
            )));
        }
        let parts_total = usize::try_from(parts_total)
            .map_err(|_| UploadError::invalid("too many parts for this platform"))?;
        let mut ids: Vec<Option<String>> = vec![None; parts_total];
        if let Some((_, done)) = &resume {
            for p in done {
                match p.number.checked_sub(1).and_then(|i| ids.get_mut(i)) {
                    Some(slot) if !p.id.is_empty() => *slot = Some(p.id.clone()),
                    _ => {
                        return Err(UploadError::invalid(format!(
                            "completed part {} is not a part of this file ({parts_total} parts)",
                            p.number
                        )));
                    }
                }
            }
        }
        let mime_type =
            mime_type.unwrap_or_else(|| oai_transport::multipart::guess_mime(&filename).to_owned());
        let request = CreateUploadRequest {
            extra: Default::default(),
            filename: filename.clone(),
            purpose,
            bytes: i64::try_from(total).unwrap_or(i64::MAX),
            mime_type,
            expires_after,
        };
        request
            .validate()
            .map_err(|e| UploadError::invalid(e.to_string()).with_source(e))?;

        // Network I/O starts here.
        let upload_id = match resume {
            Some((id, _)) => id,
            None => {
                client
                    .uploads()
                    .create(request)
                    .await
                    .map_err(|e| {
                        UploadError::new(UploadStage::Create, "creating the upload failed")
                            .with_source(e)
                    })?
                    .id
            }
        };
        let job = Job {
            client,
            upload_id: &upload_id,
            filename: &filename,
            total,
            part,
            parts_total,
            progress: progress.as_deref(),
        };
        let outcome = job
            .send_parts(&mut reader, &mut ids, concurrency, !cancel_on_failure)
            .await;
        let outcome = match outcome {
            Ok(()) => job.complete(&ids, md5).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(upload) => Ok(upload),
            Err(mut e) => {
                e.0.upload_id = Some(upload_id.clone());
                e.0.completed = completed_parts(&ids);
                if cancel_on_failure {
                    e.0.cancelled = client.uploads().cancel(&upload_id).await.is_ok();
                }
                Err(e)
            }
        }
    }
}

fn completed_parts(ids: &[Option<String>]) -> Vec<CompletedPart> {
    ids.iter()
        .enumerate()
        .filter_map(|(i, id)| {
            id.as_ref().map(|id| CompletedPart {
                number: i + 1,
                id: id.clone(),
            })
        })
        .collect()
}

enum Reader {
    Stream(Box<dyn AsyncRead + Send + Unpin>),
    Bytes(Bytes, usize),
}

impl Reader {
    /// The next `len` bytes (fewer is an error).
    async fn take(&mut self, len: usize) -> std::io::Result<Bytes> {
        match self {
            Reader::Stream(r) => {
                let mut buf = vec![0u8; len];
                r.read_exact(&mut buf).await?;
                Ok(Bytes::from(buf))
            }
            Reader::Bytes(b, pos) => {
                let end = pos.saturating_add(len);
                if end > b.len() {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let out = b.slice(*pos..end);
                *pos = end;
                Ok(out)
            }
        }
    }

    /// Skips `len` bytes (a part accepted in an earlier attempt).
    async fn skip(&mut self, len: u64) -> std::io::Result<()> {
        match self {
            Reader::Stream(r) => {
                let n = tokio::io::copy(&mut r.take(len), &mut tokio::io::sink()).await?;
                if n == len {
                    Ok(())
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                }
            }
            Reader::Bytes(..) => {
                let len = usize::try_from(len).map_err(|_| std::io::ErrorKind::InvalidInput)?;
                self.take(len).await.map(|_| ())
            }
        }
    }

    /// Whether bytes remain after the declared length.
    async fn has_more(&mut self) -> std::io::Result<bool> {
        match self {
            Reader::Stream(r) => {
                let mut one = [0u8; 1];
                Ok(r.read(&mut one).await? > 0)
            }
            Reader::Bytes(b, pos) => Ok(*pos < b.len()),
        }
    }
}

async fn open(
    source: Source,
    filename: Option<String>,
) -> Result<(Reader, u64, String), UploadError> {
    match source {
        Source::Path(path) => {
            let name = match filename {
                Some(n) => n,
                None => path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        UploadError::invalid(format!(
                            "{} has no file name; set one with `filename`",
                            path.display()
                        ))
                    })?,
            };
            let read_err = |e: std::io::Error| {
                UploadError::invalid(format!("could not read {}", path.display())).with_source(e)
            };
            let file = tokio::fs::File::open(&path).await.map_err(read_err)?;
            let meta = file.metadata().await.map_err(read_err)?;
            if !meta.is_file() {
                return Err(UploadError::invalid(format!(
                    "{} is not a regular file",
                    path.display()
                )));
            }
            Ok((Reader::Stream(Box::new(file)), meta.len(), name))
        }
        Source::Reader(r, n) => Ok((Reader::Stream(r), n, filename.unwrap_or_default())),
        Source::Bytes(b) => {
            let n = b.len() as u64;
            Ok((Reader::Bytes(b, 0), n, filename.unwrap_or_default()))
        }
    }
}

struct Job<'a> {
    client: &'a Client,
    upload_id: &'a str,
    filename: &'a str,
    total: u64,
    part: u64,
    parts_total: usize,
    progress: Option<&'a (dyn Fn(&UploadProgress) + Send + Sync)>,
}

impl Job<'_> {
    fn info(&self, index: usize) -> PartInfo {
        let offset = self.part.saturating_mul(index as u64);
        PartInfo {
            number: index + 1,
            of: self.parts_total,
            offset,
            len: self.part.min(self.total.saturating_sub(offset)),
        }
    }

    fn report(&self, ids: &[Option<String>]) {
        if let Some(f) = self.progress {
            let mut bytes_sent = 0;
            let mut parts_done = 0;
            for (i, id) in ids.iter().enumerate() {
                if id.is_some() {
                    bytes_sent += self.info(i).len;
                    parts_done += 1;
                }
            }
            f(&UploadProgress {
                bytes_sent,
                total_bytes: self.total,
                parts_done,
                parts_total: self.parts_total,
            });
        }
    }

    /// Sends one part. The body is `Bytes`, so every attempt of the
    /// transport's retry loop re-sends it without a copy. (The generated
    /// `uploads().parts().create` takes an `InputFile`, whose bytes the form
    /// copies once more: twice the memory per part in flight.)
    async fn send_part(&self, data: Bytes) -> crate::Result<UploadPart> {
        let id = support::segment("upload_id", self.upload_id)?;
        let form = MultipartForm::new().part(Part::bytes("data", data, self.filename));
        self.client
            .post(format!("/uploads/{id}/parts"))
            .multipart(form)
            .send()
            .await
    }

    /// Reads and sends the parts not yet in `ids`, recording each accepted
    /// part's id. After a failure no new part is started; with `drain`, the
    /// parts already in flight are awaited so that their ids are kept for a
    /// resume, else they are abandoned.
    async fn send_parts(
        &self,
        reader: &mut Reader,
        ids: &mut [Option<String>],
        concurrency: usize,
        drain: bool,
    ) -> Result<(), UploadError> {
        let mut in_flight = FuturesUnordered::new();
        let mut next = 0usize;
        let mut failure: Option<UploadError> = None;
        if ids.iter().any(Option::is_some) {
            self.report(ids);
        }
        loop {
            while failure.is_none() && in_flight.len() < concurrency && next < self.parts_total {
                let index = next;
                next += 1;
                let info = self.info(index);
                let read_failed = |e: std::io::Error| {
                    let mut err = UploadError::new(
                        UploadStage::ReadSource,
                        "reading the source failed (is it shorter than declared?)",
                    )
                    .with_source(e);
                    err.0.part = Some(info);
                    err
                };
                let data = if ids.get(index).is_some_and(Option::is_some) {
                    reader.skip(info.len).await.map(|()| None)
                } else {
                    match usize::try_from(info.len) {
                        Ok(len) => reader.take(len).await.map(Some),
                        Err(_) => Err(std::io::ErrorKind::InvalidInput.into()),
                    }
                };
                match data {
                    Ok(Some(data)) => {
                        in_flight.push(async move { (index, self.send_part(data).await) });
                    }
                    Ok(None) => {}
                    Err(e) => failure = Some(read_failed(e)),
                }
            }
            if failure.is_some() && !drain {
                break;
            }
            match in_flight.next().await {
                None => break,
                Some((index, Ok(part))) => {
                    if let Some(slot) = ids.get_mut(index) {
                        *slot = Some(part.id);
                    }
                    self.report(ids);
                }
                Some((index, Err(e))) => {
                    if failure.is_none() {
                        let mut err =
                            UploadError::new(UploadStage::Part, "sending the part failed")
                                .with_source(e);
                        err.0.part = Some(self.info(index));
                        failure = Some(err);
                    }
                }
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        match reader.has_more().await {
            Ok(false) => Ok(()),
            Ok(true) => Err(UploadError::new(
                UploadStage::ReadSource,
                format!("the source has more than the declared {} bytes", self.total),
            )),
            Err(e) => Err(
                UploadError::new(UploadStage::ReadSource, "reading the source failed")
                    .with_source(e),
            ),
        }
    }

    async fn complete(
        &self,
        ids: &[Option<String>],
        md5: Option<String>,
    ) -> Result<Upload, UploadError> {
        let part_ids = ids.iter().flatten().cloned().collect::<Vec<_>>();
        if part_ids.len() != self.parts_total {
            return Err(UploadError::new(
                UploadStage::Complete,
                "internal: some parts have no id",
            ));
        }
        self.client
            .uploads()
            .complete(
                self.upload_id,
                CompleteUploadRequest {
                    extra: Default::default(),
                    part_ids,
                    md5,
                },
            )
            .await
            .map_err(|e| {
                UploadError::new(UploadStage::Complete, "completing the upload failed")
                    .with_source(e)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_reader_takes_skips_and_ends() {
        let mut r = Reader::Bytes(Bytes::from_static(b"abcdefg"), 0);
        assert_eq!(&r.take(3).await.unwrap()[..], b"abc");
        r.skip(2).await.unwrap();
        assert!(r.has_more().await.unwrap());
        assert_eq!(&r.take(2).await.unwrap()[..], b"fg");
        assert!(!r.has_more().await.unwrap());
        assert!(r.take(1).await.is_err());
    }
}
