//! The facade end to end against `oai-mock`, the in-process fake server: the
//! helpers of the crate working together the way an application uses them.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(
    feature = "chat",
    feature = "responses",
    feature = "embeddings",
    feature = "models",
    feature = "files",
    feature = "batches",
    feature = "uploads",
    feature = "tools"
))]

use std::time::Duration;

use oai::accumulate::AccumulateExt;
use oai::builders::{
    CreateChatCompletionRequestBuilder as Chat, CreateEmbeddingRequestBuilder,
    CreateResponseBuilder,
};
use oai::types::ChatCompletionRequestMessage as Message;
use oai_mock::{MockServer, ToolCall};
use serde_json::{Value, json};

fn client(mock: &MockServer) -> oai::Client {
    client_with(mock, |b| b)
}

fn client_with(
    mock: &MockServer,
    tune: impl FnOnce(oai::ConfigBuilder) -> oai::ConfigBuilder,
) -> oai::Client {
    oai::Client::new(
        tune(
            oai::Config::builder()
                .api_key(mock.api_key())
                .base_url(mock.base_url()),
        )
        .build()
        .unwrap(),
    )
    .unwrap()
}

fn chat(prompt: &str) -> oai::types::CreateChatCompletionRequest {
    Chat::new(Message::user(prompt), "gpt-4o-mini")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_streamed_chat_accumulates_to_what_the_plain_call_returns() {
    let mock = MockServer::start().await;
    let client = client(&mock);
    let plain = client
        .chat()
        .completions()
        .create(chat("two plus two"))
        .with_meta()
        .await
        .unwrap();
    assert!(plain.meta.request_id().unwrap().starts_with("req_mock_"));
    assert!(plain.meta.rate_limit().remaining_requests.is_some());
    let streamed = client
        .chat()
        .completions()
        .create(chat("two plus two"))
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap();
    assert_eq!(
        streamed.choices[0].message.content,
        plain.data.choices[0].message.content
    );
    assert_eq!(
        streamed.choices[0].message.content.as_deref(),
        Some("This is a mock answer to: two plus two")
    );
}

#[tokio::test]
async fn a_streamed_response_ends_completed_with_its_text() {
    let mock = MockServer::start().await;
    mock.responses().text("streamed words arrive in order");
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("x")
        .build()
        .unwrap();
    let response = client(&mock)
        .responses()
        .create(request)
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap();
    assert_eq!(response.status, Some(oai::types::ResponseStatus::Completed));
    let text: String = response
        .output
        .iter()
        .filter_map(|item| match item {
            oai::types::OutputItem::Message(m) => Some(m),
            _ => None,
        })
        .flat_map(|m| &m.content)
        .filter_map(|c| match c {
            oai::types::OutputMessageContent::OutputText(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "streamed words arrive in order");
}

#[tokio::test]
async fn embeddings_come_as_base64_by_default_and_match_the_float_answer() {
    let mock = MockServer::start().await;
    let client = client(&mock);
    let request = CreateEmbeddingRequestBuilder::new("hello world", "text-embedding-3-small")
        .dimensions(8)
        .build()
        .unwrap();
    let packed = client.embeddings().create(request.clone()).await.unwrap();
    assert_eq!(
        mock.requests().last().unwrap().json().unwrap()["encoding_format"],
        "base64"
    );
    let mut floats = request;
    floats.encoding_format = Some(oai::types::CreateEmbeddingRequestEncodingFormat::Float);
    let plain = client.embeddings().create(floats).await.unwrap();
    let a = packed.data[0].embedding.to_f32();
    let b = plain.data[0].embedding.to_f32();
    assert!(matches!(
        packed.data[0].embedding,
        oai::types::EmbeddingVector::Base64(_)
    ));
    assert_eq!(a.len(), 8);
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_then_succeeds() {
    let mock = MockServer::start().await;
    mock.chat()
        .error_with_retry_after(429, "slow down", Duration::from_millis(20));
    let answer = client(&mock)
        .chat()
        .completions()
        .create(chat("again"))
        .with_meta()
        .await
        .unwrap();
    assert_eq!(answer.meta.attempts(), 2);
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn an_api_error_keeps_status_message_and_request_id() {
    let mock = MockServer::start().await;
    mock.chat().error(400, "bad temperature");
    let e = client(&mock)
        .chat()
        .completions()
        .create(chat("x"))
        .await
        .unwrap_err();
    assert!(e.is_api());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(e.api_error().unwrap().message(), "bad temperature");
    assert!(e.request_id().unwrap().starts_with("req_mock_"));
    // An unknown model is a 404 from the models endpoint.
    let e = client(&mock)
        .models()
        .retrieve("no-such-model")
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn a_stream_cut_short_is_an_error_never_a_silent_success() {
    let mock = MockServer::start().await;
    mock.chat().cut_stream_after(2);
    let e = client(&mock)
        .chat()
        .completions()
        .create(chat("x"))
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert!(e.is_stream() || e.is_truncated(), "{e}");
}

#[tokio::test]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let mock = MockServer::start().await;
    mock.chat().stall(Duration::from_secs(3));
    let client = client_with(&mock, |b| {
        b.stream_idle_timeout(Duration::from_millis(200))
            .max_retries(0)
    });
    let started = std::time::Instant::now();
    let e = client
        .chat()
        .completions()
        .create(chat("x"))
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_batch_runs_from_typed_requests_to_typed_results() {
    let mock = MockServer::start().await;
    let client = client(&mock);
    let input =
        oai::batch::BatchInput::new([("first", chat("one")), ("second", chat("two"))]).unwrap();
    let outcome = oai::batch::BatchRunner::new(&client)
        .poll_interval(Duration::from_millis(10))
        .jitter(false)
        .run(&input)
        .await
        .unwrap();
    assert_eq!(outcome.results.succeeded(), 2);
    let second = outcome.results.get("second").unwrap().as_ref().unwrap();
    assert_eq!(
        second.choices[0].message.content.as_deref(),
        Some("This is a mock answer to: two")
    );
}

#[tokio::test]
async fn a_large_upload_in_parts_arrives_whole() {
    let mock = MockServer::start().await;
    let client = client(&mock);
    let content: Vec<u8> = (0..250_000u32).map(|i| (i % 251) as u8).collect();
    let parts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&parts);
    let upload = oai::upload::LargeUpload::from_bytes(content.clone(), "data.bin", "batch")
        .part_size(100_000)
        .on_progress(move |p| seen.store(p.parts_done, std::sync::atomic::Ordering::SeqCst))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(parts.load(std::sync::atomic::Ordering::SeqCst), 3);
    let file = upload.file.unwrap();
    let back = client.files().content(&file.id).await.unwrap();
    assert_eq!(&back[..], &content[..]);
}

#[tokio::test]
async fn the_tool_runner_runs_a_scripted_tool_call() {
    let mock = MockServer::start().await;
    mock.chat()
        .tool_calls([ToolCall::new("add", json!({"a": 2, "b": 40}))]);
    mock.chat().text("42");
    let mut tools = oai::tools::ToolRegistry::new();
    tools
        .register_json(
            "add",
            "Adds",
            json!({"type": "object", "properties": {"a": {"type": "integer"},
                "b": {"type": "integer"}}, "required": ["a", "b"],
                "additionalProperties": false}),
            true,
            |v: Value| async move {
                Ok::<_, String>(v["a"].as_i64().unwrap_or(0) + v["b"].as_i64().unwrap_or(0))
            },
        )
        .unwrap();
    let run = oai::tools::ToolRunner::new(client(&mock), tools)
        .streaming(true)
        .run_chat(chat("2+40?"))
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(run.conversation().final_text(), Some("42"));
    let second = mock.requests().last().unwrap().json().unwrap();
    let tool = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap()
        .clone();
    assert_eq!(tool["content"], "42");
}

#[tokio::test]
async fn each_call_asks_for_the_media_type_its_answer_has() {
    let mock = MockServer::start().await;
    let client = client(&mock);
    mock.on("POST", "/audio/speech").text("mp3 bytes");
    mock.on("GET", "/files/file-1/content").text("line\n");
    let speech = oai::builders::CreateSpeechRequestBuilder::new(
        "gpt-4o-mini-tts",
        "hello",
        oai::types::VoiceIdsOrCustomVoice::from(oai::types::VoiceIdsShared::Alloy),
    )
    .build()
    .unwrap();
    let audio = client.audio().speech().create(speech).await.unwrap();
    assert_eq!(&audio[..], b"mp3 bytes");
    let content = client.files().content("file-1").await.unwrap();
    assert_eq!(&content[..], b"line\n");
    let _ = client
        .chat()
        .completions()
        .create(chat("hi"))
        .await
        .unwrap();
    let mut stream = client
        .chat()
        .completions()
        .create(chat("hi"))
        .stream()
        .await
        .unwrap();
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        chunk.unwrap();
    }
    let accepts: Vec<(String, Option<String>)> = mock
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.header("accept").map(str::to_owned)))
        .collect();
    assert_eq!(
        accepts,
        [
            (
                "/v1/audio/speech".into(),
                Some("application/octet-stream".into())
            ),
            (
                "/v1/files/file-1/content".into(),
                Some("application/octet-stream".into())
            ),
            (
                "/v1/chat/completions".into(),
                Some("application/json".into())
            ),
            (
                "/v1/chat/completions".into(),
                Some("text/event-stream".into())
            ),
        ]
    );
}
