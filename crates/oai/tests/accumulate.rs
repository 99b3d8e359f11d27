//! Stream accumulators: recorded streams folded into the equivalent
//! non-streamed answer (through the client, against a local server), chunking
//! invariance as a property, and the inputs that must be refused.
#![cfg(all(feature = "chat", feature = "responses"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::error::Error as _;

use futures_util::StreamExt;
use oai::accumulate::{
    AccumulateError, AccumulateErrorKind, AccumulateExt, Accumulator, ChatCompletionAccumulator,
    ResponseAccumulator, ResponseDelta, StreamEvent,
};
use oai::builders::{CreateChatCompletionRequestBuilder, CreateResponseBuilder};
use oai::types::{
    ChatCompletionMessageToolCallsItem, ChatCompletionRequestMessage as Message,
    CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
    CreateResponse, OutputItem, OutputMessageContent, Response, ResponseStreamEvent,
};
use oai::{Client, Config};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

// ---------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> String {
    let file = format!(
        "{}/tests/data/accumulate/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The `data:` payloads of an event-stream text, `[DONE]` excluded.
fn payloads(sse: &str) -> Vec<String> {
    sse.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(str::to_owned)
        .collect()
}

fn parse_all<T: serde::de::DeserializeOwned>(sse: &str) -> Vec<T> {
    payloads(sse)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

async fn serve(route: &str, body: impl Into<String>) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1{route}")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(body.into()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(
        Config::builder()
            .api_key("sk-test-acc-5e1f9a27")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    (server, client)
}

fn chat_request() -> CreateChatCompletionRequest {
    CreateChatCompletionRequestBuilder::new(Message::user("Say hello"), "gpt-4o-mini").into_inner()
}

fn responses_request() -> CreateResponse {
    CreateResponseBuilder::new()
        .model("o4-mini")
        .input("What is the weather in Paris?")
        .into_inner()
}

/// The API's non-streamed message carries `annotations: []`; chunks have no
/// annotations field, so the accumulated message leaves it `None`.
fn without_annotations(mut c: CreateChatCompletionResponse) -> CreateChatCompletionResponse {
    for choice in &mut c.choices {
        if choice
            .message
            .annotations
            .as_ref()
            .is_some_and(Vec::is_empty)
        {
            choice.message.annotations = None;
        }
    }
    c
}

/// The text of the [`AccumulateError`] a protocol error carries (scrubbed):
/// events that do not make one answer are the server's fault, not a body
/// that failed to decode.
fn accumulation_error(e: &oai::Error) -> String {
    assert!(e.is_protocol(), "{e}");
    e.downcast_ref::<oai::accumulate::AccumulateError>()
        .map(ToString::to_string)
        .unwrap_or_else(|| panic!("no accumulation error in {e}"))
}

fn chunk(v: Value) -> CreateChatCompletionStreamResponse {
    serde_json::from_value(v).unwrap()
}

fn chat_chunk(choices: Value) -> CreateChatCompletionStreamResponse {
    chunk(json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7,
        "model": "gpt-4o-mini", "choices": choices
    }))
}

fn event(v: Value) -> ResponseStreamEvent {
    serde_json::from_value(v).unwrap()
}

// ---------------------------------------------------------------------------
// Recorded streams, through the client

#[tokio::test]
async fn chat_text_stream_with_logprobs_and_usage_equals_the_plain_answer() {
    let (_server, client) = serve("/chat/completions", fixture("chat_text.sse")).await;
    let expected: CreateChatCompletionResponse =
        serde_json::from_str(&fixture("chat_text.json")).unwrap();

    let mut stream = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .accumulate();
    let mut text = String::new();
    let mut events = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        events += 1;
        text.push_str(chunk.text_delta().unwrap_or_default());
        // The state so far is visible between events.
        let so_far = stream.accumulator().choice(0).and_then(|c| c.content());
        assert_eq!(so_far.unwrap_or_default(), text);
    }
    assert_eq!(events, payloads(&fixture("chat_text.sse")).len());
    assert!(stream.is_finished());
    let completion = stream.into_final().unwrap();

    assert_eq!(text, "Bonjour à tous 👋");
    let logprobs = completion.choices[0].logprobs.as_ref().unwrap();
    assert_eq!(logprobs.content.as_ref().unwrap().len(), 4);
    assert_eq!(completion.usage.as_ref().unwrap().total_tokens, 23);
    assert_eq!(completion, without_annotations(expected));
}

#[tokio::test]
async fn chat_parallel_tool_calls_are_reassembled() {
    let (_server, client) = serve("/chat/completions", fixture("chat_tools.sse")).await;
    let expected: CreateChatCompletionResponse =
        serde_json::from_str(&fixture("chat_tools.json")).unwrap();

    let completion = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap();

    let calls = completion.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    for call in calls {
        let ChatCompletionMessageToolCallsItem::Function(call) = call else {
            panic!("not a function call: {call:?}");
        };
        let args: Value = serde_json::from_str(&call.function.arguments).unwrap();
        assert!(args.is_object(), "{args}");
    }
    assert_eq!(completion.choices[0].message.content, None);
    assert_eq!(completion, without_annotations(expected));
}

#[tokio::test]
async fn responses_stream_equals_the_plain_answer_and_the_accumulated_state() {
    let sse = fixture("responses_mixed.sse");
    let (_server, client) = serve("/responses", sse.clone()).await;
    let expected: Response = serde_json::from_str(&fixture("responses_mixed.json")).unwrap();

    let mut stream = client
        .responses()
        .create(responses_request())
        .stream()
        .await
        .unwrap()
        .accumulate();
    let mut text = String::new();
    let mut arguments = String::new();
    let mut summary = String::new();
    while let Some(event) = stream.next().await {
        let event = event.unwrap();
        text.push_str(event.text_delta().unwrap_or_default());
        match ResponseDelta::of(&event) {
            Some(ResponseDelta::FunctionCallArguments { delta, .. }) => arguments.push_str(delta),
            Some(d @ ResponseDelta::ReasoningSummary { .. }) => summary.push_str(d.delta()),
            _ => {}
        }
    }
    let accumulated = stream.accumulator().snapshot().unwrap();
    let terminal = stream.accumulator().terminal().cloned().unwrap();
    let response = stream.into_final().unwrap();

    // The terminal event is the authority, and the events built the same thing.
    assert_eq!(response, expected);
    assert_eq!(response, terminal);
    assert_eq!(accumulated, expected);

    // What the deltas showed is what the final response holds.
    let OutputItem::Reasoning(reasoning) = &response.output[0] else {
        panic!("output 0: {:?}", response.output[0]);
    };
    assert_eq!(summary, reasoning.summary[0].text);
    let OutputItem::Message(message) = &response.output[1] else {
        panic!("output 1: {:?}", response.output[1]);
    };
    let OutputMessageContent::OutputText(t) = &message.content[0] else {
        panic!("content: {:?}", message.content[0]);
    };
    assert_eq!(text, t.text);
    let OutputItem::FunctionCall(call) = &response.output[2] else {
        panic!("output 2: {:?}", response.output[2]);
    };
    assert_eq!(arguments, call.arguments);
}

/// Without any `.done` event nor the terminal one, the deltas alone rebuild
/// the text, the summary and the arguments.
#[test]
fn responses_deltas_alone_rebuild_the_output() {
    let expected: Response = serde_json::from_str(&fixture("responses_mixed.json")).unwrap();
    let mut acc = ResponseAccumulator::new();
    for ev in parse_all::<Value>(&fixture("responses_mixed.sse")) {
        let kind = ev["type"].as_str().unwrap();
        if kind.ends_with(".done") || kind == "response.completed" {
            continue;
        }
        acc.push(&event(ev)).unwrap();
    }
    assert!(acc.terminal().is_none());
    let built = acc.finish().unwrap();
    assert_eq!(built.output.len(), expected.output.len());
    assert_eq!(
        serde_json::to_value(&built.output[0]).unwrap()["summary"],
        serde_json::to_value(&expected.output[0]).unwrap()["summary"]
    );
    assert_eq!(
        serde_json::to_value(&built.output[1]).unwrap()["content"],
        serde_json::to_value(&expected.output[1]).unwrap()["content"]
    );
    assert_eq!(
        serde_json::to_value(&built.output[2]).unwrap()["arguments"],
        serde_json::to_value(&expected.output[2]).unwrap()["arguments"]
    );
    // Items never marked done keep their in-progress status.
    assert_ne!(built.output[1], expected.output[1]);
}

#[test]
fn chat_fixtures_accumulate_offline_the_same_as_through_the_client() {
    for name in ["chat_text", "chat_tools"] {
        let mut acc = ChatCompletionAccumulator::new();
        for c in parse_all::<CreateChatCompletionStreamResponse>(&fixture(&format!("{name}.sse"))) {
            acc.push(&c).unwrap();
        }
        let expected: CreateChatCompletionResponse =
            serde_json::from_str(&fixture(&format!("{name}.json"))).unwrap();
        assert_eq!(
            acc.to_completion().unwrap(),
            without_annotations(expected.clone())
        );
        assert_eq!(acc.finish().unwrap(), without_annotations(expected));
    }
}

// ---------------------------------------------------------------------------
// Chunking invariance

/// A completion to stream: text and tool calls (id, name, arguments).
#[derive(Debug, Clone)]
struct Target {
    text: String,
    calls: Vec<(String, String, String)>,
}

fn target() -> impl Strategy<Value = Target> {
    (
        "\\PC{0,24}",
        prop::collection::vec(("[a-z_]{1,10}", "\\PC{0,30}"), 0..4),
    )
        .prop_map(|(text, calls)| Target {
            text,
            calls: calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, args))| (format!("call_{i}"), name, args))
                .collect(),
        })
}

/// `s` cut before the chars at the positions `cuts` pick (at char boundaries).
fn split(s: &str, cuts: &[Index]) -> Vec<String> {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).skip(1).collect();
    let mut at: Vec<usize> = if bounds.is_empty() {
        Vec::new()
    } else {
        cuts.iter().map(|c| *c.get(&bounds)).collect()
    };
    at.sort_unstable();
    at.dedup();
    let mut parts = Vec::new();
    let mut start = 0;
    for cut in at {
        parts.push(s[start..cut].to_owned());
        start = cut;
    }
    parts.push(s[start..].to_owned());
    parts
}

/// One piece of a delta: a text fragment or a tool call fragment.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Call {
        index: usize,
        head: bool,
        args: String,
    },
}

/// The chunks of `t`: fragments cut anywhere, streams interleaved in any
/// order, grouped into chunks of any size; the last chunks carry the
/// finish reason and the usage.
fn chunks(
    t: &Target,
    cuts: &[Vec<Index>],
    order: &[Index],
    group: &[bool],
    repeat_ids: bool,
) -> Vec<Value> {
    let mut streams: Vec<Vec<Piece>> = Vec::new();
    streams.push(
        split(&t.text, &cuts[0])
            .into_iter()
            .map(Piece::Text)
            .collect(),
    );
    for (i, (_, _, args)) in t.calls.iter().enumerate() {
        streams.push(
            split(args, &cuts[(i + 1) % cuts.len()])
                .into_iter()
                .enumerate()
                .map(|(k, args)| Piece::Call {
                    index: i,
                    head: k == 0,
                    args,
                })
                .collect(),
        );
    }
    let mut merged = Vec::new();
    let mut step = 0;
    loop {
        let live: Vec<usize> = (0..streams.len())
            .filter(|&s| !streams[s].is_empty())
            .collect();
        if live.is_empty() {
            break;
        }
        let s = *order[step % order.len()].get(&live);
        merged.push(streams[s].remove(0));
        step += 1;
    }

    let mut out = vec![
        json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}),
    ];
    let mut delta = json!({});
    let flush = |delta: &mut Value, out: &mut Vec<Value>| {
        if delta.as_object().is_some_and(|o| !o.is_empty()) {
            out.push(json!({"index": 0, "delta": delta.take(), "finish_reason": null}));
        }
        *delta = json!({});
    };
    for (k, piece) in merged.into_iter().enumerate() {
        let text_taken = delta.get("content").is_some();
        if group[k % group.len()] || (matches!(piece, Piece::Text(_)) && text_taken) {
            flush(&mut delta, &mut out);
        }
        match piece {
            Piece::Text(s) => delta["content"] = json!(s),
            Piece::Call { index, head, args } => {
                let (id, name, _) = &t.calls[index];
                let mut call = json!({"index": index, "function": {"arguments": args}});
                if head || repeat_ids {
                    call["id"] = json!(id);
                    call["type"] = json!("function");
                    call["function"]["name"] = json!(name);
                }
                if delta.get("tool_calls").is_none() {
                    delta["tool_calls"] = json!([]);
                }
                delta["tool_calls"].as_array_mut().unwrap().push(call);
            }
        }
    }
    flush(&mut delta, &mut out);
    out.push(json!({"index": 0, "delta": {}, "finish_reason": "stop"}));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_of_a_completion_accumulates_to_the_same_message(
        t in target(),
        cuts in prop::collection::vec(prop::collection::vec(any::<Index>(), 0..12), 1..5),
        order in prop::collection::vec(any::<Index>(), 1..16),
        group in prop::collection::vec(any::<bool>(), 1..8),
        repeat_ids in any::<bool>(),
    ) {
        let mut acc = ChatCompletionAccumulator::new();
        let choices = chunks(&t, &cuts, &order, &group, repeat_ids);
        for c in &choices {
            acc.push(&chat_chunk(json!([c]))).unwrap();
        }
        let usage = json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8});
        let mut last = chat_chunk(json!([]));
        last.usage = Some(serde_json::from_value(usage.clone()).unwrap());
        acc.push(&last).unwrap();

        let mut message = json!({"role": "assistant", "content": t.text, "refusal": null});
        if !t.calls.is_empty() {
            message["tool_calls"] = t.calls.iter().map(|(id, name, args)| json!({
                "id": id, "type": "function", "function": {"name": name, "arguments": args}
            })).collect();
        }
        let expected: CreateChatCompletionResponse = serde_json::from_value(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 7, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage,
        })).unwrap();
        prop_assert_eq!(acc.finish().unwrap(), expected);
    }

    #[test]
    fn any_chunking_of_response_text_and_arguments_accumulates_to_the_same_output(
        text in "\\PC{0,40}",
        args in "\\PC{0,40}",
        text_cuts in prop::collection::vec(any::<Index>(), 0..12),
        arg_cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let mut acc = ResponseAccumulator::new();
        let mut events = vec![
            json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                   "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
            json!({"type": "response.content_part.added", "sequence_number": 2, "item_id": "msg_1",
                   "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
            json!({"type": "response.output_item.added", "sequence_number": 3, "output_index": 1,
                   "item": {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""}}),
        ];
        for d in split(&text, &text_cuts) {
            events.push(json!({"type": "response.output_text.delta", "sequence_number": 9, "item_id": "msg_1",
                               "output_index": 0, "content_index": 0, "delta": d, "logprobs": []}));
        }
        for d in split(&args, &arg_cuts) {
            events.push(json!({"type": "response.function_call_arguments.delta", "sequence_number": 9,
                               "item_id": "fc_1", "output_index": 1, "delta": d}));
        }
        for e in events {
            acc.push(&event(e)).unwrap();
        }
        let output: Vec<&OutputItem> = acc.output().collect();
        let OutputItem::Message(m) = output[0] else { panic!("{:?}", output[0]) };
        let OutputMessageContent::OutputText(t) = &m.content[0] else { panic!("{m:?}") };
        prop_assert_eq!(&t.text, &text);
        let OutputItem::FunctionCall(c) = output[1] else { panic!("{:?}", output[1]) };
        prop_assert_eq!(&c.arguments, &args);
    }
}

// ---------------------------------------------------------------------------
// Chat: tolerated inputs

#[test]
fn chat_choices_are_kept_apart_and_ordered_by_index() {
    let mut acc = ChatCompletionAccumulator::new();
    for c in [
        json!([{"index": 1, "delta": {"role": "assistant", "content": "B"}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"role": "assistant", "content": "A"}, "finish_reason": null}]),
        json!([{"index": 1, "delta": {"content": "b"}, "finish_reason": "length"},
               {"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}]),
    ] {
        acc.push(&chat_chunk(c)).unwrap();
    }
    let done = acc.finish().unwrap();
    let got: Vec<(i64, Option<&str>, &str)> = done
        .choices
        .iter()
        .map(|c| {
            (
                c.index,
                c.message.content.as_deref(),
                c.finish_reason.as_str(),
            )
        })
        .collect();
    assert_eq!(got, [(0, Some("Aa"), "stop"), (1, Some("Bb"), "length")]);
}

#[test]
fn chat_deprecated_function_call_is_assembled() {
    let mut acc = ChatCompletionAccumulator::new();
    for c in [
        json!([{"index": 0, "delta": {"role": "assistant", "content": null, "function_call": {"name": "lookup", "arguments": ""}}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"function_call": {"arguments": "{\"q\":"}}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"function_call": {"arguments": "1}"}}, "finish_reason": "function_call"}]),
    ] {
        acc.push(&chat_chunk(c)).unwrap();
    }
    let partial = acc.choice(0).unwrap().function_call().unwrap();
    assert_eq!(
        (partial.name(), partial.arguments()),
        (Some("lookup"), "{\"q\":1}")
    );
    let done = acc.finish().unwrap();
    #[allow(deprecated)]
    let call = done.choices[0].message.function_call.clone().unwrap();
    assert_eq!(
        (call.name.as_str(), call.arguments.as_str()),
        ("lookup", "{\"q\":1}")
    );
    assert_eq!(done.choices[0].message.tool_calls, None);
}

#[test]
fn chat_azure_style_prelude_and_refusal_logprobs_are_tolerated() {
    let mut acc = ChatCompletionAccumulator::new();
    // Azure sends a first chunk with an empty id and no choices.
    acc.push(&chunk(json!({"id": "", "object": "chat.completion.chunk", "created": 0, "model": "", "choices": []})))
        .unwrap();
    acc.push(&chat_chunk(json!([{"index": 0, "delta": {"role": "assistant", "refusal": "I can"}, "finish_reason": null}])))
        .unwrap();
    acc.push(&chat_chunk(json!([{"index": 0, "delta": {"refusal": "'t help."}, "logprobs": {"content": null, "refusal": [{"token": "x", "logprob": -1.0, "bytes": null, "top_logprobs": []}]}, "finish_reason": "stop"}])))
        .unwrap();
    let done = acc.finish().unwrap();
    assert_eq!(
        (done.id.as_str(), done.model.as_str(), done.created),
        ("chatcmpl-1", "gpt-4o-mini", 7)
    );
    let choice = &done.choices[0];
    assert_eq!(choice.message.refusal.as_deref(), Some("I can't help."));
    assert_eq!(choice.message.content, None);
    let lp = choice.logprobs.as_ref().unwrap();
    assert_eq!(
        (lp.content.as_ref(), lp.refusal.as_ref().map(Vec::len)),
        (None, Some(1))
    );
}

// ---------------------------------------------------------------------------
// Chat: refused inputs

fn push_all(chunks: &[Value]) -> Result<CreateChatCompletionResponse, AccumulateError> {
    let mut acc = ChatCompletionAccumulator::new();
    for c in chunks {
        acc.push(&chat_chunk(c.clone()))?;
    }
    acc.finish()
}

#[test]
fn chat_refusals_name_what_is_wrong() {
    let cases: Vec<(Vec<Value>, AccumulateErrorKind, &str)> = vec![
        (
            // A second id at index 0 starts a second call (at index 1), which
            // never gets a name.
            vec![
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "f"}}]}, "finish_reason": null}]),
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_b"}]}, "finish_reason": "tool_calls"}]),
            ],
            AccumulateErrorKind::Incomplete,
            "tool call 1 of choice 0 never received a function name",
        ),
        (
            vec![
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "f"}}]}, "finish_reason": null}]),
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "g"}}]}, "finish_reason": null}]),
            ],
            AccumulateErrorKind::Conflict,
            "the name of tool call 0 of choice 0 is `f`, then `g`",
        ),
        (
            vec![json!([{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "call_a", "function": {"name": "f", "arguments": "{}"}},
                {"index": 1, "function": {"arguments": "{}"}}
            ]}, "finish_reason": "tool_calls"}])],
            AccumulateErrorKind::Incomplete,
            "tool call 1 of choice 0 never received an id",
        ),
        (
            vec![
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "function": {"arguments": "{}"}}]}, "finish_reason": "tool_calls"}]),
            ],
            AccumulateErrorKind::Incomplete,
            "tool call 0 of choice 0 never received a function name",
        ),
        (
            vec![json!([{"index": -1, "delta": {"content": "x"}, "finish_reason": "stop"}])],
            AccumulateErrorKind::OutOfOrder,
            "negative index -1",
        ),
        (
            vec![
                json!([{"index": 0, "delta": {"tool_calls": [{"index": -3, "id": "c"}]}, "finish_reason": null}]),
            ],
            AccumulateErrorKind::OutOfOrder,
            "a tool call of choice 0 has the negative index -3",
        ),
        (
            vec![
                json!([{"index": 0, "delta": {"role": "user", "content": "x"}, "finish_reason": "stop"}]),
            ],
            AccumulateErrorKind::Conflict,
            "choice 0 has the role `user`",
        ),
    ];
    for (chunks, kind, text) in cases {
        let err = push_all(&chunks).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(text), "`{err}` lacks `{text}`");
    }
}

#[test]
fn a_chunk_id_that_changes_mid_stream_keeps_the_first() {
    // Groq's compound models change the id mid-stream (see the wire corpus).
    let mut acc = ChatCompletionAccumulator::new();
    acc.push(&chat_chunk(json!([]))).unwrap();
    let mut other =
        chat_chunk(json!([{"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}]));
    other.id = "chatcmpl-2".into();
    acc.push(&other).unwrap();
    let done = acc.finish().unwrap();
    assert_eq!(done.id, "chatcmpl-1");
    assert_eq!(done.choices[0].message.content.as_deref(), Some("x"));
}

#[test]
fn a_choice_without_finish_reason_finishes_with_an_empty_one() {
    let done =
        push_all(&[json!([{"index": 0, "delta": {"content": "half"}, "finish_reason": null}])])
            .unwrap();
    assert_eq!(done.choices[0].finish_reason.as_str(), "");
    assert_eq!(done.choices[0].message.content.as_deref(), Some("half"));
}

#[test]
fn tool_calls_without_index_are_told_apart_by_id() {
    // Gemini and Mistral send whole calls with no `index` (read as 0).
    let done = push_all(&[
        json!([{"index": 0, "delta": {"tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}]}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"tool_calls": [{"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"tool_calls": [{"id": "a", "function": {"arguments": ""}}]}, "finish_reason": "tool_calls"}]),
    ])
    .unwrap();
    let calls = done.choices[0].message.tool_calls.as_ref().unwrap();
    let got: Vec<(String, String)> = calls
        .iter()
        .map(|c| match c {
            ChatCompletionMessageToolCallsItem::Function(c) => {
                (c.id.clone(), c.function.name.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, [("a".into(), "f".into()), ("b".into(), "g".into())]);
}

#[test]
fn vendor_fields_are_folded_into_the_completion() {
    let mut first = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "x_vendor": {"n": 1},
        "choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": "Think", "reasoning": null}, "finish_reason": null,
                     "content_filter_results": {"hate": {"filtered": false}}}]});
    let second = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "x_vendor": {"n": 2},
        "choices": [{"index": 0, "delta": {"reasoning_content": "ing.", "reasoning_details": [{"t": 1}]}, "finish_reason": null}]});
    let third = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Yes", "reasoning_details": [{"t": 2}]}, "finish_reason": "stop"}]});
    let mut acc = ChatCompletionAccumulator::new();
    for chunk in [first.take(), second, third] {
        acc.push(&serde_json::from_value(chunk).unwrap()).unwrap();
    }
    let done = acc.finish().unwrap();
    let choice = &done.choices[0];
    assert_eq!(choice.message.extra["reasoning_content"], "Thinking.");
    assert_eq!(
        choice.message.extra["reasoning_details"],
        json!([{"t": 1}, {"t": 2}])
    );
    assert!(!choice.message.extra.contains_key("reasoning"));
    assert_eq!(
        choice.extra["content_filter_results"]["hate"]["filtered"],
        false
    );
    assert_eq!(done.extra["x_vendor"], json!({"n": 2}));
    // The vendor fields go back on the wire.
    let wire = serde_json::to_value(&done).unwrap();
    assert_eq!(
        wire["choices"][0]["message"]["reasoning_content"],
        "Thinking."
    );
}

#[test]
fn empty_accumulators_are_an_error() {
    let chat = ChatCompletionAccumulator::new().finish().unwrap_err();
    assert_eq!(chat.kind(), AccumulateErrorKind::Empty);
    let responses = ResponseAccumulator::new().finish().unwrap_err();
    assert_eq!(responses.kind(), AccumulateErrorKind::Empty);
    assert!(
        responses.to_string().contains("response.created"),
        "{responses}"
    );
}

// ---------------------------------------------------------------------------
// Through the client: errors of the stream and of the accumulation

#[tokio::test]
async fn an_empty_chat_stream_is_an_error() {
    let (_server, client) = serve("/chat/completions", "data: [DONE]\n\n").await;
    let err = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert_eq!(
        accumulation_error(&err),
        "cannot accumulate the stream: the stream carried no event"
    );
}

#[tokio::test]
async fn a_chat_stream_ending_early_is_the_transport_error() {
    let sse = fixture("chat_text.sse");
    let cut = sse.find("data: [DONE]").unwrap();
    let (_server, client) = serve("/chat/completions", &sse[..cut]).await;

    let err = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert!(err.is_truncated(), "{err}");
}

#[tokio::test]
async fn after_a_truncated_stream_there_is_no_final_value() {
    let sse = fixture("chat_text.sse");
    let cut = sse.find("data: [DONE]").unwrap();
    let (_server, client) = serve("/chat/completions", &sse[..cut]).await;
    let mut stream = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .accumulate();
    let mut results = Vec::new();
    while let Some(item) = stream.next().await {
        results.push(item);
    }
    let (last, events) = results.split_last().unwrap();
    assert_eq!(events.len(), payloads(&sse).len());
    assert!(events.iter().all(Result::is_ok));
    assert!(last.as_ref().unwrap_err().is_truncated());
    assert!(!stream.is_finished());
    let err = stream.into_final().unwrap_err();
    assert!(
        accumulation_error(&err).contains("ended with an error"),
        "{err}"
    );
    assert!(err.to_string().contains("ended with an error"), "{err}");
}

#[tokio::test]
async fn a_responses_stream_without_terminal_event_is_the_transport_error() {
    let sse = fixture("responses_mixed.sse");
    let cut = sse.find("event: response.completed").unwrap();
    let (_server, client) = serve("/responses", &sse[..cut]).await;
    let err = client
        .responses()
        .create(responses_request())
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert!(err.is_truncated(), "{err}");
}

#[tokio::test]
async fn an_inconsistent_event_is_yielded_then_the_error_then_the_end() {
    let body = [
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "f"}}]}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "g"}}]}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
    ]
    .iter()
    .map(|v| format!("data: {v}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    let (_server, client) = serve("/chat/completions", body).await;
    let mut stream = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .accumulate();
    let first = stream.next().await.unwrap().unwrap();
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first.choices[0].delta.tool_calls.as_ref().unwrap()[0]
            .id
            .as_deref(),
        Some("call_a")
    );
    assert_eq!(
        second.choices[0].delta.tool_calls.as_ref().unwrap()[0]
            .function
            .as_ref()
            .and_then(|f| f.name.as_deref()),
        Some("g")
    );
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(
        accumulation_error(&err).contains("is `f`, then `g`"),
        "{err}"
    );
    assert!(stream.next().await.is_none());
    assert!(stream.into_final().is_err());
}

#[tokio::test]
async fn the_final_value_needs_the_whole_stream() {
    let (_server, client) = serve("/chat/completions", fixture("chat_text.sse")).await;
    let mut stream = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .accumulate();
    stream.next().await.unwrap().unwrap();
    let err = stream.into_final().unwrap_err();
    assert!(
        accumulation_error(&err).contains("not read to its end"),
        "{err}"
    );
    assert!(err.to_string().contains("not read to its end"), "{err}");
}

#[tokio::test]
async fn a_responses_error_event_without_event_name_becomes_an_api_error() {
    let sse = fixture("responses_mixed.sse");
    let cut = sse.find("event: response.output_item.added").unwrap();
    let body = format!(
        "{}data: {}\n\n",
        &sse[..cut],
        json!({"type": "error", "code": "server_error", "message": "The model broke.", "param": null, "sequence_number": 2})
    );
    let (_server, client) = serve("/responses", body).await;
    let err = client
        .responses()
        .create(responses_request())
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert!(err.is_api(), "{err}");
    let details = err.api_error().unwrap();
    assert_eq!(
        (details.code(), details.message()),
        (Some("server_error"), "The model broke.")
    );
}

// ---------------------------------------------------------------------------
// Responses: tolerated and refused inputs

fn created() -> Value {
    let mut r: Value = serde_json::from_str(&fixture("responses_mixed.json")).unwrap();
    r["status"] = json!("in_progress");
    r["output"] = json!([]);
    r["usage"] = Value::Null;
    json!({"type": "response.created", "sequence_number": 0, "response": r})
}

fn message_added() -> Value {
    json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
           "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}})
}

fn text_part_added() -> Value {
    json!({"type": "response.content_part.added", "sequence_number": 2, "item_id": "msg_1", "output_index": 0,
           "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}})
}

fn text_delta(item: &str, output: i64, content: i64) -> Value {
    json!({"type": "response.output_text.delta", "sequence_number": 3, "item_id": item,
           "output_index": output, "content_index": content, "delta": "x", "logprobs": []})
}

fn push_events(events: &[Value]) -> Result<ResponseAccumulator, AccumulateError> {
    let mut acc = ResponseAccumulator::new();
    for e in events {
        acc.push(&event(e.clone()))?;
    }
    Ok(acc)
}

#[test]
fn responses_refusals_name_what_is_wrong() {
    let call_added = json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 1,
        "item": {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": ""}});
    let cases: Vec<(Vec<Value>, AccumulateErrorKind, &str)> = vec![
        (
            vec![created(), text_delta("msg_1", 0, 0)],
            AccumulateErrorKind::OutOfOrder,
            "`response.output_text.delta` for output 0, which no output_item event added",
        ),
        (
            vec![created(), message_added(), text_delta("msg_1", 0, 0)],
            AccumulateErrorKind::OutOfOrder,
            "content part 0 of output 0 was never added",
        ),
        (
            vec![created(), call_added, text_delta("fc_1", 1, 0)],
            AccumulateErrorKind::OutOfOrder,
            "for output 1, which is a function_call item",
        ),
        (
            vec![created(), message_added(), {
                let mut p = text_part_added();
                p["content_index"] = json!(2);
                p
            }],
            AccumulateErrorKind::OutOfOrder,
            "content part 2 of output 0 has index 2 but only 0 came before it",
        ),
        (
            vec![created(), {
                let mut m = message_added();
                m["output_index"] = json!(-1);
                m
            }],
            AccumulateErrorKind::OutOfOrder,
            "negative index -1",
        ),
        (
            vec![
                created(),
                json!({"type": "error", "code": null, "message": "overloaded", "param": null, "sequence_number": 1}),
            ],
            AccumulateErrorKind::ErrorEvent,
            "overloaded",
        ),
    ];
    for (events, kind, text) in cases {
        let err = push_events(&events).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(text), "`{err}` lacks `{text}`");
    }
}

#[test]
fn responses_unknown_and_progress_events_are_ignored() {
    let base = push_events(&[
        created(),
        message_added(),
        text_part_added(),
        text_delta("msg_1", 0, 0),
    ])
    .unwrap();
    let mut acc = base.clone();
    for e in [
        json!({"type": "response.some_future_event", "sequence_number": 4, "whatever": [1, 2]}),
        json!({"type": "response.web_search_call.searching", "sequence_number": 5, "output_index": 0, "item_id": "ws_1"}),
        json!({"type": "response.audio.delta", "sequence_number": 6, "delta": "AAAA"}),
    ] {
        let ev = event(e);
        assert!(ResponseDelta::of(&ev).is_none());
        acc.push(&ev).unwrap();
    }
    assert_eq!(acc.snapshot(), base.snapshot());
    assert_eq!(acc.finish().unwrap(), base.finish().unwrap());
}

#[test]
fn responses_failed_terminal_is_the_final_response() {
    let mut failed = created();
    failed["type"] = json!("response.failed");
    failed["response"]["status"] = json!("failed");
    failed["response"]["error"] = json!({"code": "server_error", "message": "boom"});
    let acc = push_events(&[created(), message_added(), failed]).unwrap();
    // The terminal response is the authority, even where it differs from the
    // accumulated output.
    assert_eq!(acc.snapshot().unwrap().output.len(), 1);
    let response = acc.finish().unwrap();
    assert!(response.output.is_empty());
    assert_eq!(response.error.unwrap().message, "boom");
}

#[test]
fn responses_snapshot_follows_the_stream() {
    let mut acc = ResponseAccumulator::new();
    assert!(acc.snapshot().is_none());
    for e in [created(), message_added(), text_part_added()] {
        acc.push(&event(e)).unwrap();
    }
    for _ in 0..3 {
        acc.push(&event(text_delta("msg_1", 0, 0))).unwrap();
    }
    let snap = acc.snapshot().unwrap();
    let OutputItem::Message(m) = &snap.output[0] else {
        panic!("{snap:?}")
    };
    let OutputMessageContent::OutputText(t) = &m.content[0] else {
        panic!("{m:?}")
    };
    assert_eq!(t.text, "xxx");
    assert!(acc.terminal().is_none());
}

#[test]
fn accumulation_errors_convert_to_protocol_errors_that_keep_them() {
    let err = push_all(&[json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"arguments": "{}"}}]}, "finish_reason": "tool_calls"}])])
        .unwrap_err();
    let text = err.to_string();
    let converted: oai::Error = err.into();
    assert!(converted.is_protocol());
    assert!(!converted.is_decode() && converted.body_excerpt().is_none());
    assert!(
        converted.to_string().contains("function name"),
        "{converted}"
    );
    assert_eq!(accumulation_error(&converted), text);
}

#[test]
fn server_strings_in_errors_are_clipped_and_escaped() {
    let hostile = format!("call_{}\n\u{1b}[31mforged line", "x".repeat(500));
    let err = push_all(&[
        json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "call_a"}}]}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": hostile}}]}, "finish_reason": null}]),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), AccumulateErrorKind::Conflict);
    assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text:?}");
    assert!(
        text.chars().count() < 200,
        "{} chars: {text}",
        text.chars().count()
    );
    assert!(text.contains("call_xxx") && text.ends_with("…`"), "{text}");
}

// ---------------------------------------------------------------------------
// Bounds a server cannot move

fn tool_calls(indexes: impl Iterator<Item = i64>) -> Value {
    let calls: Vec<Value> = indexes
        .map(|i| json!({"index": i, "id": format!("call_{i}"), "function": {"name": "f", "arguments": "{}"}}))
        .collect();
    json!([{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": null}])
}

fn limit_of(e: &AccumulateError) -> (&'static str, u64) {
    assert_eq!(e.kind(), AccumulateErrorKind::Limit, "{e}");
    e.limit_value().unwrap()
}

#[test]
fn chat_choice_and_tool_call_indexes_are_keys_under_a_count_cap() {
    // A huge index is one entry, not a table that size.
    let done = push_all(&[
        json!([{"index": 4_000_000_000_i64, "delta": {"content": "a"}, "finish_reason": "stop"}]),
    ])
    .unwrap();
    assert_eq!(done.choices[0].index, 4_000_000_000);
    let done = push_all(&[
        tool_calls([0, 4_000_000_000, i64::MAX].into_iter()),
        json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
    ])
    .unwrap();
    assert_eq!(
        done.choices[0].message.tool_calls.as_ref().unwrap().len(),
        3
    );

    // More distinct choices than the default cap of 128.
    let choices: Vec<Value> = (0..129)
        .map(|i| json!({"index": i * 1_000_003, "delta": {"content": "a"}, "finish_reason": null}))
        .collect();
    let e = push_all(&[Value::Array(choices)]).unwrap_err();
    assert_eq!(limit_of(&e), ("the choices of a completion", 128));

    // More distinct tool calls than the default cap of 1024, in one chunk or
    // spread over choices.
    let e = push_all(&[tool_calls((0..1025).map(|i| i * 7_919))]).unwrap_err();
    assert_eq!(limit_of(&e), ("the tool calls of a completion", 1024));
    let e = push_all(&[tool_calls(0..1000), {
        let calls: Vec<Value> = (0..25)
            .map(|i| json!({"index": i, "id": format!("c{i}"), "function": {"name": "g"}}))
            .collect();
        json!([{"index": 1, "delta": {"tool_calls": calls}, "finish_reason": null}])
    }])
    .unwrap_err();
    assert_eq!(limit_of(&e).1, 1024);

    // Configured caps; a call named again is not a new call.
    let mut acc = ChatCompletionAccumulator::new()
        .max_tool_calls(2)
        .max_choices(1);
    acc.push(&chat_chunk(tool_calls(0..2))).unwrap();
    acc.push(&chat_chunk(tool_calls(0..2))).unwrap();
    let e = acc.push(&chat_chunk(tool_calls(2..3))).unwrap_err();
    assert_eq!(limit_of(&e), ("the tool calls of a completion", 2));
    let e = ChatCompletionAccumulator::new()
        .max_choices(1)
        .push(&chat_chunk(json!([
            {"index": 0, "delta": {"content": "a"}, "finish_reason": null},
            {"index": 1, "delta": {"content": "b"}, "finish_reason": null}
        ])))
        .unwrap_err();
    assert_eq!(limit_of(&e), ("the choices of a completion", 1));
    let converted: oai::Error = e.into();
    assert!(converted.is_limit(), "{converted}");
}

#[test]
fn chat_bytes_gathered_are_capped() {
    // The default: 64 MiB, whatever the chunking.
    let mib = chat_chunk(
        json!([{"index": 0, "delta": {"content": "x".repeat(1 << 20)}, "finish_reason": null}]),
    );
    let mut acc = ChatCompletionAccumulator::new();
    let mut pushed = 0;
    let e = loop {
        match acc.push(&mib) {
            Ok(()) => pushed += 1,
            Err(e) => break e,
        }
        assert!(pushed <= 64, "more than 64 MiB gathered");
    };
    assert_eq!(pushed, 64);
    assert_eq!(
        limit_of(&e),
        (
            "the bytes an accumulator gathers",
            oai::accumulate::DEFAULT_MAX_ACCUMULATED_BYTES as u64
        )
    );
    // Arguments, refusals and log probabilities count too.
    for delta in [
        json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "y".repeat(600)}}]}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"function_call": {"name": "f", "arguments": "y".repeat(600)}}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {"refusal": "n".repeat(600)}, "finish_reason": null}]),
        json!([{"index": 0, "delta": {}, "logprobs": {"content": [{"token": "t".repeat(600), "logprob": 0.0, "bytes": null, "top_logprobs": []}]}, "finish_reason": null}]),
    ] {
        let mut acc = ChatCompletionAccumulator::new().max_bytes(1000);
        acc.push(&chat_chunk(delta.clone())).unwrap();
        let e = acc.push(&chat_chunk(delta)).unwrap_err();
        assert_eq!(limit_of(&e), ("the bytes an accumulator gathers", 1000));
    }
}

#[test]
fn responses_output_items_and_bytes_are_capped() {
    let item = |i: i64| {
        json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": i,
               "item": {"id": format!("msg_{i}"), "type": "message", "status": "in_progress", "role": "assistant", "content": []}})
    };
    // Indices are keys: a huge one is one item.
    let acc = push_events(&[created(), item(4_000_000_000)]).unwrap();
    assert_eq!(acc.output().count(), 1);
    let mut events = vec![created()];
    events.extend((0..1025).map(|i| item(i * 1_000_003)));
    let e = push_events(&events).err().unwrap();
    assert_eq!(limit_of(&e), ("the output items of a response", 1024));
    // The same item added again is not a new one.
    let mut acc = ResponseAccumulator::new().max_output_items(1);
    for e in [created(), item(0), item(0)] {
        acc.push(&event(e)).unwrap();
    }
    let e = acc.push(&event(item(1))).unwrap_err();
    assert_eq!(limit_of(&e), ("the output items of a response", 1));

    // Deltas and `.done` texts count against the byte cap.
    let mut acc = ResponseAccumulator::new().max_bytes(1000);
    for e in [created(), message_added(), text_part_added()] {
        acc.push(&event(e)).unwrap();
    }
    let mut delta = text_delta("msg_1", 0, 0);
    delta["delta"] = json!("d".repeat(600));
    acc.push(&event(delta.clone())).unwrap();
    let e = acc.push(&event(delta)).unwrap_err();
    assert_eq!(limit_of(&e), ("the bytes an accumulator gathers", 1000));
}

#[tokio::test]
async fn a_stream_over_a_configured_cap_yields_the_event_then_a_limit_error() {
    let (_server, client) = serve("/chat/completions", fixture("chat_text.sse")).await;
    let mut stream = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .accumulate_with(ChatCompletionAccumulator::new().max_bytes(3));
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    let (last, events) = items.split_last().unwrap();
    assert!(events.iter().all(Result::is_ok));
    let err = last.as_ref().unwrap_err();
    assert!(err.is_limit(), "{err}");
    assert!(stream.into_final().is_err());

    let (_server, client) = serve("/chat/completions", fixture("chat_text.sse")).await;
    let err = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .collect_final_with(ChatCompletionAccumulator::new().max_choices(0))
        .await
        .unwrap_err();
    assert!(err.is_limit(), "{err}");
}

#[tokio::test]
async fn server_text_in_accumulation_errors_is_scrubbed_with_the_clients_credentials() {
    // The server puts the client's key (and pieces of it) in the ids and
    // names an accumulation error quotes, and in an error event.
    let key = "sk-test-acc-5e1f9a27";
    let body = [
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": format!("x{key}")}}]}, "finish_reason": null}]}),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": format!("{}y", &key[..10])}}]}, "finish_reason": null}]}),
    ]
    .iter()
    .map(|v| format!("data: {v}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    let (_server, client) = serve("/chat/completions", body).await;
    let err = client
        .chat()
        .completions()
        .create(chat_request())
        .stream()
        .await
        .unwrap()
        .collect_final()
        .await
        .unwrap_err();
    assert!(err.is_protocol(), "{err}");
    let mut shown = format!("{err} {err:?}");
    let mut source = err.source();
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(shown.contains("[REDACTED]"), "{shown}");
    for window in key.as_bytes().windows(8) {
        let window = std::str::from_utf8(window).unwrap();
        assert!(!shown.contains(window), "{window:?} in {shown}");
    }
    // By hand, the caller's own scrubber does the same.
    let mut acc = ResponseAccumulator::new();
    let error_event = event(
        json!({"type": "error", "sequence_number": 1, "message": format!("bad key {key}"), "code": key, "param": null}),
    );
    let e = acc.push(&error_event).unwrap_err();
    let scrub = oai::transport::redact::Scrubber::new().with_secret(key);
    let converted = e.into_error(&scrub);
    assert!(converted.is_api(), "{converted}");
    let shown = format!("{converted} {converted:?}");
    assert!(!shown.contains(key), "{shown}");
}
