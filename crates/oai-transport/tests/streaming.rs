//! Server-sent event streams: end markers, errors inside streams, truncation,
//! stalls and disconnects, against wiremock and an independent raw server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use http::Method;
use oai_transport::{
    RequestBuilder, RequestOptions, SseLimits, StreamErrorKind, StreamOptions, TimeoutPhase,
};
use serde_json::{Value, json};
use support::rawserver::*;
use support::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Each test twice: on a current-thread runtime (the stream decodes where
/// it is polled), and in the body of a multi-thread runtime's `block_on`
/// (the stream decodes on a worker, read ahead within its budget).
macro_rules! both {
    ($(#[$doc:meta])* async fn $name:ident() $body:block) => {
        $(#[$doc])*
        #[tokio::test]
        async fn $name() $body

        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn read_ahead() $body
        }
    };
}

fn sse(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .insert_header("x-request-id", "req_stream")
        .set_body_string(body.to_owned())
}

async fn collect<T>(
    mut s: impl futures_util::Stream<Item = oai_transport::Result<T>> + Unpin,
) -> (Vec<T>, Option<oai_transport::Error>) {
    let mut items = Vec::new();
    while let Some(r) = s.next().await {
        match r {
            Ok(v) => items.push(v),
            Err(e) => {
                assert!(s.next().await.is_none(), "a stream ends after its error");
                return (items, Some(e));
            }
        }
    }
    (items, None)
}

const CHAT: &str = "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n\
: keep-alive comment\n\n\
data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"total_tokens\":3}}\r\r\
data: [DONE]\n\n";

async fn stream_from(
    body: &str,
    opts: StreamOptions,
) -> (Vec<Value>, Option<oai_transport::Error>) {
    let server = MockServer::start().await;
    Mock::given(path("/v1/s"))
        .respond_with(sse(body))
        .mount(&server)
        .await;
    let s = RequestBuilder::new(transport(&server), Method::POST, "/s")
        .json(&json!({"stream": true}))
        .stream_with::<Value>(opts)
        .await
        .unwrap();
    assert_eq!(s.meta().request_id(), Some("req_stream"));
    collect(s).await
}

both! {
async fn chat_stream_to_done() {
    let (items, err) = stream_from(CHAT, StreamOptions::default()).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items.len(), 3);
    assert_eq!(items[1]["choices"][0]["delta"]["content"], "lo");
}
}

both! {
async fn responses_stream_ends_at_terminal_event() {
    let body = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hi\"}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{}}\n\n";
    let terminal = StreamOptions::terminal_events(&[
        "response.completed",
        "response.failed",
        "response.incomplete",
    ]);
    let (items, err) = stream_from(body, terminal.clone()).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items.len(), 3);
    // without event lines, the JSON type decides
    let bare =
        "data: {\"type\":\"response.created\"}\n\ndata: {\"type\":\"response.completed\"}\n\n";
    let (items, err) = stream_from(bare, terminal.clone()).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items.len(), 2);
    // the same stream cut before its terminal event is truncated
    let cut = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n";
    let (items, err) = stream_from(cut, terminal).await;
    assert_eq!(items.len(), 1);
    assert!(err.unwrap().is_truncated());
}
}

both! {
async fn stream_without_done_is_truncated_not_a_silent_end() {
    let body = "data: {\"a\":1}\n\ndata: {\"a\":2}\n\n";
    let (items, err) = stream_from(body, StreamOptions::default()).await;
    assert_eq!(items.len(), 2);
    let e = err.expect("truncation error");
    assert!(e.is_stream() && e.is_truncated(), "{e}");
    assert_eq!(e.stream_error_kind(), Some(StreamErrorKind::Truncated));
    // [DONE] without its closing blank line is also a truncation (the event is incomplete)
    let (_, err) = stream_from(
        "data: {\"a\":1}\n\ndata: [DONE]\n",
        StreamOptions::default(),
    )
    .await;
    assert!(err.is_some_and(|e| e.is_truncated()));
}
}

both! {
async fn error_inside_stream_becomes_api_error() {
    let body = "data: {\"a\":1}\n\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":\"overloaded\"}}\n\n";
    let (items, err) = stream_from(body, StreamOptions::default()).await;
    assert_eq!(items.len(), 1);
    let e = err.unwrap();
    assert!(e.is_api());
    assert_eq!(e.status(), None);
    assert_eq!(e.request_id(), Some("req_stream"));
    assert_eq!(e.api_error().unwrap().code(), Some("overloaded"));

    let body = "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit\",\"message\":\"slow down\",\"param\":null}\n\n";
    let (_, err) = stream_from(body, StreamOptions::default()).await;
    let e = err.unwrap();
    assert!(e.is_api());
    assert_eq!(e.api_error().unwrap().message(), "slow down");

    // "error": null is not an error
    let body = "data: {\"error\":null,\"a\":1}\n\ndata: [DONE]\n\n";
    let (items, err) = stream_from(body, StreamOptions::default()).await;
    assert!(err.is_none());
    assert_eq!(items.len(), 1);
}
}

both! {
async fn malformed_chunk_is_a_decode_error() {
    let body = "data: {\"a\":1}\n\ndata: {\"a\":\n\ndata: [DONE]\n\n";
    let (items, err) = stream_from(body, StreamOptions::default()).await;
    assert_eq!(items.len(), 1);
    let e = err.unwrap();
    assert!(e.is_decode());
    assert_eq!(e.body_excerpt(), Some("{\"a\":"));
    assert!(e.to_string().contains("EOF while parsing a value"), "{e}");
}
}

both! {
/// An event that does not decode as the stream's type names the JSON path.
async fn an_undecodable_event_names_the_path() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Delta {
        content: String,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Chunk {
        deltas: Vec<Delta>,
    }
    let server = MockServer::start().await;
    Mock::given(path("/v1/s"))
        .respond_with(sse(
            "data: {\"deltas\":[{\"content\":\"a\"}]}\n\ndata: {\"deltas\":[{\"content\":\"b\"},{\"content\":7}]}\n\ndata: [DONE]\n\n",
        ))
        .mount(&server)
        .await;
    let mut s = RequestBuilder::new(transport(&server), Method::GET, "/s")
        .stream::<Chunk>()
        .await
        .unwrap();
    assert!(s.next().await.unwrap().is_ok());
    let e = s.next().await.unwrap().unwrap_err();
    let f = e.decode_failure_details().unwrap();
    assert_eq!(f.path(), Some("$.deltas[1].content"));
    assert_eq!(f.reason(), "invalid type: integer, expected a string");
    assert!(s.next().await.is_none());
}
}

both! {
async fn oversized_line_is_a_stream_error() {
    let server = MockServer::start().await;
    let big = format!("data: {}\n\n", "x".repeat(5000));
    Mock::given(path("/v1/s"))
        .respond_with(sse(&big))
        .mount(&server)
        .await;
    let t = transport_with(
        builder(&format!("{}/v1", server.uri())).sse_limits(SseLimits {
            max_line_bytes: 1024,
            max_event_bytes: 4096,
        }),
    );
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let (_, err) = collect(s).await;
    assert_eq!(
        err.unwrap().stream_error_kind(),
        Some(StreamErrorKind::LineTooLong)
    );
}
}

both! {
async fn error_status_before_stream_is_retried_then_streams() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/s"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after-ms", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/s"))
        .respond_with(sse(CHAT))
        .mount(&server)
        .await;
    let s = RequestBuilder::new(transport(&server), Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    assert_eq!(s.meta().attempts(), 2);
    let (items, err) = collect(s).await;
    assert!(err.is_none());
    assert_eq!(items.len(), 3);
}
}

// ---- against the raw server ----

both! {
async fn raw_server_chunks_split_anywhere() {
    // The same events, cut in awkward places across HTTP chunks.
    let server = RawServer::start(vec![vec![
        sse_head(),
        chunk("data: {\"n\""),
        chunk(":1}\r"),
        chunk("\n\r"),
        chunk("\ndata: {\"n\":2}\n"),
        chunk("\ndata: [DO"),
        chunk("NE]\n\n"),
        last_chunk(),
    ]])
    .await;
    let t = transport_with(builder(&server.base));
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    assert_eq!(s.meta().request_id(), Some("req_raw"));
    let (items, err) = collect(s).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items, vec![json!({"n": 1}), json!({"n": 2})]);
}
}

both! {
async fn raw_server_stall_hits_idle_timeout() {
    let server = RawServer::start(vec![vec![
        sse_head(),
        chunk("data: {\"n\":1}\n\n"),
        Step::Sleep(Duration::from_secs(5)),
        chunk("data: [DONE]\n\n"),
        last_chunk(),
    ]])
    .await;
    let t = transport_with(builder(&server.base).stream_idle_timeout(ms(300)));
    let started = std::time::Instant::now();
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let (items, err) = collect(s).await;
    assert_eq!(items.len(), 1);
    let e = err.unwrap();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(e.timeout_phase(), Some(TimeoutPhase::StreamIdle));
    assert!(started.elapsed() < Duration::from_secs(4));
}
}

both! {
async fn per_call_idle_timeout_overrides_config() {
    let server = RawServer::start(vec![vec![
        sse_head(),
        Step::Sleep(ms(400)),
        chunk("data: {\"n\":1}\n\ndata: [DONE]\n\n"),
        last_chunk(),
    ]])
    .await;
    let t = transport_with(builder(&server.base).stream_idle_timeout(ms(100)));
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .options(RequestOptions::new().stream_idle_timeout(Duration::from_secs(5)))
        .stream::<Value>()
        .await
        .unwrap();
    let (items, err) = collect(s).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items.len(), 1);
}
}

both! {
async fn raw_server_disconnect_mid_stream_is_an_error() {
    // The connection closes in the middle of a chunk: never a silent end.
    let server = RawServer::start(vec![vec![
        sse_head(),
        chunk("data: {\"n\":1}\n\n"),
        write("20\r\ndata: {\"n\""),
        Step::Close,
    ]])
    .await;
    let t = transport_with(builder(&server.base));
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let (items, err) = collect(s).await;
    assert_eq!(items.len(), 1);
    let e = err.expect("an error");
    assert!(
        e.is_truncated() || e.kind() == oai_transport::ErrorKind::Request,
        "{e:?}"
    );
}
}

both! {
async fn raw_server_clean_close_without_done_is_truncated() {
    let server = RawServer::start(vec![vec![
        sse_head(),
        chunk("data: {\"n\":1}\n\n"),
        last_chunk(),
    ]])
    .await;
    let t = transport_with(builder(&server.base));
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let (items, err) = collect(s).await;
    assert_eq!(items.len(), 1);
    assert!(err.unwrap().is_truncated());
}
}

both! {
async fn raw_server_reset_before_response_is_retried() {
    let ok = "{\"ok\":true}";
    let server = RawServer::start(vec![
        vec![Step::Close],
        vec![write(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ok}",
            ok.len()
        ))],
    ])
    .await;
    let t = transport_with(builder(&server.base));
    let v: Value = RequestBuilder::new(t, Method::GET, "/x")
        .send()
        .await
        .unwrap();
    assert_eq!(v, json!({"ok": true}));
    assert_eq!(server.hits(), 2);
}
}

both! {
async fn raw_server_chunked_body_over_cap_without_length() {
    let server = RawServer::start(vec![vec![
        write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"),
        chunk(&"a".repeat(600)),
        chunk(&"b".repeat(600)),
        last_chunk(),
    ]])
    .await;
    let t = transport_with(builder(&server.base).max_response_bytes(1000));
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send_raw()
        .await
        .unwrap_err();
    assert!(e.is_body_too_large(), "{e}");
}
}

both! {
async fn raw_server_body_cut_short_is_retried_then_fails() {
    // content-length promises more than is sent, then the connection closes.
    let server = RawServer::start(vec![vec![
        write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"partial\":"),
        Step::Close,
    ]])
    .await;
    let t = transport_with(builder(&server.base).max_retries(1));
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), oai_transport::ErrorKind::Request, "{e:?}");
    assert_eq!(server.hits(), 2, "a broken body read is retried");
}
}

both! {
async fn raw_server_retry_after_seconds_then_success() {
    let ok = "{\"ok\":true}";
    let server = RawServer::start(vec![
        vec![write(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\n\r\n",
        )],
        vec![write(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ok}",
            ok.len()
        ))],
    ])
    .await;
    let t = transport_with(builder(&server.base));
    let started = std::time::Instant::now();
    let r = RequestBuilder::new(t, Method::GET, "/x")
        .send_with_meta::<Value>()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(r.meta.attempts(), 2);
    assert_eq!(server.hits(), 2);
}
}

both! {
async fn raw_server_malformed_chunk_encoding_is_an_error() {
    let server = RawServer::start(vec![vec![
        sse_head(),
        chunk("data: {\"n\":1}\n\n"),
        write("zz\r\nnot hex\r\n"),
    ]])
    .await;
    let t = transport_with(builder(&server.base));
    let s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let (items, err) = collect(s).await;
    assert!(items.len() <= 1);
    let e = err.expect("an error, not a silent end");
    assert_eq!(e.kind(), oai_transport::ErrorKind::Request, "{e:?}");
}
}

both! {
async fn raw_server_invalid_json_error_body_on_500() {
    let server = RawServer::start(vec![vec![write(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{\"error\":",
    )]])
    .await;
    let t = transport_with(builder(&server.base).max_retries(0));
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_api());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(e.body_excerpt(), Some("{\"error\":"));
}
}

/// A server that writes events of 1 KiB for ever, counting the bytes the
/// socket took, and noting when the client closed the connection.
async fn endless_server() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicBool::new(false));
    let (w, c) = (written.clone(), closed.clone());
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0);
            head.extend_from_slice(&buf[..n]);
        }
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let event = format!("data: {{\"pad\":\"{}\"}}\n\n", "x".repeat(1000));
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        loop {
            if sock.write_all(chunk.as_bytes()).await.is_err() {
                c.store(true, Ordering::SeqCst);
                return;
            }
            w.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    (base, written, closed)
}

/// In the body of a multi-thread runtime's `block_on`, the stream decodes on
/// a worker; a consumer that stops taking events stops the reading (what the
/// server can write stays bounded by the buffers: the socket's, hyper's and
/// the read-ahead budget), and dropping the stream closes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_ahead_is_bounded_keeps_backpressure_and_stops_on_drop() {
    use std::sync::atomic::Ordering;
    let (base, written, closed) = endless_server().await;
    let t = transport_with(builder(&base).max_retries(0));
    let mut s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let first = s.next().await.unwrap().unwrap();
    assert_eq!(first["pad"].as_str().map(str::len), Some(1000));
    assert!(format!("{s:?}").contains("read_ahead"), "{s:?}");
    // The consumer pauses: the reader runs out of budget, hyper's buffer
    // and the socket's fill, and the server's writes stop.
    tokio::time::sleep(ms(600)).await;
    let stalled = written.load(Ordering::SeqCst);
    tokio::time::sleep(ms(400)).await;
    let later = written.load(Ordering::SeqCst);
    assert!(
        later - stalled < 64 << 10,
        "still reading while the consumer waits: {stalled} then {later} bytes"
    );
    assert!(stalled < 48 << 20, "read {stalled} bytes ahead");
    // Taking events lets it go on.
    for _ in 0..2000 {
        s.next().await.unwrap().unwrap();
    }
    assert!(written.load(Ordering::SeqCst) > later);
    // Dropped: the task stops and the connection closes.
    drop(s);
    for _ in 0..100 {
        if closed.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(ms(20)).await;
    }
    panic!("the connection stayed open after the stream was dropped");
}

/// The same stream polled in a task decodes where it is polled: no read
/// ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_polled_in_a_task_reads_only_when_polled() {
    let (base, _written, _closed) = endless_server().await;
    let t = transport_with(builder(&base).max_retries(0));
    tokio::spawn(async move {
        let mut s = RequestBuilder::new(t, Method::GET, "/s")
            .stream::<Value>()
            .await
            .unwrap();
        s.next().await.unwrap().unwrap();
        assert!(!format!("{s:?}").contains("read_ahead"), "{s:?}");
    })
    .await
    .unwrap();
}

/// A type whose decoding panics (a caller's own `Deserialize`).
#[derive(Debug)]
struct Explodes;

impl<'de> serde::Deserialize<'de> for Explodes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let _ = <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d)?;
        panic!("decoding panicked on purpose");
    }
}

/// Decoded on a worker, a panic while decoding ends the stream with an
/// error, never with what would pass for a clean end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_panics_ends_the_stream_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/s"))
        .respond_with(sse(CHAT))
        .mount(&server)
        .await;
    let s = RequestBuilder::new(transport(&server), Method::POST, "/s")
        .json(&json!({"stream": true}))
        .stream::<Explodes>()
        .await
        .unwrap();
    let (items, err) = collect(s).await;
    assert!(items.is_empty());
    let err = err.expect("an error, not a clean end");
    assert_eq!(err.stream_error_kind(), Some(StreamErrorKind::Truncated));
}
