//! The Batch API end to end: typed requests in, typed results out.
//!
//! [`BatchInput`] writes the requests as the API's JSONL input (one line of
//! `custom_id`, `method`, `url`, `body` each), checking before any I/O that the
//! ids are unique and the batch limits ([`MAX_REQUESTS`], [`MAX_INPUT_BYTES`])
//! hold. [`BatchRunner`] uploads it, creates the batch, polls it with a capped
//! backoff until it ends, downloads the output and error files, and maps every
//! line back to its `custom_id` as the response decoded to your type or that
//! request's error.
//!
//! ```no_run
//! use oai::batch::{BatchInput, BatchRunner};
//! use oai::builders::CreateChatCompletionRequestBuilder as Chat;
//! use oai::types::ChatCompletionRequestMessage as Message;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = oai::Client::from_env()?;
//! let input = BatchInput::new(["red", "green"].map(|color| {
//!     let ask = Message::user(format!("One word that rhymes with {color}"));
//!     (color, Chat::new(ask, "gpt-4o-mini").into_inner())
//! }))?;
//! let outcome = BatchRunner::new(&client)
//!     .on_progress(|b| println!("{} {:?}", b.status, b.request_counts))
//!     .run(&input)
//!     .await?;
//! for item in outcome.results.iter() {
//!     match &item.result {
//!         Ok(answer) => println!("{}: {:?}", item.custom_id, answer.choices[0].message.content),
//!         Err(e) => println!("{}: failed: {e}", item.custom_id),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Across processes, and after a failure
//!
//! The steps are public on their own: [`BatchInput::write_to`] (the JSONL),
//! [`BatchRunner::submit`] (upload and create: keep the batch id),
//! [`BatchRunner::wait`] and [`BatchRunner::results`]. A poll that fails (after
//! the transport's own retries) returns a [`BatchRunError`] carrying the batch
//! id; [`BatchRunner::resume`] with that id polls on and fetches the results.
//!
//! Output and error files are downloaded whole, under the client's response
//! body cap ([`crate::ConfigBuilder::max_response_bytes`], 128 MiB by
//! default); raise it for batches whose output is larger.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oai_builders::Validate;
use oai_types::{
    Batch, BatchFileExpirationAfter, BatchStatus, CreateBatchRequest, CreateBatchRequestEndpoint,
    CreateFileRequest, CreateFileRequestPurpose, InputFile, Metadata,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Client;
use oai_transport::redact::Scrubber;

/// The API's limit on requests in one batch.
pub const MAX_REQUESTS: usize = 50_000;
/// The API's limit on the input file: 200 MiB.
pub const MAX_INPUT_BYTES: u64 = 200 << 20;
/// Inputs larger than this go through the Uploads API in parts (when the
/// `uploads` feature is on) rather than one `/files` request: 64 MiB.
pub const DEFAULT_UPLOAD_THRESHOLD: u64 = 64 << 20;
/// The default delay before the second poll.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// The default cap on the delay between polls.
pub const DEFAULT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type ProgressFn = Arc<dyn Fn(&Batch) + Send + Sync>;

/// A request type the Batch API takes, with its endpoint and answer type.
pub trait BatchBody: Serialize + Validate {
    /// The type of a successful response body.
    type Output: DeserializeOwned;
    /// The batch endpoint (`/v1/chat/completions`, ...).
    fn endpoint() -> CreateBatchRequestEndpoint;
}

macro_rules! batch_body {
    ($feature:literal, $req:ident => $out:ident, $endpoint:ident) => {
        #[cfg(feature = $feature)]
        impl BatchBody for oai_types::$req {
            type Output = oai_types::$out;
            fn endpoint() -> CreateBatchRequestEndpoint {
                CreateBatchRequestEndpoint::$endpoint
            }
        }
    };
}

batch_body!("chat", CreateChatCompletionRequest => CreateChatCompletionResponse, V1ChatCompletions);
batch_body!("embeddings", CreateEmbeddingRequest => CreateEmbeddingResponse, V1Embeddings);
batch_body!("responses", CreateResponse => Response, V1Responses);
batch_body!("completions", CreateCompletionRequest => CreateCompletionResponse, V1Completions);
batch_body!("moderations", CreateModerationRequest => CreateModerationResponse, V1Moderations);

/// One line of the input file.
#[derive(Serialize)]
struct InputLine<'a, B> {
    custom_id: &'a str,
    method: &'static str,
    url: &'a str,
    body: &'a B,
}

/// The requests of a batch, written as the API's JSONL input and checked.
/// `R` is the type each successful response body is decoded to.
pub struct BatchInput<R = serde_json::Value> {
    endpoint: CreateBatchRequestEndpoint,
    jsonl: Arc<[u8]>,
    custom_ids: Vec<String>,
    output: PhantomData<fn() -> R>,
}

impl<R> Clone for BatchInput<R> {
    fn clone(&self) -> Self {
        Self {
            endpoint: self.endpoint.clone(),
            jsonl: Arc::clone(&self.jsonl),
            custom_ids: self.custom_ids.clone(),
            output: PhantomData,
        }
    }
}

impl<R> fmt::Debug for BatchInput<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchInput")
            .field("endpoint", &self.endpoint)
            .field("requests", &self.custom_ids.len())
            .field("bytes", &self.jsonl.len())
            .finish()
    }
}

impl<R> BatchInput<R> {
    /// Requests of a type with a known endpoint (chat completions, embeddings,
    /// responses, completions, moderations), each checked against the spec's
    /// constraints. Results decode to the type's response.
    ///
    /// # Errors
    /// Before any I/O: an empty or duplicate `custom_id`, an invalid request
    /// (named by its `custom_id`), no request, more than [`MAX_REQUESTS`], or a
    /// file over [`MAX_INPUT_BYTES`].
    pub fn new<K, B, I>(requests: I) -> Result<Self, BatchRunError>
    where
        I: IntoIterator<Item = (K, B)>,
        K: Into<String>,
        B: BatchBody<Output = R>,
    {
        Self::write(B::endpoint(), requests, |id, body: &B| {
            body.validate().map_err(|e| {
                BatchRunError::invalid(format!("request `{id}` is invalid: {e}")).with_source(e)
            })
        })
    }

    /// Requests of any serializable type for `endpoint`; results decode to
    /// `R` (a `serde_json::Value` unless named). Bodies are not checked.
    ///
    /// # Errors
    /// As [`BatchInput::new`], and an endpoint the Batch API does not list.
    pub fn custom<K, B, I>(
        endpoint: impl Into<CreateBatchRequestEndpoint>,
        requests: I,
    ) -> Result<Self, BatchRunError>
    where
        I: IntoIterator<Item = (K, B)>,
        K: Into<String>,
        B: Serialize,
    {
        Self::write(endpoint.into(), requests, |_, _| Ok(()))
    }

    fn write<K, B, I>(
        endpoint: CreateBatchRequestEndpoint,
        requests: I,
        check: impl Fn(&str, &B) -> Result<(), BatchRunError>,
    ) -> Result<Self, BatchRunError>
    where
        I: IntoIterator<Item = (K, B)>,
        K: Into<String>,
        B: Serialize,
    {
        if !endpoint.is_known() {
            return Err(BatchRunError::invalid(format!(
                "endpoint `{endpoint}` is not one of {}",
                CreateBatchRequestEndpoint::VALUES.join(", ")
            )));
        }
        let mut jsonl = Vec::new();
        let mut custom_ids = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, (id, body)) in requests.into_iter().enumerate() {
            let line = i + 1;
            if line > MAX_REQUESTS {
                return Err(BatchRunError::invalid(format!(
                    "more than {MAX_REQUESTS} requests in one batch"
                )));
            }
            let id: String = id.into();
            if id.is_empty() {
                return Err(BatchRunError::invalid(format!(
                    "request {line} has an empty custom_id"
                )));
            }
            if let Some(first) = seen.insert(id.clone(), line) {
                return Err(BatchRunError::invalid(format!(
                    "custom_id `{id}` is used by requests {first} and {line}"
                )));
            }
            check(&id, &body)?;
            serde_json::to_writer(
                &mut jsonl,
                &InputLine {
                    custom_id: &id,
                    method: "POST",
                    url: endpoint.as_str(),
                    body: &body,
                },
            )
            .map_err(|e| {
                BatchRunError::invalid(format!("request `{id}` could not be serialized"))
                    .with_source(e)
            })?;
            jsonl.push(b'\n');
            if jsonl.len() as u64 > MAX_INPUT_BYTES {
                return Err(BatchRunError::invalid(format!(
                    "the input file would exceed {MAX_INPUT_BYTES} bytes at request `{id}` ({line})"
                )));
            }
            custom_ids.push(id);
        }
        if custom_ids.is_empty() {
            return Err(BatchRunError::invalid("a batch needs at least one request"));
        }
        Ok(Self {
            endpoint,
            jsonl: Arc::from(jsonl),
            custom_ids,
            output: PhantomData,
        })
    }

    /// The endpoint every request goes to.
    pub fn endpoint(&self) -> &CreateBatchRequestEndpoint {
        &self.endpoint
    }

    /// The JSONL input file.
    pub fn jsonl(&self) -> &[u8] {
        &self.jsonl
    }

    /// The `custom_id`s, in input order.
    pub fn custom_ids(&self) -> &[String] {
        &self.custom_ids
    }

    /// The number of requests.
    pub fn len(&self) -> usize {
        self.custom_ids.len()
    }

    /// Whether there is no request (never, once built).
    pub fn is_empty(&self) -> bool {
        self.custom_ids.is_empty()
    }

    /// Writes the JSONL input file to `out`.
    ///
    /// # Errors
    /// The writer's error.
    pub fn write_to(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        out.write_all(&self.jsonl)
    }
}

/// Where a batch run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BatchStage {
    /// The input or the settings were refused before any I/O.
    Input,
    /// Uploading the input file.
    Upload,
    /// Creating the batch.
    Create,
    /// Polling the batch (resume with the batch id).
    Poll,
    /// The wait exceeded [`BatchRunner::max_wait`] (resume with the batch id).
    Timeout,
    /// The batch ended with status `failed`.
    Failed,
    /// Downloading the output or error file.
    Download,
    /// A line of the output or error file was malformed.
    Parse,
}

/// The failure of a batch run: where, and the ids needed to carry on.
///
/// `Display` is one line naming the stage and the batch; the cause (the API's
/// [`crate::Error`], a JSON error) is [`source`](std::error::Error::source).
pub struct BatchRunError(Box<RunErrorInner>);

struct RunErrorInner {
    stage: BatchStage,
    message: String,
    batch_id: Option<String>,
    input_file_id: Option<String>,
    batch: Option<Batch>,
    source: Option<BoxError>,
}

impl BatchRunError {
    fn new(stage: BatchStage, message: impl Into<String>) -> Self {
        Self(Box::new(RunErrorInner {
            stage,
            message: message.into(),
            batch_id: None,
            input_file_id: None,
            batch: None,
            source: None,
        }))
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(BatchStage::Input, message)
    }

    fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    fn with_batch_id(mut self, id: &str) -> Self {
        self.0.batch_id = Some(id.to_owned());
        self
    }

    /// Where the run failed.
    pub fn stage(&self) -> BatchStage {
        self.0.stage
    }

    /// Whether the input was refused before any I/O.
    pub fn is_invalid_input(&self) -> bool {
        self.0.stage == BatchStage::Input
    }

    /// The batch's id, once it was created: pass it to
    /// [`BatchRunner::resume`].
    pub fn batch_id(&self) -> Option<&str> {
        self.0.batch_id.as_deref()
    }

    /// The uploaded input file's id, once uploaded.
    pub fn input_file_id(&self) -> Option<&str> {
        self.0.input_file_id.as_deref()
    }

    /// The batch as last seen (for a failed batch, its `errors`).
    pub fn batch(&self) -> Option<&Batch> {
        self.0.batch.as_ref()
    }

    /// The API or transport error underneath, when there is one.
    pub fn api_error(&self) -> Option<&crate::Error> {
        self.0
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<crate::Error>())
    }
}

impl fmt::Debug for BatchRunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchRunError")
            .field("stage", &self.0.stage)
            .field("message", &self.0.message)
            .field("batch_id", &self.0.batch_id)
            .field("input_file_id", &self.0.input_file_id)
            .field("source", &self.0.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for BatchRunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.0.batch_id {
            write!(f, "batch {id}: ")?;
        } else if let Some(id) = &self.0.input_file_id {
            write!(f, "batch input file {id}: ")?;
        }
        f.write_str(&self.0.message)
    }
}

impl From<BatchRunError> for crate::Error {
    /// The kind of the failure underneath (the API's refusal, a timeout of
    /// the transport, ...); else from the stage: the input refused before
    /// any I/O is invalid input, a wait past `max_wait` a timeout, a batch
    /// that ended `failed` a failed job, an unreadable result line a
    /// decode error. [`crate::Error::downcast_ref`] gives the batch error
    /// back, with its ids.
    fn from(e: BatchRunError) -> Self {
        let kind = match (e.stage(), e.api_error()) {
            (BatchStage::Input, _) => crate::ErrorKind::InvalidInput,
            (_, Some(inner)) => inner.kind(),
            (BatchStage::Timeout, None) => crate::ErrorKind::Timeout,
            (BatchStage::Failed, None) => crate::ErrorKind::Failed,
            (BatchStage::Parse, None) => crate::ErrorKind::Decode,
            // An answer the run cannot go on from (an upload completed
            // without a file, say).
            (_, None) => crate::ErrorKind::Protocol,
        };
        crate::Error::helper(kind, e)
    }
}

impl std::error::Error for BatchRunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// How one request of a batch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BatchItemErrorKind {
    /// The endpoint answered with an error status.
    Api,
    /// The request was not run (the batch expired or was cancelled first).
    NotRun,
    /// The response was a success whose body is not the expected type.
    Decode,
}

/// The error of one request of a batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchItemError {
    /// What kind of failure.
    pub kind: BatchItemErrorKind,
    /// The HTTP status the endpoint answered, when it ran.
    pub status: Option<u16>,
    /// The request id of that answer.
    pub request_id: Option<String>,
    /// The error `code` (`batch_expired`, `invalid_api_key`, ...).
    pub code: Option<String>,
    /// The error `type`.
    pub error_type: Option<String>,
    /// The error message.
    pub message: String,
}

impl fmt::Display for BatchItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.status {
            write!(f, "status {s}: ")?;
        }
        if let Some(c) = &self.code {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for BatchItemError {}

/// One request's result.
#[derive(Debug, Clone)]
pub struct BatchItem<R> {
    /// The request's `custom_id`.
    pub custom_id: String,
    /// The decoded response body, or the request's error.
    pub result: Result<R, BatchItemError>,
}

/// The results of a batch, by `custom_id`, in the order of the output file
/// then the error file (the API does not keep the input order).
#[derive(Debug, Clone)]
pub struct BatchResults<R> {
    items: Vec<BatchItem<R>>,
    index: HashMap<String, usize>,
}

impl<R> Default for BatchResults<R> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<R> BatchResults<R> {
    /// The result of the request `custom_id`.
    pub fn get(&self, custom_id: &str) -> Option<&Result<R, BatchItemError>> {
        self.index
            .get(custom_id)
            .and_then(|&i| self.items.get(i))
            .map(|item| &item.result)
    }

    /// Every result.
    pub fn iter(&self) -> std::slice::Iter<'_, BatchItem<R>> {
        self.items.iter()
    }

    /// The number of results.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no result.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The number of successful requests.
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.result.is_ok()).count()
    }

    /// The `custom_ids` among `expected` that have no result (none when the
    /// batch completed; requests not run when it expired or was cancelled
    /// usually have a [`BatchItemErrorKind::NotRun`] result instead).
    pub fn missing<'a>(&self, expected: &'a [String]) -> Vec<&'a str> {
        expected
            .iter()
            .filter(|id| !self.index.contains_key(id.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// The results as a map from `custom_id`.
    pub fn into_map(self) -> HashMap<String, Result<R, BatchItemError>> {
        self.items
            .into_iter()
            .map(|i| (i.custom_id, i.result))
            .collect()
    }
}

impl<R> IntoIterator for BatchResults<R> {
    type Item = BatchItem<R>;
    type IntoIter = std::vec::IntoIter<BatchItem<R>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// A finished batch and its results.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchOutcome<R> {
    /// The batch in its terminal state (`completed`, `expired` or
    /// `cancelled`), with its `request_counts` and `usage`.
    pub batch: Batch,
    /// Each request's result.
    pub results: BatchResults<R>,
}

#[derive(Deserialize)]
struct OutputLine<'a> {
    #[serde(borrow)]
    custom_id: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    response: Option<OutputResponse<'a>>,
    #[serde(default)]
    error: Option<OutputError>,
}

#[derive(Deserialize)]
struct OutputResponse<'a> {
    status_code: u16,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default, borrow)]
    body: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct OutputError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn item_result<R: DeserializeOwned>(
    line: OutputLine<'_>,
    scrub: &Scrubber,
) -> Result<R, BatchItemError> {
    let not_run = |e: Option<OutputError>| {
        let (code, message) = e.map(|e| (e.code, e.message)).unwrap_or_default();
        BatchItemError {
            kind: BatchItemErrorKind::NotRun,
            status: None,
            request_id: None,
            code,
            error_type: None,
            message: message.unwrap_or_else(|| "the request has no response".to_owned()),
        }
    };
    let Some(resp) = line.response else {
        return Err(not_run(line.error));
    };
    let body = resp.body.map(RawValue::get).unwrap_or("null");
    if (200..300).contains(&resp.status_code) {
        serde_json::from_str::<R>(body).map_err(|e| BatchItemError {
            kind: BatchItemErrorKind::Decode,
            status: Some(resp.status_code),
            request_id: resp.request_id.clone(),
            code: None,
            error_type: None,
            // Where it failed and why, without any value from the body.
            message: scrub.clip(
                &format!(
                    "the response body is not a {}: {}",
                    std::any::type_name::<R>(),
                    oai_transport::decode::explain::<R>(body, &e, scrub)
                ),
                oai_transport::api_error::MAX_MESSAGE_BYTES,
            ),
        })
    } else {
        let details = oai_transport::api_error::parse_error_body(
            Some(resp.status_code),
            body.as_bytes(),
            scrub,
        );
        let line_error = line.error.unwrap_or(OutputError {
            code: None,
            message: None,
        });
        let message = if details.message().is_empty() {
            line_error.message.unwrap_or_default()
        } else {
            details.message().to_owned()
        };
        Err(BatchItemError {
            kind: BatchItemErrorKind::Api,
            status: Some(resp.status_code),
            request_id: resp.request_id,
            code: details.code().map(str::to_owned).or(line_error.code),
            error_type: details.error_type().map(str::to_owned),
            message,
        })
    }
}

/// Adds the lines of one output or error file to `out`.
///
/// # Errors
/// A line that is not a result line, or a `custom_id` seen twice; the error
/// names the file and line.
fn parse_results<R: DeserializeOwned>(
    file_id: &str,
    content: &[u8],
    out: &mut BatchResults<R>,
    scrub: &Scrubber,
) -> Result<(), BatchRunError> {
    for (n, line) in content.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed: OutputLine<'_> = serde_json::from_slice(line).map_err(|e| {
            BatchRunError::new(
                BatchStage::Parse,
                format!("line {} of file {file_id} is not a batch result", n + 1),
            )
            .with_source(oai_transport::Error::decode(None, line, e, scrub))
        })?;
        let custom_id = parsed.custom_id.clone().into_owned();
        if out.index.contains_key(&custom_id) {
            return Err(BatchRunError::new(
                BatchStage::Parse,
                format!(
                    "line {} of file {file_id} repeats custom_id `{custom_id}`",
                    n + 1
                ),
            ));
        }
        let result = item_result::<R>(parsed, scrub);
        out.index.insert(custom_id.clone(), out.items.len());
        out.items.push(BatchItem { custom_id, result });
    }
    Ok(())
}

/// Runs batches: upload, create, poll, results. Cheap to build; holds the
/// settings and a borrowed client.
///
/// ```no_run
/// use std::time::Duration;
/// use oai::batch::{BatchInput, BatchRunner};
/// use oai::types::{CreateEmbeddingRequest, CreateEmbeddingResponse};
///
/// # async fn demo(client: &oai::Client, requests: Vec<(String, CreateEmbeddingRequest)>)
/// # -> Result<(), oai::batch::BatchRunError> {
/// let runner = BatchRunner::new(client)
///     .poll_interval(Duration::from_secs(30))
///     .max_poll_interval(Duration::from_secs(300));
///
/// // Process 1: submit and remember the id.
/// let batch = runner.submit(&BatchInput::new(requests)?).await?;
///
/// // Process 2 (later, or after a failed poll): wait and collect.
/// let outcome = runner.resume::<CreateEmbeddingResponse>(&batch.id).await?;
/// println!("{} of {} succeeded", outcome.results.succeeded(), outcome.results.len());
/// # Ok(()) }
/// ```
#[must_use]
pub struct BatchRunner<'c> {
    client: &'c Client,
    metadata: Option<Metadata>,
    output_expires_after: Option<BatchFileExpirationAfter>,
    input_file_name: String,
    upload_threshold: u64,
    poll_interval: Duration,
    max_poll_interval: Duration,
    jitter: bool,
    max_wait: Option<Duration>,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for BatchRunner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchRunner")
            .field("metadata", &self.metadata)
            .field("input_file_name", &self.input_file_name)
            .field("upload_threshold", &self.upload_threshold)
            .field("poll_interval", &self.poll_interval)
            .field("max_poll_interval", &self.max_poll_interval)
            .field("jitter", &self.jitter)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl<'c> BatchRunner<'c> {
    /// A runner with the default settings: polls after 0 s, then 5 s, doubling
    /// up to 60 s, with jitter; no time limit.
    pub fn new(client: &'c Client) -> Self {
        Self {
            client,
            metadata: None,
            output_expires_after: None,
            input_file_name: "batch_input.jsonl".to_owned(),
            upload_threshold: DEFAULT_UPLOAD_THRESHOLD,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_poll_interval: DEFAULT_MAX_POLL_INTERVAL,
            jitter: true,
            max_wait: None,
            progress: None,
        }
    }

    /// Metadata attached to created batches.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// When the output and error files expire.
    pub fn output_expires_after(mut self, after: BatchFileExpirationAfter) -> Self {
        self.output_expires_after = Some(after);
        self
    }

    /// The name the input file is uploaded under (default `batch_input.jsonl`).
    pub fn input_file_name(mut self, name: impl Into<String>) -> Self {
        self.input_file_name = name.into();
        self
    }

    /// Inputs larger than this many bytes are sent through the Uploads API in
    /// parts (default [`DEFAULT_UPLOAD_THRESHOLD`]; needs the `uploads`
    /// feature, else `/files` is always used).
    pub fn upload_threshold(mut self, bytes: u64) -> Self {
        self.upload_threshold = bytes;
        self
    }

    /// The delay before the second poll; each further delay doubles, up to
    /// [`max_poll_interval`](Self::max_poll_interval).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The cap on the delay between polls.
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// Whether each delay is shortened by a random 0 to 25 % (default on), so
    /// that many waiters do not poll in step.
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Gives up waiting after this long with a [`BatchStage::Timeout`] error
    /// carrying the batch id (the batch keeps running; resume later).
    pub fn max_wait(mut self, limit: Duration) -> Self {
        self.max_wait = Some(limit);
        self
    }

    /// Calls `f` with the batch after each poll (`status`, `request_counts`).
    pub fn on_progress(mut self, f: impl Fn(&Batch) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    fn create_request(
        &self,
        file_id: &str,
        input_endpoint: &CreateBatchRequestEndpoint,
    ) -> CreateBatchRequest {
        CreateBatchRequest {
            extra: Default::default(),
            input_file_id: file_id.to_owned(),
            endpoint: input_endpoint.clone(),
            completion_window: Default::default(),
            metadata: self.metadata.clone(),
            output_expires_after: self.output_expires_after.clone(),
        }
    }

    fn check_settings(&self, endpoint: &CreateBatchRequestEndpoint) -> Result<(), BatchRunError> {
        if self.input_file_name.trim().is_empty() {
            return Err(BatchRunError::invalid(
                "the input file name must not be empty",
            ));
        }
        if self.max_poll_interval < self.poll_interval {
            return Err(BatchRunError::invalid(
                "max_poll_interval must not be shorter than poll_interval",
            ));
        }
        self.create_request("file-check", endpoint)
            .validate()
            .map_err(|e| {
                BatchRunError::invalid(format!("the batch settings are invalid: {e}"))
                    .with_source(e)
            })
    }

    /// Uploads the input file with purpose `batch` and returns its id.
    ///
    /// # Errors
    /// [`BatchStage::Input`] for invalid settings, [`BatchStage::Upload`] when
    /// the upload fails.
    pub async fn upload_input<R>(&self, input: &BatchInput<R>) -> Result<String, BatchRunError> {
        self.check_settings(&input.endpoint)?;
        self.upload(input).await
    }

    async fn upload<R>(&self, input: &BatchInput<R>) -> Result<String, BatchRunError> {
        let failed = |e: BoxError| {
            BatchRunError::new(BatchStage::Upload, "uploading the input file failed").with_source(e)
        };
        #[cfg(feature = "uploads")]
        if input.jsonl.len() as u64 > self.upload_threshold {
            let upload = crate::upload::LargeUpload::from_bytes(
                bytes::Bytes::from_owner(Arc::clone(&input.jsonl)),
                self.input_file_name.clone(),
                oai_types::CreateUploadRequestPurpose::Batch,
            )
            .mime_type("text/jsonl")
            .send(self.client)
            .await
            .map_err(|e| failed(Box::new(crate::Error::from(e))))?;
            return match upload.file {
                Some(file) => Ok(file.id),
                None => Err(BatchRunError::new(
                    BatchStage::Upload,
                    format!("upload {} completed without a file", upload.id),
                )),
            };
        }
        let file = self
            .client
            .files()
            .create(CreateFileRequest {
                extra: Default::default(),
                file: InputFile::from_bytes(self.input_file_name.clone(), Arc::clone(&input.jsonl)),
                purpose: CreateFileRequestPurpose::Batch,
                expires_after: None,
            })
            .await
            .map_err(|e| failed(Box::new(e)))?;
        Ok(file.id)
    }

    /// Creates a batch from an uploaded input file.
    ///
    /// # Errors
    /// [`BatchStage::Input`] for invalid settings, [`BatchStage::Create`] when
    /// the API refuses; the error carries `input_file_id`.
    pub async fn create(
        &self,
        input_file_id: &str,
        endpoint: &CreateBatchRequestEndpoint,
    ) -> Result<Batch, BatchRunError> {
        self.check_settings(endpoint)?;
        self.client
            .batches()
            .create(self.create_request(input_file_id, endpoint))
            .await
            .map_err(|e| {
                let mut err = BatchRunError::new(BatchStage::Create, "creating the batch failed")
                    .with_source(e);
                err.0.input_file_id = Some(input_file_id.to_owned());
                err
            })
    }

    /// Uploads the input and creates the batch. Keep the returned batch's `id`
    /// to [`wait`](Self::wait) or [`resume`](Self::resume), here or elsewhere.
    ///
    /// # Errors
    /// As [`upload_input`](Self::upload_input) and [`create`](Self::create).
    pub async fn submit<R>(&self, input: &BatchInput<R>) -> Result<Batch, BatchRunError> {
        self.check_settings(&input.endpoint)?;
        let file_id = self.upload(input).await?;
        self.create(&file_id, &input.endpoint).await
    }

    fn delay(&self, polls: u32) -> Duration {
        let factor = 2u32.saturating_pow(polls.saturating_sub(1));
        let d = self
            .poll_interval
            .saturating_mul(factor)
            .min(self.max_poll_interval);
        if self.jitter {
            d.mul_f64(1.0 - 0.25 * fastrand::f64())
        } else {
            d
        }
    }

    /// Polls the batch until it reaches a terminal status (`completed`,
    /// `failed`, `expired`, `cancelled`; an unknown status is polled on) and
    /// returns it.
    ///
    /// # Errors
    /// [`BatchStage::Poll`] when a poll fails after the transport's retries,
    /// [`BatchStage::Timeout`] past [`max_wait`](Self::max_wait); both carry
    /// the batch id.
    pub async fn wait(&self, batch_id: &str) -> Result<Batch, BatchRunError> {
        let started = Instant::now();
        let mut polls: u32 = 0;
        loop {
            if polls > 0 {
                let mut delay = self.delay(polls);
                if let Some(limit) = self.max_wait {
                    let left = limit.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        return Err(BatchRunError::new(
                            BatchStage::Timeout,
                            format!("still running after {limit:?}; resume with this batch id"),
                        )
                        .with_batch_id(batch_id));
                    }
                    delay = delay.min(left);
                }
                tokio::time::sleep(delay).await;
            }
            polls = polls.saturating_add(1);
            let batch = self
                .client
                .batches()
                .retrieve(batch_id)
                .await
                .map_err(|e| {
                    // A batch the API does not know cannot be resumed:
                    // no batch id, so no one is told to try again.
                    if e.status().is_some_and(|s| s.as_u16() == 404) {
                        return BatchRunError::new(
                            BatchStage::Poll,
                            format!("there is no batch `{batch_id}`"),
                        )
                        .with_source(e);
                    }
                    BatchRunError::new(
                        BatchStage::Poll,
                        "polling the batch failed; resume with this batch id",
                    )
                    .with_source(e)
                    .with_batch_id(batch_id)
                })?;
            if let Some(f) = &self.progress {
                f(&batch);
            }
            if is_terminal(&batch.status) {
                return Ok(batch);
            }
        }
    }

    /// Downloads the output and error files of a finished batch and decodes
    /// each line: the response body as `R`, or the request's error.
    ///
    /// # Errors
    /// [`BatchStage::Failed`] for a batch whose status is `failed` (its
    /// `errors` are in [`BatchRunError::batch`]), [`BatchStage::Download`],
    /// [`BatchStage::Parse`] for a malformed line.
    pub async fn results<R: DeserializeOwned>(
        &self,
        batch: &Batch,
    ) -> Result<BatchResults<R>, BatchRunError> {
        if batch.status == BatchStatus::Failed {
            let mut err = BatchRunError::new(BatchStage::Failed, failure_summary(batch))
                .with_batch_id(&batch.id);
            err.0.input_file_id = Some(batch.input_file_id.clone());
            err.0.batch = Some(batch.clone());
            return Err(err);
        }
        let mut out = BatchResults::default();
        let files = [&batch.output_file_id, &batch.error_file_id];
        for file_id in files.into_iter().flatten() {
            let content = self.client.files().content(file_id).await.map_err(|e| {
                BatchRunError::new(
                    BatchStage::Download,
                    format!("downloading file {file_id} failed"),
                )
                .with_source(e)
                .with_batch_id(&batch.id)
            })?;
            parse_results(
                file_id,
                &content,
                &mut out,
                self.client.transport().scrubber(),
            )
            .map_err(|e| e.with_batch_id(&batch.id))?;
        }
        Ok(out)
    }

    /// Submits the input, waits for the batch to end and fetches its results.
    ///
    /// # Errors
    /// Any [`BatchRunError`]; once the batch exists the error carries its id
    /// for [`resume`](Self::resume).
    pub async fn run<R: DeserializeOwned>(
        &self,
        input: &BatchInput<R>,
    ) -> Result<BatchOutcome<R>, BatchRunError> {
        let batch = self.submit(input).await?;
        self.resume(&batch.id).await
    }

    /// Waits for an existing batch to end and fetches its results (after a
    /// failed poll, in another process, ...). Name the result type:
    /// `runner.resume::<CreateChatCompletionResponse>(id)`.
    ///
    /// # Errors
    /// As [`wait`](Self::wait) and [`results`](Self::results).
    pub async fn resume<R: DeserializeOwned>(
        &self,
        batch_id: &str,
    ) -> Result<BatchOutcome<R>, BatchRunError> {
        let batch = self.wait(batch_id).await?;
        let results = self.results(&batch).await?;
        Ok(BatchOutcome { batch, results })
    }
}

fn is_terminal(status: &BatchStatus) -> bool {
    matches!(
        status,
        BatchStatus::Completed
            | BatchStatus::Failed
            | BatchStatus::Expired
            | BatchStatus::Cancelled
    )
}

/// "the batch failed: line 2: message (code); ..." with at most three errors,
/// each clipped.
fn failure_summary(batch: &Batch) -> String {
    let mut text = "the batch failed".to_owned();
    let errors = batch
        .errors
        .as_ref()
        .and_then(|e| e.data.as_deref())
        .unwrap_or_default();
    for (i, e) in errors.iter().take(3).enumerate() {
        text.push_str(if i == 0 { ": " } else { "; " });
        if let Some(line) = e.line {
            text.push_str(&format!("line {line}: "));
        }
        let message: String = e
            .message
            .as_deref()
            .unwrap_or("no message")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        text.push_str(&message);
        if let Some(code) = &e.code {
            let code: String = code.chars().filter(|c| !c.is_control()).take(64).collect();
            text.push_str(&format!(" ({code})"));
        }
    }
    if errors.len() > 3 {
        text.push_str(&format!("; and {} more", errors.len() - 3));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_lines_map_to_values_and_errors() {
        let content = br#"{"id":"r1","custom_id":"a","response":{"status_code":200,"request_id":"q1","body":{"x":1}},"error":null}

{"id":"r2","custom_id":"b","response":{"status_code":400,"request_id":"q2","body":{"error":{"message":"bad","type":"invalid_request_error","code":"c1"}}},"error":null}
{"id":"r3","custom_id":"c","response":null,"error":{"code":"batch_expired","message":"expired"}}
{"id":"r4","custom_id":"d","response":{"status_code":200,"body":{"y":2}}}
"#;
        #[derive(Deserialize, Debug, PartialEq)]
        struct X {
            x: i32,
        }
        let mut out = BatchResults::<X>::default();
        parse_results("f", content, &mut out, &Scrubber::new()).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out.get("a").unwrap().as_ref().unwrap(), &X { x: 1 });
        let b = out.get("b").unwrap().as_ref().unwrap_err();
        assert_eq!(
            (b.kind, b.status, b.code.as_deref(), b.message.as_str()),
            (BatchItemErrorKind::Api, Some(400), Some("c1"), "bad")
        );
        let c = out.get("c").unwrap().as_ref().unwrap_err();
        assert_eq!(
            (c.kind, c.code.as_deref()),
            (BatchItemErrorKind::NotRun, Some("batch_expired"))
        );
        let d = out.get("d").unwrap().as_ref().unwrap_err();
        assert_eq!(d.kind, BatchItemErrorKind::Decode);
        assert!(d.message.contains("missing field `x`"), "{}", d.message);
        assert_eq!(out.succeeded(), 1);
        let expected = vec!["a".to_owned(), "z".to_owned()];
        assert_eq!(out.missing(&expected), ["z"]);
    }

    #[test]
    fn malformed_and_repeated_lines_are_errors_naming_the_line() {
        let mut out = BatchResults::<serde_json::Value>::default();
        let e = parse_results(
            "f",
            b"{\"custom_id\":\"a\"}\nnot json\n",
            &mut out,
            &Scrubber::new(),
        )
        .unwrap_err();
        assert_eq!(e.stage(), BatchStage::Parse);
        assert!(e.to_string().contains("line 2 of file f"), "{e}");
        let mut out = BatchResults::<serde_json::Value>::default();
        let e = parse_results(
            "f",
            b"{\"custom_id\":\"a\"}\n{\"custom_id\":\"a\"}",
            &mut out,
            &Scrubber::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("repeats custom_id `a`"), "{e}");
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let client =
            Client::new(crate::Config::builder().api_key("sk-x").build().unwrap()).unwrap();
        let r = BatchRunner::new(&client)
            .poll_interval(Duration::from_secs(5))
            .max_poll_interval(Duration::from_secs(60))
            .jitter(false);
        let d: Vec<u64> = (1..7).map(|n| r.delay(n).as_secs()).collect();
        assert_eq!(d, [5, 10, 20, 40, 60, 60]);
        let r = r.jitter(true);
        for n in 1..10 {
            let plain = Duration::from_secs(5)
                .saturating_mul(2u32.saturating_pow(n - 1))
                .min(Duration::from_secs(60));
            let d = r.delay(n);
            assert!(d <= plain && d >= plain.mul_f64(0.75), "{d:?} vs {plain:?}");
        }
        assert_eq!(
            failure_summary(
                &serde_json::from_value(json!({
                    "id": "b", "object": "batch", "endpoint": "/v1/chat/completions",
                    "input_file_id": "f", "completion_window": "24h", "status": "failed",
                    "created_at": 1,
                    "errors": {"data": [{"line": 2, "message": "bad\nline", "code": "invalid"}]}
                }))
                .unwrap()
            ),
            "the batch failed: line 2: badline (invalid)"
        );
    }
}
