//! Large responses: 2,048 embeddings of 1,536 values, as JSON numbers and as
//! base64, decoded to `Vec<f32>` through `CreateEmbeddingResponse` (its
//! `EmbeddingVector`), versus bare `serde_json` into `Vec<Vec<f32>>` (and,
//! for base64, a bare decode of the strings by hand).
// Benchmarks stop at the first failure, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oai::types::CreateEmbeddingResponse;
use oai_bench::fixtures;
use serde::Deserialize;

const ROWS: usize = 2048;
const DIMS: usize = 1536;

#[derive(Deserialize)]
struct BareResponse<E> {
    data: Vec<BareEmbedding<E>>,
}

#[derive(Deserialize)]
struct BareEmbedding<E> {
    embedding: E,
}

/// As the client decodes a body: UTF-8 check, then `from_str`.
fn ours(body: &[u8]) -> Vec<Vec<f32>> {
    let text = std::str::from_utf8(body).unwrap();
    let response: CreateEmbeddingResponse = serde_json::from_str(text).unwrap();
    response
        .data
        .into_iter()
        .map(|e| e.embedding.into_f32())
        .collect()
}

fn bare_float(body: &[u8]) -> Vec<Vec<f32>> {
    let response: BareResponse<Vec<f32>> = serde_json::from_slice(body).unwrap();
    response.data.into_iter().map(|e| e.embedding).collect()
}

fn bare_base64(body: &[u8]) -> Vec<Vec<f32>> {
    let response: BareResponse<String> = serde_json::from_slice(body).unwrap();
    response
        .data
        .into_iter()
        .map(|e| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(e.embedding)
                .unwrap();
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect()
}

fn embeddings(c: &mut Criterion) {
    let float = fixtures::embeddings_float(ROWS, DIMS);
    let b64 = fixtures::embeddings_base64(ROWS, DIMS);
    // The four paths agree before anything is timed.
    let reference = bare_float(&float);
    assert_eq!(ours(&float), reference);
    assert_eq!(ours(&b64), reference);
    assert_eq!(bare_base64(&b64), reference);

    let mut group = c.benchmark_group("embeddings");
    group.sample_size(10);
    group.throughput(Throughput::Elements((ROWS * DIMS) as u64));
    group.bench_function("ours_float", |b| b.iter(|| ours(black_box(&float))));
    group.bench_function("ours_base64", |b| b.iter(|| ours(black_box(&b64))));
    group.bench_function("bare_float", |b| b.iter(|| bare_float(black_box(&float))));
    group.bench_function("bare_base64", |b| b.iter(|| bare_base64(black_box(&b64))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = embeddings
}
criterion_main!(benches);
