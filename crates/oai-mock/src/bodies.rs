//! The JSON shapes of chat completions and the Responses API, whole and as
//! stream events.

use serde_json::{Value, json};

/// What the assistant says in one answer.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Text(String),
    Refusal(String),
    ToolCalls(Vec<Call>),
}

/// A tool call with its id settled and its arguments as JSON text.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}

/// The text of a cut stream's answer.
pub(crate) const PARTIAL_ANSWER: &str =
    "partial answer that the mock server cuts off before its end";

/// What an answer needs from its request.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) model: String,
    pub(crate) created: u64,
    pub(crate) prompt_tokens: u64,
}

/// A rough token count: one per four bytes, rounded up.
pub(crate) fn tokens(text: &str) -> u64 {
    let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
    len.div_ceil(4)
}

fn answer_tokens(answer: &Answer) -> u64 {
    match answer {
        Answer::Text(t) | Answer::Refusal(t) => tokens(t).max(1),
        Answer::ToolCalls(calls) => calls
            .iter()
            .map(|c| tokens(&c.name) + tokens(&c.arguments))
            .sum::<u64>()
            .max(1),
    }
}

/// `text` in pieces for deltas: word by word (each word with the spaces that
/// follow it), or halves for a single word.
pub(crate) fn word_pieces(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split_inclusive(char::is_whitespace)
        .map(str::to_owned)
        .collect();
    if words.len() >= 2 {
        words
    } else {
        split_in(text, 2)
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// `text` in at least two pieces (some may be empty for very short text).
pub(crate) fn argument_pieces(text: &str) -> Vec<String> {
    let chars = text.chars().count();
    split_in(text, (chars / 16).clamp(2, 8))
}

/// Splits `text` into `n` pieces of about the same number of characters.
fn split_in(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = n.max(1);
    let size = chars.len().div_ceil(n).max(1);
    let mut pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    while pieces.len() < n {
        pieces.push(String::new());
    }
    pieces
}

// ---------------------------------------------------------------- chat

fn chat_usage(cx: &Context, completion: u64) -> Value {
    json!({
        "prompt_tokens": cx.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": cx.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// A whole `chat.completion`.
pub(crate) fn chat_completion(id: &str, cx: &Context, answer: &Answer) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": null,
        "refusal": null,
        "annotations": []
    });
    let finish_reason = match answer {
        Answer::Text(text) => {
            message["content"] = json!(text);
            "stop"
        }
        Answer::Refusal(text) => {
            message["refusal"] = json!(text);
            "stop"
        }
        Answer::ToolCalls(calls) => {
            let calls: Vec<Value> = calls
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments}
                    })
                })
                .collect();
            message["tool_calls"] = json!(calls);
            "tool_calls"
        }
    };
    json!({
        "id": id,
        "object": "chat.completion",
        "created": cx.created,
        "model": cx.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": chat_usage(cx, answer_tokens(answer)),
        "service_tier": "default",
        "system_fingerprint": "fp_mock"
    })
}

/// The `chat.completion.chunk` events of a streamed answer, without `[DONE]`.
pub(crate) fn chat_chunks(
    id: &str,
    cx: &Context,
    answer: &Answer,
    include_usage: bool,
) -> Vec<Value> {
    let chunk = |delta: Value, finish: Option<&str>| {
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": cx.created,
            "model": cx.model,
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish
            }]
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    };
    let mut chunks = Vec::new();
    let finish = match answer {
        Answer::Text(text) => {
            chunks.push(chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                None,
            ));
            for piece in word_pieces(text) {
                chunks.push(chunk(json!({"content": piece}), None));
            }
            "stop"
        }
        Answer::Refusal(text) => {
            chunks.push(chunk(
                json!({"role": "assistant", "content": null, "refusal": ""}),
                None,
            ));
            for piece in word_pieces(text) {
                chunks.push(chunk(json!({"refusal": piece}), None));
            }
            "stop"
        }
        Answer::ToolCalls(calls) => {
            chunks.push(chunk(
                json!({"role": "assistant", "content": null, "refusal": null}),
                None,
            ));
            for (index, call) in calls.iter().enumerate() {
                chunks.push(chunk(
                    json!({"tool_calls": [{
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""}
                    }]}),
                    None,
                ));
                for piece in argument_pieces(&call.arguments) {
                    chunks.push(chunk(
                        json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                        None,
                    ));
                }
            }
            "tool_calls"
        }
    };
    chunks.push(chunk(json!({}), Some(finish)));
    if include_usage {
        let mut last = chunk(json!({}), None);
        last["choices"] = json!([]);
        last["usage"] = chat_usage(cx, answer_tokens(answer));
        chunks.push(last);
    }
    chunks
}

// ----------------------------------------------------------- responses

/// The ids of one Responses API answer: the response and one per output item.
#[derive(Debug, Clone)]
pub(crate) struct ResponseIds {
    pub(crate) response: String,
    pub(crate) items: Vec<String>,
}

/// What a `response` object echoes from its request.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    pub(crate) instructions: Value,
    pub(crate) previous_response_id: Value,
    pub(crate) metadata: Value,
}

fn response_usage(cx: &Context, completion: u64) -> Value {
    json!({
        "input_tokens": cx.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": cx.prompt_tokens + completion
    })
}

/// The output items of an answer, complete.
fn output_items(ids: &ResponseIds, answer: &Answer) -> Vec<Value> {
    let item_id = |i: usize| ids.items.get(i).cloned().unwrap_or_default();
    match answer {
        Answer::Text(text) => vec![message_item(
            &item_id(0),
            "completed",
            vec![text_part(text)],
        )],
        Answer::Refusal(text) => {
            vec![message_item(
                &item_id(0),
                "completed",
                vec![refusal_part(text)],
            )]
        }
        Answer::ToolCalls(calls) => calls
            .iter()
            .enumerate()
            .map(|(i, c)| function_item(&item_id(i), c, "completed", &c.arguments))
            .collect(),
    }
}

fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content
    })
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

fn refusal_part(text: &str) -> Value {
    json!({"type": "refusal", "refusal": text})
}

fn function_item(id: &str, call: &Call, status: &str, arguments: &str) -> Value {
    json!({
        "id": id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.id,
        "name": call.name
    })
}

/// A `response` object; `done` gives it its output, usage and `completed`
/// status, otherwise it is `in_progress` with no output yet.
pub(crate) fn response_object(
    ids: &ResponseIds,
    cx: &Context,
    echo: &Echo,
    answer: &Answer,
    done: bool,
) -> Value {
    let (status, output, usage, completed_at) = if done {
        (
            "completed",
            json!(output_items(ids, answer)),
            response_usage(cx, answer_tokens(answer)),
            json!(cx.created),
        )
    } else {
        ("in_progress", json!([]), Value::Null, Value::Null)
    };
    json!({
        "id": ids.response,
        "object": "response",
        "created_at": cx.created,
        "status": status,
        "background": false,
        "completed_at": completed_at,
        "error": null,
        "incomplete_details": null,
        "instructions": echo.instructions,
        "max_output_tokens": null,
        "max_tool_calls": null,
        "model": cx.model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": echo.previous_response_id,
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
        "metadata": echo.metadata
    })
}

/// The events of a streamed Responses API answer, in the API's order, each
/// with its `type` and increasing `sequence_number`.
pub(crate) fn response_events(
    ids: &ResponseIds,
    cx: &Context,
    echo: &Echo,
    answer: &Answer,
) -> Vec<Value> {
    let mut events = vec![
        json!({"type": "response.created", "response": response_object(ids, cx, echo, answer, false)}),
        json!({"type": "response.in_progress", "response": response_object(ids, cx, echo, answer, false)}),
    ];
    let item_id = |i: usize| ids.items.get(i).cloned().unwrap_or_default();
    match answer {
        Answer::Text(text) | Answer::Refusal(text) => {
            let refusal = matches!(answer, Answer::Refusal(_));
            let id = item_id(0);
            let (empty, full) = if refusal {
                (refusal_part(""), refusal_part(text))
            } else {
                (text_part(""), text_part(text))
            };
            events.push(json!({
                "type": "response.output_item.added",
                "output_index": 0,
                "item": message_item(&id, "in_progress", vec![])
            }));
            events.push(json!({
                "type": "response.content_part.added",
                "item_id": id,
                "output_index": 0,
                "content_index": 0,
                "part": empty
            }));
            for piece in word_pieces(text) {
                let mut delta = json!({
                    "type": if refusal { "response.refusal.delta" } else { "response.output_text.delta" },
                    "item_id": id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece
                });
                if !refusal {
                    delta["logprobs"] = json!([]);
                }
                events.push(delta);
            }
            events.push(if refusal {
                json!({
                    "type": "response.refusal.done",
                    "item_id": id,
                    "output_index": 0,
                    "content_index": 0,
                    "refusal": text
                })
            } else {
                json!({
                    "type": "response.output_text.done",
                    "item_id": id,
                    "output_index": 0,
                    "content_index": 0,
                    "text": text,
                    "logprobs": []
                })
            });
            events.push(json!({
                "type": "response.content_part.done",
                "item_id": id,
                "output_index": 0,
                "content_index": 0,
                "part": full
            }));
            events.push(json!({
                "type": "response.output_item.done",
                "output_index": 0,
                "item": message_item(&id, "completed", vec![full])
            }));
        }
        Answer::ToolCalls(calls) => {
            for (index, call) in calls.iter().enumerate() {
                let id = item_id(index);
                events.push(json!({
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": function_item(&id, call, "in_progress", "")
                }));
                for piece in argument_pieces(&call.arguments) {
                    events.push(json!({
                        "type": "response.function_call_arguments.delta",
                        "item_id": id,
                        "output_index": index,
                        "delta": piece
                    }));
                }
                events.push(json!({
                    "type": "response.function_call_arguments.done",
                    "item_id": id,
                    "name": call.name,
                    "output_index": index,
                    "arguments": call.arguments
                }));
                events.push(json!({
                    "type": "response.output_item.done",
                    "output_index": index,
                    "item": function_item(&id, call, "completed", &call.arguments)
                }));
            }
        }
    }
    events.push(json!({
        "type": "response.completed",
        "response": response_object(ids, cx, echo, answer, true)
    }));
    for (n, event) in events.iter_mut().enumerate() {
        event["sequence_number"] = json!(n);
    }
    events
}

// -------------------------------------------------------------- errors

/// The API's error body.
pub(crate) fn error_body(
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// The `type` and `code` the API uses with an error status.
pub(crate) fn error_kind(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        403 => (
            "invalid_request_error",
            Some("unsupported_country_region_territory"),
        ),
        404 => ("invalid_request_error", None),
        429 => ("requests", Some("rate_limit_exceeded")),
        s if s >= 500 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_join_back() {
        for text in [
            "",
            "a",
            "ab",
            "one two  three",
            "{\"city\":\"Paris\"}",
            "héllo wörld",
        ] {
            assert_eq!(word_pieces(text).concat(), text);
            let args = argument_pieces(text);
            assert!(args.len() >= 2);
            assert_eq!(args.concat(), text);
        }
        assert_eq!(word_pieces("one two three").len(), 3);
    }

    #[test]
    fn sequence_numbers_increase_from_zero() {
        let ids = ResponseIds {
            response: "resp_1".into(),
            items: vec!["msg_1".into()],
        };
        let cx = Context {
            model: "m".into(),
            created: 1,
            prompt_tokens: 1,
        };
        let echo = Echo {
            instructions: Value::Null,
            previous_response_id: Value::Null,
            metadata: json!({}),
        };
        let events = response_events(&ids, &cx, &echo, &Answer::Text("a b".into()));
        for (n, e) in events.iter().enumerate() {
            assert_eq!(e["sequence_number"], json!(n));
        }
    }
}
