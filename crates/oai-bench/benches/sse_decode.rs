//! Event-stream decoding: a 10,000-chunk chat stream and a Responses stream
//! of 10,000 events, decoded into their typed events.
//!
//! - `client_stream` reads `create_stream` to its end from the local server;
//!   `bare_http` reads the same bytes from the same server with a bare
//!   `reqwest` POST, splits them on blank lines and parses each `data:`
//!   payload with `serde_json` into the same type.
//! - `decoder` pushes the bytes, in 8 KiB pieces, to the transport's
//!   `SseDecoder`, takes each event lent (as the typed streams do) and
//!   parses it into the type; `bare_split` splits the
//!   same pieces on blank lines and parses each payload.
//! - `decoder_only` and `bare_only` (chat): the same two without the JSON,
//!   each event taken and counted: the decoder against the least work that
//!   cuts events (budget: 1.2x).
//! - Responses only: `bare_split_variant` parses each text delta straight into
//!   `ResponseTextDeltaEvent`, chosen by the SSE `event:` name, as a
//!   hand-written client would: the limit for the union type, which reads
//!   the tag first and then the variant.
//!
//! Budget: ours <= 1.5x bare.
// Benchmarks stop at the first failure, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use oai::transport::SseLimits;
use oai::transport::sse::SseDecoder;
use oai::types::{CreateChatCompletionStreamResponse, ResponseStreamEvent, ResponseTextDeltaEvent};
use oai_bench::server::{Reply, Server};
use oai_bench::{bare, fixtures};
use serde::de::DeserializeOwned;

const EVENTS: usize = 10_000;
const PIECE: usize = 8 << 10;

fn client(server: &Server) -> oai::Client {
    oai::Client::new(
        oai::Config::builder()
            .api_key("sk-bench")
            .base_url(server.base_url())
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The transport's decoder as the typed streams use it (each piece pushed,
/// its events lent one at a time), then `serde_json` into `T`; returns the
/// count.
fn decoder<T: DeserializeOwned>(pieces: &[Bytes]) -> usize {
    let mut dec = SseDecoder::new(SseLimits::default());
    let mut n = 0;
    for piece in pieces {
        dec.push(piece.clone()).unwrap();
        while let Some(ev) = dec.decode_next_ref().unwrap() {
            if ev.data == "[DONE]" {
                continue;
            }
            black_box(serde_json::from_str::<T>(ev.data).unwrap());
            n += 1;
        }
    }
    dec.finish().unwrap();
    n
}

/// The decoder alone: events lent and counted, no JSON.
fn decoder_only(pieces: &[Bytes]) -> usize {
    let mut dec = SseDecoder::new(SseLimits::default());
    let mut n = 0;
    for piece in pieces {
        dec.push(piece.clone()).unwrap();
        while let Some(ev) = dec.decode_next_ref().unwrap() {
            n += black_box(ev.data.len()).min(1);
        }
    }
    n
}

/// The bare splitter alone: events cut and counted, no JSON.
fn bare_only(pieces: &[Bytes]) -> usize {
    let mut split = bare::Splitter::new();
    let mut n = 0;
    for piece in pieces {
        split.push(piece, |ev| n += black_box(ev.data.len()).min(1));
    }
    n
}

/// The stream's bytes in 8 KiB pieces, as network reads hand them over.
fn pieces(bytes: &[u8]) -> Vec<Bytes> {
    bytes.chunks(PIECE).map(Bytes::copy_from_slice).collect()
}

/// Blank-line split, then `serde_json` into `T`; returns the count.
fn bare_split<T: DeserializeOwned>(pieces: &[Bytes]) -> usize {
    let mut split = bare::Splitter::new();
    let mut n = 0;
    for piece in pieces {
        split.push(piece, |ev| {
            if ev.data != b"[DONE]" {
                black_box(serde_json::from_slice::<T>(ev.data).unwrap());
                n += 1;
            }
        });
    }
    n
}

/// As `bare_split`, parsing text deltas into their own struct.
fn bare_split_variant(pieces: &[Bytes]) -> usize {
    let mut split = bare::Splitter::new();
    let mut n = 0;
    for piece in pieces {
        split.push(piece, |ev| {
            if ev.event == Some(b"response.output_text.delta".as_slice()) {
                black_box(serde_json::from_slice::<ResponseTextDeltaEvent>(ev.data).unwrap());
            } else {
                black_box(serde_json::from_slice::<ResponseStreamEvent>(ev.data).unwrap());
            }
            n += 1;
        });
    }
    n
}

async fn bare_http<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> usize {
    let response = http
        .post(url)
        .bearer_auth("sk-bench")
        .json(body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut chunks = response.bytes_stream();
    let mut split = bare::Splitter::new();
    let mut n = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk: Bytes = chunk.unwrap();
        split.push(&chunk, |ev| {
            if ev.data != b"[DONE]" {
                black_box(serde_json::from_slice::<T>(ev.data).unwrap());
                n += 1;
            }
        });
    }
    n
}

fn chat(c: &mut Criterion) {
    let frames = fixtures::chat_stream(EVENTS);
    let bytes = pieces(&fixtures::join(&frames));
    let server = Server::start(Reply::sse(frames)).unwrap();
    let rt = runtime();
    let client = client(&server);
    let http = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.base_url());
    let mut request = fixtures::small_chat_request();
    request.stream = Some(true);
    let body = serde_json::to_value(&request).unwrap();

    assert_eq!(
        decoder::<CreateChatCompletionStreamResponse>(&bytes),
        EVENTS
    );
    assert_eq!(
        bare_split::<CreateChatCompletionStreamResponse>(&bytes),
        EVENTS
    );

    let mut group = c.benchmark_group("sse_decode_chat");
    group.sample_size(20);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("client_stream", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = client
                .chat()
                .completions()
                .create(request.clone())
                .stream()
                .await
                .unwrap();
            let mut n = 0;
            while let Some(chunk) = stream.next().await {
                black_box(chunk.unwrap());
                n += 1;
            }
            assert_eq!(n, EVENTS);
        });
    });
    group.bench_function("bare_http", |b| {
        b.to_async(&rt).iter(|| async {
            let n = bare_http::<CreateChatCompletionStreamResponse>(&http, &url, &body).await;
            assert_eq!(n, EVENTS);
        });
    });
    group.bench_function("decoder", |b| {
        b.iter(|| decoder::<CreateChatCompletionStreamResponse>(black_box(&bytes)));
    });
    group.bench_function("bare_split", |b| {
        b.iter(|| bare_split::<CreateChatCompletionStreamResponse>(black_box(&bytes)));
    });
    // The events alone (10,001 with the `[DONE]` marker), without JSON.
    assert_eq!(decoder_only(&bytes), EVENTS + 1);
    assert_eq!(bare_only(&bytes), EVENTS + 1);
    group.bench_function("decoder_only", |b| {
        b.iter(|| decoder_only(black_box(&bytes)));
    });
    group.bench_function("bare_only", |b| {
        b.iter(|| bare_only(black_box(&bytes)));
    });
    group.finish();
}

fn responses(c: &mut Criterion) {
    let frames = fixtures::responses_stream(EVENTS);
    let bytes = pieces(&fixtures::join(&frames));
    let server = Server::start(Reply::sse(frames)).unwrap();
    let rt = runtime();
    let client = client(&server);
    let http = reqwest::Client::new();
    let url = format!("{}/responses", server.base_url());
    let mut request = oai::builders::CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Say hello in one sentence.")
        .build()
        .unwrap();
    request.stream = Some(true);
    let body = serde_json::to_value(&request).unwrap();

    assert_eq!(decoder::<ResponseStreamEvent>(&bytes), EVENTS);
    assert_eq!(bare_split::<ResponseStreamEvent>(&bytes), EVENTS);
    assert_eq!(bare_split_variant(&bytes), EVENTS);

    let mut group = c.benchmark_group("sse_decode_responses");
    group.sample_size(20);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("client_stream", |b| {
        b.to_async(&rt).iter(|| async {
            let mut stream = client
                .responses()
                .create(request.clone())
                .stream()
                .await
                .unwrap();
            let mut n = 0;
            while let Some(event) = stream.next().await {
                black_box(event.unwrap());
                n += 1;
            }
            assert_eq!(n, EVENTS);
        });
    });
    group.bench_function("bare_http", |b| {
        b.to_async(&rt).iter(|| async {
            let n = bare_http::<ResponseStreamEvent>(&http, &url, &body).await;
            assert_eq!(n, EVENTS);
        });
    });
    group.bench_function("decoder", |b| {
        b.iter(|| decoder::<ResponseStreamEvent>(black_box(&bytes)));
    });
    group.bench_function("bare_split", |b| {
        b.iter(|| bare_split::<ResponseStreamEvent>(black_box(&bytes)));
    });
    group.bench_function("bare_split_variant", |b| {
        b.iter(|| bare_split_variant(black_box(&bytes)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = chat, responses
}
criterion_main!(benches);
