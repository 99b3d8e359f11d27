//! The generated types read and write real payloads, and keep what they do not know.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai_types::*;
use serde_json::{Value, json};

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(v: Value) -> T {
    let t: T = serde_json::from_value(v.clone()).unwrap();
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(strip_nulls(back), strip_nulls(v));
    t
}

/// `null` and absent mean the same for optional fields.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[test]
fn chat_request_with_every_message_shape() {
    let req: CreateChatCompletionRequest = round_trip(json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                         {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"}
        ],
        "temperature": 0.2,
        "stream": true
    }));
    assert_eq!(req.messages.len(), 4);
    match &req.messages[1] {
        ChatCompletionRequestMessage::User(u) => {
            assert!(matches!(
                u.content,
                ChatCompletionRequestUserMessageContent::ArrayOfContentParts(_)
            ));
        }
        other => panic!("not a user message: {other:?}"),
    }
    assert_eq!(req.messages[3].tag(), Some("tool"));
}

#[test]
fn chat_stream_chunk() {
    let chunk: CreateChatCompletionStreamResponse = round_trip(json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000,
        "model": "gpt-4o-mini", "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"},
                     "logprobs": null, "finish_reason": null}]
    }));
    assert_eq!(chunk.choices[0].delta.content.as_deref(), Some("Hel"));
}

#[test]
fn unknown_values_tags_and_fields_are_kept_or_accepted() {
    // a finish reason the spec does not know yet
    let v = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "brand_new_reason", "logprobs": null,
                     "message": {"role": "assistant", "content": "x", "refusal": null}}],
        "a_field_from_the_future": {"x": 1}});
    let r: CreateChatCompletionResponse = serde_json::from_value(v).unwrap();
    let reason = serde_json::to_value(&r.choices[0].finish_reason).unwrap();
    assert_eq!(reason, "brand_new_reason");

    // an event type the spec does not know yet
    let ev: ResponseStreamEvent =
        serde_json::from_value(json!({"type": "response.teleport.delta", "sequence_number": 9}))
            .unwrap();
    assert_eq!(ev.tag(), Some("response.teleport.delta"));
    assert_eq!(serde_json::to_value(&ev).unwrap()["sequence_number"], 9);
}

#[test]
fn responses_text_delta_event() {
    let ev: ResponseStreamEvent = round_trip(json!({
        "type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
        "content_index": 0, "delta": "Hi", "sequence_number": 3, "logprobs": []
    }));
    assert_eq!(ev.tag(), Some("response.output_text.delta"));
    assert!(ev.as_unknown().is_none());
}
