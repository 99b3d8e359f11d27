//! The realtime API over a WebSocket: a text session with typed events.
//! The session is configured, a user message added, a response asked for,
//! and its text printed as the deltas arrive.
//!
//! ```text
//! cargo run -p oai --example realtime --features realtime-ws
//! ```
//!
//! Runs against the API with `OPENAI_API_KEY`, otherwise against `oai-mock`,
//! which plays a scripted realtime session.

mod common;

use oai::realtime::{RealtimeConnect, RealtimeServerEvent};
use oai::types::RealtimeSessionCreateRequestGA as Session;
use oai::types::RealtimeSessionCreateRequestGAOutputModalitiesItem as Modality;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client_or_mock().await?;
    // The same key, organization, project (and Azure settings) as HTTP calls.
    let mut session = client
        .realtime()
        .connect(RealtimeConnect::model("gpt-realtime"))
        .await?;

    // The server speaks first: `session.created`.
    if let Some(event) = session.next_event().await {
        println!("server: {}", event?.tag().unwrap_or("(no type)"));
    }

    let sender = session.sender().clone();
    sender
        .update_session(Session {
            output_modalities: Some(vec![Modality::Text]),
            instructions: Some("Answer in one short sentence.".into()),
            ..Default::default()
        })
        .await?;
    sender.send_user_text("What is a WebSocket?").await?;
    sender.create_response().await?;

    print!("assistant: ");
    let turn = session
        .receiver()
        .collect_response_with(|event| {
            if let RealtimeServerEvent::ResponseOutputTextDelta(delta) = event {
                print!("{}", delta.delta);
            }
        })
        .await?;
    println!();
    println!(
        "  (response {}, {} characters; unknown event types seen: {})",
        turn.response_id.as_deref().unwrap_or("-"),
        turn.text.chars().count(),
        turn.unknown_events.len()
    );

    // A clean close: the server's answer is awaited, then the stream ends.
    session.close().await?;
    while let Some(event) = session.next_event().await {
        event?;
    }
    println!("session closed");
    Ok(())
}
