//! GenAI spans: every awaited or streamed call is one `tracing` span; a call
//! to a model (chat completions, the Responses API, completions,
//! embeddings) carries the attributes of
//! OpenTelemetry's
//! [GenAI semantic conventions](https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/),
//! which `tracing-opentelemetry` exports as they are.
//!
//! The span (target `oai::gen_ai`, level INFO, exported under the name
//! `{gen_ai.operation.name} {gen_ai.request.model}`, kind client) holds:
//! `gen_ai.operation.name` (`chat`, `text_completion`, `embeddings`),
//! `gen_ai.system` and `gen_ai.provider.name` (`openai`),
//! `gen_ai.request.model` and the request parameters the conventions name
//! (`max_tokens`, `temperature`, `top_p`, `frequency_penalty`,
//! `presence_penalty`, `seed`, `stop_sequences`, `choice.count`,
//! `encoding_formats`), `gen_ai.response.model`, `gen_ai.response.id`,
//! `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`,
//! `gen_ai.usage.output_tokens`, `server.address`, `server.port`, and
//! `error.type` when the call fails. It lives until the answer is read: for
//! a stream, until its terminal event, its error or its drop, with an event
//! `gen_ai.first_chunk` (`time_to_first_chunk_ms`) when the first event
//! arrives, and the usage and finish reasons read from the last chunks. Each
//! attempt is the transport's `oai.request` span under it (retries are its
//! events).
//!
//! Prompts and completions (`gen_ai.input.messages`,
//! `gen_ai.output.messages`) are recorded only when the configuration opts
//! in ([`crate::ConfigBuilder::trace_content`]), and then scrubbed of every
//! credential the client knows.
//!
//! With the `metrics` feature, the two client metrics of the conventions go
//! through the [`metrics`](https://docs.rs/metrics) facade:
//! `gen_ai.client.operation.duration` (seconds) and
//! `gen_ai.client.token.usage` (`gen_ai.token.type` = `input` / `output`).
//!
//! Any other operation's span is named `{METHOD} {path}` and carries the
//! provider, `server.address`, `server.port` and `error.type` only (pages
//! and downloads read lazily have no span of their own: their requests are
//! the transport's `oai.request` spans).
//!
//! Nothing here runs when no subscriber listens to the span: the request
//! and the answer are not read a second time.
//!
//! ```no_run
//! // With tracing-subscriber and tracing-opentelemetry set up as their docs
//! // show, every model call is exported as a GenAI span:
//! # async fn demo(client: oai::Client) -> oai::Result<()> {
//! use oai::chat::{Chat, Message};
//! let answer = client
//!     .chat()
//!     .completions()
//!     .create(Chat::new(Message::user("Hello"), "gpt-4o-mini"))
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Instant;

use oai_transport::Observer;
use oai_transport::redact::{Scrubber, single_line};
use oai_transport::sse::SseEventRef;
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::field::Empty;

/// The telemetry of one call, shared by its future or stream and the
/// observer of its events.
#[derive(Clone)]
pub(crate) struct Telemetry {
    state: Arc<Mutex<State>>,
    span: tracing::Span,
}

struct State {
    /// `None` once the span's attributes are final.
    open: bool,
    started: Instant,
    first_chunk: bool,
    /// Whether the GenAI attributes apply (a model call).
    model_call: bool,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    operation: &'static str,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    request_model: Option<String>,
    response_model: Option<String>,
    response_id: Option<String>,
    finish_reasons: Vec<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    /// With content capture on: the scrubber and the streamed text so far.
    content: Option<(Scrubber, String)>,
    /// For what the server says about its answer (id, model, finish
    /// reasons): server text, scrubbed like any other.
    scrubber: Scrubber,
}

/// The GenAI operation of a request, when it is a model call.
fn operation(method: &http::Method, path: &str) -> Option<&'static str> {
    if method != http::Method::POST {
        return None;
    }
    Some(match path {
        "/chat/completions" | "/responses" => "chat",
        "/completions" => "text_completion",
        "/embeddings" => "embeddings",
        _ => return None,
    })
}

/// What the conventions read from a request body.
#[derive(Deserialize, Default)]
struct RequestFields<'a> {
    #[serde(default, borrow)]
    model: Option<&'a str>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    max_output_tokens: Option<u64>,
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    seed: Option<i64>,
    #[serde(default)]
    n: Option<u64>,
    #[serde(default, borrow)]
    stop: Option<&'a RawValue>,
    #[serde(default, borrow)]
    encoding_format: Option<&'a str>,
    #[serde(default, borrow)]
    messages: Option<&'a RawValue>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    prompt: Option<&'a RawValue>,
}

/// What the conventions read from an answer, a chunk, or a Responses event
/// (whose `response` holds the answer).
#[derive(Deserialize, Default)]
struct AnswerFields<'a> {
    #[serde(default, borrow)]
    id: Option<&'a str>,
    #[serde(default, borrow)]
    model: Option<&'a str>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceFields<'a>>>,
    #[serde(default, borrow)]
    status: Option<&'a str>,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default, borrow)]
    response: Option<Box<AnswerFields<'a>>>,
    #[serde(default, borrow)]
    delta: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct ChoiceFields<'a> {
    #[serde(default, borrow)]
    finish_reason: Option<&'a str>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    delta: Option<DeltaFields<'a>>,
    #[serde(default, borrow)]
    text: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct DeltaFields<'a> {
    #[serde(default, borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Usage {
    #[serde(default, alias = "input_tokens")]
    prompt_tokens: Option<u64>,
    #[serde(default, alias = "output_tokens")]
    completion_tokens: Option<u64>,
}

impl Telemetry {
    /// The telemetry of a call about to send `rb`: `None` when nobody
    /// listens to its span. A call that is not a model call gets a span
    /// named `{METHOD} {path}` with the server, the provider and the error
    /// only: the GenAI attributes describe model calls.
    pub(crate) fn start(rb: &oai_transport::RequestBuilder) -> Option<Self> {
        let model_call = operation(rb.method(), rb.path());
        let span = tracing::info_span!(
            target: "oai::gen_ai",
            "gen_ai",
            otel.name = Empty,
            otel.kind = "client",
            otel.status_code = Empty,
            gen_ai.operation.name = Empty,
            gen_ai.system = "openai",
            gen_ai.provider.name = "openai",
            gen_ai.request.model = Empty,
            gen_ai.request.max_tokens = Empty,
            gen_ai.request.temperature = Empty,
            gen_ai.request.top_p = Empty,
            gen_ai.request.frequency_penalty = Empty,
            gen_ai.request.presence_penalty = Empty,
            gen_ai.request.seed = Empty,
            gen_ai.request.stop_sequences = Empty,
            gen_ai.request.choice.count = Empty,
            gen_ai.request.encoding_formats = Empty,
            gen_ai.response.model = Empty,
            gen_ai.response.id = Empty,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.input.messages = Empty,
            gen_ai.output.messages = Empty,
            server.address = Empty,
            server.port = Empty,
            error.type = Empty,
        );
        if span.is_disabled() {
            return None;
        }
        let config = rb.transport().config();
        let url = config.base_url();
        if let Some(host) = url.host_str() {
            span.record("server.address", host);
        }
        if let Some(port) = url.port_or_known_default() {
            span.record("server.port", i64::from(port));
        }
        let Some(operation) = model_call else {
            let path = single_line(&rb.transport().scrubber().scrub(rb.path())).into_owned();
            span.record("otel.name", format!("{} {path}", rb.method()));
            return Some(Self::with_span(span, "", None, None, rb));
        };
        span.record("gen_ai.operation.name", operation);
        let fields: RequestFields<'_> = rb
            .json_body()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let model = fields.model.map(str::to_owned);
        span.record(
            "otel.name",
            match &model {
                Some(m) => format!("{operation} {m}"),
                None => operation.to_owned(),
            },
        );
        if let Some(m) = &model {
            span.record("gen_ai.request.model", m.as_str());
        }
        let max = fields
            .max_completion_tokens
            .or(fields.max_tokens)
            .or(fields.max_output_tokens);
        if let Some(v) = max {
            span.record("gen_ai.request.max_tokens", int(v));
        }
        if let Some(v) = fields.temperature {
            span.record("gen_ai.request.temperature", v);
        }
        if let Some(v) = fields.top_p {
            span.record("gen_ai.request.top_p", v);
        }
        if let Some(v) = fields.frequency_penalty {
            span.record("gen_ai.request.frequency_penalty", v);
        }
        if let Some(v) = fields.presence_penalty {
            span.record("gen_ai.request.presence_penalty", v);
        }
        if let Some(v) = fields.seed {
            span.record("gen_ai.request.seed", v);
        }
        if let Some(v) = fields.n {
            span.record("gen_ai.request.choice.count", int(v));
        }
        if let Some(stop) = fields.stop {
            span.record("gen_ai.request.stop_sequences", stop.get());
        }
        if let Some(format) = fields.encoding_format {
            span.record("gen_ai.request.encoding_formats", format);
        }
        let content = config.trace_content().then(|| {
            let scrubber = rb.transport().scrubber().clone();
            let input = fields.messages.or(fields.input).or(fields.prompt);
            if let Some(input) = input {
                span.record(
                    "gen_ai.input.messages",
                    scrubber.scrub(input.get()).as_ref(),
                );
            }
            (scrubber, String::new())
        });
        Some(Self::with_span(span, operation, model, content, rb))
    }

    fn with_span(
        span: tracing::Span,
        operation: &'static str,
        request_model: Option<String>,
        content: Option<(Scrubber, String)>,
        rb: &oai_transport::RequestBuilder,
    ) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                open: true,
                started: Instant::now(),
                first_chunk: false,
                model_call: !operation.is_empty(),
                operation,
                request_model,
                response_model: None,
                response_id: None,
                finish_reasons: Vec::new(),
                input_tokens: None,
                output_tokens: None,
                content,
                scrubber: rb.transport().scrubber().clone(),
            })),
            span,
        }
    }

    /// The span, to enter while the call runs.
    pub(crate) fn span(&self) -> tracing::Span {
        self.span.clone()
    }

    fn with_state(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut state) = self.state.lock()
            && state.open
        {
            f(&mut state);
        }
    }

    /// A whole answer's body arrived: its attributes (the end is
    /// [`Telemetry::close`]).
    pub(crate) fn answer_attributes(&self, body: &[u8]) {
        if !self.state.lock().is_ok_and(|s| s.model_call) {
            return;
        }
        if let Ok(fields) = serde_json::from_slice::<AnswerFields<'_>>(body) {
            self.with_state(|s| {
                s.read(&fields);
                if let Some((scrubber, _)) = &s.content {
                    let output = fields.output.map(RawValue::get).or_else(|| {
                        fields
                            .choices
                            .as_ref()
                            .and_then(|c| c.first())
                            .and_then(|c| c.message.map(RawValue::get))
                    });
                    if let Some(output) = output {
                        self.span
                            .record("gen_ai.output.messages", scrubber.scrub(output).as_ref());
                    }
                }
            });
        }
    }

    /// An observer of the stream's events, reading their attributes.
    pub(crate) fn observer(&self) -> Observer {
        let this = self.clone();
        Observer::new(move |event: SseEventRef<'_>| {
            if event.data.starts_with('[') {
                return;
            }
            if !this.state.lock().is_ok_and(|s| s.model_call) {
                return;
            }
            if let Ok(fields) = serde_json::from_str::<AnswerFields<'_>>(event.data) {
                this.with_state(|s| {
                    s.read(&fields);
                    if let Some((_, text)) = &mut s.content {
                        for choice in fields.choices.iter().flatten() {
                            if let Some(delta) =
                                choice.delta.as_ref().and_then(|d| d.content.as_ref())
                            {
                                text.push_str(delta);
                            }
                            if let Some(t) = choice.text {
                                text.push_str(t);
                            }
                        }
                        if fields.kind == Some("response.output_text.delta")
                            && let Some(delta) = fields
                                .delta
                                .and_then(|d| serde_json::from_str::<String>(d.get()).ok())
                        {
                            text.push_str(&delta);
                        }
                    }
                });
            }
        })
    }

    /// The first event of a stream arrived.
    pub(crate) fn first_chunk(&self) {
        self.with_state(|s| {
            if !s.first_chunk {
                s.first_chunk = true;
                let ms = s.started.elapsed().as_secs_f64() * 1000.0;
                tracing::info!(
                    target: "oai::gen_ai",
                    parent: &self.span,
                    time_to_first_chunk_ms = ms,
                    "gen_ai.first_chunk"
                );
            }
        });
    }

    /// The call failed with `error`.
    pub(crate) fn fail(&self, error: &crate::Error) {
        self.close(Some(error));
    }

    /// The span's attributes are final: the end of the answer, its error,
    /// or the drop of its stream. Later calls do nothing.
    pub(crate) fn close(&self, error: Option<&crate::Error>) {
        self.with_state(|s| {
            s.open = false;
            let span = &self.span;
            let scrub = |text: &str| single_line(&s.scrubber.scrub(text)).into_owned();
            if let Some(m) = &s.response_model {
                span.record("gen_ai.response.model", scrub(m).as_str());
            }
            if let Some(id) = &s.response_id {
                span.record("gen_ai.response.id", scrub(id).as_str());
            }
            if !s.finish_reasons.is_empty() {
                let reasons: Vec<String> = s.finish_reasons.iter().map(|r| scrub(r)).collect();
                span.record(
                    "gen_ai.response.finish_reasons",
                    tracing::field::debug(&reasons),
                );
            }
            if let Some(n) = s.input_tokens {
                span.record("gen_ai.usage.input_tokens", int(n));
            }
            if let Some(n) = s.output_tokens {
                span.record("gen_ai.usage.output_tokens", int(n));
            }
            if let Some((scrubber, text)) = &s.content
                && !text.is_empty()
            {
                span.record("gen_ai.output.messages", scrubber.scrub(text).as_ref());
            }
            if let Some(e) = error {
                span.record("error.type", error_type(e).as_str());
                span.record("otel.status_code", "ERROR");
            }
            #[cfg(feature = "metrics")]
            if s.model_call {
                s.metrics(error);
            }
        });
    }
}

impl State {
    fn read(&mut self, fields: &AnswerFields<'_>) {
        if let Some(inner) = &fields.response {
            self.read(inner);
        }
        if let Some(m) = fields.model
            && !m.is_empty()
        {
            self.response_model = Some(m.to_owned());
        }
        if let Some(id) = fields.id
            && !id.is_empty()
            && fields.response.is_none()
        {
            self.response_id = Some(id.to_owned());
        }
        if let Some(u) = fields.usage {
            if u.prompt_tokens.is_some() {
                self.input_tokens = u.prompt_tokens;
            }
            if u.completion_tokens.is_some() {
                self.output_tokens = u.completion_tokens;
            }
        }
        for (i, choice) in fields.choices.iter().flatten().enumerate() {
            if let Some(reason) = choice.finish_reason {
                if self.finish_reasons.len() <= i {
                    self.finish_reasons.resize(i + 1, String::new());
                }
                reason.clone_into(&mut self.finish_reasons[i]);
            }
        }
        // The Responses API ends with a status, not a finish reason.
        if fields.choices.is_none()
            && let Some(status) = fields.status
            && status != "in_progress"
            && status != "queued"
        {
            self.finish_reasons = vec![status.to_owned()];
        }
    }

    #[cfg(feature = "metrics")]
    fn metrics(&self, error: Option<&crate::Error>) {
        let model = self.request_model.clone().unwrap_or_default();
        let mut labels = vec![
            ("gen_ai.operation.name", self.operation.to_owned()),
            ("gen_ai.provider.name", "openai".to_owned()),
            ("gen_ai.request.model", model),
        ];
        if let Some(m) = &self.response_model {
            labels.push(("gen_ai.response.model", m.clone()));
        }
        let mut with_error = labels.clone();
        if let Some(e) = error {
            with_error.push(("error.type", error_type(e)));
        }
        metrics::histogram!("gen_ai.client.operation.duration", &with_error)
            .record(self.started.elapsed().as_secs_f64());
        for (kind, n) in [("input", self.input_tokens), ("output", self.output_tokens)] {
            if let Some(n) = n {
                let mut l = labels.clone();
                l.push(("gen_ai.token.type", kind.to_owned()));
                metrics::histogram!("gen_ai.client.token.usage", &l).record(n as f64);
            }
        }
    }
}

/// An integer attribute as OpenTelemetry's `i64` (`tracing-opentelemetry`
/// exports a `u64` as a string).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `error.type`: the HTTP status of an API error, else the error's kind.
fn error_type(e: &crate::Error) -> String {
    match e.status() {
        Some(s) => s.as_u16().to_string(),
        None => format!("{:?}", e.kind()).to_ascii_lowercase(),
    }
}
