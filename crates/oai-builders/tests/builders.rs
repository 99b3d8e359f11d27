//! The generated builders: required fields are arguments of `new`, setters take
//! natural conversions, appenders grow lists, and `build` validates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai_builders::types::{
    ChatCompletionRequestMessage, ChatCompletionTool, CreateChatCompletionRequest,
    EasyInputMessage, FunctionTool, InputFile, InputParam, OrderEnum,
};
use oai_builders::{
    CreateChatCompletionRequestBuilder, CreateEmbeddingRequestBuilder, CreateFileRequestBuilder,
    CreateResponseBuilder, ListFilesParamsBuilder,
};
use serde_json::json;

#[test]
fn chat_request_from_required_fields_setters_and_appenders() {
    let request = CreateChatCompletionRequestBuilder::new(
        ChatCompletionRequestMessage::system("Be brief."),
        "gpt-4o-mini",
    )
    .message(ChatCompletionRequestMessage::user("Hello"))
    .temperature(0.2)
    .top_logprobs(3)
    .tool(ChatCompletionTool::function("get_time", json!({"type": "object"})).strict())
    .tool(ChatCompletionTool::function(
        "get_date",
        json!({"type": "object"}),
    ))
    .build()
    .unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hello"}
            ],
            "temperature": 0.2,
            "top_logprobs": 3,
            "tools": [
                {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}, "strict": true}},
                {"type": "function", "function": {"name": "get_date", "parameters": {"type": "object"}}}
            ]
        })
    );
}

#[test]
fn build_lists_every_violation_with_its_path() {
    let err = CreateChatCompletionRequestBuilder::new(Vec::new(), "gpt-4o")
        .top_logprobs(21)
        .frequency_penalty(-2.5)
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("messages"), "{text}");
    assert!(text.contains("top_logprobs"), "{text}");
    assert!(text.contains("frequency_penalty"), "{text}");
    assert_eq!(err.violations().len(), 3, "{text}");
}

#[test]
fn into_inner_skips_validation_and_from_resumes_editing() {
    let unchecked = CreateChatCompletionRequestBuilder::new(Vec::new(), "gpt-4o").into_inner();
    assert!(unchecked.messages.is_empty());
    let fixed: CreateChatCompletionRequest = CreateChatCompletionRequestBuilder::from(unchecked)
        .message(ChatCompletionRequestMessage::user("hi"))
        .build()
        .unwrap();
    assert_eq!(fixed.messages.len(), 1);
}

#[test]
fn responses_request_takes_a_string_or_messages_as_input() {
    let plain = CreateResponseBuilder::new()
        .model("gpt-4.1")
        .input("Tell me a joke")
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        json!({"model": "gpt-4.1", "input": "Tell me a joke"})
    );
    let messages = CreateResponseBuilder::default()
        .input(InputParam::from(vec![
            EasyInputMessage::developer("Answer in French."),
            EasyInputMessage::user("Hello"),
        ]))
        .tool(FunctionTool::new("lookup", json!({"type": "object"})).unwrap())
        .build()
        .unwrap();
    let json = serde_json::to_value(&messages).unwrap();
    assert_eq!(
        json["input"][0],
        json!({"role": "developer", "content": "Answer in French."})
    );
    assert_eq!(json["tools"][0]["name"], "lookup");
    assert!(FunctionTool::new("lookup", json!("not a schema")).is_err());
}

#[test]
fn multipart_and_params_builders() {
    let upload = CreateFileRequestBuilder::new(
        InputFile::from_bytes("batch.jsonl", b"{}\n".to_vec()),
        "batch",
    )
    .build()
    .unwrap();
    assert_eq!(upload.file.file_name(), "batch.jsonl");
    assert_eq!(upload.purpose.as_str(), "batch");

    let params = ListFilesParamsBuilder::new()
        .limit(20)
        .order(OrderEnum::Asc)
        .build()
        .unwrap();
    assert_eq!(params.limit, Some(20));
    // A value the API may add later is the caller's to send.
    let params = ListFilesParamsBuilder::new()
        .order("sideways")
        .build()
        .unwrap();
    assert_eq!(params.order.as_ref().map(|o| o.as_str()), Some("sideways"));
}

#[test]
fn embeddings_from_strings() {
    let request = CreateEmbeddingRequestBuilder::new("some text", "text-embedding-3-small")
        .dimensions(256)
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"input": "some text", "model": "text-embedding-3-small", "dimensions": 256})
    );
}
