//! The in-memory file store and the batch lifecycle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{api_error, client, get, post, url};
use oai_mock::MockServer;
use oai_types::{
    Batch, BatchStatus, CreateChatCompletionResponse, DeleteFileResponse, ListBatchesResponse,
    ListFilesResponse, OpenAIFile, Response,
};
use serde_json::{Value, json};

async fn upload(
    server: &MockServer,
    purpose: &str,
    name: &str,
    content: &[u8],
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("purpose", purpose.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(content.to_vec()).file_name(name.to_owned()),
        );
    client(server)
        .post(url(server, "/files"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn uploaded(server: &MockServer, purpose: &str, name: &str, content: &[u8]) -> OpenAIFile {
    let response = upload(server, purpose, name, content).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn files_round_trip() {
    let server = MockServer::start().await;
    let content = b"line one\r\nline two\n\x00\xff binary too";
    let file = uploaded(&server, "user_data", "notes.bin", content).await;
    assert!(file.id.starts_with("file-"));
    assert_eq!(file.filename, "notes.bin");
    assert_eq!(file.bytes, content.len() as i64);
    assert_eq!(file.purpose.to_string(), "user_data");

    let listed: ListFilesResponse = get(&server, "/files").await.json().await.unwrap();
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.first_id, file.id);
    assert_eq!(listed.last_id, file.id);
    assert!(!listed.has_more);

    let retrieved: OpenAIFile = get(&server, &format!("/files/{}", file.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retrieved, file);
    let raw = get(&server, &format!("/files/{}/content", file.id)).await;
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "application/octet-stream");
    assert_eq!(&raw.bytes().await.unwrap()[..], content);

    let deleted: DeleteFileResponse = client(&server)
        .delete(url(&server, &format!("/files/{}", file.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.id, file.id);
    api_error(get(&server, &format!("/files/{}", file.id)).await, 404).await;
    api_error(
        get(&server, &format!("/files/{}/content", file.id)).await,
        404,
    )
    .await;
    let empty: Value = get(&server, "/files").await.json().await.unwrap();
    assert_eq!(empty["data"], json!([]));
    assert!(empty["first_id"].is_null() && empty["last_id"].is_null());
}

#[tokio::test]
async fn files_list_pages_orders_and_filters() {
    let server = MockServer::start().await;
    let a = uploaded(&server, "batch", "a.jsonl", b"{}").await;
    let b = uploaded(&server, "batch", "b.jsonl", b"{}").await;
    let c = uploaded(&server, "vision", "c.png", b"png").await;

    let newest_first: ListFilesResponse = get(&server, "/files").await.json().await.unwrap();
    let ids: Vec<&str> = newest_first.data.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, [&c.id, &b.id, &a.id]);

    let first: ListFilesResponse = get(&server, "/files?order=asc&limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first.data.len(), 2);
    assert!(first.has_more);
    assert_eq!(first.first_id, a.id);
    let rest: ListFilesResponse = get(
        &server,
        &format!("/files?order=asc&limit=2&after={}", first.last_id),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rest.data.len(), 1);
    assert_eq!(rest.data[0].id, c.id);
    assert!(!rest.has_more);

    let batch_only: ListFilesResponse = get(&server, "/files?purpose=batch")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(batch_only.data.len(), 2);
}

#[tokio::test]
async fn uploads_are_checked() {
    let server = MockServer::start().await;
    let error = api_error(upload(&server, "homework", "a.txt", b"x").await, 400).await;
    assert_eq!(error["param"], "purpose");

    let no_file = reqwest::multipart::Form::new().text("purpose", "batch");
    let response = client(&server)
        .post(url(&server, "/files"))
        .multipart(no_file)
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(response, 400).await["param"], "file");

    let no_purpose = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a"),
    );
    let response = client(&server)
        .post(url(&server, "/files"))
        .multipart(no_purpose)
        .send()
        .await
        .unwrap();
    assert_eq!(api_error(response, 400).await["param"], "purpose");

    let not_a_form = client(&server)
        .post(url(&server, "/files"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    api_error(not_a_form, 400).await;
    let broken = client(&server)
        .post(url(&server, "/files"))
        .header("content-type", "multipart/form-data; boundary=zz")
        .body("--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnever ends")
        .send()
        .await
        .unwrap();
    api_error(broken, 400).await;
}

fn chat_line(custom_id: &str, question: &str) -> String {
    json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    })
    .to_string()
}

async fn create_batch(
    server: &MockServer,
    input_file_id: &str,
    endpoint: &str,
) -> reqwest::Response {
    post(
        server,
        "/batches",
        &json!({
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": {"job": "nightly"}
        }),
    )
    .await
}

async fn retrieve(server: &MockServer, id: &str) -> Batch {
    let response = get(server, &format!("/batches/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn batch_lifecycle_with_output_file() {
    let server = MockServer::start().await;
    let input = format!(
        "{}\n{}\n",
        chat_line("first", "one?"),
        chat_line("second", "two?")
    );
    let file = uploaded(&server, "batch", "input.jsonl", input.as_bytes()).await;

    let created = create_batch(&server, &file.id, "/v1/chat/completions").await;
    assert_eq!(created.status(), 200);
    let created: Batch = created.json().await.unwrap();
    assert_eq!(created.status, BatchStatus::Validating);
    assert_eq!(created.input_file_id, file.id);
    assert_eq!(created.request_counts.as_ref().unwrap().total, 2);
    assert_eq!(created.output_file_id, None);

    let second = retrieve(&server, &created.id).await;
    assert_eq!(second.status, BatchStatus::InProgress);
    assert!(second.in_progress_at.is_some());

    let done = retrieve(&server, &created.id).await;
    assert_eq!(done.status, BatchStatus::Completed);
    assert!(done.completed_at.is_some());
    assert_eq!(done.error_file_id, None);
    let counts = done.request_counts.as_ref().unwrap();
    assert_eq!((counts.total, counts.completed, counts.failed), (2, 2, 0));
    assert!(done.usage.as_ref().unwrap().total_tokens > 0);
    let output_id = done.output_file_id.clone().unwrap();

    let output_file: OpenAIFile = get(&server, &format!("/files/{output_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(output_file.purpose.to_string(), "batch_output");
    let content = get(&server, &format!("/files/{output_id}/content"))
        .await
        .bytes()
        .await
        .unwrap();
    let lines = lines(&content);
    assert_eq!(lines.len(), 2);
    for (line, (custom_id, question)) in lines.iter().zip([("first", "one?"), ("second", "two?")]) {
        assert_eq!(line["custom_id"], custom_id);
        assert!(line["id"].as_str().unwrap().starts_with("batch_req_"));
        assert!(line["error"].is_null());
        assert_eq!(line["response"]["status_code"], 200);
        assert!(line["response"]["request_id"].is_string());
        let body: CreateChatCompletionResponse =
            serde_json::from_value(line["response"]["body"].clone()).unwrap();
        assert_eq!(
            body.choices[0].message.content.as_deref(),
            Some(format!("This is a mock answer to: {question}").as_str())
        );
    }

    // It stays completed, and the list shows it.
    assert_eq!(
        retrieve(&server, &created.id).await.status,
        BatchStatus::Completed
    );
    let list: ListBatchesResponse = get(&server, "/batches").await.json().await.unwrap();
    assert_eq!(list.data.len(), 1);
    assert_eq!(list.first_id.as_deref(), Some(created.id.as_str()));
    assert!(!list.has_more);
}

#[tokio::test]
async fn batch_lines_that_fail_go_to_the_error_file() {
    let server = MockServer::start().await;
    let responses_line = json!({
        "custom_id": "ok",
        "method": "POST",
        "url": "/v1/responses",
        "body": {"model": "gpt-4o-mini", "input": "hello"}
    });
    let wrong_url = json!({
        "custom_id": "wrong",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {}
    });
    let no_model =
        json!({"custom_id": "bad", "method": "POST", "url": "/v1/responses", "body": {}});
    let input = format!("{responses_line}\nnot json\n{wrong_url}\n\n{no_model}\n");
    let file = uploaded(&server, "batch", "in.jsonl", input.as_bytes()).await;
    let batch: Batch = create_batch(&server, &file.id, "/v1/responses")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(batch.request_counts.unwrap().total, 4);
    retrieve(&server, &batch.id).await;
    let done = retrieve(&server, &batch.id).await;
    let counts = done.request_counts.unwrap();
    assert_eq!((counts.completed, counts.failed), (1, 3));

    let output = get(
        &server,
        &format!("/files/{}/content", done.output_file_id.unwrap()),
    )
    .await
    .bytes()
    .await
    .unwrap();
    let output = lines(&output);
    assert_eq!(output.len(), 1);
    let body: Response = serde_json::from_value(output[0]["response"]["body"].clone()).unwrap();
    assert!(body.id.starts_with("resp_"));

    let errors = get(
        &server,
        &format!("/files/{}/content", done.error_file_id.unwrap()),
    )
    .await
    .bytes()
    .await
    .unwrap();
    let errors = lines(&errors);
    assert_eq!(errors.len(), 3);
    assert!(errors[0]["custom_id"].is_null());
    assert_eq!(errors[0]["error"]["code"], "invalid_json_line");
    assert_eq!(errors[1]["custom_id"], "wrong");
    assert_eq!(errors[1]["error"]["code"], "mismatched_url");
    assert_eq!(errors[2]["custom_id"], "bad");
    assert_eq!(errors[2]["response"]["status_code"], 400);
    assert_eq!(errors[2]["response"]["body"]["error"]["param"], "model");
}

#[tokio::test]
async fn batches_can_be_cancelled_until_they_complete() {
    let server = MockServer::start().await;
    let file = uploaded(&server, "batch", "in.jsonl", chat_line("x", "q").as_bytes()).await;
    let batch: Batch = create_batch(&server, &file.id, "/v1/chat/completions")
        .await
        .json()
        .await
        .unwrap();
    let cancelling: Batch = post(
        &server,
        &format!("/batches/{}/cancel", batch.id),
        &json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(cancelling.status, BatchStatus::Cancelling);
    let cancelled = retrieve(&server, &batch.id).await;
    assert_eq!(cancelled.status, BatchStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());
    assert_eq!(cancelled.output_file_id, None);

    let other: Batch = create_batch(&server, &file.id, "/v1/chat/completions")
        .await
        .json()
        .await
        .unwrap();
    retrieve(&server, &other.id).await;
    retrieve(&server, &other.id).await;
    let refused = post(
        &server,
        &format!("/batches/{}/cancel", other.id),
        &json!({}),
    )
    .await;
    api_error(refused, 409).await;

    let list: ListBatchesResponse = get(&server, "/batches?limit=1").await.json().await.unwrap();
    assert_eq!(list.data[0].id, other.id);
    assert!(list.has_more);
}

#[tokio::test]
async fn batch_requests_are_checked() {
    let server = MockServer::start().await;
    let error = api_error(
        create_batch(&server, "file-nope", "/v1/chat/completions").await,
        400,
    )
    .await;
    assert_eq!(error["param"], "input_file_id");
    let file = uploaded(&server, "batch", "in.jsonl", b"{}").await;
    let error = api_error(create_batch(&server, &file.id, "/v1/images").await, 400).await;
    assert_eq!(error["param"], "endpoint");
    let error = api_error(
        post(
            &server,
            "/batches",
            &json!({"input_file_id": file.id, "endpoint": "/v1/embeddings", "completion_window": "1h"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error["param"], "completion_window");
    api_error(get(&server, "/batches/batch_nope").await, 404).await;
    api_error(
        post(&server, "/batches/batch_nope/cancel", &json!({})).await,
        404,
    )
    .await;
}

async fn add_part(server: &MockServer, upload_id: &str, data: &[u8]) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "data",
        reqwest::multipart::Part::bytes(data.to_vec()).file_name("part"),
    );
    client(server)
        .post(url(server, &format!("/uploads/{upload_id}/parts")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_in_parts_becomes_a_file_with_the_parts_in_the_order_given() {
    let server = MockServer::start().await;
    let created: Value = post(
        &server,
        "/uploads",
        &json!({"filename": "big.jsonl", "purpose": "batch", "bytes": 10,
            "mime_type": "application/jsonl"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["status"], "pending");
    let id = created["id"].as_str().unwrap().to_owned();
    let first: Value = add_part(&server, &id, b"hello").await.json().await.unwrap();
    let second: Value = add_part(&server, &id, b"world").await.json().await.unwrap();
    assert_eq!(first["object"], "upload.part");
    assert_eq!(first["upload_id"], id.as_str());
    // More than announced is refused.
    api_error(add_part(&server, &id, b"!").await, 400).await;
    // Completing with the parts in another order gives that order.
    let done: Value = post(
        &server,
        &format!("/uploads/{id}/complete"),
        &json!({"part_ids": [second["id"], first["id"]]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(done["status"], "completed");
    let file: OpenAIFile = serde_json::from_value(done["file"].clone()).unwrap();
    assert_eq!(file.bytes, 10);
    assert_eq!(file.filename, "big.jsonl");
    let content = get(&server, &format!("/files/{}/content", file.id))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&content[..], b"worldhello");
    // A completed upload takes nothing more; a missing one is a 404.
    api_error(add_part(&server, &id, b"x").await, 400).await;
    api_error(
        post(
            &server,
            "/uploads/upload_nope/complete",
            &json!({"part_ids": []}),
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn an_upload_whose_parts_do_not_add_up_is_refused_and_can_be_cancelled() {
    let server = MockServer::start().await;
    let created: Value = post(
        &server,
        "/uploads",
        &json!({"filename": "f", "purpose": "user_data", "bytes": 4, "mime_type": "text/plain"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let part: Value = add_part(&server, &id, b"ab").await.json().await.unwrap();
    api_error(
        post(
            &server,
            &format!("/uploads/{id}/complete"),
            &json!({"part_ids": [part["id"]]}),
        )
        .await,
        400,
    )
    .await;
    let cancelled: Value = post(&server, &format!("/uploads/{id}/cancel"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    // Its shape is the API's Upload.
    let _: oai_types::Upload = serde_json::from_value(cancelled).unwrap();
}
