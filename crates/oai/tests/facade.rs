//! What the facade guarantees before any byte leaves the process: an invalid
//! request, parameter set or path segment is refused with every violation
//! listed, and the server never sees a request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai::builders::{CreateChatCompletionRequestBuilder, ListFilesParamsBuilder};
use oai::types::{ChatCompletionRequestMessage as Message, ListFilesParams};
use oai::{Client, Config};
use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_expecting_nothing() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .api_key("sk-facade")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn an_invalid_body_never_reaches_the_server() {
    let server = server_expecting_nothing().await;
    let request = CreateChatCompletionRequestBuilder::new(Vec::new(), "gpt-4o-mini")
        .top_logprobs(99)
        .presence_penalty(f64::NAN)
        .into_inner();
    let err = client(&server)
        .chat()
        .completions()
        .create(request)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    let text = err.to_string();
    for field in ["messages", "top_logprobs", "presence_penalty"] {
        assert!(text.contains(field), "{field} missing from: {text}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_invalid_stream_request_never_reaches_the_server() {
    let server = server_expecting_nothing().await;
    let request = CreateChatCompletionRequestBuilder::new(Message::user("hi"), "gpt-4o-mini")
        .frequency_penalty(3.0)
        .into_inner();
    let err = client(&server)
        .chat()
        .completions()
        .create_stream(request)
        .await
        .err()
        .unwrap();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("frequency_penalty"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn invalid_parameters_and_path_segments_never_reach_the_server() {
    let server = server_expecting_nothing().await;
    let c = client(&server);
    let err = c.files().list_pages(ListFilesParams::default()).map(|_| ());
    assert!(err.is_ok(), "valid parameters are accepted");

    for bad in ["", ".", ".."] {
        let err = c.files().retrieve(bad).await.unwrap_err();
        assert!(err.is_invalid_input(), "{bad:?}: {err}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn path_segments_are_percent_encoded() {
    let server = MockServer::start().await;
    let file = json!({"id": "a/b?c", "bytes": 1, "created_at": 1, "filename": "f", "object": "file", "purpose": "batch", "status": "processed"});
    Mock::given(method("GET"))
        .and(path("/v1/files/a%2Fb%3Fc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&file))
        .expect(1)
        .mount(&server)
        .await;
    let got = client(&server).files().retrieve("a/b?c").await.unwrap();
    assert_eq!(got.id, "a/b?c");
}

#[tokio::test]
async fn builders_feed_the_facade() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/files"))
        .and(wiremock::matchers::query_param("limit", "2"))
        .and(wiremock::matchers::query_param("order", "asc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "data": [], "first_id": "", "last_id": "", "has_more": false}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let params = ListFilesParamsBuilder::new()
        .limit(2)
        .order("asc")
        .build()
        .unwrap();
    let page = client(&server).files().list(params).await.unwrap();
    assert!(page.data.is_empty());
}
