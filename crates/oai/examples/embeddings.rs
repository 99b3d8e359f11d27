//! Embedding a corpus: concurrent calls held under the server's rate limits by
//! a `RateLimiter`, vectors decoded from base64 straight to `f32`, and the
//! rate-limit headers of an answer.
//!
//! ```text
//! cargo run -p oai --example embeddings
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts `oai-mock` and says so, so the example runs anywhere;
//! there the corpus's first calls meet scripted 429s, as a busy key would.

mod common;

use std::time::{Duration, Instant};

use oai::RateLimiter;
use oai::builders::CreateEmbeddingRequestBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limiter = RateLimiter::new().max_concurrent(16);
    let (client, mock) =
        common::client_or_mock_with(|config| config.rate_limiter(limiter.clone())).await?;

    // One call, with its rate-limit headers.
    let request =
        CreateEmbeddingRequestBuilder::new("The quick brown fox", "text-embedding-3-small")
            .build()?;
    let first = client.embeddings().create(request).with_meta().await?;
    let vector = first
        .data
        .data
        .first()
        .map(|e| e.embedding.clone().into_f32())
        .ok_or("the answer holds no embedding")?;
    println!(
        "{} dimensions, starting {:?}",
        vector.len(),
        &vector[..vector.len().min(3)]
    );
    println!("rate limits reported: {:?}", first.meta.rate_limit());

    // A corpus: 50 concurrent calls; the limiter keeps them under the limit,
    // and a 429 holds every caller back until its `retry-after`.
    if let Some(mock) = &mock {
        for _ in 0..2 {
            mock.on("POST", "/v1/embeddings").error_with_retry_after(
                429,
                "Rate limit reached for requests",
                Duration::from_millis(300),
            );
        }
    }
    let corpus: Vec<String> = (0..50).map(|i| format!("document number {i}")).collect();
    let started = Instant::now();
    let mut requests = Vec::new();
    for text in corpus {
        requests.push(CreateEmbeddingRequestBuilder::new(text, "text-embedding-3-small").build()?);
    }
    let tasks = requests.into_iter().map(|request| {
        let client = client.clone();
        tokio::spawn(async move {
            let answer = client.embeddings().create(request).await?;
            Ok::<_, oai::Error>(
                answer
                    .data
                    .into_iter()
                    .map(|e| e.embedding.into_f32())
                    .collect::<Vec<_>>(),
            )
        })
    });
    let mut ok = 0;
    for result in futures_util::future::join_all(tasks).await {
        match result {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => println!("call failed: {e}"),
            Err(e) => println!("task failed: {e}"),
        }
    }
    let stats = limiter.stats();
    println!(
        "{ok}/50 embedded in {:.1?}; {} calls held back for {:.1?} in total, {} answers were 429",
        started.elapsed(),
        stats.delayed,
        stats.waited,
        stats.throttled
    );
    Ok(())
}
