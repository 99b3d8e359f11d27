//! Rate limits: the parsed `x-ratelimit-*` headers on every answer
//! (`Call::with_meta`, streams), and the optional limiter that keeps a burst of
//! concurrent calls under the limit a server enforces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use oai::{Client, Config, RateLimiter, RequestOptions};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const EMBEDDING: &str = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPw=="}],"model":"e","usage":{"prompt_tokens":1,"total_tokens":1}}"#;

fn client(server: &MockServer, limiter: Option<RateLimiter>) -> Client {
    let mut b = Config::builder()
        .api_key("sk-rl")
        .base_url(format!("{}/v1", server.uri()))
        .max_retries(0);
    if let Some(l) = limiter {
        b = b.rate_limiter(l);
    }
    Client::new(b.build().unwrap()).unwrap()
}

fn embed_request() -> oai::types::CreateEmbeddingRequest {
    serde_json::from_value(json!({"model": "text-embedding-3-small", "input": "hello"})).unwrap()
}

#[tokio::test]
async fn with_meta_exposes_the_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(EMBEDDING, "application/json")
                .insert_header("x-ratelimit-limit-requests", "3000")
                .insert_header("x-ratelimit-remaining-requests", "2999")
                .insert_header("x-ratelimit-limit-tokens", "1000000")
                .insert_header("x-ratelimit-remaining-tokens", "999990")
                .insert_header("x-ratelimit-reset-requests", "20ms")
                .insert_header("x-ratelimit-reset-tokens", "1m30.5s")
                .insert_header("x-request-id", "req_123"),
        )
        .mount(&server)
        .await;
    let c = client(&server, None);
    let answer = c
        .embeddings()
        .create(embed_request())
        .with_meta()
        .await
        .unwrap();
    assert_eq!(answer.data.data[0].embedding.as_f32(), Some(&[1.0f32][..]));
    let rl = answer.meta.rate_limit();
    assert_eq!(rl.limit_requests, Some(3000));
    assert_eq!(rl.remaining_requests, Some(2999));
    assert_eq!(rl.limit_tokens, Some(1_000_000));
    assert_eq!(rl.remaining_tokens, Some(999_990));
    assert_eq!(rl.reset_requests, Some(Duration::from_millis(20)));
    assert_eq!(rl.reset_tokens, Some(Duration::from_millis(90_500)));
    assert_eq!(answer.meta.request_id(), Some("req_123"));
    assert_eq!(answer.meta.status().as_u16(), 200);
}

#[tokio::test]
async fn streams_expose_the_headers_too() {
    let server = MockServer::start().await;
    let chunk = r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    format!("data: {chunk}\n\ndata: [DONE]\n\n"),
                    "text/event-stream",
                )
                .insert_header("x-ratelimit-remaining-tokens", "42"),
        )
        .mount(&server)
        .await;
    let c = client(&server, None);
    let req: oai::types::CreateChatCompletionRequest = serde_json::from_value(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .unwrap();
    let mut s = c.chat().completions().create(req).stream().await.unwrap();
    assert_eq!(s.meta().rate_limit().remaining_tokens, Some(42));
    while let Some(x) = s.next().await {
        x.unwrap();
    }
}

#[tokio::test]
async fn per_call_options_apply_to_that_call_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-trace", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(EMBEDDING, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, None);
    c.embeddings()
        .create(embed_request())
        .options(RequestOptions::new().header("x-trace", "abc"))
        .await
        .unwrap();
    // Without the option the header is absent and nothing matches.
    assert!(c.embeddings().create(embed_request()).await.is_err());
}

/// A server enforcing `limit` requests per sliding `window`, reporting its
/// state in the headers the API uses and answering 429 past the limit.
struct Enforcing {
    limit: usize,
    window: Duration,
    seen: Mutex<Vec<Instant>>,
    rejected: Arc<Mutex<usize>>,
}

impl Respond for Enforcing {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap();
        seen.retain(|t| now.duration_since(*t) < self.window);
        let fmt = |d: Duration| format!("{}ms", d.as_millis().max(1));
        if seen.len() >= self.limit {
            *self.rejected.lock().unwrap() += 1;
            let oldest = seen[0];
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            return ResponseTemplate::new(429)
                .insert_header("retry-after-ms", wait.as_millis().max(1).to_string())
                .insert_header("x-ratelimit-limit-requests", self.limit.to_string())
                .insert_header("x-ratelimit-remaining-requests", "0")
                .insert_header("x-ratelimit-reset-requests", fmt(wait))
                .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}));
        }
        seen.push(now);
        // Back to full once the newest request leaves the window.
        let full_in = self.window;
        ResponseTemplate::new(200)
            .set_body_raw(EMBEDDING, "application/json")
            .insert_header("x-ratelimit-limit-requests", self.limit.to_string())
            .insert_header(
                "x-ratelimit-remaining-requests",
                (self.limit - seen.len()).to_string(),
            )
            .insert_header("x-ratelimit-reset-requests", fmt(full_in))
    }
}

async fn burst(limiter: Option<RateLimiter>, n: usize) -> (usize, usize) {
    let server = MockServer::start().await;
    let rejected = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(Enforcing {
            limit: 5,
            window: Duration::from_millis(200),
            seen: Mutex::new(Vec::new()),
            rejected: rejected.clone(),
        })
        .mount(&server)
        .await;
    let c = client(&server, limiter);
    let calls = (0..n).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.embeddings().create(embed_request()).await })
    });
    let results = futures_util::future::join_all(calls).await;
    let ok = results
        .into_iter()
        .filter(|r| matches!(r, Ok(Ok(_))))
        .count();
    let rejected = *rejected.lock().unwrap();
    (ok, rejected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_keeps_a_burst_under_the_servers_limit() {
    // Without a limiter, a burst bounces off the limit.
    let (ok, rejected) = burst(None, 30).await;
    assert!(
        rejected > 0,
        "the server should have refused part of an unlimited burst"
    );
    assert_eq!(ok + rejected, 30);

    // With one, every call goes through and none is refused.
    let limiter = RateLimiter::new();
    let started = Instant::now();
    let (ok, rejected) = burst(Some(limiter.clone()), 30).await;
    assert_eq!((ok, rejected), (30, 0), "stats: {:?}", limiter.stats());
    let stats = limiter.stats();
    assert_eq!(stats.acquired, 30);
    assert!(stats.delayed > 0);
    assert_eq!(stats.throttled, 0);
    // 30 calls at 5 per 200 ms take at least 5 windows.
    assert!(started.elapsed() >= Duration::from_millis(1000));
    // The limiter's view follows the headers.
    assert_eq!(limiter.snapshot().limit_requests, Some(5));
}

#[tokio::test]
async fn a_429_teaches_the_limiter_to_wait() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after-ms", "300")
                .set_body_json(json!({"error": {"message": "slow down", "type": "requests"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(EMBEDDING, "application/json"))
        .mount(&server)
        .await;
    let limiter = RateLimiter::new();
    let c = client(&server, Some(limiter.clone()));
    let err = c.embeddings().create(embed_request()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    let started = Instant::now();
    c.embeddings().create(embed_request()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(limiter.stats().throttled, 1);
}
