//! The benches measure what they claim: the payloads decode into the API's
//! types, the bare splitter and the client's decoder see the same events, and
//! the local server serves what the client expects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use oai::transport::SseLimits;
use oai::transport::sse::SseDecoder;
use oai::types::{
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, CreateEmbeddingResponse,
    ResponseStreamEvent,
};
use oai_bench::server::{Reply, Server};
use oai_bench::{bare, fixtures, memory};
use proptest::prelude::*;

fn client(server: &Server) -> oai::Client {
    oai::Client::new(
        oai::Config::builder()
            .api_key("sk-bench")
            .base_url(server.base_url())
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn chat_completion_decodes() {
    let body = fixtures::chat_completion();
    let c: CreateChatCompletionResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(c.choices.len(), 1);
    let text = c.choices[0].message.content.clone().unwrap();
    assert!(text.split_whitespace().count() > 50, "{text}");
}

#[test]
fn chat_stream_has_the_asked_chunks_and_each_decodes() {
    let frames = fixtures::chat_stream(500);
    assert_eq!(frames.len(), 501);
    let all = fixtures::join(&frames);
    let events: Vec<_> = bare::events(&all).collect();
    assert_eq!(events.len(), 501);
    assert_eq!(events[500].data, b"[DONE]");
    let mut text = String::new();
    for ev in &events[..500] {
        let chunk: CreateChatCompletionStreamResponse = serde_json::from_slice(ev.data).unwrap();
        if let Some(t) = &chunk.choices[0].delta.content {
            text.push_str(t);
        }
    }
    let expected: String = (1..499).map(fixtures::word).collect();
    assert_eq!(text, expected);
}

#[test]
fn responses_stream_decodes_into_known_variants() {
    let frames = fixtures::responses_stream(300);
    assert_eq!(frames.len(), 300);
    let all = fixtures::join(&frames);
    let mut deltas = 0;
    for (i, ev) in bare::events(&all).enumerate() {
        let event: ResponseStreamEvent = serde_json::from_slice(ev.data).unwrap();
        assert!(
            event.as_unknown().is_none(),
            "event {i} is unknown: {event:?}"
        );
        assert_eq!(event.tag().map(str::as_bytes), ev.event, "event {i}");
        if matches!(event, ResponseStreamEvent::ResponseOutputTextDelta(_)) {
            deltas += 1;
        }
    }
    assert_eq!(deltas, 292);
}

#[test]
fn embeddings_float_and_base64_give_the_same_values() {
    let float = fixtures::embeddings_float(4, 64);
    let b64 = fixtures::embeddings_base64(4, 64);
    assert!(
        b64.len() < float.len() / 2,
        "{} vs {}",
        b64.len(),
        float.len()
    );
    let f: CreateEmbeddingResponse = serde_json::from_slice(&float).unwrap();
    let b: CreateEmbeddingResponse = serde_json::from_slice(&b64).unwrap();
    assert_eq!(f.data.len(), 4);
    for (i, (x, y)) in f.data.iter().zip(&b.data).enumerate() {
        assert!(
            y.embedding.as_f32().is_some(),
            "base64 decodes to f32 directly"
        );
        let expected: Vec<f32> = (0..64).map(|j| fixtures::embedding_value(i, j)).collect();
        assert_eq!(x.embedding.to_f32(), expected);
        assert_eq!(y.embedding.to_f32(), expected);
    }
}

#[test]
fn large_request_is_valid_and_large() {
    use oai::builders::Validate;
    let req = fixtures::large_chat_request(200, 32);
    req.validate().unwrap();
    let json = serde_json::to_vec(&req).unwrap();
    assert!(json.len() > 50_000, "{}", json.len());
    assert_eq!(req.messages.len(), 200);
}

#[test]
fn memory_status_parses() {
    let text = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads: 1\n";
    assert_eq!(
        memory::parse(text),
        Some(memory::Status {
            rss_kib: 1024,
            hwm_kib: 2048
        })
    );
    assert_eq!(memory::parse("VmRSS: 1 kB\n"), None);
    let now = memory::read().unwrap();
    assert!(now.hwm_kib >= now.rss_kib && now.rss_kib > 0);
}

fn decoder_events(input: &[u8], cuts: &[usize]) -> Vec<(Option<String>, String)> {
    let mut dec = SseDecoder::new(SseLimits::default());
    let mut out = Vec::new();
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    for p in points {
        dec.feed(&input[at..p]).unwrap();
        at = p;
        while let Some(ev) = dec.next_event() {
            out.push((ev.event, ev.data));
        }
    }
    out
}

fn bare_events(input: &[u8], cuts: &[usize]) -> Vec<(Option<String>, String)> {
    let mut split = bare::Splitter::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    for p in points {
        split.push(&input[at..p], |ev| {
            out.push((
                ev.event.map(|e| String::from_utf8(e.to_vec()).unwrap()),
                String::from_utf8(ev.data.to_vec()).unwrap(),
            ));
        });
        at = p;
    }
    assert_eq!(split.pending(), 0);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The baseline does the same job as the client's decoder on these
    /// streams, however the bytes are cut.
    #[test]
    fn bare_splitter_matches_the_decoder(
        chat in 3usize..40,
        responses in 9usize..40,
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        for frames in [fixtures::chat_stream(chat), fixtures::responses_stream(responses)] {
            let all = fixtures::join(&frames);
            let ours = decoder_events(&all, &cuts);
            prop_assert_eq!(ours.len(), frames.len());
            prop_assert_eq!(&ours, &bare_events(&all, &cuts));
            let whole: Vec<_> = bare::events(&all)
                .map(|e| String::from_utf8(e.data.to_vec()).unwrap())
                .collect();
            let datas: Vec<_> = ours.into_iter().map(|(_, d)| d).collect();
            prop_assert_eq!(datas, whole);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn server_answers_the_client_plain_and_streamed() {
    let server = Server::start(Reply::Json(fixtures::chat_completion())).unwrap();
    let client = client(&server);
    for _ in 0..3 {
        let answer = client
            .chat()
            .completions()
            .create(fixtures::small_chat_request())
            .await
            .unwrap();
        assert_eq!(answer.id, "chatcmpl-B9benchfixed0001");
    }
    drop(server);

    let server = Server::start(Reply::sse(fixtures::chat_stream(50))).unwrap();
    let client = self::client(&server);
    let mut stream = client
        .chat()
        .completions()
        .create(fixtures::small_chat_request())
        .stream()
        .await
        .unwrap();
    let mut n = 0;
    while let Some(chunk) = stream.next().await {
        chunk.unwrap();
        n += 1;
    }
    assert_eq!(n, 50);
    drop(server);

    let server = Server::start(Reply::sse(fixtures::responses_stream(40))).unwrap();
    let client = self::client(&server);
    let request = oai::builders::CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Hello")
        .build()
        .unwrap();
    let mut stream = client.responses().create(request).stream().await.unwrap();
    let mut n = 0;
    while let Some(ev) = stream.next().await {
        ev.unwrap();
        n += 1;
    }
    assert_eq!(n, 40);
}
