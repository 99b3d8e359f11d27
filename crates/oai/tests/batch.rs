//! `oai::batch` against a wiremock stand-in of the Files, Uploads and Batch APIs.
#![cfg(all(feature = "batches", feature = "files", feature = "chat"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oai::batch::{BatchInput, BatchItemErrorKind, BatchRunner, BatchStage};
use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::types::{
    ChatCompletionRequestMessage as Message, CreateChatCompletionRequest,
    CreateChatCompletionResponse,
};
use oai::{Client, Config};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .api_key("sk-batch")
            .base_url(format!("{}/v1", server.uri()))
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn runner(client: &Client) -> BatchRunner<'_> {
    BatchRunner::new(client)
        .poll_interval(Duration::from_millis(2))
        .max_poll_interval(Duration::from_millis(5))
        .jitter(false)
}

fn chat(text: &str) -> CreateChatCompletionRequest {
    Chat::new(Message::user(text), "gpt-4o-mini").into_inner()
}

fn input(ids: &[&str]) -> BatchInput<CreateChatCompletionResponse> {
    BatchInput::new(ids.iter().map(|id| (*id, chat(&format!("say {id}"))))).unwrap()
}

fn completion(text: &str) -> Value {
    json!({
        "id": format!("chatcmpl-{text}"), "object": "chat.completion", "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": text, "refusal": null}}]
    })
}

fn batch_json(status: &str, counts: (i64, i64, i64), files: Option<(&str, &str)>) -> Value {
    let mut b = json!({
        "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
        "input_file_id": "file_in", "completion_window": "24h", "status": status,
        "created_at": 1,
        "request_counts": {"total": counts.0, "completed": counts.1, "failed": counts.2},
    });
    if let Some((out, err)) = files {
        b["output_file_id"] = json!(out);
        b["error_file_id"] = json!(err);
    }
    b
}

fn file_json(id: &str, purpose: &str) -> Value {
    json!({"id": id, "object": "file", "bytes": 1, "created_at": 1, "filename": "batch_input.jsonl",
           "purpose": purpose, "status": "processed"})
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The named fields of a multipart body.
fn multipart_fields(req: &Request) -> HashMap<String, Vec<u8>> {
    let ct = req.headers.get("content-type").unwrap().to_str().unwrap();
    let boundary = format!(
        "--{}",
        ct.split("boundary=").nth(1).unwrap().trim_matches('"')
    );
    let body = &req.body;
    let mut out = HashMap::new();
    let mut rest = &body[..];
    while let Some(start) = find(rest, boundary.as_bytes()) {
        rest = &rest[start + boundary.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{boundary}").as_bytes()).unwrap();
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        out.insert(name.to_owned(), content[..end].to_vec());
        rest = &content[end..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

async fn mount(server: &MockServer, verb: &str, p: &str, status: u16, body: Value) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn mount_result_files(server: &MockServer) {
    let output = jsonl(&[
        json!({"id": "r2", "custom_id": "b", "error": null,
               "response": {"status_code": 200, "request_id": "req_b", "body": completion("bee")}}),
        json!({"id": "r1", "custom_id": "a", "error": null,
               "response": {"status_code": 200, "request_id": "req_a", "body": completion("ay")}}),
    ]);
    let errors = jsonl(&[json!({"id": "r3", "custom_id": "c", "error": null,
        "response": {"status_code": 400, "request_id": "req_c",
                     "body": {"error": {"message": "bad model", "type": "invalid_request_error",
                                        "code": "model_not_found", "param": "model"}}}})]);
    Mock::given(method("GET"))
        .and(path("/v1/files/file_out/content"))
        .respond_with(ResponseTemplate::new(200).set_body_string(output))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/files/file_err/content"))
        .respond_with(ResponseTemplate::new(200).set_body_string(errors))
        .expect(1)
        .mount(server)
        .await;
}

async fn mount_create(server: &MockServer) {
    mount(
        server,
        "POST",
        "/v1/files",
        200,
        file_json("file_in", "batch"),
    )
    .await;
    mount(
        server,
        "POST",
        "/v1/batches",
        200,
        batch_json("validating", (0, 0, 0), None),
    )
    .await;
}

async fn mount_completed(server: &MockServer) {
    mount(
        server,
        "GET",
        "/v1/batches/batch_1",
        200,
        batch_json("completed", (3, 2, 1), Some(("file_out", "file_err"))),
    )
    .await;
}

fn check_results(results: &oai::batch::BatchResults<CreateChatCompletionResponse>) {
    assert_eq!(results.len(), 3);
    assert_eq!(results.succeeded(), 2);
    for (id, text) in [("a", "ay"), ("b", "bee")] {
        let answer = results.get(id).unwrap().as_ref().unwrap();
        assert_eq!(answer.choices[0].message.content.as_deref(), Some(text));
    }
    let c = results.get("c").unwrap().as_ref().unwrap_err();
    assert_eq!(c.kind, BatchItemErrorKind::Api);
    assert_eq!(c.status, Some(400));
    assert_eq!(c.code.as_deref(), Some("model_not_found"));
    assert_eq!(c.request_id.as_deref(), Some("req_c"));
    assert_eq!(c.message, "bad model");
}

#[tokio::test]
async fn a_batch_runs_end_to_end_and_maps_results_by_custom_id() {
    let server = MockServer::start().await;
    mount_create(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch_json(
            "in_progress",
            (3, 1, 0),
            None,
        )))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_completed(&server).await;
    mount_result_files(&server).await;

    let c = client(&server);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let input = input(&["a", "b", "c"]);
    let outcome = runner(&c)
        .metadata(BTreeMap::from([("job".to_owned(), "nightly".to_owned())]))
        .on_progress(move |b| {
            let counts = b.request_counts.as_ref().unwrap();
            sink.lock()
                .unwrap()
                .push((b.status.to_string(), counts.completed, counts.failed));
        })
        .run(&input)
        .await
        .unwrap();

    // The input file: purpose `batch`, one JSONL line per request.
    let upload = &requests_to(&server, "/v1/files").await[0];
    let fields = multipart_fields(upload);
    assert_eq!(fields["purpose"], b"batch");
    let lines: Vec<Value> = String::from_utf8(fields["file"].clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, id) in lines.iter().zip(["a", "b", "c"]) {
        assert_eq!(
            line,
            &json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "gpt-4o-mini",
                             "messages": [{"role": "user", "content": format!("say {id}")}]}})
        );
    }
    assert_eq!(fields["file"], input.jsonl());

    let create: Value = requests_to(&server, "/v1/batches").await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        create,
        json!({"input_file_id": "file_in", "endpoint": "/v1/chat/completions",
               "completion_window": "24h", "metadata": {"job": "nightly"}})
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("in_progress".to_owned(), 1, 0),
            ("in_progress".to_owned(), 1, 0),
            ("completed".to_owned(), 2, 1)
        ]
    );
    assert_eq!(outcome.batch.status.as_str(), "completed");
    check_results(&outcome.results);
    assert!(outcome.results.missing(input.custom_ids()).is_empty());
}

#[tokio::test]
async fn a_failed_poll_carries_the_batch_id_and_resume_finishes() {
    let server = MockServer::start().await;
    mount_create(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_1"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("retry-after-ms", "1")
                .set_body_string("bad gateway"),
        )
        .up_to_n_times(3) // the first attempt and the transport's two retries
        .with_priority(1)
        .mount(&server)
        .await;
    mount_completed(&server).await;
    mount_result_files(&server).await;

    let c = client(&server);
    let err = runner(&c).run(&input(&["a", "b", "c"])).await.unwrap_err();
    assert_eq!(err.stage(), BatchStage::Poll);
    assert_eq!(err.batch_id(), Some("batch_1"));
    assert_eq!(err.api_error().unwrap().status().unwrap().as_u16(), 502);
    assert!(err.to_string().starts_with("batch batch_1: "), "{err}");

    let outcome = runner(&c)
        .resume::<CreateChatCompletionResponse>(err.batch_id().unwrap())
        .await
        .unwrap();
    check_results(&outcome.results);
    assert_eq!(
        requests_to(&server, "/v1/batches").await.len(),
        1,
        "resume creates nothing"
    );
}

#[tokio::test]
async fn the_pieces_work_on_their_own() {
    let server = MockServer::start().await;
    mount_create(&server).await;
    mount_completed(&server).await;
    mount_result_files(&server).await;
    let c = client(&server);
    let r = runner(&c);
    let input = input(&["a", "b", "c"]);
    let mut written = Vec::new();
    input.write_to(&mut written).unwrap();
    assert_eq!(written.iter().filter(|&&b| b == b'\n').count(), 3);

    let file_id = r.upload_input(&input).await.unwrap();
    let batch = r.create(&file_id, input.endpoint()).await.unwrap();
    let done = r.wait(&batch.id).await.unwrap();
    let results = r
        .results::<CreateChatCompletionResponse>(&done)
        .await
        .unwrap();
    check_results(&results);
}

#[tokio::test]
async fn bad_input_is_refused_before_any_io() {
    let dup = BatchInput::new([("a", chat("1")), ("b", chat("2")), ("a", chat("3"))]).unwrap_err();
    assert!(dup.is_invalid_input());
    assert!(
        dup.to_string()
            .contains("custom_id `a` is used by requests 1 and 3"),
        "{dup}"
    );

    let empty_id = BatchInput::new([("", chat("1"))]).unwrap_err();
    assert!(
        empty_id.to_string().contains("empty custom_id"),
        "{empty_id}"
    );

    let none = BatchInput::new(Vec::<(String, CreateChatCompletionRequest)>::new()).unwrap_err();
    assert!(none.to_string().contains("at least one request"));

    let mut hot = chat("1");
    hot.temperature = Some(7.0);
    let invalid = BatchInput::new([("ok", chat("0")), ("hot", hot)]).unwrap_err();
    assert!(
        invalid.to_string().contains("request `hot` is invalid"),
        "{invalid}"
    );
    assert!(invalid.to_string().contains("temperature"), "{invalid}");

    let many = BatchInput::<Value>::custom(
        "/v1/embeddings",
        (0..50_001).map(|i| (i.to_string(), json!({"input": "x"}))),
    )
    .unwrap_err();
    assert!(many.to_string().contains("more than 50000"), "{many}");
    let exactly = BatchInput::<Value>::custom(
        "/v1/embeddings",
        (0..50_000).map(|i| (i.to_string(), json!({"input": "x"}))),
    )
    .unwrap();
    assert_eq!(exactly.len(), 50_000);

    // A raw JSON value is copied as is, so building 240 MiB stays quick.
    let chunk =
        serde_json::value::RawValue::from_string(format!("\"{}\"", "x".repeat(4 << 20))).unwrap();
    let big =
        BatchInput::<Value>::custom("/v1/embeddings", (0..60).map(|i| (i.to_string(), &*chunk)))
            .unwrap_err();
    assert!(
        big.to_string().contains("would exceed 209715200 bytes"),
        "{big}"
    );

    let endpoint = BatchInput::<Value>::custom("/v1/nope", [("a", json!({}))]).unwrap_err();
    assert!(endpoint.to_string().contains("/v1/nope"), "{endpoint}");

    // Settings are checked before the upload too.
    let server = MockServer::start().await;
    let c = client(&server);
    let err = BatchRunner::new(&c)
        .input_file_name(" ")
        .submit(&input(&["a"]))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_batch_is_an_error_with_its_reasons() {
    let server = MockServer::start().await;
    mount_create(&server).await;
    let mut failed = batch_json("failed", (0, 0, 0), None);
    failed["errors"] = json!({"object": "list", "data": [
        {"code": "invalid_json_line", "message": "not JSON", "line": 2}
    ]});
    mount(&server, "GET", "/v1/batches/batch_1", 200, failed).await;
    let c = client(&server);
    let err = runner(&c).run(&input(&["a", "b"])).await.unwrap_err();
    assert_eq!(err.stage(), BatchStage::Failed);
    assert_eq!(
        err.to_string(),
        "batch batch_1: the batch failed: line 2: not JSON (invalid_json_line)"
    );
    assert_eq!(err.batch().unwrap().status.as_str(), "failed");
    assert_eq!(err.input_file_id(), Some("file_in"));
}

#[tokio::test]
async fn waiting_past_the_limit_returns_the_batch_id() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/v1/batches/batch_1",
        200,
        batch_json("in_progress", (3, 0, 0), None),
    )
    .await;
    let c = client(&server);
    let err = runner(&c)
        .max_wait(Duration::from_millis(30))
        .wait("batch_1")
        .await
        .unwrap_err();
    assert_eq!(err.stage(), BatchStage::Timeout);
    assert_eq!(err.batch_id(), Some("batch_1"));
    assert!(requests_to(&server, "/v1/batches/batch_1").await.len() >= 2);
}

#[cfg(feature = "uploads")]
#[tokio::test]
async fn a_large_input_goes_through_the_uploads_api() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        "/v1/uploads",
        200,
        json!({"id": "upload_1", "object": "upload", "created_at": 1, "filename": "batch_input.jsonl",
               "bytes": 1, "purpose": "batch", "status": "pending", "expires_at": 2}),
    )
    .await;
    mount(
        &server,
        "POST",
        "/v1/uploads/upload_1/parts",
        200,
        json!({"id": "part_1", "object": "upload.part", "created_at": 1, "upload_id": "upload_1"}),
    )
    .await;
    mount(
        &server,
        "POST",
        "/v1/uploads/upload_1/complete",
        200,
        json!({"id": "upload_1", "object": "upload", "created_at": 1, "filename": "batch_input.jsonl",
               "bytes": 1, "purpose": "batch", "status": "completed", "expires_at": 2,
               "file": file_json("file_big", "batch")}),
    )
    .await;
    mount(
        &server,
        "POST",
        "/v1/batches",
        200,
        batch_json("validating", (0, 0, 0), None),
    )
    .await;
    let c = client(&server);
    let input = input(&["a", "b"]);
    let batch = runner(&c)
        .upload_threshold(10)
        .submit(&input)
        .await
        .unwrap();
    assert_eq!(batch.id, "batch_1");
    assert!(requests_to(&server, "/v1/files").await.is_empty());
    let create: Value = requests_to(&server, "/v1/uploads").await[0]
        .body_json()
        .unwrap();
    assert_eq!(create["purpose"], "batch");
    assert_eq!(create["mime_type"], "text/jsonl");
    assert_eq!(create["bytes"], input.jsonl().len());
    let part = &requests_to(&server, "/v1/uploads/upload_1/parts").await[0];
    assert_eq!(multipart_fields(part)["data"], input.jsonl());
    let created: Value = requests_to(&server, "/v1/batches").await[0]
        .body_json()
        .unwrap();
    assert_eq!(created["input_file_id"], "file_big");
}

#[tokio::test]
async fn a_batch_can_run_on_a_spawned_task() {
    let server = MockServer::start().await;
    mount_create(&server).await;
    mount_completed(&server).await;
    mount_result_files(&server).await;
    let c = client(&server);
    let task = tokio::spawn(async move { runner(&c).run(&input(&["a", "b", "c"])).await });
    check_results(&task.await.unwrap().unwrap().results);
}
