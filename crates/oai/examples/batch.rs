//! Runs chat completions through the Batch API and prints each result by
//! `custom_id`.
//!
//! ```text
//! cargo run -p oai --example batch                 # submit, wait, print
//! cargo run -p oai --example batch -- resume ID    # wait for batch ID, print
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`); a
//! real batch can take up to 24 hours, so after 10 minutes the example stops
//! and prints the id to resume with. Without a key it starts `oai-mock` and
//! says so, so the example runs anywhere, with no key and no network: its
//! batches move on at each poll and answer every line (and are forgotten
//! when the example ends, so `resume` is for the real API).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use oai::batch::{BatchInput, BatchRunner, BatchStage};
use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::types::{ChatCompletionRequestMessage as Message, CreateChatCompletionResponse};

const WORDS: [&str; 3] = ["ocean", "mountain", "forest"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = common::client_or_mock().await?;
    // The fake server's batches finish in seconds, not hours.
    let poll = if mock.is_some() {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(10)
    };

    let runner = BatchRunner::new(&client)
        .metadata(BTreeMap::from([("example".to_owned(), "oai".to_owned())]))
        .poll_interval(poll)
        .max_poll_interval(poll * 6)
        .max_wait(Duration::from_secs(600))
        .on_progress(|b| {
            let counts = b
                .request_counts
                .as_ref()
                .map(|c| format!("{}/{} done, {} failed", c.completed, c.total, c.failed))
                .unwrap_or_default();
            println!("  {}: {} {counts}", b.id, b.status);
        });

    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [cmd, id] if cmd == "resume" => {
            println!("resuming batch {id}");
            runner.resume::<CreateChatCompletionResponse>(id).await
        }
        _ => {
            // One request per word; the custom_id is how results come back.
            let input = BatchInput::new(WORDS.map(|word| {
                let ask = Message::user(format!("Give one word that rhymes with {word}."));
                (
                    word,
                    Chat::new(ask, "gpt-4o-mini")
                        .max_completion_tokens(10)
                        .into_inner(),
                )
            }))?;
            println!(
                "submitting {} requests ({} bytes of JSONL)",
                input.len(),
                input.jsonl().len()
            );
            runner.run(&input).await
        }
    };

    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("batch failed: {e}");
            if let (BatchStage::Poll | BatchStage::Timeout, Some(id)) = (e.stage(), e.batch_id()) {
                eprintln!("nothing is lost: run again with `-- resume {id}`");
            }
            return Err(e.into());
        }
    };
    println!("batch {} ended {}", outcome.batch.id, outcome.batch.status);
    for item in outcome.results.iter() {
        match &item.result {
            Ok(answer) => {
                let text = answer
                    .choices
                    .first()
                    .and_then(|c| c.message.content.as_deref())
                    .unwrap_or("");
                println!("{:>9}: {text}", item.custom_id);
            }
            Err(e) => println!("{:>9}: failed: {e}", item.custom_id),
        }
    }
    Ok(())
}
