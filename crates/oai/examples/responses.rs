//! The Responses API: one response, then the same question streamed, with the
//! text printed as it arrives.
//!
//! ```text
//! cargo run -p oai --example responses
//! ```
//!
//! Runs against the API with `OPENAI_API_KEY`, otherwise against `oai-mock`.

mod common;

use std::io::Write;

use futures_util::StreamExt;
use oai::accumulate::{AccumulateExt, StreamEvent};
use oai::builders::CreateResponseBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client_or_mock().await?;

    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .instructions("Answer in one sentence.")
        .input("Why is the sky blue?")
        .build()?;
    let response = client.responses().create(request.clone()).await?;
    println!("response {} ({:?}):", response.id, response.status);
    println!("  {}", response.output_text());

    // Streamed: every event is ours; the accumulator rebuilds the response.
    print!("streamed: ");
    let mut events = client
        .responses()
        .create(request)
        .stream()
        .await?
        .accumulate();
    while let Some(event) = events.next().await {
        if let Some(delta) = event?.text_delta() {
            print!("{delta}");
            std::io::stdout().flush()?;
        }
    }
    let response = events.into_final()?;
    println!(
        "\n  final status {:?}, {} output items",
        response.status,
        response.output.len()
    );
    Ok(())
}
