//! The generated types against hand-written ones, on the payloads alone (the
//! event stream already cut, so only `serde_json` and the type's
//! `Deserialize` are measured).
//!
//! - `type_decode_chat`: the 10,000 chunks of the chat stream fixture into
//!   `CreateChatCompletionStreamResponse` (`generated`), into the hand-written
//!   chunk of `oai_bench::handwritten` (`handwritten`: every field, plain
//!   derive, nothing tolerated, unknown fields dropped) and into the same
//!   chunk with a `#[serde(flatten)]` map of unknown fields on each struct
//!   (`handwritten_flatten`).
//! - `type_decode_text_delta`: the text deltas of the Responses stream fixture
//!   into `ResponseTextDeltaEvent` (`generated`), into the hand-written event
//!   (`handwritten`) and through the `ResponseStreamEvent` union (`union`).
//!
//! `cargo xtask bench` runs this bench twice, as users build the types and
//! with `--cfg oai_strict` (required fields must be present, no value is
//! coerced), and reports what tolerant decoding costs.
// Benchmarks stop at the first failure, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oai::types::{CreateChatCompletionStreamResponse, ResponseStreamEvent, ResponseTextDeltaEvent};
use oai_bench::{bare, fixtures, handwritten};
use serde::de::DeserializeOwned;

const EVENTS: usize = 10_000;

/// The `data:` payloads of a stream, `[DONE]` left out, optionally only the
/// events named `name`.
fn payloads(bytes: &[u8], name: Option<&[u8]>) -> Vec<Vec<u8>> {
    bare::events(bytes)
        .filter(|ev| ev.data != b"[DONE]" && (name.is_none() || ev.event == name))
        .map(|ev| ev.data.to_vec())
        .collect()
}

fn decode_all<T: DeserializeOwned>(payloads: &[Vec<u8>]) -> usize {
    for p in payloads {
        black_box(serde_json::from_slice::<T>(p).unwrap());
    }
    payloads.len()
}

fn chat(c: &mut Criterion) {
    let bytes = fixtures::join(&fixtures::chat_stream(EVENTS));
    let chunks = payloads(&bytes, None);
    assert_eq!(chunks.len(), EVENTS);
    // The hand-written chunk reads the same text as the generated one.
    for p in chunks.iter().take(3) {
        let ours: CreateChatCompletionStreamResponse = serde_json::from_slice(p).unwrap();
        let theirs: handwritten::ChatChunk = serde_json::from_slice(p).unwrap();
        assert_eq!(ours.id, theirs.id);
        assert_eq!(
            ours.choices[0].delta.content,
            theirs.choices[0].delta.content
        );
    }

    let mut group = c.benchmark_group("type_decode_chat");
    group.sample_size(30);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("generated", |b| {
        b.iter(|| decode_all::<CreateChatCompletionStreamResponse>(black_box(&chunks)));
    });
    group.bench_function("handwritten", |b| {
        b.iter(|| decode_all::<handwritten::ChatChunk>(black_box(&chunks)));
    });
    group.bench_function("handwritten_flatten", |b| {
        b.iter(|| decode_all::<handwritten::flattened::ChatChunk>(black_box(&chunks)));
    });
    group.finish();
}

fn text_delta(c: &mut Criterion) {
    let bytes = fixtures::join(&fixtures::responses_stream(EVENTS));
    let deltas = payloads(&bytes, Some(b"response.output_text.delta"));
    assert!(deltas.len() > EVENTS / 2);
    let n = deltas.len() as u64;

    let mut group = c.benchmark_group("type_decode_text_delta");
    group.sample_size(30);
    group.throughput(Throughput::Elements(n));
    group.bench_function("generated", |b| {
        b.iter(|| decode_all::<ResponseTextDeltaEvent>(black_box(&deltas)));
    });
    group.bench_function("handwritten", |b| {
        b.iter(|| decode_all::<handwritten::TextDelta>(black_box(&deltas)));
    });
    group.bench_function("union", |b| {
        b.iter(|| decode_all::<ResponseStreamEvent>(black_box(&deltas)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = chat, text_delta
}
criterion_main!(benches);
