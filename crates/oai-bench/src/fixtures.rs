//! Deterministic payloads shaped like what the API sends.
//!
//! Every generator is a pure function of its arguments: two runs of a bench
//! see the same bytes.

use base64::Engine as _;
use bytes::Bytes;
use oai::types::{
    ChatCompletionRequestMessage as Message, ChatCompletionTool, CreateChatCompletionRequest,
    CreateChatCompletionRequestToolsItem as Tool,
};
use serde_json::{Value, json};

/// The model named in the payloads.
pub const MODEL: &str = "gpt-4o-mini-2024-07-18";

/// The embedding model named in the embeddings payloads.
pub const EMBEDDING_MODEL: &str = "text-embedding-3-small";

const WORDS: [&str; 24] = [
    " the",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " a",
    " lazy",
    " dog",
    ",",
    " and",
    " then",
    " it",
    " rests",
    " under",
    " an",
    " old",
    " oak",
    " tree",
    ".",
    " Meanwhile",
    " rain",
    " falls",
    " softly",
];

/// The `i`th content delta: a short word, as models stream them.
pub fn word(i: usize) -> &'static str {
    WORDS
        .get((i * 7 + i / 5) % WORDS.len())
        .copied()
        .unwrap_or(" word")
}

/// A short opaque string that varies with `i`, like the API's `obfuscation` padding.
fn padding(i: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let len = 2 + i % 9;
    (0..len)
        .map(|k| {
            let at = (i.wrapping_mul(31).wrapping_add(k * 17)) % ALPHABET.len();
            char::from(ALPHABET.get(at).copied().unwrap_or(b'x'))
        })
        .collect()
}

/// A fixed non-streamed chat completion (about 1 KiB of JSON).
pub fn chat_completion() -> Bytes {
    let content: String = (0..120).map(word).collect();
    let body = json!({
        "id": "chatcmpl-B9benchfixed0001",
        "object": "chat.completion",
        "created": 1_741_570_283,
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": content.trim_start(),
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 120,
            "total_tokens": 139,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    });
    Bytes::from(body.to_string())
}

fn sse(event: Option<&str>, data: &Value) -> Bytes {
    let mut out = String::new();
    if let Some(name) = event {
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
    Bytes::from(out)
}

/// A streamed chat completion of `chunks` `chat.completion.chunk` events
/// (a role chunk, content deltas of one word, a final chunk with
/// `finish_reason`), then `data: [DONE]`: one frame per event, as a server
/// flushes them.
pub fn chat_stream(chunks: usize) -> Vec<Bytes> {
    let mut frames = Vec::with_capacity(chunks + 1);
    for i in 0..chunks {
        let (delta, finish) = if i == 0 {
            (
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            )
        } else if i + 1 == chunks {
            (json!({}), json!("stop"))
        } else {
            (json!({"content": word(i)}), Value::Null)
        };
        let chunk = json!({
            "id": "chatcmpl-B9benchstream001",
            "object": "chat.completion.chunk",
            "created": 1_741_570_283,
            "model": MODEL,
            "service_tier": "default",
            "system_fingerprint": "fp_06737a9306",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            "obfuscation": padding(i)
        });
        frames.push(sse(None, &chunk));
    }
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

fn response_object(status: &str, text: Option<&str>) -> Value {
    let output = match text {
        Some(t) => json!([{
            "id": "msg_bench0001",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": t, "annotations": [], "logprobs": []}]
        }]),
        None => json!([]),
    };
    let usage = match text {
        Some(_) => json!({
            "input_tokens": 19,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 120,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 139
        }),
        None => Value::Null,
    };
    json!({
        "id": "resp_bench0001",
        "object": "response",
        "created_at": 1_741_570_283,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "max_tool_calls": null,
        "model": MODEL,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "service_tier": "default",
        "store": true,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {}
    })
}

/// A streamed Responses answer of `events` events (at least 9): created,
/// in progress, item and part added, `events - 8` text deltas of one word,
/// text done, part and item done, completed. Each event carries its SSE
/// `event:` name, as the API sends them.
pub fn responses_stream(events: usize) -> Vec<Bytes> {
    let deltas = events.saturating_sub(8);
    let text: String = (0..deltas).map(word).collect();
    let mut seq = 0_usize;
    let mut frames = Vec::with_capacity(deltas + 8);
    let mut push = |name: &str, body: Value| {
        // `type` and `sequence_number` first, as the API orders them.
        let mut event = json!({"type": name, "sequence_number": seq});
        if let (Some(out), Value::Object(fields)) = (event.as_object_mut(), body) {
            out.extend(fields);
        }
        seq += 1;
        frames.push(sse(Some(name), &event));
    };
    push(
        "response.created",
        json!({"response": response_object("in_progress", None)}),
    );
    push(
        "response.in_progress",
        json!({"response": response_object("in_progress", None)}),
    );
    push(
        "response.output_item.added",
        json!({"output_index": 0, "item": {
            "id": "msg_bench0001", "type": "message", "status": "in_progress",
            "role": "assistant", "content": []
        }}),
    );
    push(
        "response.content_part.added",
        json!({"item_id": "msg_bench0001", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
    );
    for i in 0..deltas {
        push(
            "response.output_text.delta",
            json!({"item_id": "msg_bench0001", "output_index": 0, "content_index": 0,
                "delta": word(i), "logprobs": [], "obfuscation": padding(i)}),
        );
    }
    push(
        "response.output_text.done",
        json!({"item_id": "msg_bench0001", "output_index": 0, "content_index": 0,
            "text": text, "logprobs": []}),
    );
    push(
        "response.content_part.done",
        json!({"item_id": "msg_bench0001", "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}),
    );
    push(
        "response.output_item.done",
        json!({"output_index": 0, "item": {
            "id": "msg_bench0001", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        }}),
    );
    push(
        "response.completed",
        json!({"response": response_object("completed", Some(&text))}),
    );
    frames
}

/// The frames as one buffer: the bytes of the whole stream.
pub fn join(frames: &[Bytes]) -> Bytes {
    let mut out = Vec::with_capacity(frames.iter().map(Bytes::len).sum());
    for f in frames {
        out.extend_from_slice(f);
    }
    Bytes::from(out)
}

/// The value at row `i`, column `j` of the embeddings: spread over
/// [-0.1, 0.1] like real embedding components, from a small integer hash.
pub fn embedding_value(i: usize, j: usize) -> f32 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    // 24 bits of the hash, mapped onto [-0.1, 0.1].
    let unit = (x & 0xFF_FFFF) as f32 / 16_777_215.0;
    (unit - 0.5) * 0.2
}

fn embeddings_body(rows: usize, embedding: impl Fn(usize) -> String) -> Bytes {
    let mut out = String::from("{\"object\":\"list\",\"data\":[");
    for i in 0..rows {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"object\":\"embedding\",\"index\":{i},\"embedding\":{}}}",
            embedding(i)
        ));
    }
    out.push_str(&format!(
        "],\"model\":\"{EMBEDDING_MODEL}\",\"usage\":{{\"prompt_tokens\":{t},\"total_tokens\":{t}}}}}",
        t = rows * 8
    ));
    Bytes::from(out)
}

/// An embeddings response of `rows` x `dims` values as JSON numbers
/// (`encoding_format: "float"`), each written as the shortest decimal that
/// reads back as the same `f32` (about ten significant digits, as the API
/// writes them).
pub fn embeddings_float(rows: usize, dims: usize) -> Bytes {
    embeddings_body(rows, |i| {
        let mut out = String::from("[");
        for j in 0..dims {
            if j > 0 {
                out.push(',');
            }
            out.push_str(&embedding_value(i, j).to_string());
        }
        out.push(']');
        out
    })
}

/// The same response with each vector as base64 of its little-endian `f32`
/// bytes (`encoding_format: "base64"`).
pub fn embeddings_base64(rows: usize, dims: usize) -> Bytes {
    embeddings_body(rows, |i| {
        let bytes: Vec<u8> = (0..dims)
            .flat_map(|j| embedding_value(i, j).to_le_bytes())
            .collect();
        format!(
            "\"{}\"",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    })
}

/// A one-message chat request, as a typical call sends.
pub fn small_chat_request() -> CreateChatCompletionRequest {
    oai::builders::CreateChatCompletionRequestBuilder::new(
        Message::user("Say hello in one sentence."),
        "gpt-4o-mini",
    )
    .into_inner()
}

/// The parts of a large chat request: `messages` messages (a system prompt,
/// then user and assistant turns with a few hundred bytes each) and `tools`
/// function tools with JSON-schema parameters.
pub fn large_chat_parts(messages: usize, tools: usize) -> (Vec<Message>, Vec<Tool>) {
    let mut list = Vec::with_capacity(messages);
    for i in 0..messages {
        let text: String = (i..i + 60).map(word).collect();
        list.push(match i {
            0 => Message::system(format!("You are a careful assistant.{text}")),
            _ if i % 2 == 1 => Message::user(format!("Question {i}:{text}")),
            _ => Message::assistant(format!("Answer {i}:{text}")),
        });
    }
    let tools = (0..tools)
        .map(|t| {
            Tool::from(ChatCompletionTool::function(
                format!("tool_{t}"),
                json!({
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "A city name"},
                        "days": {"type": "integer", "minimum": 1, "maximum": 14},
                        "units": {"type": "string", "enum": ["metric", "imperial"]},
                        "tags": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["city", "days", "units", "tags"],
                    "additionalProperties": false
                }),
            ))
        })
        .collect();
    (list, tools)
}

/// The large chat request built from [`large_chat_parts`] without checks.
pub fn large_chat_request(messages: usize, tools: usize) -> CreateChatCompletionRequest {
    let (list, tools) = large_chat_parts(messages, tools);
    oai::builders::CreateChatCompletionRequestBuilder::new(list, "gpt-4o")
        .tools(tools)
        .temperature(0.3)
        .into_inner()
}
