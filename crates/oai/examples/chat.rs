//! Chat completions: a question, the answer, and a follow-up that carries the
//! conversation so far.
//!
//! ```text
//! cargo run -p oai --example chat
//! ```
//!
//! Runs against the API with `OPENAI_API_KEY`, otherwise against `oai-mock`.

mod common;

use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::types::ChatCompletionRequestMessage as Message;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client_or_mock().await?;

    let mut messages = vec![
        Message::system("You answer in one short sentence."),
        Message::user("What is the capital of Portugal?"),
    ];
    let request = Chat::new(messages.clone(), "gpt-4o-mini")
        .temperature(0.2)
        .max_completion_tokens(100)
        .build()?;
    // `with_meta` also gives the request id and the rate-limit headers.
    let oai::WithMeta { data: answer, meta } = client
        .chat()
        .completions()
        .create(request)
        .with_meta()
        .await?;
    let text = answer
        .choices
        .first()
        .and_then(|c| c.message.content.clone())
        .unwrap_or_default();
    println!("assistant: {text}");
    println!(
        "  (request id {}, {} tokens)",
        meta.request_id().unwrap_or("-"),
        answer.usage.as_ref().map_or(0, |u| u.total_tokens)
    );

    // The follow-up sends the whole conversation back.
    messages.push(Message::assistant(text));
    messages.push(Message::user("And of Spain?"));
    let request = Chat::new(messages, "gpt-4o-mini").build()?;
    let answer = client.chat().completions().create(request).await?;
    if let Some(text) = answer
        .choices
        .first()
        .and_then(|c| c.message.content.as_deref())
    {
        println!("assistant: {text}");
    }
    Ok(())
}
