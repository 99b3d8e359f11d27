//! The facade end to end through the raw escape hatch, against wiremock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use oai::{Client, Config, MultipartForm, Part, RequestOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .api_key("sk-facade")
            .base_url(format!("{}/v1", server.uri()))
            .build()
            .unwrap(),
    )
    .unwrap()
}

#[derive(Serialize)]
struct Req<'a> {
    model: &'a str,
    input: &'a str,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Embedding {
    object: String,
    index: u32,
}

#[tokio::test]
async fn post_json_with_typed_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", "Bearer sk-facade"))
        .and(body_json(
            json!({"model": "text-embedding-3-small", "input": "hi"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "embedding", "index": 0, "extra": 1})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e: Embedding = client(&server)
        .post("/embeddings")
        .json(&Req {
            model: "text-embedding-3-small",
            input: "hi",
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        e,
        Embedding {
            object: "embedding".into(),
            index: 0
        }
    );
}

#[tokio::test]
async fn get_delete_stream_multipart_and_pagination() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "data": [{"id": "m1"}, {"id": "m2"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/files/file-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "file-1", "deleted": true})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(
                    "data: {\"choices\":[{\"delta\":{\"content\":\"4\"}}]}\n\ndata: [DONE]\n\n",
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "file-2"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let models = c
        .get("/models")
        .paginate::<Value>()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(models.len(), 2);
    let del: Value = c.delete("/files/file-1").send().await.unwrap();
    assert_eq!(del["deleted"], true);
    let mut s = c
        .post("/chat/completions")
        .json(&json!({"stream": true}))
        .stream::<Value>()
        .await
        .unwrap();
    let first = s.next().await.unwrap().unwrap();
    assert_eq!(first["choices"][0]["delta"]["content"], "4");
    assert!(s.next().await.is_none());
    let up: Value = c
        .post("/files")
        .multipart(
            MultipartForm::new()
                .text("purpose", "batch")
                .part(Part::bytes("file", b"{}\n".to_vec(), "b.jsonl")),
        )
        .options(RequestOptions::new().max_retries(0))
        .send()
        .await
        .unwrap();
    assert_eq!(up["id"], "file-2");
}

#[tokio::test]
async fn errors_surface_through_the_facade() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/models/nope"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-request-id", "req_404")
                .set_body_json(json!({"error": {"message": "The model 'nope' does not exist", "type": "invalid_request_error", "code": "model_not_found", "param": null}})),
        )
        .mount(&server)
        .await;
    let e = client(&server)
        .get("/models/nope")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), oai::ErrorKind::Api);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(e.request_id(), Some("req_404"));
    assert_eq!(
        e.api_error().and_then(|d| d.code()),
        Some("model_not_found")
    );
}
