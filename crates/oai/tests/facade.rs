//! What the facade guarantees before any byte leaves the process: an invalid
//! request, parameter set or path segment is refused with every violation
//! listed, and the server never sees a request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai::builders::{CreateChatCompletionRequestBuilder, ListFilesParamsBuilder};
use oai::types::ChatCompletionRequestMessage as Message;
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
        .create(request)
        .stream()
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
    // An invalid list request is the first item of its pages, and nothing
    // is sent.
    let mut pages = c
        .vector_stores()
        .files()
        .list("..", Default::default())
        .pages();
    let first = futures_util::StreamExt::next(&mut pages).await.unwrap();
    assert!(first.unwrap_err().is_invalid_input());
    assert!(futures_util::StreamExt::next(&mut pages).await.is_none());

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

/// A chat completion answer, as JSON.
fn completion() -> serde_json::Value {
    json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
            "message": {"role": "assistant", "content": "hi", "refusal": null}}]})
}

#[tokio::test]
async fn the_call_sets_the_stream_flag_not_the_builder() {
    // A builder asking for a stream, sent as a plain call: the plain call
    // asks for no stream (and can decode what comes back).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::body_partial_json(
            json!({"stream": false}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion()))
        .expect(1)
        .mount(&server)
        .await;
    let chat = CreateChatCompletionRequestBuilder::new(Message::user("hi"), "m").stream(true);
    let answer = client(&server)
        .chat()
        .completions()
        .create(chat.clone())
        .await
        .unwrap();
    assert_eq!(answer.choices[0].message.content.as_deref(), Some("hi"));

    // And the streamed form asks for one whatever the builder said.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::body_partial_json(
            json!({"stream": true}),
        ))
        .and(wiremock::matchers::header("accept", "text/event-stream"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string("data: [DONE]\n\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut stream = client(&server)
        .chat()
        .completions()
        .create(chat.stream(false))
        .stream()
        .await
        .unwrap();
    assert!(futures_util::StreamExt::next(&mut stream).await.is_none());
}

#[tokio::test]
async fn a_builder_is_checked_once_when_the_call_is_sent() {
    // The builder goes to the call unbuilt; its violations come back from
    // the call, before any I/O, each with its path.
    let server = server_expecting_nothing().await;
    let chat = CreateChatCompletionRequestBuilder::new(Message::user("hi"), "m").temperature(9.0);
    let err = client(&server)
        .chat()
        .completions()
        .create(chat)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(err.violations().len(), 1);
    assert_eq!(err.violations()[0].path, "temperature");
}

#[tokio::test]
async fn a_derived_client_sends_its_options_under_each_calls_own() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::header("x-team", "search"))
        .and(wiremock::matchers::header("x-call", "one"))
        .and(wiremock::matchers::query_param("tenant", "a"))
        .and(wiremock::matchers::header("x-region", "eu"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion()))
        .expect(1)
        .mount(&server)
        .await;
    let base = client(&server);
    let team = base.with_options(
        oai::RequestOptions::new()
            .header("x-team", "search")
            .query("tenant", "a"),
    );
    // A second derivation adds to the first.
    let team = team.with_options(oai::RequestOptions::new().header("x-region", "eu"));
    team.chat()
        .completions()
        .create(CreateChatCompletionRequestBuilder::new(
            Message::user("hi"),
            "m",
        ))
        .options(oai::RequestOptions::new().header("x-call", "one"))
        .await
        .unwrap();
    // The client it came from is unchanged.
    let err = base
        .chat()
        .completions()
        .create(CreateChatCompletionRequestBuilder::new(
            Message::user("hi"),
            "m",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
}
