//! Record real API traffic to a cassette, and replay it offline in tests.
//!
//! [`Recorder`] is a [layer](crate::layer) that writes every exchange of a
//! client to a cassette: a JSON Lines file (format: the `oai-cassette`
//! crate), one exchange per line, each with the request's fingerprint
//! (method, path with query, body with keys in any order), the status, the
//! answer's headers from an allow-list, and the body as JSON, or a streamed
//! answer event by event in order.
//!
//! **Secrets are scrubbed before anything is written**: the credential of
//! each attempt (the recorder asks for it, as a layer must, only to remove
//! it), the organization and project ids the request carries, and every
//! value given to [`Recorder::scrub`], including the pieces of them a
//! server may echo (`sk-proj-****abcd`), wherever they appear: bodies,
//! events, header values. Request headers are never written.
//!
//! Replay is `oai-mock`'s: `MockServer::replay(Cassette::load(path)?)`
//! serves the cassette on a loopback port, strictly (an unrecorded request
//! is a 404 naming the closest recorded exchange). [`Recorder::append`]
//! instead answers what the cassette already holds and records what is
//! new.
//!
//! ```no_run
//! # async fn demo() -> oai::Result<()> {
//! use oai::chat::{Chat, Message};
//! use oai::record::Recorder;
//!
//! // Once, against the real API (OPENAI_API_KEY set):
//! let recorder = Recorder::create("tests/cassettes/hello.jsonl")?;
//! let config = oai::ConfigBuilder::from_env().layer(recorder).build()?;
//! let client = oai::Client::new(config)?;
//! client
//!     .chat()
//!     .completions()
//!     .create(Chat::new(Message::user("Hello"), "gpt-4o-mini"))
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! A streamed answer is recorded as the client reads it: the line is written
//! when the stream ends, with `"complete": false` when the consumer dropped
//! it or it broke first (replay then ends it at the same place).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderName;
use oai_cassette::{Cassette, Exchange, RecordedEvent, RecordedRequest, RecordedResponse, Replay};
use oai_transport::layer::{
    AttemptFuture, AttemptRequest, AttemptResponse, Body, BoxError, Credential, Next,
};
use oai_transport::redact::Scrubber;
use oai_transport::sse::{SseDecoder, SseLimits};

/// The answer headers kept unless [`Recorder::keep_header`] adds more.
const KEPT_HEADERS: [&str; 5] = [
    "content-type",
    "x-request-id",
    "openai-processing-ms",
    "retry-after",
    "retry-after-ms",
];

/// The request headers whose values are scrubbed from what is written.
const ID_HEADERS: [&str; 2] = ["openai-organization", "openai-project"];

/// The most a recorded body (request or answer) may hold.
const MAX_RECORDED_BODY: usize = 128 << 20;

/// A layer that writes every exchange to a cassette (see the [module
/// docs](self)). Clones share the file.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    file: Mutex<File>,
    /// Behind a lock so that a secret added to a clone already handed to a
    /// client is still scrubbed (never silently dropped).
    secrets: Mutex<Vec<String>>,
    kept_headers: Mutex<Vec<HeaderName>>,
    /// In `append` mode, the cassette as it was, and what of it was served.
    replay: Option<Mutex<Replay>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.inner.path)
            .field("appending", &self.inner.replay.is_some())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Records into a new cassette at `path` (a file there is replaced).
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let file =
            File::create(path).map_err(|e| crate::Error::from_io("creating the cassette", e))?;
        Ok(Self::with(path, file, None))
    }

    /// Answers every request the cassette at `path` already holds from it
    /// (no network), and records the others at its end ("record what is
    /// new"). A missing file is an empty cassette.
    ///
    /// # Errors
    /// The file cannot be read or written, or is not a cassette.
    pub fn append(path: impl AsRef<Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let cassette = if path.exists() {
            Cassette::load(path)
                .map_err(|e| crate::Error::own(crate::ErrorKind::Io, e.to_string()))?
        } else {
            Cassette::default()
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| crate::Error::from_io("opening the cassette", e))?;
        Ok(Self::with(
            path,
            file,
            Some(Mutex::new(Replay::new(cassette))),
        ))
    }

    fn with(path: &Path, file: File, replay: Option<Mutex<Replay>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                file: Mutex::new(file),
                secrets: Mutex::new(Vec::new()),
                kept_headers: Mutex::new(
                    KEPT_HEADERS
                        .iter()
                        .map(|h| HeaderName::from_static(h))
                        .collect(),
                ),
                replay,
            }),
        }
    }

    /// Also scrubs `secret` (a webhook secret, a user id, a token inside a
    /// prompt) from everything written from now on, by this recorder and
    /// its clones.
    #[must_use]
    pub fn scrub(self, secret: impl Into<String>) -> Self {
        lock(&self.inner.secrets).push(secret.into());
        self
    }

    /// Also keeps the answer header `name` (its value scrubbed); a name
    /// that is not a header name is ignored.
    #[must_use]
    pub fn keep_header(self, name: &str) -> Self {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            lock(&self.inner.kept_headers).push(name);
        }
        self
    }

    /// The cassette's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn write(&self, exchange: &Exchange) -> Result<(), BoxError> {
        // Every field was scrubbed on its own (scrubbing the line instead
        // could cut through its JSON, and header names are not secrets).
        let line = exchange.to_line();
        let mut file = self.inner.file.lock().map_err(|_| "the cassette lock")?;
        file.write_all(line.as_bytes())?;
        file.write_all(b"\n")?;
        file.flush()?;
        Ok(())
    }
}

impl tower::Layer<Next> for Recorder {
    type Service = RecorderService;
    fn layer(&self, next: Next) -> RecorderService {
        RecorderService {
            recorder: self.clone(),
            next,
        }
    }
}

/// The service of a [`Recorder`] over the rest of the stack.
#[derive(Clone, Debug)]
pub struct RecorderService {
    recorder: Recorder,
    next: Next,
}

impl tower::Service<AttemptRequest> for RecorderService {
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        let recorder = self.recorder.clone();
        let next = self.next.clone();
        Box::pin(record(recorder, next, req))
    }
}

/// A lock's content, even after a panic elsewhere poisoned it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The scrubber of one exchange: the attempt's credential, the request's
/// organization and project, and the recorder's own secrets.
fn scrubber_for(recorder: &Recorder, req: &AttemptRequest) -> Scrubber {
    let mut scrubber = Scrubber::new();
    if let Some(credential) = req.extensions().get::<Credential>()
        && let Ok(value) = credential.reveal().1.to_str()
    {
        scrubber = scrubber.with_secret(value);
        if let Some((_, token)) = value.split_once(' ') {
            scrubber = scrubber.with_secret(token.trim());
        }
    }
    for name in ID_HEADERS {
        if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
            scrubber = scrubber.with_secret(v);
        }
    }
    for secret in lock(&recorder.inner.secrets).iter() {
        scrubber = scrubber.with_secret(secret);
    }
    scrubber
}

fn scrubbed_bytes(scrubber: &Scrubber, bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => scrubber.scrub(text).into_owned().into_bytes(),
        Err(_) => bytes.to_vec(),
    }
}

async fn record(
    recorder: Recorder,
    next: Next,
    req: AttemptRequest,
) -> Result<AttemptResponse, BoxError> {
    let scrubber = scrubber_for(&recorder, &req);
    let (parts, body) = req.into_parts();
    // A streamed request body (a multipart upload) is read to be recorded,
    // then sent from memory.
    let body = match body.as_bytes() {
        Some(b) => Bytes::copy_from_slice(b),
        None => body.collect(MAX_RECORDED_BODY).await?,
    };
    let method = parts.method.as_str().to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let mut request = RecordedRequest::new(&method, &path, &body);
    // The fingerprint is of the request as sent; what is written is scrubbed
    // (a query may hold a key too).
    let clean = RecordedRequest::new(&method, &path, &scrubbed_bytes(&scrubber, &body));
    request.path = scrubber.scrub(&path).into_owned();
    request.body = clean.body;
    request.body_base64 = clean.body_base64;

    if let Some(replay) = &recorder.inner.replay {
        let hit = lock(replay)
            .next(&method, &path, &body)
            .map(|e| e.response.clone());
        if let Some(recorded) = hit {
            return replayed(&recorded);
        }
    }

    let req = http::Request::from_parts(parts, Body::from(body));
    let answer = next.run(req).await?;
    let (parts, body) = answer.into_parts();
    let status = parts.status.as_u16();
    let kept = lock(&recorder.inner.kept_headers).clone();
    let headers: Vec<(String, String)> = kept
        .iter()
        .flat_map(|name| parts.headers.get_all(name).iter().map(move |v| (name, v)))
        .map(|(name, v)| {
            let value = String::from_utf8_lossy(v.as_bytes());
            (
                name.as_str().to_owned(),
                scrubber.scrub(&value).into_owned(),
            )
        })
        .collect();
    let is_stream = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_stream {
        let tee = Tee {
            body,
            decoder: SseDecoder::new(SseLimits::default()),
            events: Vec::new(),
            pending: Some(Pending {
                recorder,
                scrubber,
                request,
                status,
                headers,
            }),
        };
        return Ok(http::Response::from_parts(parts, Body::from_stream(tee)));
    }
    let bytes = body.collect(MAX_RECORDED_BODY).await?;
    let exchange = Exchange {
        request,
        response: RecordedResponse::new(status, headers, &scrubbed_bytes(&scrubber, &bytes)),
    };
    recorder.write(&exchange)?;
    Ok(http::Response::from_parts(parts, Body::from(bytes)))
}

/// A recorded answer as the stack's answer.
fn replayed(recorded: &RecordedResponse) -> Result<AttemptResponse, BoxError> {
    let mut answer = http::Response::builder().status(recorded.status);
    for (name, value) in &recorded.headers {
        answer = answer.header(name.as_str(), value.as_str());
    }
    let chunks = recorded.body_chunks();
    let body = if recorded.events.is_some() {
        let complete = recorded.complete;
        let items = chunks
            .into_iter()
            .map(|c| Ok::<_, BoxError>(Bytes::from(c)))
            .chain((!complete).then(|| Err("the recorded stream was cut here".into())));
        Body::from_stream(futures_util::stream::iter(items))
    } else {
        Body::from(chunks.concat())
    };
    Ok(answer.body(body)?)
}

/// What is written once a recorded stream ends.
struct Pending {
    recorder: Recorder,
    scrubber: Scrubber,
    request: RecordedRequest,
    status: u16,
    headers: Vec<(String, String)>,
}

/// A streamed answer passed through as it is read, its events kept; the
/// exchange is written when it ends (or is dropped: `complete: false`).
struct Tee {
    body: Body,
    decoder: SseDecoder,
    events: Vec<RecordedEvent>,
    pending: Option<Pending>,
}

impl Tee {
    fn finish(&mut self, complete: bool) {
        let Some(p) = self.pending.take() else { return };
        if complete {
            let _ = self.decoder.finish();
            self.drain();
        }
        let events = std::mem::take(&mut self.events)
            .into_iter()
            .map(|e| RecordedEvent {
                event: e.event.map(|t| p.scrubber.scrub(&t).into_owned()),
                data: p.scrubber.scrub(&e.data).into_owned(),
            })
            .collect();
        let exchange = Exchange {
            request: p.request,
            response: RecordedResponse::stream(p.status, p.headers, events, complete),
        };
        // A write that fails loses the recording, not the answer.
        let _ = p.recorder.write(&exchange);
    }

    fn drain(&mut self) {
        while let Ok(Some(event)) = self.decoder.decode_next() {
            self.events.push(RecordedEvent {
                event: event.event,
                data: event.data,
            });
        }
    }
}

impl futures_core::Stream for Tee {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        use http_body::Body as _;
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.finish(true);
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.finish(false);
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if self.decoder.push(data.clone()).is_ok() {
                        self.drain();
                    }
                    // The client stops reading at the terminal event: the
                    // stream is whole there, and written in its place
                    // among the exchanges.
                    if self.events.last().is_some_and(is_terminal) {
                        self.finish(true);
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
            }
        }
    }
}

/// Whether a stream ends with `event`: `data: [DONE]`, or a Responses
/// terminal event.
fn is_terminal(event: &RecordedEvent) -> bool {
    event.data == "[DONE]"
        || matches!(
            event.event.as_deref(),
            Some("response.completed" | "response.failed" | "response.incomplete" | "error")
        )
}

impl Drop for Tee {
    fn drop(&mut self) {
        self.finish(false);
    }
}
