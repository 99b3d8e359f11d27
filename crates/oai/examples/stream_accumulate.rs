//! Streams a chat completion and a Responses API call, prints the text as it
//! arrives, then the final message each stream accumulated (tool calls
//! included).
//!
//! ```text
//! cargo run -p oai --example stream_accumulate
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts `oai-mock` on 127.0.0.1 and says so, so the example
//! runs anywhere, with no key and no network: there the chat stream calls a
//! tool (its arguments arrive in fragments) and the response streams text.

mod common;

use std::io::Write;

use futures_util::StreamExt;
use oai::accumulate::{AccumulateExt, StreamEvent};
use oai::builders::{CreateChatCompletionRequestBuilder, CreateResponseBuilder};
use oai::types::{
    ChatCompletionMessageToolCallsItem, ChatCompletionRequestMessage as Message,
    ChatCompletionStreamOptions, ChatCompletionTool, FunctionTool, OutputItem,
    OutputMessageContent,
};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = common::client_or_mock().await?;
    if let Some(mock) = &mock {
        // The fake model: the chat stream asks for the tool, the response
        // answers in words.
        mock.chat().tool_calls([oai_mock::ToolCall::new(
            "get_weather",
            json!({"city": "Paris"}),
        )]);
        mock.responses()
            .text("Hello! Paris is mild today, so a light jacket will do.");
    }
    let weather_schema = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    });
    let mut out = std::io::stdout();

    // Chat completions: every chunk is handed over as it arrives, and folded.
    println!("\n== chat completion");
    let request = CreateChatCompletionRequestBuilder::new(
        Message::user("Greet me in one sentence, then look up the weather in Paris."),
        "gpt-4o-mini",
    )
    .tool(ChatCompletionTool::function(
        "get_weather",
        weather_schema.clone(),
    ))
    .stream_options(ChatCompletionStreamOptions {
        include_usage: Some(true),
        ..Default::default()
    })
    .build()?;
    let mut stream = client
        .chat()
        .completions()
        .create(request)
        .stream()
        .await?
        .accumulate();
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk?.text_delta() {
            write!(out, "{text}")?;
            out.flush()?;
        }
    }
    let completion = stream.into_final()?;
    println!();
    for choice in &completion.choices {
        let message = &choice.message;
        println!("-- final message (finish_reason {})", choice.finish_reason);
        println!(
            "content: {}",
            message.content.as_deref().unwrap_or("(none)")
        );
        for call in message.tool_calls.iter().flatten() {
            if let ChatCompletionMessageToolCallsItem::Function(call) = call {
                println!(
                    "tool call {}: {}({})",
                    call.id, call.function.name, call.function.arguments
                );
            }
        }
    }
    if let Some(usage) = &completion.usage {
        println!("usage: {} tokens", usage.total_tokens);
    }

    // Responses API: the same adapter on typed events.
    println!("\n== response");
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Greet me in one sentence, then look up the weather in Paris.")
        .tool(FunctionTool::new("get_weather", weather_schema)?)
        .build()?;
    let mut stream = client
        .responses()
        .create(request)
        .stream()
        .await?
        .accumulate();
    while let Some(event) = stream.next().await {
        if let Some(text) = event?.text_delta() {
            write!(out, "{text}")?;
            out.flush()?;
        }
    }
    let response = stream.into_final()?;
    println!();
    println!(
        "-- final response (status {})",
        response.status.as_ref().map_or("-", |s| s.as_str())
    );
    for item in &response.output {
        match item {
            OutputItem::Message(m) => {
                for part in &m.content {
                    match part {
                        OutputMessageContent::OutputText(t) => println!("text: {}", t.text),
                        OutputMessageContent::Refusal(r) => println!("refusal: {}", r.refusal),
                        _ => {}
                    }
                }
            }
            OutputItem::FunctionCall(c) => {
                println!("tool call {}: {}({})", c.call_id, c.name, c.arguments);
            }
            OutputItem::Reasoning(r) => {
                for s in &r.summary {
                    println!("reasoning summary: {}", s.text);
                }
            }
            other => println!("{} item", other.tag().unwrap_or("unknown")),
        }
    }
    Ok(())
}
