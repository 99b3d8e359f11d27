//! GenAI spans exported through the OpenTelemetry SDK: a streamed chat run
//! through the tool runner is one span tree whose attributes are the GenAI
//! semantic conventions' names, with usage and finish reasons read from the
//! final chunks, no content unless the application opts in, and never the
//! key. A test binary of its own: `tracing` caches per call site whether
//! anyone listens.
#![cfg(all(feature = "tools", feature = "chat"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use futures_util::StreamExt;
use oai::chat::{Chat, Message};
use oai::tools::{ToolRegistry, ToolRunner};
use oai_mock::{MockServer, ToolCall};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt as _;

/// The attribute names the GenAI conventions define for the spans this
/// crate emits (inference, embeddings, execute_tool, invoke_agent), as
/// listed in the semantic conventions' registry (v1.36, plus
/// `gen_ai.provider.name` of v1.37), and the general ones they reference.
const CONVENTION_NAMES: &[&str] = &[
    "gen_ai.operation.name",
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.request.max_tokens",
    "gen_ai.request.temperature",
    "gen_ai.request.top_p",
    "gen_ai.request.frequency_penalty",
    "gen_ai.request.presence_penalty",
    "gen_ai.request.seed",
    "gen_ai.request.stop_sequences",
    "gen_ai.request.choice.count",
    "gen_ai.request.encoding_formats",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.tool.type",
    "gen_ai.agent.name",
    "server.address",
    "server.port",
    "error.type",
];

fn weather() -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    tools
        .register_json(
            "get_weather",
            "",
            json!({"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"], "additionalProperties": false}),
            true,
            |args: Value| async move { Ok::<_, String>(format!("-2 degrees in {}", args["city"])) },
        )
        .unwrap();
    tools
}

/// Runs `f` with every span exported to memory; returns the spans.
async fn exported<F: std::future::Future<Output = ()>>(f: F) -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("oai-test")));
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        f.await;
    }
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

fn attrs(span: &SpanData) -> HashMap<String, OtelValue> {
    span.attributes
        .iter()
        .map(|KeyValue { key, value, .. }| (key.to_string(), value.clone()))
        .collect()
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attrs(span).get(key).map(|v| v.as_str().into_owned())
}

fn everything(spans: &[SpanData]) -> String {
    spans
        .iter()
        .map(|s| {
            let events: Vec<String> = s
                .events
                .iter()
                .map(|e| format!("{} {:?}", e.name, e.attributes))
                .collect();
            format!("{} {:?} {:?}", s.name, s.attributes, events)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn streamed_run(server: &MockServer, trace_content: bool) -> Vec<SpanData> {
    server
        .chat()
        .tool_calls([ToolCall::new("get_weather", json!({"city": "Paris"}))]);
    server.chat().text("It is cold in Paris.");
    let config = oai::Config::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .trace_content(trace_content)
        .build()
        .unwrap();
    let client = oai::Client::new(config).unwrap();
    exported(async move {
        // The key pasted into the prompt: content, when recorded, is scrubbed.
        let request = Chat::new(
            Message::user(format!(
                "Weather in Paris? (my key is {})",
                server.api_key()
            )),
            "gpt-4o-mini",
        )
        .temperature(0.2)
        .max_completion_tokens(64);
        let run = ToolRunner::new(client, weather())
            .on_event(|_| {})
            .run_chat(request.build().unwrap())
            .await;
        assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    })
    .await
}

#[tokio::test]
async fn a_streamed_tool_run_is_one_span_tree_in_the_conventions() {
    let server = MockServer::start().await;
    let spans = streamed_run(&server, false).await;
    let all = everything(&spans);
    let by_id: HashMap<_, _> = spans
        .iter()
        .map(|s| (s.span_context.span_id(), s))
        .collect();
    let parent = |s: &SpanData| by_id.get(&s.parent_span_id).copied();

    let run: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "invoke_agent oai.tools")
        .collect();
    assert_eq!(run.len(), 1, "{all}");
    let run = run[0];
    assert_eq!(
        text(run, "gen_ai.operation.name").as_deref(),
        Some("invoke_agent")
    );

    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .collect();
    assert_eq!(chats.len(), 2, "one GenAI span per model call: {all}");
    let mut finish = Vec::new();
    for chat in &chats {
        // Under a round, under the run.
        let round = parent(chat).expect("a round span");
        assert_eq!(round.name, "oai.tools.round", "{all}");
        assert_eq!(
            parent(round).map(|r| r.span_context.span_id()),
            Some(run.span_context.span_id())
        );
        let a = attrs(chat);
        for key in a.keys().filter(|k| {
            k.starts_with("gen_ai.") || k.starts_with("server.") || k.starts_with("error.")
        }) {
            assert!(
                CONVENTION_NAMES.contains(&key.as_str()),
                "{key} is not a convention name"
            );
        }
        assert_eq!(chat.span_kind, opentelemetry::trace::SpanKind::Client);
        assert_eq!(text(chat, "gen_ai.operation.name").as_deref(), Some("chat"));
        assert_eq!(text(chat, "gen_ai.system").as_deref(), Some("openai"));
        assert_eq!(
            text(chat, "gen_ai.provider.name").as_deref(),
            Some("openai")
        );
        assert_eq!(
            text(chat, "gen_ai.request.model").as_deref(),
            Some("gpt-4o-mini")
        );
        assert_eq!(
            a.get("gen_ai.request.temperature"),
            Some(&OtelValue::F64(0.2))
        );
        assert_eq!(
            a.get("gen_ai.request.max_tokens"),
            Some(&OtelValue::I64(64))
        );
        assert_eq!(text(chat, "server.address").as_deref(), Some("127.0.0.1"));
        assert!(
            matches!(a.get("server.port"), Some(OtelValue::I64(p)) if *p > 0),
            "{all}"
        );
        assert!(
            text(chat, "gen_ai.response.id").is_some_and(|id| !id.is_empty()),
            "{all}"
        );
        assert!(text(chat, "gen_ai.response.model").is_some(), "{all}");
        // Usage from the final chunk (the runner asks for it).
        for key in ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"] {
            assert!(
                matches!(a.get(key), Some(OtelValue::I64(n)) if *n > 0),
                "{key}: {all}"
            );
        }
        finish.push(text(chat, "gen_ai.response.finish_reasons").unwrap_or_default());
        // Time to first chunk.
        assert!(
            chat.events.iter().any(|e| e.name == "gen_ai.first_chunk"),
            "{all}"
        );
        // No content without the opt-in.
        assert!(!a.contains_key("gen_ai.input.messages"));
        assert!(!a.contains_key("gen_ai.output.messages"));
        // Each attempt is the transport's span under it.
        assert!(
            spans.iter().any(|s| s.name == "oai.request" && s.parent_span_id == chat.span_context.span_id()),
            "{all}"
        );
    }
    assert_eq!(finish, ["[\"tool_calls\"]", "[\"stop\"]"], "{all}");

    // The tool call is a span of the first round.
    let tools: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "execute_tool get_weather")
        .collect();
    assert_eq!(tools.len(), 1, "{all}");
    assert_eq!(
        text(tools[0], "gen_ai.tool.name").as_deref(),
        Some("get_weather")
    );
    assert_eq!(
        text(tools[0], "gen_ai.tool.type").as_deref(),
        Some("function")
    );
    assert!(text(tools[0], "gen_ai.tool.call.id").is_some());
    assert_eq!(
        parent(tools[0]).map(|r| r.name.as_ref()),
        Some("oai.tools.round")
    );
    assert!(!all.contains(server.api_key()), "{all}");
}

#[tokio::test]
async fn content_only_when_opted_in_and_scrubbed_then() {
    let server = MockServer::start().await;
    let spans = streamed_run(&server, true).await;
    let all = everything(&spans);
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .collect();
    assert_eq!(chats.len(), 2, "{all}");
    let input = text(chats[0], "gen_ai.input.messages").expect("the prompt, opted in");
    assert!(input.contains("Weather in Paris?"), "{input}");
    assert!(input.contains("[REDACTED]"), "{input}");
    let output = text(chats[1], "gen_ai.output.messages").expect("the streamed completion");
    assert!(output.contains("cold in Paris"), "{output}");
    assert!(!all.contains(server.api_key()), "the key in a span: {all}");
}

#[tokio::test]
async fn a_plain_call_and_a_failed_call_end_their_spans_with_what_they_know() {
    let server = MockServer::start().await;
    server.chat().text("hello");
    server.chat().error(400, "bad request");
    let config = oai::Config::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();
    let client = oai::Client::new(config).unwrap();
    let spans = exported(async {
        let chat = Chat::new(Message::user("hi"), "gpt-4o-mini");
        client
            .chat()
            .completions()
            .create(chat.clone())
            .await
            .unwrap();
        client.chat().completions().create(chat).await.unwrap_err();
    })
    .await;
    let all = everything(&spans);
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .collect();
    assert_eq!(chats.len(), 2, "{all}");
    assert_eq!(
        text(chats[0], "gen_ai.response.finish_reasons").as_deref(),
        Some("[\"stop\"]")
    );
    assert!(
        attrs(chats[0]).contains_key("gen_ai.usage.output_tokens"),
        "{all}"
    );
    assert!(!attrs(chats[0]).contains_key("error.type"));
    assert_eq!(
        text(chats[1], "error.type").as_deref(),
        Some("400"),
        "{all}"
    );
    assert!(
        matches!(chats[1].status, opentelemetry::trace::Status::Error { .. }),
        "{all}"
    );
}

#[tokio::test]
async fn a_stream_dropped_early_still_ends_its_span() {
    let server = MockServer::start().await;
    server.chat().text("one two three four five");
    let config = oai::Config::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let client = oai::Client::new(config).unwrap();
    let spans = exported(async {
        let mut stream = client
            .chat()
            .completions()
            .create(Chat::new(Message::user("hi"), "gpt-4o-mini"))
            .stream()
            .await
            .unwrap();
        stream.next().await.unwrap().unwrap();
        drop(stream);
    })
    .await;
    let all = everything(&spans);
    let chats: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat gpt-4o-mini")
        .collect();
    assert_eq!(
        chats.len(),
        1,
        "the span ended when the stream was dropped: {all}"
    );
    assert!(
        chats[0]
            .events
            .iter()
            .any(|e| e.name == "gen_ai.first_chunk")
    );
}

#[tokio::test]
async fn a_server_echoing_the_key_puts_it_in_no_span() {
    use wiremock::matchers::method;
    use wiremock::{Mock, ResponseTemplate};
    const KEY: &str = "sk-proj-SPANsecret0123456789abcdefghijkl";
    let server = wiremock::MockServer::start().await;
    // The key as the answer's id, model and finish reason, in a stream's
    // chunks, and in an error message.
    let chunk = json!({"id": KEY, "object": "chat.completion.chunk", "created": 1, "model": KEY,
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": KEY}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(
            json!({"stream": true}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("data: {chunk}\n\ndata: [DONE]\n\n"),
            "text/event-stream",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": format!("bad key {KEY}"), "type": "invalid_request_error"}}),
        ))
        .mount(&server)
        .await;
    let config = oai::Config::builder()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .max_retries(0)
        .trace_content(true)
        .build()
        .unwrap();
    let client = oai::Client::new(config).unwrap();
    let spans = exported(async {
        let chat = Chat::new(Message::user("hi"), "gpt-4o-mini");
        let mut stream = client
            .chat()
            .completions()
            .create(chat.clone())
            .stream()
            .await
            .unwrap();
        while stream.next().await.is_some() {}
        drop(stream);
        client.chat().completions().create(chat).await.unwrap_err();
    })
    .await;
    let all = everything(&spans);
    assert_eq!(
        spans
            .iter()
            .filter(|s| s.name == "chat gpt-4o-mini")
            .count(),
        2,
        "{all}"
    );
    assert!(all.contains("[REDACTED]"), "{all}");
    for piece in [KEY, &KEY[8..20], &KEY[KEY.len() - 12..]] {
        assert!(!all.contains(piece), "{piece:?} in a span: {all}");
    }
}

#[tokio::test]
async fn any_other_operation_is_a_span_without_model_attributes() {
    let server = MockServer::start().await;
    let config = oai::Config::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();
    let client = oai::Client::new(config).unwrap();
    let spans = exported(async {
        client.models().list().await.unwrap();
        client.files().retrieve("file-missing").await.unwrap_err();
    })
    .await;
    let all = everything(&spans);
    let list = spans.iter().find(|s| s.name == "GET /models").expect(&all);
    assert_eq!(
        text(list, "gen_ai.provider.name").as_deref(),
        Some("openai")
    );
    assert_eq!(text(list, "server.address").as_deref(), Some("127.0.0.1"));
    assert!(!attrs(list).contains_key("gen_ai.operation.name"), "{all}");
    assert!(!attrs(list).contains_key("gen_ai.response.id"), "{all}");
    let missing = spans
        .iter()
        .find(|s| s.name == "GET /files/file-missing")
        .expect(&all);
    assert_eq!(text(missing, "error.type").as_deref(), Some("404"), "{all}");
}

/// What a recorded stream says, read with `serde_json::Value` alone: the
/// answer's id, its usage and its finish reasons, as a span must show them.
#[derive(Debug, Default, PartialEq)]
struct Said {
    id: Option<String>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    finish: Vec<String>,
}

fn said(sse: &str) -> Said {
    let mut out = Said::default();
    let mut reasons: std::collections::BTreeMap<u64, String> = Default::default();
    for data in sse
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
    {
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        let answer = v.get("response").unwrap_or(&v);
        if let Some(id) = answer["id"].as_str().filter(|id| !id.is_empty()) {
            out.id = Some(id.to_owned());
        }
        let usage = &answer["usage"];
        if let Some(n) = usage["prompt_tokens"]
            .as_i64()
            .or(usage["input_tokens"].as_i64())
        {
            out.input_tokens = Some(n);
        }
        if let Some(n) = usage["completion_tokens"]
            .as_i64()
            .or(usage["output_tokens"].as_i64())
        {
            out.output_tokens = Some(n);
        }
        for (i, choice) in v["choices"].as_array().into_iter().flatten().enumerate() {
            if let Some(r) = choice["finish_reason"].as_str() {
                reasons.insert(choice["index"].as_u64().unwrap_or(i as u64), r.to_owned());
            }
        }
        if let Some(status) = answer["status"]
            .as_str()
            .filter(|s| !["in_progress", "queued"].contains(s))
        {
            out.finish = vec![status.to_owned()];
        }
    }
    if !reasons.is_empty() {
        out.finish = reasons.into_values().collect();
    }
    out
}

/// The recorded streams of real servers in the wire corpus, served as they
/// were sent: the span shows what each said (the oracle above reads the
/// same bytes with plain JSON values).
#[tokio::test]
async fn recorded_streams_of_real_servers_fill_the_span_as_they_said() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire");
    let mut files = Vec::new();
    for provider in std::fs::read_dir(&root).unwrap() {
        let dir = provider.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".sse")
                && (name.starts_with("chat-stream--") || name.starts_with("responses-stream--"))
            {
                files.push(f);
            }
        }
    }
    files.sort();
    let mut checked = 0;
    for file in &files {
        let sse = std::fs::read_to_string(file).unwrap();
        let expected = said(&sse);
        let server = wiremock::MockServer::start().await;
        let route = if file.to_string_lossy().contains("/responses-stream--") {
            "/v1/responses"
        } else {
            "/v1/chat/completions"
        };
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_raw(sse.clone(), "text/event-stream"))
            .mount(&server)
            .await;
        let config = oai::Config::builder()
            .api_key("sk-test-recorded")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap();
        let client = oai::Client::new(config).unwrap();
        let mut clean = true;
        let spans = exported(async {
            if route == "/v1/responses" {
                let request = oai::builders::CreateResponseBuilder::new()
                    .model("gpt-4o-mini")
                    .input("hi")
                    .build()
                    .unwrap();
                let mut s = client.responses().create(request).stream().await.unwrap();
                while let Some(e) = s.next().await {
                    clean &= e.is_ok();
                }
            } else {
                let mut s = client
                    .chat()
                    .completions()
                    .create(Chat::new(Message::user("hi"), "gpt-4o-mini"))
                    .stream()
                    .await
                    .unwrap();
                while let Some(e) = s.next().await {
                    clean &= e.is_ok();
                }
            }
        })
        .await;
        if !clean {
            // A recording that ends in an error or is cut: its span ends
            // with `error.type`, checked elsewhere.
            continue;
        }
        let span = spans.iter().find(|s| s.name == "chat gpt-4o-mini").unwrap();
        let a = attrs(span);
        let int = |k: &str| match a.get(k) {
            Some(OtelValue::I64(n)) => Some(*n),
            _ => None,
        };
        let finish = text(span, "gen_ai.response.finish_reasons")
            .map(|f| serde_json::from_str::<Vec<String>>(&f).unwrap())
            .unwrap_or_default();
        let got = Said {
            id: text(span, "gen_ai.response.id"),
            input_tokens: int("gen_ai.usage.input_tokens"),
            output_tokens: int("gen_ai.usage.output_tokens"),
            finish,
        };
        assert_eq!(got, expected, "{}", file.display());
        checked += 1;
    }
    eprintln!("{checked} of {} recorded streams checked", files.len());
    assert!(
        checked >= 20,
        "only {checked} of {} recorded streams ran clean",
        files.len()
    );
}
