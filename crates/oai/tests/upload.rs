//! `oai::upload::LargeUpload` against a wiremock stand-in of the Uploads API.
#![cfg(feature = "uploads")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oai::upload::{CompletedPart, LargeUpload, UploadProgress, UploadStage};
use oai::{Client, Config};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CONTENT: &[u8] = b"AAAAAAAAAABBBBBBBBBBCCCCC"; // 25 bytes: parts of 10, 10, 5

fn client(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .api_key("sk-upload")
            .base_url(format!("{}/v1", server.uri()))
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn upload_json(status: &str, bytes: u64) -> Value {
    json!({
        "id": "upload_1", "object": "upload", "created_at": 1, "filename": "data.jsonl",
        "bytes": bytes, "purpose": "batch", "status": status, "expires_at": 3601,
        "file": if status == "completed" {
            json!({"id": "file_1", "object": "file", "bytes": bytes, "created_at": 1,
                   "filename": "data.jsonl", "purpose": "batch", "status": "processed"})
        } else { Value::Null }
    })
}

/// The `data` field of a multipart body.
fn part_data(req: &Request) -> Vec<u8> {
    let ct = req.headers.get("content-type").unwrap().to_str().unwrap();
    let boundary = ct.split("boundary=").nth(1).unwrap().trim_matches('"');
    let body = &req.body;
    let start = find(body, b"\r\n\r\n").unwrap() + 4;
    let end_marker = format!("\r\n--{boundary}");
    let end = start + find(&body[start..], end_marker.as_bytes()).unwrap();
    assert!(
        String::from_utf8_lossy(&body[..start]).contains("name=\"data\""),
        "the part is sent as the `data` field"
    );
    body[start..end].to_vec()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Answers a part with an id derived from its content: `part_<offset>_<len>`
/// where the offset is found in `content`.
struct PartIds {
    content: Vec<u8>,
    delay_first: Option<Duration>,
}

impl Respond for PartIds {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let data = part_data(req);
        let offset = find(&self.content, &data).unwrap();
        let t = ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("part_{offset}_{}", data.len()),
            "object": "upload.part", "created_at": 1, "upload_id": "upload_1"
        }));
        match (offset, self.delay_first) {
            (0, Some(d)) => t.set_delay(d),
            _ => t,
        }
    }
}

async fn mount_create(server: &MockServer, bytes: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/uploads"))
        .respond_with(ResponseTemplate::new(200).set_body_json(upload_json("pending", bytes)))
        .mount(server)
        .await;
}

async fn mount_parts(server: &MockServer, content: &[u8], delay_first: Option<Duration>) {
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/parts"))
        .respond_with(PartIds {
            content: content.to_vec(),
            delay_first,
        })
        .mount(server)
        .await;
}

async fn mount_complete(server: &MockServer, bytes: u64, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/complete"))
        .respond_with(ResponseTemplate::new(200).set_body_json(upload_json("completed", bytes)))
        .expect(times)
        .mount(server)
        .await;
}

async fn mount_cancel(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(upload_json("cancelled", 25)))
        .expect(times)
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, suffix: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with(suffix))
        .collect()
}

fn temp_file(name: &str, content: &[u8]) -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new(name);
    let p = dir.0.join("data.jsonl");
    std::fs::write(&p, content).unwrap();
    (dir, p)
}

mod tempdir {
    /// A directory under the system temp dir, removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "oai-upload-test-{name}-{}-{}",
                std::process::id(),
                unique_suffix()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn unique_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }
}

#[tokio::test]
async fn a_file_goes_up_in_three_parts_completed_in_file_order() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    // The first part answers last: the completion must still list it first.
    mount_parts(&server, CONTENT, Some(Duration::from_millis(200))).await;
    mount_complete(&server, 25, 1).await;
    let (_dir, file) = temp_file("three", CONTENT);

    let md5 = "0123456789abcdef0123456789ABCDEF";
    let upload = LargeUpload::from_path(&file, "batch")
        .part_size(10)
        .concurrency(3)
        .md5(md5)
        .send(&client(&server))
        .await
        .unwrap();
    assert_eq!(upload.file.unwrap().id, "file_1");

    let create: Value = requests_to(&server, "/v1/uploads").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        create,
        json!({"filename": "data.jsonl", "purpose": "batch", "bytes": 25, "mime_type": "text/jsonl"})
    );
    let mut parts: Vec<Vec<u8>> = requests_to(&server, "/parts")
        .await
        .iter()
        .map(part_data)
        .collect();
    parts.sort();
    assert_eq!(
        parts,
        [&CONTENT[0..10], &CONTENT[10..20], &CONTENT[20..25]].map(<[u8]>::to_vec)
    );
    let complete: Value = requests_to(&server, "/complete").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        complete,
        json!({"part_ids": ["part_0_10", "part_10_10", "part_20_5"], "md5": md5})
    );
}

#[tokio::test]
async fn progress_reports_bytes_and_parts_after_each_part() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    mount_parts(&server, CONTENT, None).await;
    mount_complete(&server, 25, 1).await;

    let seen = Arc::new(Mutex::new(Vec::<UploadProgress>::new()));
    let sink = Arc::clone(&seen);
    LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .concurrency(1)
        .on_progress(move |p| sink.lock().unwrap().push(*p))
        .send(&client(&server))
        .await
        .unwrap();
    let seen: Vec<(u64, u64, usize, usize)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| (p.bytes_sent, p.total_bytes, p.parts_done, p.parts_total))
        .collect();
    assert_eq!(seen, [(10, 25, 1, 3), (20, 25, 2, 3), (25, 25, 3, 3)]);
}

#[tokio::test]
async fn a_part_that_fails_once_is_sent_again_by_the_transport() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/parts"))
        .and(body_string_contains("BBBBBBBBBB"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after-ms", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_parts(&server, CONTENT, None).await;
    mount_complete(&server, 25, 1).await;
    mount_cancel(&server, 0).await;

    let upload = LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .send(&client(&server))
        .await
        .unwrap();
    assert_eq!(upload.status.as_str(), "completed");
    let sends_of_b: Vec<Vec<u8>> = requests_to(&server, "/parts")
        .await
        .iter()
        .map(part_data)
        .filter(|d| d == &CONTENT[10..20])
        .collect();
    assert_eq!(sends_of_b.len(), 2, "the same bytes were sent twice");
    let complete: Value = requests_to(&server, "/complete").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        complete["part_ids"],
        json!(["part_0_10", "part_10_10", "part_20_5"])
    );
}

#[tokio::test]
async fn a_part_that_keeps_failing_names_the_part_and_cancels() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/parts"))
        .and(body_string_contains("BBBBBBBBBB"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after-ms", "1")
                .set_body_json(json!({"error": {"message": "busy", "type": "server_error"}})),
        )
        .expect(3) // the first attempt and the transport's two retries
        .with_priority(1)
        .mount(&server)
        .await;
    mount_parts(&server, CONTENT, None).await;
    mount_complete(&server, 25, 0).await;
    mount_cancel(&server, 1).await;

    let err = LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .concurrency(1)
        .send(&client(&server))
        .await
        .unwrap_err();
    assert_eq!(err.stage(), UploadStage::Part);
    let part = err.failed_part().unwrap();
    assert_eq!(
        (part.number, part.of, part.offset, part.len),
        (2, 3, 10, 10)
    );
    assert_eq!(err.upload_id(), Some("upload_1"));
    assert!(err.was_cancelled());
    assert_eq!(
        err.completed_parts(),
        [CompletedPart {
            number: 1,
            id: "part_0_10".into()
        }]
    );
    assert_eq!(err.api_error().unwrap().status().unwrap().as_u16(), 503);
    let text = err.to_string();
    assert!(text.contains("part 2 of 3 (bytes 10..20)"), "{text}");
    assert!(text.contains("cancelled"), "{text}");
    // The third part was never read nor sent.
    assert!(
        !requests_to(&server, "/parts")
            .await
            .iter()
            .any(|r| part_data(r) == CONTENT[20..25])
    );
}

#[tokio::test]
async fn an_upload_left_pending_is_resumed_with_the_missing_parts_only() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/parts"))
        .and(body_string_contains("BBBBBBBBBB"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "bad part", "type": "invalid_request_error"}}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_parts(&server, CONTENT, None).await;
    mount_cancel(&server, 0).await;

    let c = client(&server);
    let err = LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .concurrency(1)
        .cancel_on_failure(false)
        .send(&c)
        .await
        .unwrap_err();
    assert!(!err.was_cancelled());
    assert!(err.to_string().contains("left pending with 1 part(s)"));
    let done = err.completed_parts().to_vec();
    let upload_id = err.upload_id().unwrap().to_owned();

    mount_complete(&server, 25, 1).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .resume(upload_id, done)
        .on_progress(move |p| sink.lock().unwrap().push(p.parts_done))
        .send(&c)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    assert_eq!(
        requests_to(&server, "/v1/uploads").await.len(),
        1,
        "no second create"
    );
    let sent: Vec<Vec<u8>> = requests_to(&server, "/parts")
        .await
        .iter()
        .map(part_data)
        .collect();
    // First run: A, B (refused). Resume: B, C.
    assert_eq!(
        sent.iter()
            .filter(|d| d.as_slice() == &CONTENT[0..10])
            .count(),
        1
    );
    assert_eq!(sent.len(), 4);
    let complete: Value = requests_to(&server, "/complete").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        complete["part_ids"],
        json!(["part_0_10", "part_10_10", "part_20_5"])
    );
}

#[tokio::test]
async fn parts_in_flight_when_one_fails_are_kept_for_the_resume() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_1/parts"))
        .and(body_string_contains("BBBBBBBBBB"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "bad part", "type": "invalid_request_error"}}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // The first part answers well after the second one has failed.
    mount_parts(&server, CONTENT, Some(Duration::from_millis(150))).await;
    mount_cancel(&server, 0).await;

    let c = client(&server);
    let err = LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .concurrency(3)
        .cancel_on_failure(false)
        .send(&c)
        .await
        .unwrap_err();
    assert_eq!(err.failed_part().unwrap().number, 2);
    let numbers: Vec<usize> = err.completed_parts().iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 3]);

    mount_complete(&server, 25, 1).await;
    LargeUpload::from_bytes(CONTENT.to_vec(), "data.jsonl", "batch")
        .part_size(10)
        .resume("upload_1", err.completed_parts().to_vec())
        .send(&c)
        .await
        .unwrap();
    let sent = requests_to(&server, "/parts").await;
    assert_eq!(sent.len(), 4, "A, B, C, then B again");
    assert_eq!(part_data(&sent[3]), &CONTENT[10..20]);
    let complete: Value = requests_to(&server, "/complete").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        complete["part_ids"],
        json!(["part_0_10", "part_10_10", "part_20_5"])
    );
}

#[tokio::test]
async fn a_reader_shorter_than_declared_fails_on_its_part_and_cancels() {
    let server = MockServer::start().await;
    mount_create(&server, 30).await;
    mount_parts(&server, CONTENT, None).await;
    mount_complete(&server, 30, 0).await;
    mount_cancel(&server, 1).await;
    let err = LargeUpload::from_reader(CONTENT, "data.jsonl", 30, "batch")
        .part_size(10)
        .concurrency(1)
        .send(&client(&server))
        .await
        .unwrap_err();
    assert_eq!(err.stage(), UploadStage::ReadSource);
    assert_eq!(err.failed_part().unwrap().number, 3);
    assert!(err.was_cancelled());
}

#[tokio::test]
async fn a_reader_longer_than_declared_is_refused_before_completing() {
    let server = MockServer::start().await;
    mount_create(&server, 20).await;
    mount_parts(&server, CONTENT, None).await;
    mount_complete(&server, 20, 0).await;
    mount_cancel(&server, 1).await;
    let err = LargeUpload::from_reader(CONTENT, "data.jsonl", 20, "batch")
        .part_size(10)
        .send(&client(&server))
        .await
        .unwrap_err();
    assert_eq!(err.stage(), UploadStage::ReadSource);
    assert!(err.to_string().contains("more than the declared 20 bytes"));
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let c = client(&server);
    let (_dir, empty) = temp_file("empty", b"");
    let cases: Vec<(LargeUpload, &str)> = vec![
        (LargeUpload::from_path(&empty, "batch"), "empty"),
        (
            LargeUpload::from_path("/definitely/not/here.jsonl", "batch"),
            "could not read",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], "a.jsonl", "batch").part_size(0),
            "part size",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], "a.jsonl", "batch").part_size((64 << 20) + 1),
            "part size",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], "a.jsonl", "batch").concurrency(0),
            "concurrency",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], "a.jsonl", "batch").md5("abc"),
            "md5",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], "a.jsonl", "pictures"),
            "purpose",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], " ", "batch"),
            "file name",
        ),
        (
            LargeUpload::from_reader(&b""[..], "big.jsonl", (8 << 30) + 1, "batch"),
            "over the Uploads API limit",
        ),
        (
            LargeUpload::from_reader(&b""[..], "big.jsonl", 1 << 30, "batch").part_size(1024),
            "use a larger part size",
        ),
        (
            LargeUpload::from_bytes(&b"x"[..], "a.jsonl", "batch").resume("..", vec![]),
            "upload id",
        ),
        (
            LargeUpload::from_bytes(&b"xy"[..], "a.jsonl", "batch")
                .part_size(1)
                .resume(
                    "upload_1",
                    vec![CompletedPart {
                        number: 3,
                        id: "p".into(),
                    }],
                ),
            "completed part 3",
        ),
    ];
    for (upload, expected) in cases {
        let err = upload.send(&c).await.unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
        assert!(
            err.to_string().contains(expected),
            "{err} should mention {expected}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the sizes, the parts are the file cut in order, each at most
    /// the part size, and the completion lists them in file order.
    #[test]
    fn parts_reassemble_the_file(len in 1usize..200, part in 1usize..64, concurrency in 1usize..4) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let content: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let server = MockServer::start().await;
            mount_create(&server, len as u64).await;
            Mock::given(method("POST"))
                .and(path("/v1/uploads/upload_1/parts"))
                .respond_with(ContentIds)
                .mount(&server)
                .await;
            mount_complete(&server, len as u64, 1).await;
            LargeUpload::from_reader(std::io::Cursor::new(content.clone()), "d.bin", len as u64, "batch")
                .part_size(part)
                .concurrency(concurrency)
                .send(&client(&server))
                .await
                .unwrap();
            let parts: Vec<Vec<u8>> = requests_to(&server, "/parts").await.iter().map(part_data).collect();
            prop_assert_eq!(parts.len(), len.div_ceil(part));
            prop_assert!(parts.iter().all(|p| !p.is_empty() && p.len() <= part));
            let complete: Value = requests_to(&server, "/complete").await[0].body_json().unwrap();
            let rebuilt: String = complete["part_ids"].as_array().unwrap().iter()
                .map(|v| v.as_str().unwrap().trim_start_matches("part_"))
                .collect();
            prop_assert_eq!(rebuilt.as_bytes(), &content[..]);
            Ok(())
        })?;
    }
}

/// Answers each part with an id that is its content.
struct ContentIds;

impl Respond for ContentIds {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let data = String::from_utf8(part_data(req)).unwrap();
        ResponseTemplate::new(200).set_body_json(json!({
            "id": format!("part_{data}"),
            "object": "upload.part", "created_at": 1, "upload_id": "upload_1"
        }))
    }
}

#[tokio::test]
async fn an_upload_can_run_on_a_spawned_task() {
    let server = MockServer::start().await;
    mount_create(&server, 25).await;
    mount_parts(&server, CONTENT, None).await;
    mount_complete(&server, 25, 1).await;
    let c = client(&server);
    let task = tokio::spawn(async move {
        LargeUpload::from_reader(CONTENT, "data.jsonl", 25, "batch")
            .part_size(10)
            .send(&c)
            .await
    });
    assert_eq!(task.await.unwrap().unwrap().status.as_str(), "completed");
}
