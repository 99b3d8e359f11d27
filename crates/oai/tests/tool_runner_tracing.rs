//! The tool runner's `tracing` events. A test binary of its own: `tracing`
//! caches per call site whether anyone listens, and tests running beside it
//! without a subscriber would race with that cache.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(feature = "tools", feature = "chat"))]

use std::sync::{Arc, Mutex};

use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::tools::{ToolRegistry, ToolRunner};
use oai::types::ChatCompletionRequestMessage as Message;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A model that asks for `get_weather` once, then answers.
async fn model() -> (MockServer, oai::Client) {
    model_calling(json!([{"id": "c1", "type": "function", "function": {
        "name": "get_weather", "arguments": "{\"city\":\"Reykjavik\"}"}}]))
    .await
}

/// A model that asks for `tool_calls` once, then answers.
async fn model_calling(tool_calls: Value) -> (MockServer, oai::Client) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
                "message": {"role": "assistant", "content": null, "refusal": null,
                    "tool_calls": tool_calls}}]
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                "message": {"role": "assistant", "content": "cold", "refusal": null}}]
        })))
        .mount(&server)
        .await;
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-test")
            .base_url(format!("{}/v1", server.uri()))
            .build()
            .unwrap(),
    )
    .unwrap();
    (server, client)
}

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

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn every_round_and_call_is_a_tracing_event_without_payloads_unless_asked() {
    for log_payloads in [false, true] {
        let (_server, client) = model().await;
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let request = Chat::new(Message::user("x"), "m").build().unwrap();
        let run = ToolRunner::new(client, weather())
            .log_payloads(log_payloads)
            .run_chat(request)
            .await;
        assert!(run.outcome().is_completed());
        let log = captured.text();
        assert_eq!(log.matches("model round").count(), 2, "{log}");
        let call_lines: Vec<&str> = log.lines().filter(|l| l.contains("tool call")).collect();
        assert_eq!(call_lines.len(), 1, "{log}");
        let line = call_lines[0];
        assert!(line.contains("oai::tools"), "{line}");
        assert!(line.contains("tool=get_weather"), "{line}");
        assert!(line.contains("call_id=c1"), "{line}");
        assert!(line.contains("outcome=\"succeeded\""), "{line}");
        assert!(line.contains("duration_ms="), "{line}");
        // Arguments and outputs only when the application opts in.
        assert_eq!(log.contains("Reykjavik"), log_payloads, "{log}");
    }
}

#[tokio::test]
async fn model_chosen_names_ids_and_payloads_cannot_forge_log_lines() {
    // A tool name, a call id and arguments with line breaks (and an escape
    // sequence) that would each start a line of their own, dressed as events.
    let forged = "\n2030-01-01T00:00:00Z  WARN oai::tools: forged";
    let (_server, client) = model_calling(json!([
        {"id": format!("c1{forged} id"), "type": "function", "function": {
            "name": format!("get_weather{forged} name\u{1b}[2J"), "arguments": "{}"}},
        {"id": format!("c2{forged} id2"), "type": "function", "function": {
            "name": "get_weather",
            "arguments": format!("{{\"city\":\"Oslo\"}}{forged} args\r\u{2028}x")}},
    ]))
    .await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let request = Chat::new(Message::user("x"), "m").build().unwrap();
    let run = ToolRunner::new(client, weather())
        .log_payloads(true)
        .run_chat(request)
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    let log = captured.text();
    // Every line the runner wrote is one of its events, and begins as one.
    for line in log.lines() {
        assert!(
            line.contains("model round") || line.contains("tool call"),
            "a forged line: {line:?}\n{log}"
        );
        assert!(!line.contains('\u{1b}'), "an escape sequence: {line:?}");
        assert!(!line.contains('\u{2028}'), "a line separator: {line:?}");
    }
    assert_eq!(log.lines().count(), 4, "{log}");
    // The text is still there, on its event's line.
    for field in ["forged id", "forged id2", "forged name", "forged args"] {
        assert!(log.contains(field), "{field} missing: {log}");
    }
}
