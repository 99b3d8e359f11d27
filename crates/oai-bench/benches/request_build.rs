//! Request validation and serialization: a chat request of 200 messages and
//! 32 function tools, checked (`Validate`, as every client method does before
//! sending) and serialized (`serde_json::to_vec`), versus serialization alone.
// Benchmarks stop at the first failure, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use oai::builders::{CreateChatCompletionRequestBuilder, Validate};
use oai_bench::fixtures;

const MESSAGES: usize = 200;
const TOOLS: usize = 32;

fn request_build(c: &mut Criterion) {
    let request = fixtures::large_chat_request(MESSAGES, TOOLS);
    let parts = fixtures::large_chat_parts(MESSAGES, TOOLS);

    let mut group = c.benchmark_group("request_build");
    // What `create()` does before any I/O: check, then serialize.
    group.bench_function("ours", |b| {
        b.iter(|| {
            black_box(&request).validate().unwrap();
            serde_json::to_vec(black_box(&request)).unwrap()
        });
    });
    group.bench_function("validate", |b| {
        b.iter(|| black_box(&request).validate().unwrap());
    });
    // The builder path from owned parts: `new(...).tools(...).build()`.
    group.bench_function("builder_build", |b| {
        b.iter_batched(
            || parts.clone(),
            |(messages, tools)| {
                CreateChatCompletionRequestBuilder::new(messages, "gpt-4o")
                    .tools(tools)
                    .temperature(0.3)
                    .build()
                    .unwrap()
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("bare", |b| {
        b.iter(|| serde_json::to_vec(black_box(&request)).unwrap());
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = request_build
}
criterion_main!(benches);
