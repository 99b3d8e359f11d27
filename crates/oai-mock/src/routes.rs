//! From a request to an answer: reading, recording, auth, scripts, defaults.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::bodies::{self, Answer, Call, Context, Echo, ResponseIds};
use crate::embeddings;
use crate::multipart;
use crate::server::{self, Body};
use crate::state::{Reply, Shared, StoredBatch, StoredFile, StoredUpload};
use crate::{API_KEY, ReceivedRequest, ToolCall};

/// The largest request body read.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// How much of a body over the cap is read on and thrown away.
const MAX_DRAIN: usize = 2 * MAX_BODY;
/// How long a body over the cap is read on.
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// The most files the store keeps.
const MAX_FILES: usize = 1000;
/// The most bytes the file store keeps in all.
const MAX_STORED_BYTES: usize = 512 * 1024 * 1024;
/// The most batches kept.
const MAX_BATCHES: usize = 1000;
/// The model named in answers when the request names none.
const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// The file purposes an upload may have.
const PURPOSES: [&str; 6] = [
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];
/// The endpoints a batch may target.
const BATCH_ENDPOINTS: [&str; 3] = ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"];
/// The models `GET /v1/models` lists: id, creation time.
const MODELS: [(&str, u64); 3] = [
    ("gpt-4o-mini", 1_721_172_741),
    ("gpt-4o", 1_715_367_049),
    ("text-embedding-3-small", 1_705_948_997),
];
const JSON: &str = "application/json";
const SSE: &str = "text/event-stream; charset=utf-8";

/// An answer before it becomes an HTTP response.
#[derive(Debug)]
pub(crate) struct Outcome {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    chunks: Vec<Bytes>,
    /// A stream: a stall waits after its first event rather than before.
    sse: bool,
    /// Close the connection after this answer.
    close: bool,
    stall: Option<Duration>,
}

impl Outcome {
    fn new(status: u16, content_type: &'static str, chunks: Vec<Bytes>) -> Self {
        Outcome {
            status,
            content_type,
            headers: Vec::new(),
            chunks,
            sse: false,
            close: false,
            stall: None,
        }
    }

    fn json(status: u16, value: &Value) -> Self {
        Self::new(status, JSON, vec![Bytes::from(value.to_string())])
    }

    fn sse(events: Vec<Bytes>) -> Self {
        let mut outcome = Self::new(200, SSE, events);
        outcome.sse = true;
        outcome
    }
}

/// An error answer in the API's shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: u16,
    message: String,
    param: Option<&'static str>,
    code: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            param: None,
            code: None,
        }
    }

    fn param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    fn body(&self) -> Value {
        let (kind, _) = bodies::error_kind(self.status);
        bodies::error_body(&self.message, kind, self.param, self.code)
    }
}

impl From<ApiError> for Outcome {
    fn from(error: ApiError) -> Self {
        Outcome::json(error.status, &error.body())
    }
}

/// The request as the routes see it.
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    content_type: &'a str,
    body: &'a Bytes,
    json: Option<Value>,
}

/// Which answer shape an endpoint has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Responses,
    Other,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Answers one request.
pub(crate) async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let number = shared.next_request_number();
    #[allow(unused_mut)] // mutated only to take the upgrade out
    let (mut parts, incoming) = request.into_parts();
    #[cfg(feature = "realtime")]
    if crate::realtime::is_upgrade(&parts) {
        shared.record(received(&parts, Bytes::new()));
        return match authorize(&parts.headers) {
            Err(error) => respond(error.into(), number),
            Ok(()) => match crate::realtime::accept(&mut parts) {
                Some(response) => response,
                None => respond(
                    ApiError::new(400, "malformed WebSocket handshake").into(),
                    number,
                ),
            },
        };
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_big = declared.is_some_and(|n| usize::try_from(n).map_or(true, |n| n > MAX_BODY));
    let read = read_body(incoming, too_big).await;
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let query = parts.uri.query();
    shared.record(received(&parts, read.clone().unwrap_or_default()));
    if let Ok(body) = &read
        && let Some(answer) = replay(shared, method, &parts.uri, body, number)
    {
        return answer;
    }
    let outcome = match read {
        Err(error) => {
            let mut outcome = Outcome::from(error);
            // The unread rest of the body makes the connection unusable.
            outcome.close = true;
            outcome
        }
        Ok(body) => match authorize(&parts.headers) {
            Err(error) => error.into(),
            Ok(()) => {
                let content_type = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                route(shared, method, path, query, content_type, &body)
            }
        },
    };
    respond(outcome, number)
}

/// The answer of the cassette being replayed, if there is one: the next
/// exchange recorded for this request, or the error that names the closest.
fn replay(
    shared: &Shared,
    method: &str,
    uri: &http::Uri,
    body: &Bytes,
    number: u64,
) -> Option<Response<Body>> {
    let mut state = shared.lock();
    let replay = state.replay.as_mut()?;
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let Some(exchange) = replay.cassette.next(method, path, body) else {
        let fingerprint = oai_cassette::fingerprint(method, path, body);
        let near = replay
            .cassette
            .cassette()
            .closest(method, path, body)
            .map_or_else(|| "the cassette is empty".to_owned(), |c| c.to_string());
        let message = format!(
            "oai-mock replay: no recorded exchange for {method} {path} ({fingerprint}); {near}"
        );
        replay.unmatched.push(message.clone());
        drop(state);
        return Some(respond(
            ApiError::new(404, message).code("cassette_mismatch").into(),
            number,
        ));
    };
    let recorded = exchange.response.clone();
    drop(state);
    let chunks = recorded
        .body_chunks()
        .into_iter()
        .map(Bytes::from)
        .collect();
    let mut response = Response::new(server::body(chunks, None));
    *response.status_mut() =
        StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    for (name, value) in &recorded.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    if !recorded.complete {
        // Recorded cut short: the stream ends there, and so does the
        // connection.
        map.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Some(response)
}

/// The record of a request.
fn received(parts: &http::request::Parts, body: Bytes) -> ReceivedRequest {
    ReceivedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

/// Reads the body under the cap. A body over the cap is still read on (and
/// thrown away) up to [`MAX_DRAIN`] bytes for at most [`DRAIN_TIME`], so the
/// client is done sending when the 413 arrives rather than cut off.
async fn read_body(mut incoming: Incoming, too_big: bool) -> Result<Bytes, ApiError> {
    let mut body = Vec::new();
    let mut over = too_big;
    let mut seen: usize = 0;
    let drain_until = tokio::time::Instant::now() + DRAIN_TIME;
    loop {
        let frame = if over {
            match tokio::time::timeout_at(drain_until, incoming.frame()).await {
                Ok(frame) => frame,
                Err(_) => break,
            }
        } else {
            incoming.frame().await
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|err| {
            ApiError::new(400, format!("the request body could not be read: {err}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > MAX_BODY && !over {
            over = true;
            body = Vec::new();
        }
        if over {
            if seen > MAX_DRAIN {
                break;
            }
        } else {
            body.extend_from_slice(&data);
        }
    }
    if over {
        Err(too_large())
    } else {
        Ok(Bytes::from(body))
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        413,
        format!("the request body is larger than {MAX_BODY} bytes"),
    )
}

fn authorize(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
    {
        None => Err(ApiError::new(
            401,
            "no API key was sent: the mock server expects `Authorization: Bearer sk-mock`",
        )),
        Some(value) if value == format!("Bearer {API_KEY}").as_bytes() => Ok(()),
        Some(_) => Err(ApiError::new(
            401,
            "incorrect API key: the mock server expects `Authorization: Bearer sk-mock`",
        )
        .code("invalid_api_key")),
    }
}

/// The HTTP response of an outcome, with the headers every answer has.
fn respond(mut outcome: Outcome, number: u64) -> Response<Body> {
    let status = match StatusCode::from_u16(outcome.status) {
        Ok(status) if status.as_u16() >= 200 => status,
        _ => {
            let error = ApiError::new(
                500,
                format!(
                    "oai-mock: {} is not a status a script can answer",
                    outcome.status
                ),
            );
            let stall = outcome.stall;
            outcome = error.into();
            outcome.stall = stall;
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let stall = outcome.stall.map(|delay| (usize::from(outcome.sse), delay));
    let mut response = Response::new(server::body(outcome.chunks, stall));
    *response.status_mut() = status;
    let limit_requests: u64 = 10_000;
    let limit_tokens: u64 = 30_000_000;
    let mut headers: Vec<(&str, String)> = vec![
        ("content-type", outcome.content_type.to_owned()),
        ("x-request-id", format!("req_mock_{number}")),
        ("openai-version", "2020-10-01".to_owned()),
        ("openai-processing-ms", "1".to_owned()),
        ("x-ratelimit-limit-requests", limit_requests.to_string()),
        (
            "x-ratelimit-remaining-requests",
            (limit_requests - number % limit_requests).to_string(),
        ),
        ("x-ratelimit-reset-requests", "6ms".to_owned()),
        ("x-ratelimit-limit-tokens", limit_tokens.to_string()),
        (
            "x-ratelimit-remaining-tokens",
            (limit_tokens - number.saturating_mul(100) % limit_tokens).to_string(),
        ),
        ("x-ratelimit-reset-tokens", "0s".to_owned()),
    ];
    if outcome.sse {
        headers.push(("cache-control", "no-cache".to_owned()));
    }
    if outcome.close {
        headers.push(("connection", "close".to_owned()));
    }
    headers.extend(outcome.headers);
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(name, value);
        }
    }
    response
}

fn route(
    shared: &Shared,
    method: &str,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    body: &Bytes,
) -> Outcome {
    let json_route = method == "POST"
        && matches!(
            path,
            "/v1/chat/completions" | "/v1/responses" | "/v1/embeddings" | "/v1/batches"
        );
    let json = if body.is_empty() || !(json_route || content_type.contains("json")) {
        None
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => Some(value),
            Err(err) => {
                return ApiError::new(400, format!("the request body is not valid JSON: {err}"))
                    .into();
            }
        }
    };
    let kind = match (method, path) {
        ("POST", "/v1/chat/completions") => Kind::Chat,
        ("POST", "/v1/responses") => Kind::Responses,
        _ => Kind::Other,
    };
    let streamed = kind != Kind::Other
        && json.as_ref().and_then(|j| j.get("stream")) == Some(&Value::Bool(true));
    let call = Req {
        method,
        path,
        query,
        content_type,
        body,
        json,
    };
    let taken = shared.take_script(&format!("{method} {path}"), streamed);
    let mut outcome = match taken.reply {
        Some(reply) => scripted(shared, &call, kind, reply, streamed),
        None => default(shared, &call, kind, streamed),
    };
    outcome.stall = taken.stall;
    outcome
}

fn misuse(what: &str, call: &Req<'_>) -> Outcome {
    ApiError::new(
        500,
        format!(
            "oai-mock: a scripted {what} has no meaning for {} {}",
            call.method, call.path
        ),
    )
    .into()
}

fn scripted(shared: &Shared, call: &Req<'_>, kind: Kind, reply: Reply, streamed: bool) -> Outcome {
    match reply {
        Reply::Error {
            status,
            message,
            retry_after,
        } => {
            let (error_type, code) = bodies::error_kind(status);
            let mut outcome = Outcome::json(
                status,
                &bodies::error_body(&message, error_type, None, code),
            );
            if let Some(delay) = retry_after {
                outcome
                    .headers
                    .push(("retry-after-ms", delay.as_millis().to_string()));
                let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
                outcome.headers.push(("retry-after", seconds.to_string()));
            }
            outcome
        }
        Reply::Body { status, body } => Outcome::json(status, &body),
        Reply::Text(text) if kind == Kind::Other => {
            Outcome::new(200, "text/plain; charset=utf-8", vec![Bytes::from(text)])
        }
        Reply::Text(text) => answer(shared, call, kind, Answer::Text(text), streamed, None),
        Reply::Json(value) if kind == Kind::Other => Outcome::json(200, &value),
        Reply::Json(value) => answer(
            shared,
            call,
            kind,
            Answer::Text(value.to_string()),
            streamed,
            None,
        ),
        Reply::Refusal(_) if kind == Kind::Other => misuse("refusal", call),
        Reply::Refusal(text) => answer(shared, call, kind, Answer::Refusal(text), streamed, None),
        Reply::ToolCalls(_) if kind == Kind::Other => misuse("tool call", call),
        Reply::ToolCalls(calls) => {
            let calls = settle_calls(shared, calls);
            answer(shared, call, kind, Answer::ToolCalls(calls), streamed, None)
        }
        Reply::CutStream(_) if kind == Kind::Other => misuse("cut stream", call),
        Reply::CutStream(events) => answer(
            shared,
            call,
            kind,
            Answer::Text(bodies::PARTIAL_ANSWER.to_owned()),
            streamed,
            Some(events),
        ),
        // Stalls never come out of the queue as replies; answer the default.
        Reply::Stall(_) => default(shared, call, kind, streamed),
    }
}

fn settle_calls(shared: &Shared, calls: Vec<ToolCall>) -> Vec<Call> {
    calls
        .into_iter()
        .map(|c| Call {
            id: c
                .id
                .unwrap_or_else(|| format!("call_{}", shared.next_tool_call_number())),
            name: c.name,
            arguments: c.arguments.to_string(),
        })
        .collect()
}

fn context(request: Option<&Value>, prompt: Option<&Value>) -> Context {
    Context {
        model: request
            .and_then(|r| r.get("model"))
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_MODEL)
            .to_owned(),
        created: now(),
        prompt_tokens: prompt.map_or(1, |p| bodies::tokens(&p.to_string()).max(1)),
    }
}

fn sse_data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// An assistant answer in the shape of `kind`, whole or streamed.
fn answer(
    shared: &Shared,
    call: &Req<'_>,
    kind: Kind,
    answer: Answer,
    streamed: bool,
    cut: Option<usize>,
) -> Outcome {
    let request = call.json.as_ref();
    match kind {
        Kind::Chat | Kind::Other => {
            let cx = context(request, request.and_then(|r| r.get("messages")));
            let id = format!("chatcmpl-mock{}", shared.next_id());
            if !streamed {
                return Outcome::json(200, &bodies::chat_completion(&id, &cx, &answer));
            }
            let include_usage = request.and_then(|r| r.pointer("/stream_options/include_usage"))
                == Some(&Value::Bool(true));
            let chunks = bodies::chat_chunks(&id, &cx, &answer, include_usage);
            let mut events: Vec<Bytes> = chunks.iter().map(sse_data).collect();
            match cut {
                Some(n) => {
                    // Never as far as the finish chunk.
                    let before_finish = events.len().saturating_sub(1 + usize::from(include_usage));
                    events.truncate(n.min(before_finish));
                    let mut outcome = Outcome::sse(events);
                    outcome.close = true;
                    outcome
                }
                None => {
                    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
                    Outcome::sse(events)
                }
            }
        }
        Kind::Responses => {
            let cx = context(request, request.and_then(|r| r.get("input")));
            let echo = Echo {
                instructions: request
                    .and_then(|r| r.get("instructions"))
                    .cloned()
                    .unwrap_or(Value::Null),
                previous_response_id: request
                    .and_then(|r| r.get("previous_response_id"))
                    .cloned()
                    .unwrap_or(Value::Null),
                metadata: request
                    .and_then(|r| r.get("metadata"))
                    .filter(|m| m.is_object())
                    .cloned()
                    .unwrap_or_else(|| json!({})),
            };
            let (prefix, count) = match &answer {
                Answer::ToolCalls(calls) => ("fc_mock", calls.len()),
                _ => ("msg_mock", 1),
            };
            let ids = ResponseIds {
                response: format!("resp_mock{}", shared.next_id()),
                items: (0..count)
                    .map(|_| format!("{prefix}{}", shared.next_id()))
                    .collect(),
            };
            if !streamed {
                return Outcome::json(
                    200,
                    &bodies::response_object(&ids, &cx, &echo, &answer, true),
                );
            }
            let all = bodies::response_events(&ids, &cx, &echo, &answer);
            let mut events: Vec<Bytes> = all
                .iter()
                .map(|event| {
                    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
                    Bytes::from(format!("event: {kind}\ndata: {event}\n\n"))
                })
                .collect();
            if let Some(n) = cut {
                // Never as far as `response.completed`.
                events.truncate(n.min(events.len().saturating_sub(1)));
                let mut outcome = Outcome::sse(events);
                outcome.close = true;
                return outcome;
            }
            Outcome::sse(events)
        }
    }
}

// ------------------------------------------------------------ defaults

fn default(shared: &Shared, call: &Req<'_>, kind: Kind, streamed: bool) -> Outcome {
    match kind {
        Kind::Chat => match chat_text(call.json.as_ref()) {
            Ok(text) => answer(shared, call, kind, Answer::Text(text), streamed, None),
            Err(error) => error.into(),
        },
        Kind::Responses => match responses_text(call.json.as_ref()) {
            Ok(text) => answer(shared, call, kind, Answer::Text(text), streamed, None),
            Err(error) => error.into(),
        },
        Kind::Other => other(shared, call),
    }
}

fn other(shared: &Shared, call: &Req<'_>) -> Outcome {
    let rest = call.path.strip_prefix("/v1/").unwrap_or("");
    let segments: Vec<&str> = rest.split('/').collect();
    let result = match (call.method, segments.as_slice()) {
        ("POST", ["embeddings"]) => embeddings_value(call.json.as_ref()),
        ("GET", ["models"]) => Ok(models()),
        ("GET", ["models", ..]) => model(rest.strip_prefix("models/").unwrap_or("")),
        ("POST", ["files"]) => upload(shared, call),
        ("GET", ["files"]) => Ok(list_files(shared, call.query)),
        ("GET", ["files", id]) => file(shared, id).map(|f| file_object(&f)),
        ("GET", ["files", id, "content"]) => {
            return match file(shared, id) {
                Ok(f) => Outcome::new(200, "application/octet-stream", vec![f.content]),
                Err(error) => error.into(),
            };
        }
        ("DELETE", ["files", id]) => delete_file(shared, id),
        ("POST", ["batches"]) => create_batch(shared, call.json.as_ref()),
        ("GET", ["batches"]) => Ok(list_batches(shared, call.query)),
        ("GET", ["batches", id]) => retrieve_batch(shared, id),
        ("POST", ["batches", id, "cancel"]) => cancel_batch(shared, id),
        ("POST", ["uploads"]) => create_upload(shared, call.json.as_ref()),
        ("POST", ["uploads", id, "parts"]) => add_upload_part(shared, id, call),
        ("POST", ["uploads", id, "complete"]) => complete_upload(shared, id, call.json.as_ref()),
        ("POST", ["uploads", id, "cancel"]) => cancel_upload(shared, id),
        _ => Err(
            ApiError::new(404, format!("Invalid URL ({} {})", call.method, call.path))
                .code("unknown_url"),
        ),
    };
    match result {
        Ok(value) => Outcome::json(200, &value),
        Err(error) => error.into(),
    }
}

fn object_body(request: Option<&Value>) -> Result<&serde_json::Map<String, Value>, ApiError> {
    request
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::new(400, "the request body must be a JSON object"))
}

fn require_model(body: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    match body.get("model") {
        Some(Value::String(_)) => Ok(()),
        None => Err(ApiError::new(400, "'model' is required")
            .param("model")
            .code("missing_required_parameter")),
        Some(_) => Err(ApiError::new(400, "'model' must be a string").param("model")),
    }
}

/// The text of content that is a string or an array of parts with `text`.
fn content_text(content: Option<&Value>, part_type: &str) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some(part_type))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn mock_answer(question: &str) -> String {
    format!("This is a mock answer to: {question}")
}

/// The default chat answer, or why the request is refused.
fn chat_text(request: Option<&Value>) -> Result<String, ApiError> {
    let body = object_body(request)?;
    require_model(body)?;
    let messages = match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        None => {
            return Err(ApiError::new(400, "'messages' is required")
                .param("messages")
                .code("missing_required_parameter"));
        }
        Some(_) => {
            return Err(
                ApiError::new(400, "'messages' must be a non-empty array").param("messages")
            );
        }
    };
    let question = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| content_text(m.get("content"), "text"))
        .unwrap_or_default();
    Ok(mock_answer(&question))
}

/// The default Responses API answer, or why the request is refused.
fn responses_text(request: Option<&Value>) -> Result<String, ApiError> {
    let body = object_body(request)?;
    require_model(body)?;
    let question = match body.get("input") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .rev()
            .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
            .map(|i| content_text(i.get("content"), "input_text"))
            .unwrap_or_default(),
        None | Some(Value::Null) => String::new(),
        Some(_) => {
            return Err(
                ApiError::new(400, "'input' must be a string or an array of items").param("input"),
            );
        }
    };
    Ok(mock_answer(&question))
}

fn embeddings_value(request: Option<&Value>) -> Result<Value, ApiError> {
    let body = object_body(request)?;
    require_model(body)?;
    let inputs = embeddings::inputs(body.get("input"))
        .map_err(|(message, param)| ApiError::new(400, message).param(param))?;
    let dimensions = match body.get("dimensions") {
        None | Some(Value::Null) => embeddings::DEFAULT_DIMENSIONS,
        Some(value) => value
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .filter(|d| (1..=embeddings::MAX_DIMENSIONS).contains(d))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    format!(
                        "'dimensions' must be an integer from 1 to {}",
                        embeddings::MAX_DIMENSIONS
                    ),
                )
                .param("dimensions")
            })?,
    };
    let base64 = match body.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(f)) if f == "float" => false,
        Some(Value::String(f)) if f == "base64" => true,
        Some(_) => {
            return Err(
                ApiError::new(400, "'encoding_format' must be \"float\" or \"base64\"")
                    .param("encoding_format"),
            );
        }
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            embeddings::embedding_object(i, &embeddings::vector(input, dimensions), base64)
        })
        .collect();
    let prompt_tokens: u64 = inputs.iter().map(embeddings::input_tokens).sum();
    Ok(json!({
        "object": "list",
        "data": data,
        "model": body.get("model").cloned().unwrap_or(Value::Null),
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    }))
}

fn model_object(id: &str, created: u64) -> Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": "system"})
}

fn models() -> Value {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, created)| model_object(id, *created))
        .collect();
    json!({"object": "list", "data": data})
}

fn model(id: &str) -> Result<Value, ApiError> {
    MODELS
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(id, created)| model_object(id, *created))
        .ok_or_else(|| {
            ApiError::new(404, format!("The model '{id}' does not exist"))
                .param("model")
                .code("model_not_found")
        })
}

// --------------------------------------------------------------- files

/// `key=value` pairs of a query string, percent-decoded.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A page of `items` (ids first): after `after`, at most `limit`.
fn page(items: Vec<(String, Value)>, after: Option<&str>, limit: usize) -> Value {
    let start = match after {
        Some(after) => items
            .iter()
            .position(|(id, _)| id == after)
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let rest: Vec<(String, Value)> = items.into_iter().skip(start).collect();
    let has_more = rest.len() > limit;
    let data: Vec<(String, Value)> = rest.into_iter().take(limit).collect();
    json!({
        "object": "list",
        "data": data.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        "first_id": data.first().map(|(id, _)| id.clone()),
        "last_id": data.last().map(|(id, _)| id.clone()),
        "has_more": has_more
    })
}

fn limit(pairs: &[(String, String)], default: usize, max: usize) -> usize {
    query_value(pairs, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .map_or(default, |l| l.clamp(1, max))
}

fn file_object(file: &StoredFile) -> Value {
    json!({
        "id": file.id,
        "object": "file",
        "bytes": file.content.len(),
        "created_at": file.created_at,
        "expires_at": null,
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "status_details": null
    })
}

fn no_file(id: &str) -> ApiError {
    ApiError::new(404, format!("No such File object: {id}")).param("id")
}

fn file(shared: &Shared, id: &str) -> Result<StoredFile, ApiError> {
    shared
        .lock()
        .files
        .iter()
        .find(|f| f.id == id)
        .cloned()
        .ok_or_else(|| no_file(id))
}

fn store_file(
    shared: &Shared,
    filename: String,
    purpose: String,
    content: Bytes,
) -> Result<StoredFile, ApiError> {
    let mut state = shared.lock();
    let stored: usize = state.files.iter().map(|f| f.content.len()).sum();
    if state.files.len() >= MAX_FILES || stored.saturating_add(content.len()) > MAX_STORED_BYTES {
        return Err(ApiError::new(
            400,
            format!(
                "the mock's file store is full ({MAX_FILES} files or {MAX_STORED_BYTES} bytes)"
            ),
        ));
    }
    let file = StoredFile {
        id: format!("file-mock{}", shared.next_id()),
        filename,
        purpose,
        created_at: now(),
        content,
    };
    state.files.push(file.clone());
    Ok(file)
}

/// The parts of a multipart/form-data body, or the 400 that says why not.
fn multipart_parts(call: &Req<'_>) -> Result<Vec<multipart::Part>, ApiError> {
    let boundary = multipart::boundary(call.content_type).ok_or_else(|| {
        ApiError::new(400, "the body must be multipart/form-data with a boundary")
    })?;
    let parts = multipart::parse(call.body, &boundary)
        .map_err(|why| ApiError::new(400, format!("the multipart body is malformed: {why}")))?;
    Ok(parts)
}

fn upload(shared: &Shared, call: &Req<'_>) -> Result<Value, ApiError> {
    let parts = multipart_parts(call)?;
    let purpose = parts
        .iter()
        .find(|p| p.name == "purpose")
        .map(|p| String::from_utf8_lossy(&p.data).trim().to_owned())
        .ok_or_else(|| {
            ApiError::new(400, "'purpose' is required")
                .param("purpose")
                .code("missing_required_parameter")
        })?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(ApiError::new(
            400,
            format!("'purpose' must be one of {}", PURPOSES.join(", ")),
        )
        .param("purpose"));
    }
    let part = parts.iter().find(|p| p.name == "file").ok_or_else(|| {
        ApiError::new(400, "'file' is required")
            .param("file")
            .code("missing_required_parameter")
    })?;
    let filename = part
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| "upload".to_owned());
    let file = store_file(shared, filename, purpose, part.data.clone())?;
    Ok(file_object(&file))
}

fn list_files(shared: &Shared, query: Option<&str>) -> Value {
    let pairs = query_pairs(query);
    let purpose = query_value(&pairs, "purpose");
    let mut files: Vec<(String, Value)> = shared
        .lock()
        .files
        .iter()
        .filter(|f| purpose.is_none_or(|p| f.purpose == p))
        .map(|f| (f.id.clone(), file_object(f)))
        .collect();
    if query_value(&pairs, "order") != Some("asc") {
        files.reverse();
    }
    page(
        files,
        query_value(&pairs, "after"),
        limit(&pairs, 10_000, 10_000),
    )
}

fn delete_file(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    let mut state = shared.lock();
    let index = state
        .files
        .iter()
        .position(|f| f.id == id)
        .ok_or_else(|| no_file(id))?;
    state.files.remove(index);
    Ok(json!({"id": id, "object": "file", "deleted": true}))
}

// ------------------------------------------------------------- batches

fn no_batch(id: &str) -> ApiError {
    ApiError::new(404, format!("No batch found with id '{id}'"))
}

fn create_batch(shared: &Shared, request: Option<&Value>) -> Result<Value, ApiError> {
    let body = object_body(request)?;
    let string = |name: &'static str| match body.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        None => Err(ApiError::new(400, format!("'{name}' is required"))
            .param(name)
            .code("missing_required_parameter")),
        Some(_) => Err(ApiError::new(400, format!("'{name}' must be a string")).param(name)),
    };
    let input_file_id = string("input_file_id")?;
    let endpoint = string("endpoint")?;
    let completion_window = string("completion_window")?;
    if !BATCH_ENDPOINTS.contains(&endpoint.as_str()) {
        return Err(ApiError::new(
            400,
            format!("'endpoint' must be one of {}", BATCH_ENDPOINTS.join(", ")),
        )
        .param("endpoint"));
    }
    if completion_window != "24h" {
        return Err(
            ApiError::new(400, "'completion_window' must be \"24h\"").param("completion_window")
        );
    }
    let input = file(shared, &input_file_id).map_err(|_| {
        ApiError::new(
            400,
            format!("the input file {input_file_id} does not exist"),
        )
        .param("input_file_id")
    })?;
    let total = input
        .content
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .count();
    let created = now();
    let object = json!({
        "id": format!("batch_mock{}", shared.next_id()),
        "object": "batch",
        "endpoint": endpoint,
        "errors": null,
        "input_file_id": input_file_id,
        "completion_window": completion_window,
        "status": "validating",
        "output_file_id": null,
        "error_file_id": null,
        "created_at": created,
        "in_progress_at": null,
        "expires_at": created + 24 * 3600,
        "finalizing_at": null,
        "completed_at": null,
        "failed_at": null,
        "expired_at": null,
        "cancelling_at": null,
        "cancelled_at": null,
        "request_counts": {"total": total, "completed": 0, "failed": 0},
        "metadata": body.get("metadata").filter(|m| m.is_object()).cloned().unwrap_or(Value::Null)
    });
    let mut state = shared.lock();
    if state.batches.len() >= MAX_BATCHES {
        return Err(ApiError::new(
            400,
            format!("the mock keeps at most {MAX_BATCHES} batches"),
        ));
    }
    state.batches.push(StoredBatch {
        object: object.clone(),
        input: input.content,
        retrievals: 0,
    });
    Ok(object)
}

fn list_batches(shared: &Shared, query: Option<&str>) -> Value {
    let pairs = query_pairs(query);
    let batches: Vec<(String, Value)> = shared
        .lock()
        .batches
        .iter()
        .rev()
        .map(|b| {
            let id = b.object.get("id").and_then(Value::as_str).unwrap_or("");
            (id.to_owned(), b.object.clone())
        })
        .collect();
    page(
        batches,
        query_value(&pairs, "after"),
        limit(&pairs, 20, 100),
    )
}

fn batch_status(object: &Value) -> &str {
    object.get("status").and_then(Value::as_str).unwrap_or("")
}

/// Retrieving a batch moves it on: `validating` → `in_progress` →
/// `completed` (with its output file), `cancelling` → `cancelled`.
fn retrieve_batch(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    let (endpoint, input) = {
        let mut state = shared.lock();
        let batch = state
            .batches
            .iter_mut()
            .find(|b| b.object.get("id").and_then(Value::as_str) == Some(id))
            .ok_or_else(|| no_batch(id))?;
        batch.retrievals = batch.retrievals.saturating_add(1);
        let status = batch_status(&batch.object).to_owned();
        match status.as_str() {
            "validating" => {
                batch.object["status"] = json!("in_progress");
                batch.object["in_progress_at"] = json!(now());
                return Ok(batch.object.clone());
            }
            "cancelling" => {
                batch.object["status"] = json!("cancelled");
                batch.object["cancelled_at"] = json!(now());
                return Ok(batch.object.clone());
            }
            "in_progress" => {
                // Runs its lines now; a retrieval meanwhile sees it finalizing.
                batch.object["status"] = json!("finalizing");
                batch.object["finalizing_at"] = json!(now());
            }
            _ => return Ok(batch.object.clone()),
        }
        let endpoint = batch
            .object
            .get("endpoint")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        (endpoint, batch.input.clone())
    };
    let run = run_batch(shared, id, &endpoint, &input);
    let output = store_file(
        shared,
        format!("{id}_output.jsonl"),
        "batch_output".to_owned(),
        Bytes::from(run.output),
    )?;
    let errors = if run.failed > 0 {
        Some(store_file(
            shared,
            format!("{id}_errors.jsonl"),
            "batch_output".to_owned(),
            Bytes::from(run.errors),
        )?)
    } else {
        None
    };
    let mut state = shared.lock();
    let batch = state
        .batches
        .iter_mut()
        .find(|b| b.object.get("id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| no_batch(id))?;
    let object = &mut batch.object;
    object["status"] = json!("completed");
    object["completed_at"] = json!(now());
    object["output_file_id"] = json!(output.id);
    object["error_file_id"] = json!(errors.map(|f| f.id));
    object["request_counts"] = json!({
        "total": run.completed + run.failed,
        "completed": run.completed,
        "failed": run.failed
    });
    object["usage"] = json!({
        "input_tokens": run.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": run.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": run.input_tokens + run.output_tokens
    });
    Ok(object.clone())
}

/// The output of a batch's lines.
#[derive(Debug, Default)]
struct BatchRun {
    output: Vec<u8>,
    errors: Vec<u8>,
    completed: u64,
    failed: u64,
    input_tokens: u64,
    output_tokens: u64,
}

fn run_batch(shared: &Shared, batch_id: &str, endpoint: &str, input: &[u8]) -> BatchRun {
    let mut run = BatchRun::default();
    let lines = input
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace));
    for (n, line) in lines.enumerate() {
        let line_id = format!("batch_req_mock{}", shared.next_id());
        let request_id = format!("req_mock_{batch_id}_{n}");
        let parsed: Option<Value> = serde_json::from_slice(line).ok();
        let custom_id = parsed
            .as_ref()
            .and_then(|l| l.get("custom_id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let url = parsed
            .as_ref()
            .and_then(|l| l.get("url"))
            .and_then(Value::as_str);
        let line_error = match (&parsed, &custom_id, url) {
            (None, _, _) => Some((
                "invalid_json_line",
                "the line is not a JSON object".to_owned(),
            )),
            (Some(_), None, _) => Some((
                "missing_custom_id",
                "the line has no string 'custom_id'".to_owned(),
            )),
            (Some(_), Some(_), u) if u != Some(endpoint) => Some((
                "mismatched_url",
                format!("the line's 'url' is not the batch endpoint {endpoint}"),
            )),
            _ => None,
        };
        if let Some((code, message)) = line_error {
            run.failed += 1;
            push_line(
                &mut run.errors,
                &json!({
                    "id": line_id,
                    "custom_id": custom_id,
                    "response": null,
                    "error": {"code": code, "message": message}
                }),
            );
            continue;
        }
        let body = parsed.as_ref().and_then(|l| l.get("body"));
        let result = match endpoint {
            "/v1/chat/completions" => chat_text(body).map(|text| {
                let cx = context(body, body.and_then(|b| b.get("messages")));
                let id = format!("chatcmpl-mock{}", shared.next_id());
                bodies::chat_completion(&id, &cx, &Answer::Text(text))
            }),
            "/v1/responses" => responses_text(body).map(|text| {
                let cx = context(body, body.and_then(|b| b.get("input")));
                let ids = ResponseIds {
                    response: format!("resp_mock{}", shared.next_id()),
                    items: vec![format!("msg_mock{}", shared.next_id())],
                };
                let echo = Echo {
                    instructions: body
                        .and_then(|b| b.get("instructions"))
                        .cloned()
                        .unwrap_or(Value::Null),
                    previous_response_id: Value::Null,
                    metadata: json!({}),
                };
                bodies::response_object(&ids, &cx, &echo, &Answer::Text(text), true)
            }),
            _ => embeddings_value(body),
        };
        let (status, response_body, target) = match result {
            Ok(value) => {
                run.completed += 1;
                let (input_tokens, output_tokens) = usage_of(&value);
                run.input_tokens += input_tokens;
                run.output_tokens += output_tokens;
                (200, value, &mut run.output)
            }
            Err(error) => {
                run.failed += 1;
                (error.status, error.body(), &mut run.errors)
            }
        };
        push_line(
            target,
            &json!({
                "id": line_id,
                "custom_id": custom_id,
                "response": {"status_code": status, "request_id": request_id, "body": response_body},
                "error": null
            }),
        );
    }
    run
}

fn push_line(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(b'\n');
}

/// Input and output tokens of a chat, response or embeddings body.
fn usage_of(body: &Value) -> (u64, u64) {
    let count = |pointer: &str| body.pointer(pointer).and_then(Value::as_u64);
    let input = count("/usage/prompt_tokens")
        .or_else(|| count("/usage/input_tokens"))
        .unwrap_or(0);
    let output = count("/usage/completion_tokens")
        .or_else(|| count("/usage/output_tokens"))
        .unwrap_or(0);
    (input, output)
}

fn cancel_batch(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    let mut state = shared.lock();
    let batch = state
        .batches
        .iter_mut()
        .find(|b| b.object.get("id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| no_batch(id))?;
    match batch_status(&batch.object) {
        "validating" | "in_progress" => {
            batch.object["status"] = json!("cancelling");
            batch.object["cancelling_at"] = json!(now());
            Ok(batch.object.clone())
        }
        "cancelling" | "cancelled" => Ok(batch.object.clone()),
        status => Err(ApiError::new(
            409,
            format!("a batch with status '{status}' cannot be cancelled"),
        )),
    }
}

// ------------------------------------------------------------------ uploads

/// The most bytes an Upload may announce (the API's limit: 8 GiB); what it
/// may actually hold is bounded by the file store.
const MAX_UPLOAD_BYTES: u64 = 8 << 30;
/// The most bytes of one part (the API's limit: 64 MiB).
const MAX_PART_BYTES: usize = 64 << 20;

fn upload_object(upload: &StoredUpload, file: Option<&StoredFile>) -> Value {
    json!({
        "id": upload.id,
        "object": "upload",
        "bytes": upload.bytes,
        "created_at": upload.created_at,
        "filename": upload.filename,
        "purpose": upload.purpose,
        "status": upload.status,
        "expires_at": upload.created_at + 3600,
        "file": file.map(file_object),
    })
}

fn no_upload(id: &str) -> ApiError {
    ApiError::new(404, format!("No such Upload object: {id}")).param("upload_id")
}

fn create_upload(shared: &Shared, request: Option<&Value>) -> Result<Value, ApiError> {
    let body = object_body(request)?;
    let text = |name: &'static str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::new(400, format!("'{name}' is required and must be a string")).param(name)
            })
    };
    let filename = text("filename")?.to_owned();
    let purpose = text("purpose")?.to_owned();
    text("mime_type")?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(ApiError::new(
            400,
            format!("'purpose' must be one of {}", PURPOSES.join(", ")),
        )
        .param("purpose"));
    }
    let bytes = body
        .get("bytes")
        .and_then(Value::as_u64)
        .filter(|b| *b <= MAX_UPLOAD_BYTES)
        .ok_or_else(|| {
            ApiError::new(
                400,
                format!("'bytes' must be an integer from 0 to {MAX_UPLOAD_BYTES}"),
            )
            .param("bytes")
        })?;
    let upload = StoredUpload {
        id: format!("upload_mock{}", shared.next_id()),
        filename,
        purpose,
        bytes,
        created_at: now(),
        status: "pending",
        parts: Vec::new(),
        file_id: None,
    };
    let object = upload_object(&upload, None);
    shared.lock().uploads.push(upload);
    Ok(object)
}

fn add_upload_part(shared: &Shared, id: &str, call: &Req<'_>) -> Result<Value, ApiError> {
    let parts = multipart_parts(call)?;
    let data = parts
        .iter()
        .find(|p| p.name == "data")
        .map(|p| p.data.clone())
        .ok_or_else(|| {
            ApiError::new(400, "'data' is required")
                .param("data")
                .code("missing_required_parameter")
        })?;
    if data.len() > MAX_PART_BYTES {
        return Err(ApiError::new(400, "a part may hold at most 64 MB").param("data"));
    }
    let part_id = format!("part_mock{}", shared.next_id());
    let mut state = shared.lock();
    let upload = state
        .uploads
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| no_upload(id))?;
    if upload.status != "pending" {
        return Err(ApiError::new(
            400,
            format!("the upload is {}, it takes no more parts", upload.status),
        ));
    }
    let received: u64 = upload.parts.iter().map(|(_, d)| d.len() as u64).sum();
    if received.saturating_add(data.len() as u64) > upload.bytes {
        return Err(ApiError::new(
            400,
            format!(
                "the parts would exceed the {} bytes announced",
                upload.bytes
            ),
        ));
    }
    upload.parts.push((part_id.clone(), data));
    Ok(json!({"id": part_id, "object": "upload.part", "created_at": now(), "upload_id": id}))
}

fn complete_upload(shared: &Shared, id: &str, request: Option<&Value>) -> Result<Value, ApiError> {
    let body = object_body(request)?;
    let part_ids: Vec<&str> = body
        .get("part_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "'part_ids' is required and must be an array of strings",
            )
            .param("part_ids")
        })?;
    let upload = {
        let state = shared.lock();
        state
            .uploads
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .ok_or_else(|| no_upload(id))?
    };
    if upload.status != "pending" {
        return Err(ApiError::new(
            400,
            format!("the upload is {}, it cannot be completed", upload.status),
        ));
    }
    let mut content = Vec::new();
    for part_id in &part_ids {
        let data = upload
            .parts
            .iter()
            .find(|(pid, _)| pid == part_id)
            .map(|(_, d)| d)
            .ok_or_else(|| {
                ApiError::new(400, format!("no part {part_id} in this upload")).param("part_ids")
            })?;
        content.extend_from_slice(data);
    }
    if content.len() as u64 != upload.bytes {
        return Err(ApiError::new(
            400,
            format!(
                "the parts hold {} bytes, the upload announced {}",
                content.len(),
                upload.bytes
            ),
        ));
    }
    let file = store_file(
        shared,
        upload.filename.clone(),
        upload.purpose.clone(),
        Bytes::from(content),
    )?;
    let mut state = shared.lock();
    let stored = state
        .uploads
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| no_upload(id))?;
    stored.status = "completed";
    stored.file_id = Some(file.id.clone());
    stored.parts.clear();
    Ok(upload_object(stored, Some(&file)))
}

fn cancel_upload(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    let mut state = shared.lock();
    let upload = state
        .uploads
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| no_upload(id))?;
    if upload.status == "pending" {
        upload.status = "cancelled";
        upload.parts.clear();
    }
    Ok(upload_object(upload, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(
            query_pairs(Some("after=file-1&limit=2&x")),
            vec![
                ("after".to_owned(), "file-1".to_owned()),
                ("limit".to_owned(), "2".to_owned()),
                ("x".to_owned(), String::new())
            ]
        );
    }

    #[test]
    fn pages() {
        let items: Vec<(String, Value)> = (1..=5).map(|i| (format!("id{i}"), json!(i))).collect();
        let first = page(items.clone(), None, 2);
        assert_eq!(first["data"], json!([1, 2]));
        assert_eq!(first["has_more"], json!(true));
        assert_eq!(first["last_id"], json!("id2"));
        let last = page(items.clone(), Some("id4"), 2);
        assert_eq!(last["data"], json!([5]));
        assert_eq!(last["has_more"], json!(false));
        let none = page(items, Some("nope"), 2);
        assert_eq!(none["data"], json!([]));
        assert_eq!(none["first_id"], Value::Null);
    }
}
