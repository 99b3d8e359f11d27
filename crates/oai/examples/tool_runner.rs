//! The tool runner: a conversation in which the model calls two Rust
//! functions, then answers with what they returned; then the same with the
//! Responses API and a tool that needs the application's approval.
//!
//! ```text
//! cargo run -p oai --example tool_runner
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts `oai-mock` on 127.0.0.1 and says so, so the example
//! runs anywhere, with no key and no network: its model is scripted to ask
//! for the tools, and the example shows what the tools sent back to it.

mod common;

use std::time::Duration;

use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::structured::JsonSchema;
use oai::tools::{Decision, Policy, RunEvent, RunOutcome, ToolRegistry, ToolRunner};
use oai::types::ChatCompletionRequestMessage as Message;
use oai_mock::ToolCall;
use serde::Deserialize;
use serde_json::json;

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
    let (client, mock) = common::client_or_mock().await?;
    if let Some(mock) = &mock {
        // The fake model: chat asks for two tools, then answers; the
        // Responses API asks for a booking, then confirms it.
        mock.chat().tool_calls([
            ToolCall::new("get_weather", json!({"city": "Paris"})),
            ToolCall::new(
                "convert_currency",
                json!({"amount": 40, "from": "EUR", "to": "JPY"}),
            ),
        ]);
        mock.chat()
            .text("It is 18 °C and clear in Paris; 40 EUR is 6500 JPY.");
        mock.responses().tool_calls([ToolCall::new(
            "book_table",
            json!({"restaurant": "Chez Lili", "people": 2}),
        )]);
        mock.responses()
            .text("Your table for 2 at Chez Lili is booked.");
    }

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
    if let Some(mock) = &mock {
        // What the runner sent back to the model: one `tool` message per call.
        let last = mock
            .requests()
            .into_iter()
            .rfind(|r| r.path == "/v1/chat/completions")
            .and_then(|r| r.json())
            .unwrap_or_default();
        for message in last["messages"].as_array().into_iter().flatten() {
            if message["role"] == "tool" {
                println!(
                    "  sent back for {}: {}",
                    message["tool_call_id"].as_str().unwrap_or("?"),
                    message["content"].as_str().unwrap_or("?")
                );
            }
        }
    }

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
            decisions.push((call.token(), decision));
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
