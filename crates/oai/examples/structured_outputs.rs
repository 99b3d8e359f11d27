//! Structured outputs: asks for a Rust type, gets a Rust value back, with chat
//! completions and with the Responses API.
//!
//! ```text
//! cargo run -p oai --example structured_outputs
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts `oai-mock` on 127.0.0.1 and says so, so the example
//! runs anywhere, with no key and no network; there it also checks that both
//! requests carried a strict JSON schema.

mod common;

use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::structured::{JsonSchema, ParseError, ParseExt};
use oai::types::ChatCompletionRequestMessage as Message;
use serde::Deserialize;
use serde_json::{Value, json};

/// An event mentioned in a text.
#[derive(Debug, Deserialize, JsonSchema)]
struct CalendarEvent {
    /// A short title.
    name: String,
    /// The day, as written in the text.
    date: String,
    participants: Vec<String>,
    /// Where it happens, when the text says.
    location: Option<String>,
    kind: EventKind,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum EventKind {
    Meeting,
    Party,
    Trip,
}

const TEXT: &str = "Alice and Bob are going to a science fair on Friday.";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = common::client_or_mock().await?;
    if let Some(mock) = &mock {
        // The fake model answers both calls with this event.
        let event = json!({
            "name": "Science fair",
            "date": "Friday",
            "participants": ["Alice", "Bob"],
            "location": null,
            "kind": "trip",
        });
        mock.chat().json(event.clone());
        mock.responses().json(event);
    }

    // The strict schema sent to the API, derived from the type.
    let schema = oai::structured::strict_schema_for::<CalendarEvent>()?;
    println!("strict schema:\n{}", serde_json::to_string_pretty(&schema)?);

    // Chat completions: `response_format` from the type, `parse` on the answer.
    let request = Chat::new(
        vec![
            Message::system("Extract the event information."),
            Message::user(TEXT),
        ],
        "gpt-4o-mini",
    )
    .response_format(oai::structured::response_format::<CalendarEvent>()?)
    .build()?;
    let answer = client.chat().completions().create(request).await?;
    match answer.parse::<CalendarEvent>() {
        Ok(event) => println!("chat completions: {event:#?}"),
        Err(ParseError::Refusal { refusal }) => println!("the model refused: {refusal}"),
        Err(e) => return Err(e.into()),
    }

    // The Responses API: the `text` parameter from the type.
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .instructions("Extract the event information.")
        .input(TEXT)
        .text(oai::structured::text_param::<CalendarEvent>()?)
        .build()?;
    let response = client.responses().create(request).await?;
    let event: CalendarEvent = response.parse()?;
    println!(
        "responses: {} ({:?}) on {} with {:?}, at {}",
        event.name,
        event.kind,
        event.date,
        event.participants,
        event.location.as_deref().unwrap_or("an unsaid place")
    );

    // What the fake server received: both formats strict, with the schema.
    if let Some(mock) = &mock {
        for request in mock.requests() {
            let body = request.json().unwrap_or_default();
            let format = match request.path.as_str() {
                "/v1/chat/completions" => {
                    let mut flat = body["response_format"]["json_schema"].clone();
                    flat["type"] = body["response_format"]["type"].clone();
                    flat
                }
                _ => body["text"]["format"].clone(),
            };
            println!(
                "{} sent format {} named {}: strict {}",
                request.path,
                format["type"],
                format["name"],
                is_strict(&format)
            );
            if !is_strict(&format) {
                return Err(format!("{} was sent a non-strict format", request.path).into());
            }
        }
    }
    Ok(())
}

/// A `json_schema` format with `strict: true` and a closed object schema.
fn is_strict(format: &Value) -> bool {
    format["type"] == "json_schema"
        && format["strict"] == true
        && format["schema"]["additionalProperties"] == false
}
