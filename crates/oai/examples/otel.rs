//! GenAI traces: the client's spans exported through OpenTelemetry.
//!
//! ```text
//! cargo run -p oai --example otel
//! ```
//!
//! `tracing-opentelemetry` turns the client's `tracing` spans into
//! OpenTelemetry spans; here they go to the SDK's in-memory exporter and are
//! printed, where an application would use OTLP. A streamed call and a tool
//! run give a span tree in the GenAI semantic conventions.

mod common;

use futures_util::StreamExt;
use oai::chat::{Chat, Message};
use oai::tools::{ToolRegistry, ToolRunner};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The OpenTelemetry pipeline, and `tracing` feeding it.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("otel-example")));
    tracing::subscriber::set_global_default(subscriber)?;

    let (client, mock) = common::client_or_mock().await?;
    if let Some(mock) = &mock {
        mock.chat().text("Hello from a traced stream.");
        mock.chat()
            .tool_calls([oai_mock::ToolCall::new("add", json!({"a": 2, "b": 3}))]);
        mock.chat().text("2 + 3 = 5.");
    }

    // 2. A streamed call: one span, ended by the stream's last event.
    let mut stream = client
        .chat()
        .completions()
        .create(Chat::new(Message::user("Say hello."), "gpt-4o-mini"))
        .stream()
        .await?;
    while let Some(chunk) = stream.next().await {
        chunk?;
    }
    drop(stream);

    // 3. A tool run: the run, its rounds, model calls and tool calls.
    let mut tools = ToolRegistry::new();
    tools.register_json(
        "add",
        "Adds two integers.",
        json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"], "additionalProperties": false}),
        true,
        |args: Value| async move {
            Ok::<_, String>(
                (args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0)).to_string(),
            )
        },
    )?;
    let request = Chat::new(Message::user("What is 2 + 3?"), "gpt-4o-mini").build()?;
    ToolRunner::new(client, tools).run_chat(request).await;

    // 4. What was exported.
    provider.force_flush()?;
    for span in exporter.get_finished_spans()? {
        let gen_ai: Vec<String> = span
            .attributes
            .iter()
            .filter(|kv| kv.key.as_str().starts_with("gen_ai."))
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        println!("{}  {}", span.name, gen_ai.join(" "));
    }
    Ok(())
}
