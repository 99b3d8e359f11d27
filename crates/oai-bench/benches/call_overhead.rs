//! Per-call overhead: `client.chat().completions().create()` against a local
//! server returning a fixed completion, versus a bare `reqwest` POST and
//! `serde_json` parse of the same answer from the same server.
//!
//! Both clients keep their connection alive between calls (reqwest's pool);
//! criterion's warm-up opens it before measuring. Budget: ours <= 1.05x bare.
//!
//! Two more figures say where a difference comes from: `ours_raw` sends the
//! same body through the client's raw request builder (no request checks, no
//! boxed `Call` future), and `bare_timeout` is the bare call under a tokio
//! timeout, as the client puts every call under its request timeout.
// Benchmarks stop at the first failure, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use oai::types::CreateChatCompletionResponse;
use oai_bench::fixtures;
use oai_bench::server::{Reply, Server};

fn call_overhead(c: &mut Criterion) {
    let server = Server::start(Reply::Json(fixtures::chat_completion())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-bench")
            .base_url(server.base_url())
            .build()
            .unwrap(),
    )
    .unwrap();
    let bare = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.base_url());
    let request = fixtures::small_chat_request();

    let mut group = c.benchmark_group("call_overhead");
    group.bench_function("ours", |b| {
        b.to_async(&rt).iter_batched(
            || request.clone(),
            |request| {
                let client = &client;
                async move { client.chat().completions().create(request).await.unwrap() }
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("ours_raw", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post("/chat/completions")
                .json(&request)
                .send::<CreateChatCompletionResponse>()
                .await
                .unwrap()
        });
    });
    group.bench_function("bare_timeout", |b| {
        b.to_async(&rt).iter(|| async {
            tokio::time::timeout(Duration::from_secs(600), async {
                let response = bare
                    .post(&url)
                    .bearer_auth("sk-bench")
                    .json(&request)
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap();
                let body = response.bytes().await.unwrap();
                serde_json::from_slice::<CreateChatCompletionResponse>(&body).unwrap()
            })
            .await
            .unwrap()
        });
    });
    group.bench_function("bare", |b| {
        b.to_async(&rt).iter(|| async {
            let response = bare
                .post(&url)
                .bearer_auth("sk-bench")
                .json(&request)
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap();
            let body = response.bytes().await.unwrap();
            serde_json::from_slice::<CreateChatCompletionResponse>(&body).unwrap()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = call_overhead
}
criterion_main!(benches);
