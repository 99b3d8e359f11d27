//! Embedding a corpus: concurrent calls held under the server's rate limits by
//! a `RateLimiter`, vectors decoded from base64 straight to `f32`, and the
//! rate-limit headers of an answer.
//!
//! ```text
//! cargo run -p oai --example embeddings
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts a local stand-in that allows 20 requests per second
//! and says so, so the example runs anywhere.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use oai::builders::CreateEmbeddingRequestBuilder;
use oai::{Client, Config, RateLimiter};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A stand-in allowing `limit` requests per second, reporting it as the API does.
struct StandIn {
    limit: usize,
    seen: Mutex<Vec<Instant>>,
}

impl Respond for StandIn {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return ResponseTemplate::new(500);
        };
        seen.retain(|t| now.duration_since(*t) < Duration::from_secs(1));
        if seen.len() >= self.limit {
            return ResponseTemplate::new(429)
                .insert_header("retry-after-ms", "200")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
                );
        }
        seen.push(now);
        // Three dimensions as base64 little-endian f32: [0.5, -1.0, 2.0].
        ResponseTemplate::new(200)
            .insert_header("x-ratelimit-limit-requests", self.limit.to_string())
            .insert_header(
                "x-ratelimit-remaining-requests",
                (self.limit - seen.len()).to_string(),
            )
            .insert_header("x-ratelimit-reset-requests", "1s")
            .set_body_json(json!({"object": "list", "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": "AAAAPwAAgL8AAABA"}],
                "usage": {"prompt_tokens": 3, "total_tokens": 3}}))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limiter = RateLimiter::new().max_concurrent(16);
    let mut _stand_in = None;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        Client::new(
            oai::ConfigBuilder::from_env()
                .rate_limiter(limiter.clone())
                .build()?,
        )?
    } else {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(StandIn {
                limit: 20,
                seen: Mutex::new(Vec::new()),
            })
            .mount(&server)
            .await;
        println!(
            "OPENAI_API_KEY is not set: using a local stand-in server at {} (20 requests/s).",
            server.uri()
        );
        let client = Client::new(
            Config::builder()
                .api_key("sk-local-demo")
                .base_url(format!("{}/v1", server.uri()))
                .rate_limiter(limiter.clone())
                .build()?,
        )?;
        _stand_in = Some(server);
        client
    };

    // One call, with its rate-limit headers.
    let request =
        CreateEmbeddingRequestBuilder::new("The quick brown fox", "text-embedding-3-small")
            .build()?;
    let first = client.embeddings().create(request).with_meta().await?;
    let vector = first.data.data[0].embedding.clone().into_f32();
    println!(
        "{} dimensions, starting {:?}",
        vector.len(),
        &vector[..vector.len().min(3)]
    );
    println!("rate limits reported: {:?}", first.meta.rate_limit());

    // A corpus: 50 concurrent calls; the limiter keeps them under the limit.
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
