//! Structured outputs: asks for a Rust type, gets a Rust value back, with chat
//! completions and with the Responses API.
//!
//! ```text
//! cargo run -p oai --example structured_outputs
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts a local stand-in server on 127.0.0.1 and says so, so
//! the example runs anywhere, with no key and no network.

use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::structured::{JsonSchema, ParseError, ParseExt};
use oai::types::ChatCompletionRequestMessage as Message;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

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
    Ok(())
}

/// The answer the stand-in gives, when the request carries a strict schema.
fn canned_event() -> String {
    json!({
        "name": "Science fair",
        "date": "Friday",
        "participants": ["Alice", "Bob"],
        "location": null,
        "kind": "trip",
    })
    .to_string()
}

/// A 400 like the API's when the request has no strict `json_schema` format.
fn refuse_non_strict(format: &Value) -> Option<ResponseTemplate> {
    let strict = format["type"] == "json_schema"
        && format["strict"] == true
        && format["schema"]["additionalProperties"] == false;
    (!strict).then(|| {
        ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "the stand-in expects a strict json_schema format",
            "type": "invalid_request_error", "param": null, "code": null}}))
    })
}

async fn stand_in() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(|req: &Request| {
            let body: Value = req.body_json().unwrap_or_default();
            let format = &body["response_format"];
            let mut flat = format["json_schema"].clone();
            flat["type"] = format["type"].clone();
            if let Some(refusal) = refuse_non_strict(&flat) {
                return refusal;
            }
            ResponseTemplate::new(200).set_body_json(json!({
                "id": "chatcmpl-local", "object": "chat.completion", "created": 0,
                "model": "stand-in",
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                    "message": {"role": "assistant", "content": canned_event(), "refusal": null}}]
            }))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(|req: &Request| {
            let body: Value = req.body_json().unwrap_or_default();
            if let Some(refusal) = refuse_non_strict(&body["text"]["format"]) {
                return refusal;
            }
            ResponseTemplate::new(200).set_body_json(json!({
                "id": "resp_local", "object": "response", "created_at": 0, "status": "completed",
                "model": "stand-in", "error": null, "incomplete_details": null,
                "instructions": null, "metadata": null, "temperature": null, "top_p": null,
                "tools": [], "tool_choice": "auto", "parallel_tool_calls": true,
                "output": [{"type": "message", "id": "msg_local", "role": "assistant",
                    "status": "completed", "content": [{"type": "output_text",
                    "text": canned_event(), "annotations": [], "logprobs": []}]}]
            }))
        })
        .mount(&server)
        .await;
    server
}
