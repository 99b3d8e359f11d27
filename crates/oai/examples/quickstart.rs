//! The first five minutes: a streamed answer, a tool call through the tool
//! runner, and a structured output parsed into a Rust type.
//!
//! ```text
//! cargo run -p oai --example quickstart
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts `oai-mock`, the crate's in-process fake server, on
//! 127.0.0.1 and says so on its first line, so it runs anywhere: no key, no
//! network.

mod common;

use std::io::Write;

use futures_util::StreamExt;
use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::structured::{JsonSchema, ParseExt};
use oai::tools::{RunEvent, RunOutcome, ToolRegistry, ToolRunner};
use oai::types::ChatCompletionRequestMessage as Message;
use serde::Deserialize;
use serde_json::json;

/// The arguments of the `get_weather` tool.
#[derive(Debug, Deserialize, JsonSchema)]
struct WeatherQuery {
    /// The city, e.g. "Lisbon".
    city: String,
}

/// A structured answer: the model fills these fields.
#[derive(Debug, Deserialize, JsonSchema)]
struct Recipe {
    name: String,
    minutes: u32,
    ingredients: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = common::client_or_mock().await?;
    let model = "gpt-4o-mini";

    // 1. A streamed answer, printed as it arrives.
    println!("\n1. streaming");
    let request = Chat::new(
        Message::user("Say hello to a Rust developer in one sentence."),
        model,
    )
    .build()?;
    let mut stream = client.chat().completions().create(request).stream().await?;
    let mut out = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            write!(out, "{}", choice.delta.content.unwrap_or_default())?;
            out.flush()?;
        }
    }
    println!();

    // 2. A tool call: the model can only reach the registered Rust function,
    //    with arguments checked against its schema first.
    println!("\n2. a tool call through the tool runner");
    if let Some(mock) = &mock {
        // The fake model asks for the tool, then answers with its output.
        mock.chat().tool_calls([oai_mock::ToolCall::new(
            "get_weather",
            json!({"city": "Lisbon"}),
        )]);
        mock.chat().text("It is 21 °C and sunny in Lisbon.");
    }
    let mut tools = ToolRegistry::new();
    tools.register(
        "get_weather",
        "Current weather of a city",
        |q: WeatherQuery| async move {
            Ok::<_, String>(json!({"city": q.city, "celsius": 21, "sky": "sunny"}))
        },
    )?;
    let runner = ToolRunner::new(client.clone(), tools).on_event(|event| match event {
        RunEvent::TextDelta(text) => print!("{text}"),
        RunEvent::CallFinished(call) => {
            println!("  [ran {} -> {}]", call.name, call.outcome.label());
        }
        _ => {}
    });
    let request = Chat::new(Message::user("What is the weather in Lisbon?"), model).build()?;
    let run = runner.run_chat(request).await;
    println!();
    match run.outcome() {
        RunOutcome::Completed => println!("({} rounds)", run.stats().rounds),
        other => println!("the run stopped: {other:?}"),
    }

    // 3. A structured output: a JSON schema from a Rust type, the answer
    //    parsed back into it.
    println!("\n3. a structured output");
    if let Some(mock) = &mock {
        mock.chat().json(json!({
            "name": "Pancakes", "minutes": 20,
            "ingredients": ["flour", "milk", "eggs"],
        }));
    }
    let request = Chat::new(Message::user("A quick pancake recipe."), model)
        .response_format(oai::structured::response_format::<Recipe>()?)
        .build()?;
    let recipe: Recipe = client.chat().completions().create(request).await?.parse()?;
    println!(
        "{} in {} minutes, with {}",
        recipe.name,
        recipe.minutes,
        recipe.ingredients.join(", ")
    );
    Ok(())
}
