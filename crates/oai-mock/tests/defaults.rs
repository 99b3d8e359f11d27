//! The default answers: status, headers, and shapes decoded with the strict
//! generated types the `oai` client uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{api_error, client, events, get, post, url};
use oai_mock::MockServer;
use oai_types::{
    ChatCompletionMessageToolCallsItem, CreateChatCompletionResponse,
    CreateChatCompletionResponseChoicesItemFinishReason, CreateChatCompletionStreamResponse,
    CreateEmbeddingResponse, EmbeddingVector, ListModelsResponse, Model, OutputItem,
    OutputMessageContent, Response, ResponseStreamEvent,
};
use serde_json::{Value, json};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn chat_request(question: &str) -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "an earlier question"},
            {"role": "assistant", "content": "an earlier answer"},
            {"role": "user", "content": question}
        ]
    })
}

#[tokio::test]
async fn chat_answers_the_last_user_message() {
    let server = MockServer::start().await;
    let response = post(&server, "/chat/completions", &chat_request("What is 2+2?")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "x-request-id"), "req_mock_1");
    for name in [
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ] {
        assert!(!header(&response, name).is_empty(), "{name}");
    }
    let limit: u64 = header(&response, "x-ratelimit-limit-requests")
        .parse()
        .unwrap();
    let remaining: u64 = header(&response, "x-ratelimit-remaining-requests")
        .parse()
        .unwrap();
    assert!(remaining < limit);
    let raw: Value = response.json().await.unwrap();
    assert_eq!(raw["object"], "chat.completion");
    assert!(
        raw["choices"][0]
            .get("logprobs")
            .is_some_and(Value::is_null)
    );
    let completion: CreateChatCompletionResponse = serde_json::from_value(raw).unwrap();
    assert_eq!(completion.model, "gpt-4o");
    assert!(completion.id.starts_with("chatcmpl-"));
    let choice = &completion.choices[0];
    assert_eq!(
        choice.message.content.as_deref(),
        Some("This is a mock answer to: What is 2+2?")
    );
    assert_eq!(choice.message.refusal, None);
    assert_eq!(
        choice.finish_reason,
        CreateChatCompletionResponseChoicesItemFinishReason::Stop
    );
    let usage = completion.usage.unwrap();
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );

    // Request ids count up.
    let second = post(&server, "/chat/completions", &chat_request("again")).await;
    assert_eq!(header(&second, "x-request-id"), "req_mock_2");
}

#[tokio::test]
async fn chat_reads_text_parts() {
    let server = MockServer::start().await;
    let request = json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "text", "text": "this image"}
        ]}]
    });
    let body: Value = post(&server, "/chat/completions", &request)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "This is a mock answer to: Describe this image"
    );
}

#[tokio::test]
async fn chat_streams_chunks_then_usage_then_done() {
    let server = MockServer::start().await;
    let mut request = chat_request("Tell me a joke");
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});
    let response = post(&server, "/chat/completions", &request).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    let events = events(&text);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    assert!(events.iter().all(|e| e.event.is_none()));
    let chunks: Vec<CreateChatCompletionStreamResponse> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    let raw: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json())
        .collect();
    assert!(chunks.len() >= 5, "{text}");
    assert!(chunks.iter().all(|c| c.id == chunks[0].id));
    // The role first, the words, the finish, the usage.
    assert_eq!(raw[0]["choices"][0]["delta"]["role"], "assistant");
    let words: Vec<&str> = raw[1..raw.len() - 2]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert!(words.len() >= 3);
    assert_eq!(words.concat(), "This is a mock answer to: Tell me a joke");
    let finish = &raw[raw.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(
        raw[..raw.len() - 2]
            .iter()
            .all(|c| c["choices"][0]["finish_reason"].is_null())
    );
    let usage_chunk = &chunks[chunks.len() - 1];
    assert!(usage_chunk.choices.is_empty());
    assert!(usage_chunk.usage.as_ref().unwrap().total_tokens > 0);
    assert!(raw[..raw.len() - 1].iter().all(|c| c["usage"].is_null()));
}

#[tokio::test]
async fn chat_stream_without_usage_has_no_usage_chunk() {
    let server = MockServer::start().await;
    let mut request = chat_request("hi");
    request["stream"] = json!(true);
    let text = post(&server, "/chat/completions", &request)
        .await
        .text()
        .await
        .unwrap();
    let events = events(&text);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let last_chunk = events[events.len() - 2].json();
    assert_eq!(last_chunk["choices"][0]["finish_reason"], "stop");
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e.json().get("usage").is_none())
    );
}

#[tokio::test]
async fn chat_refuses_bad_requests_in_the_api_error_shape() {
    let server = MockServer::start().await;
    let error = api_error(
        post(&server, "/chat/completions", &json!({"model": "gpt-4o"})).await,
        400,
    )
    .await;
    assert_eq!(error["param"], "messages");
    assert_eq!(error["type"], "invalid_request_error");
    let error = api_error(
        post(
            &server,
            "/chat/completions",
            &json!({"messages": [{"role": "user", "content": "x"}]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(error["param"], "model");
    let malformed = client(&server)
        .post(url(&server, "/chat/completions"))
        .header("content-type", "application/json")
        .body("{\"model\": ")
        .send()
        .await
        .unwrap();
    let error = api_error(malformed, 400).await;
    assert!(error["message"].as_str().unwrap().contains("JSON"));
}

#[tokio::test]
async fn responses_answer_with_a_completed_message() {
    let server = MockServer::start().await;
    let request = json!({
        "model": "gpt-4o-mini",
        "instructions": "Be kind.",
        "input": [
            {"role": "user", "content": "first"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is Rust?"}]}
        ]
    });
    let response = post(&server, "/responses", &request).await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "x-request-id").starts_with("req_mock_"));
    let raw: Value = response.json().await.unwrap();
    assert_eq!(raw["instructions"], "Be kind.");
    let parsed: Response = serde_json::from_value(raw).unwrap();
    assert!(parsed.id.starts_with("resp_"));
    assert_eq!(parsed.output.len(), 1);
    let OutputItem::Message(message) = &parsed.output[0] else {
        panic!("not a message: {:?}", parsed.output[0]);
    };
    let OutputMessageContent::OutputText(text) = &message.content[0] else {
        panic!("not output_text: {:?}", message.content[0]);
    };
    assert_eq!(text.text, "This is a mock answer to: What is Rust?");
    let usage = parsed.usage.unwrap();
    assert_eq!(usage.total_tokens, usage.input_tokens + usage.output_tokens);
}

#[tokio::test]
async fn responses_stream_in_the_api_order() {
    let server = MockServer::start().await;
    let request = json!({"model": "gpt-4o-mini", "input": "Name three colours", "stream": true});
    let response = post(&server, "/responses", &request).await;
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let events = events(&text);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "response.output_text.delta")
        .count();
    assert!(deltas >= 3);
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(std::iter::repeat_n("response.output_text.delta", deltas));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(names, expected);
    let mut joined = String::new();
    for (n, event) in events.iter().enumerate() {
        let raw = event.json();
        assert_eq!(raw["type"], event.event.as_deref().unwrap());
        assert_eq!(raw["sequence_number"], json!(n));
        let parsed: ResponseStreamEvent = serde_json::from_value(raw).unwrap();
        assert!(parsed.as_unknown().is_none(), "{}", event.data);
        if let ResponseStreamEvent::ResponseOutputTextDelta(delta) = &parsed {
            joined.push_str(&delta.delta);
        }
        if let ResponseStreamEvent::ResponseCompleted(done) = &parsed {
            assert!(done.response.usage.is_some());
            assert_eq!(done.response.output.len(), 1);
        }
        if let ResponseStreamEvent::ResponseCreated(created) = &parsed {
            assert!(created.response.output.is_empty());
        }
    }
    assert_eq!(joined, "This is a mock answer to: Name three colours");
}

#[tokio::test]
async fn embeddings_are_deterministic_in_both_encodings() {
    let server = MockServer::start().await;
    let floats = post(
        &server,
        "/embeddings",
        &json!({"model": "text-embedding-3-small", "input": ["alpha", "beta"], "dimensions": 8, "encoding_format": "float"}),
    )
    .await;
    assert_eq!(floats.status(), 200);
    let floats: CreateEmbeddingResponse = floats.json().await.unwrap();
    assert_eq!(floats.data.len(), 2);
    assert_eq!(floats.model, "text-embedding-3-small");
    assert!(floats.usage.prompt_tokens > 0);
    assert!(matches!(
        floats.data[0].embedding,
        EmbeddingVector::Float(_)
    ));
    let a = floats.data[0].embedding.to_f32();
    assert_eq!(a.len(), 8);
    assert_ne!(a, floats.data[1].embedding.to_f32());
    let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);

    let base64 = post(
        &server,
        "/embeddings",
        &json!({"model": "text-embedding-3-small", "input": "alpha", "dimensions": 8, "encoding_format": "base64"}),
    )
    .await;
    let base64: CreateEmbeddingResponse = base64.json().await.unwrap();
    assert_eq!(base64.data[0].embedding.as_f32().unwrap(), a.as_slice());

    // Default dimensions, token arrays.
    let tokens: CreateEmbeddingResponse = post(
        &server,
        "/embeddings",
        &json!({"model": "text-embedding-3-small", "input": [[1, 2, 3], [4]]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(tokens.data.len(), 2);
    assert_eq!(tokens.data[1].index, 1);
    assert_eq!(tokens.data[0].embedding.len(), 1536);
    assert_eq!(tokens.usage.prompt_tokens, 4);
}

#[tokio::test]
async fn embeddings_refuse_bad_input() {
    let server = MockServer::start().await;
    for (body, param) in [
        (json!({"model": "m"}), "input"),
        (json!({"model": "m", "input": []}), "input"),
        (json!({"model": "m", "input": [""]}), "input"),
        (
            json!({"model": "m", "input": "x", "dimensions": 0}),
            "dimensions",
        ),
        (
            json!({"model": "m", "input": "x", "encoding_format": "hex"}),
            "encoding_format",
        ),
    ] {
        let error = api_error(post(&server, "/embeddings", &body).await, 400).await;
        assert_eq!(error["param"], param, "{body}");
    }
}

#[tokio::test]
async fn models_list_retrieve_and_404() {
    let server = MockServer::start().await;
    let list: ListModelsResponse = get(&server, "/models").await.json().await.unwrap();
    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]);
    let model: Model = get(&server, "/models/gpt-4o").await.json().await.unwrap();
    assert_eq!(model.id, "gpt-4o");
    assert_eq!(model.owned_by, "system");
    let error = api_error(get(&server, "/models/gpt-0").await, 404).await;
    assert_eq!(error["code"], "model_not_found");
}

#[tokio::test]
async fn unknown_endpoints_are_404_unknown_url() {
    let server = MockServer::start().await;
    let error = api_error(get(&server, "/nothing/here").await, 404).await;
    assert_eq!(error["code"], "unknown_url");
    assert_eq!(error["type"], "invalid_request_error");
    assert!(error["param"].is_null());
    let error = api_error(get(&server, "/chat/completions").await, 404).await;
    assert_eq!(error["message"], "Invalid URL (GET /v1/chat/completions)");
    let outside = client(&server)
        .get(format!("http://{}/", server.addr()))
        .send()
        .await
        .unwrap();
    api_error(outside, 404).await;
}

#[tokio::test]
async fn bodies_over_32_mib_are_413() {
    let server = MockServer::start().await;
    let big = vec![b' '; 32 * 1024 * 1024 + 1];
    let response = client(&server)
        .post(url(&server, "/embeddings"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    api_error(response, 413).await;
    let recorded = server.requests();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].body.is_empty());
    // The server still answers afterwards.
    assert_eq!(get(&server, "/models").await.status(), 200);
}

#[tokio::test]
async fn scripted_tool_calls_decode_strictly() {
    let server = MockServer::start().await;
    server
        .chat()
        .tool_calls([oai_mock::ToolCall::new("lookup", json!({"q": "rust"}))]);
    let completion: CreateChatCompletionResponse =
        post(&server, "/chat/completions", &chat_request("x"))
            .await
            .json()
            .await
            .unwrap();
    let calls = completion.choices[0].message.tool_calls.as_ref().unwrap();
    let ChatCompletionMessageToolCallsItem::Function(call) = &calls[0] else {
        panic!("not a function call: {:?}", calls[0]);
    };
    assert_eq!(call.id, "call_1");
    assert_eq!(call.function.name, "lookup");
    assert_eq!(call.function.arguments, r#"{"q":"rust"}"#);
}
