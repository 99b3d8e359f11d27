//! The polling helpers: they wait as the server asks (`openai-poll-after-ms`),
//! stop at the first final status, and give up with a timeout error past
//! their limit.
#![cfg(all(feature = "vector-stores", feature = "files", feature = "videos"))]
#![allow(clippy::unwrap_used, clippy::expect_used, deprecated)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oai::ErrorKind;
use oai::poll::Poll;
use oai::types::InputFile;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn client(server: &MockServer) -> oai::Client {
    oai::Client::new(
        oai::Config::builder()
            .api_key("sk-test-poll")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn vs_file(status: &str) -> Value {
    json!({"id": "file-1", "object": "vector_store.file", "usage_bytes": 10,
        "created_at": 1, "vector_store_id": "vs_1", "status": status, "last_error": null})
}

/// Answers `path` with `statuses` in turn (the last one from then on), each
/// asking for a 10 ms wait; counts the requests.
async fn statuses(
    server: &MockServer,
    http_method: &str,
    at: &str,
    body: impl Fn(&str) -> Value + Send + Sync + 'static,
    statuses: &'static [&'static str],
) -> Arc<AtomicUsize> {
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    Mock::given(method(http_method))
        .and(path(at))
        .respond_with(move |_: &Request| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let status = statuses[n.min(statuses.len() - 1)];
            ResponseTemplate::new(200)
                .insert_header("openai-poll-after-ms", "10")
                .set_body_json(body(status))
        })
        .mount(server)
        .await;
    seen
}

#[tokio::test]
async fn upload_and_poll_uploads_adds_and_waits_until_indexed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "file-1", "object": "file", "bytes": 3, "created_at": 1,
            "filename": "a.txt", "purpose": "assistants", "status": "uploaded"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/vector_stores/vs_1/files"))
        .and(wiremock::matchers::body_partial_json(
            json!({"file_id": "file-1"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(vs_file("in_progress")))
        .expect(1)
        .mount(&server)
        .await;
    let polls = statuses(
        &server,
        "GET",
        "/v1/vector_stores/vs_1/files/file-1",
        vs_file,
        &["in_progress", "in_progress", "completed"],
    )
    .await;
    let started = std::time::Instant::now();
    let file = client(&server)
        .vector_stores()
        .files()
        .upload_and_poll(
            "vs_1",
            InputFile::from_bytes("a.txt", &b"abc"[..]),
            // The server's 10 ms wins over this interval.
            Poll::new().interval(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(file.status.as_str(), "completed");
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_poll_past_its_limit_is_a_timeout_and_a_failure_is_returned_as_is() {
    let server = MockServer::start().await;
    statuses(
        &server,
        "GET",
        "/v1/vector_stores/vs_1/file_batches/b_1",
        |s| {
            json!({"id": "b_1", "object": "vector_store.files_batch", "created_at": 1,
                "vector_store_id": "vs_1", "status": s,
                "file_counts": {"in_progress": 1, "completed": 0, "failed": 0,
                    "cancelled": 0, "total": 1}})
        },
        &["in_progress"],
    )
    .await;
    let err = client(&server)
        .vector_stores()
        .file_batches()
        .poll(
            "vs_1",
            "b_1",
            Poll::new().max_wait(Duration::from_millis(50)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");

    let server = MockServer::start().await;
    let polls = statuses(
        &server,
        "GET",
        "/v1/videos/video_1",
        |s| {
            json!({"id": "video_1", "object": "video", "model": "sora-2", "status": s,
            "progress": 0, "created_at": 1, "size": "720x1280", "seconds": "4"})
        },
        &["queued", "in_progress", "failed"],
    )
    .await;
    let video = client(&server)
        .videos()
        .poll("video_1", Poll::new())
        .await
        .unwrap();
    assert_eq!(video.status.as_str(), "failed");
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn wait_for_processing_stops_at_processed() {
    let server = MockServer::start().await;
    let polls = statuses(
        &server,
        "GET",
        "/v1/files/file-9",
        |s| {
            json!({"id": "file-9", "object": "file", "bytes": 3, "created_at": 1,
            "filename": "a.jsonl", "purpose": "fine-tune", "status": s})
        },
        &["uploaded", "processed"],
    )
    .await;
    let file = client(&server)
        .files()
        .wait_for_processing("file-9", Poll::new())
        .await
        .unwrap();
    assert_eq!(file.status.as_str(), "processed");
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}
