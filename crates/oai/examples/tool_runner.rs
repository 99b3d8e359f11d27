//! The tool runner: a conversation in which the model calls two Rust
//! functions, then answers with what they returned; then the same with the
//! Responses API and a tool that needs the application's approval.
//!
//! ```text
//! cargo run -p oai --example tool_runner
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts a local stand-in server on 127.0.0.1 and says so, so
//! the example runs anywhere, with no key and no network.

use std::time::Duration;

use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::structured::JsonSchema;
use oai::tools::{Decision, Policy, RunEvent, RunOutcome, ToolRegistry, ToolRunner};
use oai::types::ChatCompletionRequestMessage as Message;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Arguments of `get_weather`.
#[derive(Debug, Deserialize, JsonSchema)]
struct WeatherQuery {
    /// The city, e.g. "Paris".
    city: String,
}

/// Arguments of `convert_currency`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Conversion {
    /// The amount, in `from` units.
    amount: f64,
    /// ISO 4217 code, e.g. "EUR".
    from: String,
    /// ISO 4217 code, e.g. "JPY".
    to: String,
}

/// Arguments of `book_table`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Booking {
    restaurant: String,
    people: u8,
}

fn registry() -> Result<ToolRegistry, oai::tools::RegisterError> {
    let mut tools = ToolRegistry::new();
    tools.register(
        "get_weather",
        "Current weather of a city",
        |q: WeatherQuery| async move {
            // A real application would call a weather service here.
            Ok::<_, String>(json!({"city": q.city, "celsius": 18, "sky": "clear"}))
        },
    )?;
    tools.register(
        "convert_currency",
        "Converts an amount between two currencies",
        |c: Conversion| async move {
            let rate = match (c.from.as_str(), c.to.as_str()) {
                ("EUR", "JPY") => 162.5,
                ("USD", "EUR") => 0.92,
                (from, to) => return Err(format!("no rate from {from} to {to}")),
            };
            Ok(json!({"amount": c.amount * rate, "currency": c.to}))
        },
    )?;
    // Booking spends money: it never runs without the application's approval.
    tools.register("book_table", "Books a restaurant table", |b: Booking| async move {
        Ok::<_, String>(format!("booked {} for {}", b.restaurant, b.people))
    })?;
    tools.set_policy("book_table", Policy::Review)?;
    Ok(tools)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Kept alive for the whole run when used.
    let mut _stand_in = None;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        oai::Client::from_env()?
    } else {
        let server = stand_in().await;
        println!(
            "OPENAI_API_KEY is not set: using a local stand-in server at {}.",
            server.uri()
        );
        let client = oai::Client::new(
            oai::Config::builder()
                .api_key("sk-local-demo")
                .base_url(format!("{}/v1", server.uri()))
                .build()?,
        )?;
        _stand_in = Some(server);
        client
    };

    let runner = ToolRunner::new(client, registry()?)
        .call_timeout(Duration::from_secs(10))
        .max_rounds(6)
        .on_event(|event| match event {
            RunEvent::TextDelta(text) => print!("{text}"),
            RunEvent::CallFinished(call) => println!(
                "  [tool {} -> {} in {:?}]",
                call.name,
                call.outcome.label(),
                call.duration
            ),
            _ => {}
        });

    // 1. Chat completions: two tools, run as soon as the model asks.
    println!("--- chat completions");
    let request = Chat::new(
        Message::user("What is the weather in Paris, and how much is 40 EUR in JPY?"),
        "gpt-4o-mini",
    )
    .build()?;
    let run = runner.run_chat(request).await;
    println!();
    match run.outcome() {
        RunOutcome::Completed => println!(
            "final answer: {}",
            run.conversation().final_text().unwrap_or_default()
        ),
        other => println!("the run stopped: {other:?}"),
    }
    let stats = run.stats();
    println!(
        "{} rounds, {} calls ({} succeeded), {} tokens",
        stats.rounds, stats.calls, stats.succeeded, stats.tokens
    );

    // 2. The Responses API: the booking waits for approval.
    println!("--- responses, with review");
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Book a table for 2 at Chez Lili.")
        .build()?;
    let mut run = runner.run_responses(request).await;
    while let RunOutcome::NeedsReview = run.outcome() {
        let mut decisions = Vec::new();
        for call in run.pending() {
            println!(
                "  review: {}({}) needs review: {}",
                call.name(),
                call.raw_arguments(),
                call.needs_review()
            );
            // The application decides; here, parties of up to 6 are fine.
            let people = call.arguments().and_then(|a| a["people"].as_u64());
            let decision = match people {
                Some(n) if n <= 6 => Decision::Approve,
                _ => Decision::Reject("parties above 6 need a phone call".into()),
            };
            decisions.push((call.call_id().to_owned(), decision));
        }
        run = runner.resume_responses(run, decisions).await;
    }
    println!();
    match run.outcome() {
        RunOutcome::Completed => println!(
            "final answer: {}",
            run.conversation().final_text().unwrap_or_default()
        ),
        other => println!("the run stopped: {other:?}"),
    }
    Ok(())
}

// ------------------------------------------------------------ the stand-in

/// A model that asks for tools on the first turn and answers from their
/// outputs on the next.
async fn stand_in() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(|req: &Request| {
            let body: Value = req.body_json().unwrap_or_default();
            let messages = body["messages"].as_array().cloned().unwrap_or_default();
            let outputs: Vec<String> = messages
                .iter()
                .filter(|m| m["role"] == "tool")
                .filter_map(|m| m["content"].as_str().map(str::to_owned))
                .collect();
            let message = if outputs.is_empty() {
                json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_w", "type": "function", "function": {
                        "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_c", "type": "function", "function": {
                        "name": "convert_currency",
                        "arguments": "{\"amount\":40,\"from\":\"EUR\",\"to\":\"JPY\"}"}}]})
            } else {
                json!({"role": "assistant",
                    "content": format!("From the tools: {}", outputs.join("; "))})
            };
            let finish = if outputs.is_empty() {
                "tool_calls"
            } else {
                "stop"
            };
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(chat_stream(&message, finish))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(|req: &Request| {
            let body: Value = req.body_json().unwrap_or_default();
            let input = body["input"].as_array().cloned().unwrap_or_default();
            let output = input
                .iter()
                .find(|i| i["type"] == "function_call_output")
                .and_then(|i| i["output"].as_str().map(str::to_owned));
            let item = match output {
                None => json!({"type": "function_call", "id": "fc_1", "call_id": "call_b",
                    "name": "book_table", "status": "completed",
                    "arguments": "{\"restaurant\":\"Chez Lili\",\"people\":2}"}),
                Some(text) => json!({"type": "message", "id": "msg_1", "role": "assistant",
                    "status": "completed", "content": [{"type": "output_text",
                        "text": format!("Done: {text}."), "annotations": [], "logprobs": []}]}),
            };
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(responses_stream(item))
        })
        .mount(&server)
        .await;
    server
}

/// A chat completion stream: the text in two pieces, the calls, the end.
fn chat_stream(message: &Value, finish: &str) -> String {
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({"id": "chatcmpl-local", "object": "chat.completion.chunk", "created": 0,
            "model": "stand-in",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut chunks = vec![chunk(json!({"role": "assistant"}), None)];
    if let Some(text) = message["content"].as_str() {
        let mid = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        chunks.push(chunk(json!({"content": &text[..mid]}), None));
        chunks.push(chunk(json!({"content": &text[mid..]}), None));
    }
    if let Some(calls) = message["tool_calls"].as_array() {
        for (index, call) in calls.iter().enumerate() {
            let mut call = call.clone();
            call["index"] = json!(index);
            chunks.push(chunk(json!({"tool_calls": [call]}), None));
        }
    }
    chunks.push(chunk(json!({}), Some(finish)));
    sse(&chunks)
}

/// A Responses event stream with one output item.
fn responses_stream(item: Value) -> String {
    let mut events = vec![
        json!({"type": "response.output_item.added", "sequence_number": 0,
        "output_index": 0, "item": item}),
    ];
    if let Some(text) = item["content"][0]["text"].as_str() {
        // Announced empty, then its text as a delta.
        let mut empty = item.clone();
        empty["content"] = json!([]);
        empty["status"] = json!("in_progress");
        events[0]["item"] = empty;
        events.push(
            json!({"type": "response.content_part.added", "sequence_number": 1,
            "output_index": 0, "item_id": "msg_1", "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        );
        events.push(
            json!({"type": "response.output_text.delta", "sequence_number": 2,
            "output_index": 0, "item_id": "msg_1", "content_index": 0, "delta": text,
            "logprobs": []}),
        );
    }
    events.push(
        json!({"type": "response.output_item.done", "sequence_number": 3,
        "output_index": 0, "item": item}),
    );
    events.push(
        json!({"type": "response.completed", "sequence_number": 4, "response": {
        "id": "resp_local", "object": "response", "created_at": 0, "status": "completed",
        "model": "stand-in", "output": [item], "parallel_tool_calls": true,
        "tool_choice": "auto", "tools": [], "metadata": {}, "temperature": 1.0, "top_p": 1.0,
        "error": null, "incomplete_details": null, "instructions": null, "usage": null}}),
    );
    sse(&events)
}

fn sse(events: &[Value]) -> String {
    let mut out: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    out
}
