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
//! and prints the id to resume with. Without a key it starts a local stand-in
//! server and says so, so the example runs anywhere, with no key and no network.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oai::batch::{BatchInput, BatchRunner, BatchStage};
use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::types::{ChatCompletionRequestMessage as Message, CreateChatCompletionResponse};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const WORDS: [&str; 3] = ["ocean", "mountain", "forest"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _server; // keeps the stand-in alive until the end
    let (client, poll) = if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        (oai::Client::from_env()?, Duration::from_secs(10))
    } else {
        let server = local_stand_in().await;
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
        _server = server;
        (client, Duration::from_millis(200))
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

/// Answers the Files and Batch endpoints the way the API does: the batch is
/// `validating`, then `in_progress`, then `completed`, with one request
/// refused so that the error file has a line too.
async fn local_stand_in() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "file_in", "object": "file", "bytes": 0, "created_at": 0,
            "filename": "batch_input.jsonl", "purpose": "batch", "status": "processed"
        })))
        .mount(&server)
        .await;
    let batch = |status: &str, done: u32| {
        let mut b = json!({
            "id": "batch_local", "object": "batch", "endpoint": "/v1/chat/completions",
            "input_file_id": "file_in", "completion_window": "24h", "status": status,
            "created_at": 0, "request_counts": {"total": 3, "completed": done, "failed": 0}
        });
        if status == "completed" {
            b["request_counts"]["failed"] = json!(1);
            b["output_file_id"] = json!("file_out");
            b["error_file_id"] = json!("file_err");
        }
        b
    };
    Mock::given(method("POST"))
        .and(path("/v1/batches"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("validating", 0)))
        .mount(&server)
        .await;
    let polls = AtomicUsize::new(0);
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_local"))
        .respond_with(move |_: &Request| {
            let body = match polls.fetch_add(1, Ordering::SeqCst) {
                0 => batch("validating", 0),
                1 => batch("in_progress", 1),
                _ => batch("completed", 2),
            };
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    let answer = |id: &str, text: &str| {
        json!({"id": format!("batch_req_{id}"), "custom_id": id, "error": null, "response": {
            "status_code": 200, "request_id": format!("req_{id}"),
            "body": {"id": "chatcmpl-local", "object": "chat.completion", "created": 0,
                     "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
                     "logprobs": null, "message": {"role": "assistant", "content": text,
                     "refusal": null}}]}}})
        .to_string()
    };
    let output = format!(
        "{}\n{}\n",
        answer("mountain", "fountain (stand-in)"),
        answer("ocean", "motion (stand-in)")
    );
    let errors = json!({"id": "batch_req_forest", "custom_id": "forest", "error": null,
        "response": {"status_code": 429, "request_id": "req_forest", "body": {"error": {
            "message": "Rate limit reached (stand-in)", "type": "requests",
            "code": "rate_limit_exceeded"}}}})
    .to_string();
    for (file, body) in [("file_out", output), ("file_err", errors)] {
        Mock::given(method("GET"))
            .and(path(format!("/v1/files/{file}/content")))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
    }
    server
}
