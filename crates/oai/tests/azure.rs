//! Azure OpenAI through the same `Client`: the exact URL and headers of every
//! kind of operation (deployment or not; JSON, multipart, binary, streamed,
//! paged, DELETE), for a key, an Entra provider, a fixed deployment and the v1
//! endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use oai::builders::{CreateFileRequestBuilder, CreateTranscriptionRequestBuilder};
use oai::types::InputFile;
use oai::{Client, Config, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const VERSION: &str = "2024-10-21";

const CHAT: &str = r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi","refusal":null},"finish_reason":"stop","logprobs":null}]}"#;
const CHUNK: &str = r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
const FILE: &str = r#"{"id":"file-1","bytes":1,"created_at":1,"filename":"a.jsonl","object":"file","purpose":"batch","status":"processed"}"#;

fn azure(server: &MockServer) -> oai::AzureBuilder {
    Config::azure()
        .endpoint(server.uri())
        .api_version(VERSION)
        .api_key("azure-key-1")
        .with(|c| c.max_retries(0))
}

fn client(config: Config) -> Client {
    Client::new(config).unwrap()
}

/// Answers every request with `body` and `content_type`.
async fn answering(server: &MockServer, body: &str, content_type: &str) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_owned(), content_type))
        .mount(server)
        .await;
}

/// The one request `server` received, and its query pairs.
async fn only_request(server: &MockServer) -> (Request, Vec<(String, String)>) {
    let mut all = server.received_requests().await.unwrap();
    assert_eq!(all.len(), 1, "expected exactly one request");
    let r = all.remove(0);
    let q = r
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (r, q)
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Method, path and query on the wire, with the `api-key` header and no bearer.
async fn check_key_request(server: &MockServer, m: &str, p: &str, query: &[(&str, &str)]) {
    let (r, q) = only_request(server).await;
    assert_eq!(r.method.as_str(), m);
    assert_eq!(r.url.path(), p);
    let want: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(q, want, "query of {p}");
    assert_eq!(header(&r, "api-key"), Some("azure-key-1"));
    assert_eq!(header(&r, "authorization"), None);
}

fn chat_request(model: &str) -> oai::types::CreateChatCompletionRequest {
    serde_json::from_value(json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}))
        .unwrap()
}

#[tokio::test]
async fn deployment_operations_go_to_the_models_deployment() {
    // Chat: JSON body, deployment from `model`.
    let server = MockServer::start().await;
    answering(&server, CHAT, "application/json").await;
    let c = client(azure(&server).build().unwrap());
    let got = c
        .chat()
        .completions()
        .create(chat_request("gpt-4o"))
        .await
        .unwrap();
    assert_eq!(got.id, "c");
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/gpt-4o/chat/completions",
        &[("api-version", VERSION)],
    )
    .await;

    // Chat streamed.
    let server = MockServer::start().await;
    answering(
        &server,
        &format!("data: {CHUNK}\n\ndata: [DONE]\n\n"),
        "text/event-stream",
    )
    .await;
    let c = client(azure(&server).build().unwrap());
    let mut s = c
        .chat()
        .completions()
        .create(chat_request("my-deployment"))
        .stream()
        .await
        .unwrap();
    while let Some(chunk) = s.next().await {
        chunk.unwrap();
    }
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/my-deployment/chat/completions",
        &[("api-version", VERSION)],
    )
    .await;

    // Embeddings: base64 asked for, decoded to f32.
    let server = MockServer::start().await;
    answering(
        &server,
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPwAAAMA="}],"model":"e","usage":{"prompt_tokens":1,"total_tokens":1}}"#,
        "application/json",
    )
    .await;
    let c = client(azure(&server).build().unwrap());
    let req: oai::types::CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "embed-small", "input": "x"})).unwrap();
    let got = c.embeddings().create(req).await.unwrap();
    assert_eq!(got.data[0].embedding.as_f32(), Some(&[1.0f32, -2.0][..]));
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/embed-small/embeddings",
        &[("api-version", VERSION)],
    )
    .await;

    // Audio transcription: multipart, deployment from the `model` field.
    let server = MockServer::start().await;
    answering(&server, r#"{"text":"hello"}"#, "application/json").await;
    let c = client(azure(&server).build().unwrap());
    let req = CreateTranscriptionRequestBuilder::new(
        InputFile::from_bytes("a.wav", b"RIFF".to_vec()),
        "whisper-dep",
    )
    .build()
    .unwrap();
    c.audio().transcriptions().create(req).await.unwrap();
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/whisper-dep/audio/transcriptions",
        &[("api-version", VERSION)],
    )
    .await;

    // Speech: a binary answer.
    let server = MockServer::start().await;
    answering(&server, "ID3", "audio/mpeg").await;
    let c = client(azure(&server).build().unwrap());
    let req: oai::types::CreateSpeechRequest =
        serde_json::from_value(json!({"model": "tts-dep", "input": "hi", "voice": "alloy"}))
            .unwrap();
    let bytes = c.audio().speech().create(req).await.unwrap();
    assert_eq!(&bytes[..], b"ID3");
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/tts-dep/audio/speech",
        &[("api-version", VERSION)],
    )
    .await;

    // Images.
    let server = MockServer::start().await;
    answering(&server, r#"{"created":1}"#, "application/json").await;
    let c = client(azure(&server).build().unwrap());
    let req: oai::types::CreateImageRequest =
        serde_json::from_value(json!({"model": "dalle-dep", "prompt": "a cat"})).unwrap();
    c.images().generate(req).await.unwrap();
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/dalle-dep/images/generations",
        &[("api-version", VERSION)],
    )
    .await;
}

#[tokio::test]
async fn other_operations_stay_under_openai() {
    // GET with parameters: both query pairs.
    let server = MockServer::start().await;
    answering(
        &server,
        &format!(r#"{{"object":"list","data":[{FILE}],"first_id":"file-1","last_id":"file-1","has_more":false}}"#),
        "application/json",
    )
    .await;
    let c = client(azure(&server).build().unwrap());
    let params = serde_json::from_value(json!({"limit": 2})).unwrap();
    c.files().list(params).await.unwrap();
    check_key_request(
        &server,
        "GET",
        "/openai/files",
        &[("api-version", VERSION), ("limit", "2")],
    )
    .await;

    // Multipart upload (not a deployment operation).
    let server = MockServer::start().await;
    answering(&server, FILE, "application/json").await;
    let c = client(azure(&server).build().unwrap());
    let req = CreateFileRequestBuilder::new(
        InputFile::from_bytes("a.jsonl", b"{}\n".to_vec()),
        oai::types::CreateFileRequestPurpose::Batch,
    )
    .build()
    .unwrap();
    c.files().create(req).await.unwrap();
    check_key_request(
        &server,
        "POST",
        "/openai/files",
        &[("api-version", VERSION)],
    )
    .await;

    // DELETE with a path parameter.
    let server = MockServer::start().await;
    answering(
        &server,
        r#"{"id":"file-1","object":"file","deleted":true}"#,
        "application/json",
    )
    .await;
    let c = client(azure(&server).build().unwrap());
    c.files().delete("file-1").await.unwrap();
    check_key_request(
        &server,
        "DELETE",
        "/openai/files/file-1",
        &[("api-version", VERSION)],
    )
    .await;

    // Binary download.
    let server = MockServer::start().await;
    answering(&server, "line\n", "application/octet-stream").await;
    let c = client(azure(&server).build().unwrap());
    let body = c.files().content("file-1").await.unwrap();
    assert_eq!(&body[..], b"line\n");
    check_key_request(
        &server,
        "GET",
        "/openai/files/file-1/content",
        &[("api-version", VERSION)],
    )
    .await;
}

#[tokio::test]
async fn pages_keep_the_api_version() {
    let server = MockServer::start().await;
    let page = |has_more: bool, last: &str| {
        json!({"object": "list", "data": [serde_json::from_str::<Value>(FILE).unwrap()],
               "first_id": "file-1", "last_id": last, "has_more": has_more})
    };
    Mock::given(method("GET"))
        .and(path("/openai/files"))
        .and(wiremock::matchers::query_param("after", "cursor-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(false, "file-1")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/openai/files"))
        .and(wiremock::matchers::query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(true, "cursor-1")))
        .mount(&server)
        .await;
    let c = client(azure(&server).build().unwrap());
    let params = serde_json::from_value(json!({})).unwrap();
    let items = c.files().list(params).pages().collect_all().await.unwrap();
    assert_eq!(items.len(), 2);
    let all = server.received_requests().await.unwrap();
    assert_eq!(all.len(), 2);
    for r in &all {
        assert!(
            r.url
                .query_pairs()
                .any(|(k, v)| k == "api-version" && v == VERSION),
            "{}",
            r.url
        );
        assert_eq!(header(r, "api-key"), Some("azure-key-1"));
    }
}

#[tokio::test]
async fn entra_provider_is_asked_before_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    answering(&server, CHAT, "application/json").await;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let config = Config::azure()
        .endpoint(server.uri())
        .api_version(VERSION)
        .entra_token_provider(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(SecretString::from(format!("entra-token-{n}"))) }
        })
        .with(|c| c.max_retries(1))
        .build()
        .unwrap();
    let c = client(config);
    c.chat()
        .completions()
        .create(chat_request("gpt-4o"))
        .await
        .unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    let all = server.received_requests().await.unwrap();
    let auth: Vec<_> = all.iter().map(|r| header(r, "authorization")).collect();
    assert_eq!(
        auth,
        vec![Some("Bearer entra-token-1"), Some("Bearer entra-token-2")]
    );
    assert!(all.iter().all(|r| header(r, "api-key").is_none()));
    assert!(
        all.iter()
            .all(|r| r.url.path() == "/openai/deployments/gpt-4o/chat/completions")
    );
}

#[tokio::test]
async fn fixed_deployment_and_v1_endpoint() {
    // A fixed deployment: every path under it, whatever the model says.
    let server = MockServer::start().await;
    answering(&server, CHAT, "application/json").await;
    let c = client(azure(&server).deployment("fixed").build().unwrap());
    c.chat()
        .completions()
        .create(chat_request("other"))
        .await
        .unwrap();
    check_key_request(
        &server,
        "POST",
        "/openai/deployments/fixed/chat/completions",
        &[("api-version", VERSION)],
    )
    .await;

    // The v1 endpoint: OpenAI paths, no api-version.
    let server = MockServer::start().await;
    answering(&server, CHAT, "application/json").await;
    let c = client(
        Config::azure()
            .endpoint(format!("{}/openai/v1", server.uri()))
            .api_key("azure-key-1")
            .build()
            .unwrap(),
    );
    assert!(c.config().is_azure());
    c.chat()
        .completions()
        .create(chat_request("gpt-4o"))
        .await
        .unwrap();
    check_key_request(&server, "POST", "/openai/v1/chat/completions", &[]).await;
}

#[tokio::test]
async fn a_model_that_would_escape_its_segment_is_encoded_or_refused() {
    let server = MockServer::start().await;
    answering(&server, CHAT, "application/json").await;
    let c = client(azure(&server).build().unwrap());
    c.chat()
        .completions()
        .create(chat_request("a/../b"))
        .await
        .unwrap();
    let (r, _) = only_request(&server).await;
    assert_eq!(
        r.url.path(),
        "/openai/deployments/a%2F..%2Fb/chat/completions"
    );
    let err = c
        .chat()
        .completions()
        .create(chat_request(".."))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
