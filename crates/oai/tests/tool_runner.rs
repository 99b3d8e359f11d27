//! The tool runner against scripted conversations: a local server plays the
//! model round by round, the tests check what the runner ran, what it sent
//! back, and how each run ended.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(feature = "tools", feature = "chat", feature = "responses"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::structured::JsonSchema;
use oai::tools::{
    CallOutcome, Decision, Limit, Policy, RegisterError, RunEvent, RunOutcome, ToolRegistry,
    ToolRunner, Validation,
};
use oai::types::ChatCompletionRequestMessage as Message;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------- the model

/// One scripted answer of the model.
#[derive(Clone)]
enum Reply {
    Json(Value),
    Sse(String),
    Status(u16),
}

/// A local server that answers `endpoint` with `replies`, one per request, in
/// order; past the end it answers 500, so a runner asking too often fails.
async fn model(endpoint: &str, replies: Vec<Reply>) -> (MockServer, oai::Client) {
    let server = MockServer::start().await;
    let next = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path(format!("/v1{endpoint}")))
        .respond_with(move |_: &Request| {
            let n = next.fetch_add(1, Ordering::SeqCst);
            match replies.get(n) {
                Some(Reply::Json(body)) => ResponseTemplate::new(200).set_body_json(body),
                Some(Reply::Sse(body)) => ResponseTemplate::new(200)
                    .insert_header("content-type", "text/event-stream")
                    .set_body_string(body.clone()),
                Some(Reply::Status(code)) => ResponseTemplate::new(*code).set_body_json(json!({
                    "error": {"message": "scripted failure", "type": "server_error",
                        "param": null, "code": null}})),
                None => ResponseTemplate::new(500).set_body_json(json!({
                    "error": {"message": "the script has no more replies",
                        "type": "server_error", "param": null, "code": null}})),
            }
        })
        .mount(&server)
        .await;
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-test")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    (server, client)
}

/// A chat completion asking for `calls` (id, name, arguments).
fn chat_calls(calls: &[(&str, &str, &str)]) -> Reply {
    let tool_calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| {
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
        })
        .collect();
    Reply::Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
            "message": {"role": "assistant", "content": null, "refusal": null,
                "tool_calls": tool_calls}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 20, "total_tokens": 100}
    }))
}

/// A chat completion answering with text.
fn chat_text(text: &str) -> Reply {
    Reply::Json(json!({
        "id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
            "message": {"role": "assistant", "content": text, "refusal": null}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 20, "total_tokens": 100}
    }))
}

/// A Responses API response with these output items.
fn response(output: Vec<Value>) -> Reply {
    Reply::Json(json!({
        "id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
        "model": "m", "output": output, "parallel_tool_calls": true, "tool_choice": "auto",
        "tools": [], "metadata": {}, "temperature": 1.0, "top_p": 1.0, "error": null,
        "incomplete_details": null, "instructions": null,
        "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 60}
    }))
}

fn function_call(call_id: &str, name: &str, args: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
        "name": name, "arguments": args, "status": "completed"})
}

fn message(text: &str) -> Value {
    json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
}

/// The JSON bodies the server received, in order.
async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect()
}

fn chat_request(prompt: &str) -> oai::types::CreateChatCompletionRequest {
    Chat::new(Message::user(prompt), "gpt-4o-mini")
        .build()
        .unwrap()
}

// ---------------------------------------------------------------- the tools

/// Arguments of `get_weather`.
#[derive(Debug, Deserialize, JsonSchema)]
struct City {
    /// The city.
    city: String,
    /// Celsius or Fahrenheit.
    unit: Option<Unit>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Unit {
    Celsius,
    Fahrenheit,
}

/// What the handlers were called with, in order.
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

fn weather_tools(calls: &Calls) -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    let seen = Arc::clone(calls);
    tools
        .register(
            "get_weather",
            "Current weather of a city",
            move |args: City| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock().unwrap().push((
                        "get_weather".into(),
                        json!({"city": args.city, "unit": format!("{:?}", args.unit)}),
                    ));
                    Ok::<_, String>(format!("18 degrees in {}", args.city))
                }
            },
        )
        .unwrap();
    let seen = Arc::clone(calls);
    tools
        .register_json(
            "add",
            "Adds two integers",
            json!({"type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"], "additionalProperties": false}),
            true,
            move |args: Value| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock().unwrap().push(("add".into(), args.clone()));
                    let sum = args["a"].as_i64().unwrap() + args["b"].as_i64().unwrap();
                    Ok::<_, String>(json!({"sum": sum}))
                }
            },
        )
        .unwrap();
    tools
}

/// The `tool` messages of a chat request body: (tool_call_id, content).
fn tool_messages(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_single_call_runs_and_its_output_goes_back_to_the_model() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("call_1", "get_weather", r#"{"city":"Paris","unit":null}"#)]),
            chat_text("It is 18 degrees in Paris."),
        ],
    )
    .await;
    let calls = Calls::default();
    let runner = ToolRunner::new(client, weather_tools(&calls));
    let run = runner.run_chat(chat_request("Weather in Paris?")).await;

    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(
        run.conversation().final_text(),
        Some("It is 18 degrees in Paris.")
    );
    assert_eq!(
        *calls.lock().unwrap(),
        [(
            "get_weather".to_owned(),
            json!({"city": "Paris", "unit": "None"})
        )]
    );
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    // The tools are declared, strict, with the schema derived from the type.
    let tools = bodies[0]["tools"].as_array().unwrap();
    let weather = tools
        .iter()
        .find(|t| t["function"]["name"] == "get_weather")
        .unwrap();
    assert_eq!(weather["function"]["strict"], true);
    assert_eq!(
        weather["function"]["parameters"]["additionalProperties"],
        false
    );
    assert_eq!(
        weather["function"]["parameters"]["required"],
        json!(["city", "unit"])
    );
    // The second request carries the assistant's call and the tool's answer.
    let messages = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call_1");
    assert_eq!(
        tool_messages(&bodies[1]),
        [("call_1".to_owned(), "18 degrees in Paris".to_owned())]
    );
    let stats = run.stats();
    assert_eq!((stats.rounds, stats.calls, stats.succeeded), (2, 1, 1));
    assert_eq!(stats.tokens, 200);
    assert_eq!(run.conversation().messages().len(), 4);
}

#[tokio::test]
async fn parallel_calls_run_at_once_up_to_the_limit_and_answer_in_order() {
    for (max_parallel, expected_peak) in [(3, 3), (1, 1)] {
        let (server, client) = model(
            "/chat/completions",
            vec![
                chat_calls(&[
                    ("c1", "slow", r#"{"ms":60}"#),
                    ("c2", "slow", r#"{"ms":10}"#),
                    ("c3", "slow", r#"{"ms":30}"#),
                ]),
                chat_text("done"),
            ],
        )
        .await;
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tools = ToolRegistry::new();
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        tools
            .register_json(
                "slow",
                "",
                json!({"type": "object", "properties": {"ms": {"type": "integer", "minimum": 0}},
                    "required": ["ms"], "additionalProperties": false}),
                true,
                move |args: Value| {
                    let (r, p) = (Arc::clone(&r), Arc::clone(&p));
                    async move {
                        let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                        p.fetch_max(now, Ordering::SeqCst);
                        let ms = args["ms"].as_u64().unwrap();
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        r.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, String>(format!("slept {ms}"))
                    }
                },
            )
            .unwrap();
        let runner = ToolRunner::new(client, tools).max_parallel(max_parallel);
        let run = runner.run_chat(chat_request("go")).await;
        assert!(run.outcome().is_completed());
        assert_eq!(peak.load(Ordering::SeqCst), expected_peak);
        let answers = tool_messages(&bodies(&server).await[1]);
        assert_eq!(
            answers,
            [
                ("c1".to_owned(), "slept 60".to_owned()),
                ("c2".to_owned(), "slept 10".to_owned()),
                ("c3".to_owned(), "slept 30".to_owned()),
            ]
        );
        assert_eq!(run.stats().succeeded, 3);
    }
}

#[tokio::test]
async fn an_unknown_tool_is_answered_as_an_error_and_nothing_runs() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("c1", "delete_everything", r#"{"path":"/"}"#)]),
            chat_text("sorry"),
        ],
    )
    .await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_chat(chat_request("x"))
        .await;
    assert!(run.outcome().is_completed());
    assert!(calls.lock().unwrap().is_empty());
    let answers = tool_messages(&bodies(&server).await[1]);
    assert_eq!(answers[0].0, "c1");
    assert!(
        answers[0]
            .1
            .contains("there is no tool named `delete_everything`"),
        "{}",
        answers[0].1
    );
    assert_eq!(run.stats().unknown_tool, 1);
    assert_eq!(run.stats().records[0].outcome, CallOutcome::UnknownTool);
}

#[tokio::test]
async fn malformed_arguments_are_reported_to_the_model_and_counted() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("c1", "get_weather", r#"{"city": "Par"#),
                ("c2", "add", "[1, 2]"),
            ]),
            chat_text("oops"),
        ],
    )
    .await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_chat(chat_request("x"))
        .await;
    assert!(calls.lock().unwrap().is_empty());
    let answers = tool_messages(&bodies(&server).await[1]);
    assert!(
        answers[0]
            .1
            .starts_with("error: the arguments are not a JSON object")
    );
    assert!(answers[1].1.contains("expected an object, got an array"));
    assert_eq!(run.stats().malformed_arguments, 2);
}

#[tokio::test]
async fn schema_violations_are_listed_for_the_model_and_the_handler_never_runs() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("c1", "add", r#"{"a": "one", "b": 2}"#),
                ("c2", "add", r#"{"a": 1}"#),
                ("c3", "add", r#"{"a": 1, "b": 2, "c": 3}"#),
                ("c4", "get_weather", r#"{"city": "Oslo", "unit": "kelvin"}"#),
                ("c5", "add", r#"{"a": 1, "b": 2}"#),
            ]),
            chat_text("ok"),
        ],
    )
    .await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_chat(chat_request("x"))
        .await;
    // Only the valid call ran.
    assert_eq!(
        *calls.lock().unwrap(),
        [("add".to_owned(), json!({"a": 1, "b": 2}))]
    );
    let answers = tool_messages(&bodies(&server).await[1]);
    assert!(answers[0].1.contains("/a"), "{}", answers[0].1);
    assert!(answers[0].1.contains("integer"), "{}", answers[0].1);
    assert!(answers[1].1.contains("`b`"), "{}", answers[1].1);
    assert!(answers[2].1.contains("`c`"), "{}", answers[2].1);
    assert!(answers[3].1.contains("/unit"), "{}", answers[3].1);
    assert_eq!(answers[4].1, r#"{"sum":3}"#);
    assert_eq!(run.stats().invalid_arguments, 4);
    assert_eq!(run.stats().succeeded, 1);
    match &run.stats().records[0].outcome {
        CallOutcome::InvalidArguments(v) => assert!(!v.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_handler_that_hangs_is_cancelled_at_its_timeout() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("c1", "hang", "{}"), ("c2", "add", r#"{"a":2,"b":2}"#)]),
            chat_text("fine"),
        ],
    )
    .await;
    let calls = Calls::default();
    let mut tools = weather_tools(&calls);
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&dropped);
    tools
        .register_json(
            "hang",
            "Never finishes",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            true,
            move |_: Value| {
                let guard = DropCounter(Arc::clone(&d));
                async move {
                    let _guard = guard;
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, String>("never")
                }
            },
        )
        .unwrap();
    let started = std::time::Instant::now();
    let run = ToolRunner::new(client, tools)
        .call_timeout(Duration::from_millis(150))
        .run_chat(chat_request("x"))
        .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(run.outcome().is_completed());
    assert_eq!(
        run.stats().records[0].outcome,
        CallOutcome::TimedOut(Duration::from_millis(150))
    );
    assert_eq!(run.stats().timed_out, 1);
    assert_eq!(run.stats().succeeded, 1);
    let answers = tool_messages(&bodies(&server).await[1]);
    assert!(answers[0].1.contains("did not finish within 0.1 s") || answers[0].1.contains("0.2 s"));
    // The hung handler's future was dropped, not left running.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_handler_that_panics_is_reported_and_the_run_goes_on() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("c1", "explode", "{}")]),
            chat_calls(&[("c2", "add", r#"{"a":1,"b":1}"#)]),
            chat_text("survived"),
        ],
    )
    .await;
    let calls = Calls::default();
    let mut tools = weather_tools(&calls);
    tools
        .register_json(
            "explode",
            "",
            json!({"type": "object", "properties": {}}),
            false,
            |_: Value| async move {
                if std::hint::black_box(true) {
                    panic!("handler bug: secret internals");
                }
                Ok::<_, String>("unreachable")
            },
        )
        .unwrap();
    let run = ToolRunner::new(client, tools)
        .run_chat(chat_request("x"))
        .await;
    assert!(run.outcome().is_completed());
    assert_eq!(run.conversation().final_text(), Some("survived"));
    assert_eq!(
        run.stats().records[0].outcome,
        CallOutcome::Panicked("handler bug: secret internals".into())
    );
    assert_eq!(run.stats().panicked, 1);
    let answers = tool_messages(&bodies(&server).await[1]);
    // The model hears that it failed, not the panic's text.
    assert_eq!(answers[0].1, "error: the tool failed unexpectedly");
}

#[tokio::test]
async fn the_round_limit_ends_the_run_with_a_complete_transcript() {
    let replies = (0..5)
        .map(|i| chat_calls(&[(&format!("c{i}"), "add", r#"{"a":1,"b":1}"#)]))
        .collect::<Vec<_>>();
    let (server, client) = model("/chat/completions", replies).await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .max_rounds(3)
        .run_chat(chat_request("loop"))
        .await;
    assert!(
        matches!(run.outcome(), RunOutcome::LimitReached(Limit::Rounds(3))),
        "{:?}",
        run.outcome()
    );
    assert_eq!(bodies(&server).await.len(), 3);
    assert_eq!(calls.lock().unwrap().len(), 3);
    // user + 3 x (assistant, tool): every call has its answer.
    let messages = run.conversation().messages();
    assert_eq!(messages.len(), 7);
    assert!(matches!(messages.last(), Some(Message::Tool(_))));
}

#[tokio::test]
async fn the_default_round_limit_is_ten() {
    let replies = (0..12)
        .map(|i| chat_calls(&[(&format!("c{i}"), "add", r#"{"a":1,"b":1}"#)]))
        .collect::<Vec<_>>();
    let (server, client) = model("/chat/completions", replies).await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_chat(chat_request("loop"))
        .await;
    assert!(matches!(
        run.outcome(),
        RunOutcome::LimitReached(Limit::Rounds(10))
    ));
    assert_eq!(bodies(&server).await.len(), 10);
}

#[tokio::test]
async fn review_mode_stops_before_anything_runs_then_approves() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("c1", "add", r#"{"a":2,"b":3}"#)]),
            chat_text("5"),
        ],
    )
    .await;
    let calls = Calls::default();
    let runner = ToolRunner::new(client, weather_tools(&calls)).review_all(true);
    let run = runner.run_chat(chat_request("2+3?")).await;
    assert!(matches!(run.outcome(), RunOutcome::NeedsReview));
    assert!(calls.lock().unwrap().is_empty());
    assert_eq!(bodies(&server).await.len(), 1);
    let pending = run.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].name(), "add");
    assert_eq!(pending[0].call_id(), "c1");
    assert_eq!(pending[0].arguments(), Some(&json!({"a": 2, "b": 3})));
    assert!(pending[0].validation().is_valid());
    assert!(pending[0].needs_review());
    let token = pending[0].token();

    let run = runner.resume_chat(run, [(token, Decision::Approve)]).await;
    assert!(run.outcome().is_completed());
    assert_eq!(
        *calls.lock().unwrap(),
        [("add".to_owned(), json!({"a": 2, "b": 3}))]
    );
    assert_eq!(
        tool_messages(&bodies(&server).await[1]),
        [("c1".to_owned(), r#"{"sum":5}"#.to_owned())]
    );
}

#[tokio::test]
async fn review_mode_edits_are_checked_and_run_with_the_new_arguments() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("c1", "get_weather", r#"{"city":"Pari","unit":null}"#),
                ("c2", "add", r#"{"a":1,"b":1}"#),
            ]),
            chat_text("done"),
        ],
    )
    .await;
    let calls = Calls::default();
    let runner = ToolRunner::new(client, weather_tools(&calls)).review_all(true);
    let run = runner.run_chat(chat_request("x")).await;
    let tokens: Vec<_> = run.pending().iter().map(|c| c.token()).collect();
    let run = runner
        .resume_chat(
            run,
            [
                (
                    tokens[0],
                    Decision::Edit(json!({"city": "Paris", "unit": "celsius"})),
                ),
                // An edit that breaks the schema is answered, never run.
                (tokens[1], Decision::Edit(json!({"a": "x", "b": 1}))),
            ],
        )
        .await;
    assert!(run.outcome().is_completed());
    assert_eq!(
        *calls.lock().unwrap(),
        [(
            "get_weather".to_owned(),
            json!({"city": "Paris", "unit": "Some(Celsius)"})
        )]
    );
    let answers = tool_messages(&bodies(&server).await[1]);
    assert_eq!(answers[0].1, "18 degrees in Paris");
    assert!(
        answers[1].1.contains("do not match the schema"),
        "{}",
        answers[1].1
    );
    assert_eq!(run.stats().invalid_arguments, 1);
}

#[tokio::test]
async fn review_mode_rejections_reach_the_model_and_undecided_calls_are_rejected() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("c1", "add", r#"{"a":1,"b":1}"#),
                ("c2", "add", r#"{"a":2,"b":2}"#),
            ]),
            chat_text("ok"),
        ],
    )
    .await;
    let calls = Calls::default();
    let runner = ToolRunner::new(client, weather_tools(&calls)).review_all(true);
    let run = runner.run_chat(chat_request("x")).await;
    let first = run.pending()[0].token();
    let run = runner
        .resume_chat(run, [(first, Decision::Reject("not today".into()))])
        .await;
    assert!(run.outcome().is_completed());
    assert!(calls.lock().unwrap().is_empty());
    let answers = tool_messages(&bodies(&server).await[1]);
    assert_eq!(answers[0].1, "error: the call was rejected: not today");
    assert!(answers[1].1.contains("no decision"), "{}", answers[1].1);
    assert_eq!(run.stats().rejected, 2);
}

#[tokio::test]
async fn a_per_tool_policy_holds_only_the_tools_that_need_review() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("c1", "add", r#"{"a":1,"b":1}"#),
                ("c2", "get_weather", r#"{"city":"Rome","unit":null}"#),
            ]),
            chat_calls(&[("c3", "add", r#"{"a":5,"b":5}"#)]),
            chat_text("ok"),
        ],
    )
    .await;
    let calls = Calls::default();
    let mut tools = weather_tools(&calls);
    tools.set_policy("get_weather", Policy::Review).unwrap();
    assert!(matches!(
        tools.set_policy("nope", Policy::Review),
        Err(RegisterError::Unknown(_))
    ));
    let runner = ToolRunner::new(client, tools);
    let run = runner.run_chat(chat_request("x")).await;
    assert!(matches!(run.outcome(), RunOutcome::NeedsReview));
    let flags: Vec<_> = run.pending().iter().map(|c| c.needs_review()).collect();
    assert_eq!(flags, [false, true]);
    assert!(
        calls.lock().unwrap().is_empty(),
        "nothing runs before review"
    );
    let weather = run.pending()[1].token();
    let run = runner
        .resume_chat(run, [(weather, Decision::Approve)])
        .await;
    // The auto call ran as proposed; the reviewed one as approved; the next
    // round's auto-only call ran without stopping.
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    let names: Vec<_> = calls.lock().unwrap().iter().map(|c| c.0.clone()).collect();
    assert_eq!(names, ["add", "get_weather", "add"]);
    assert_eq!(bodies(&server).await.len(), 3);
}

#[tokio::test]
async fn long_outputs_are_cut_to_the_limit() {
    let (server, client) = model(
        "/chat/completions",
        vec![chat_calls(&[("c1", "big", "{}")]), chat_text("ok")],
    )
    .await;
    let mut tools = ToolRegistry::new();
    tools
        .register_json(
            "big",
            "",
            json!({"type": "object"}),
            false,
            |_: Value| async move { Ok::<_, String>("x".repeat(100_000)) },
        )
        .unwrap();
    let run = ToolRunner::new(client, tools)
        .max_output_bytes(1000)
        .run_chat(chat_request("x"))
        .await;
    let answers = tool_messages(&bodies(&server).await[1]);
    assert!(answers[0].1.len() <= 1000);
    assert!(
        answers[0]
            .1
            .ends_with("[output truncated: 100000 bytes in all]")
    );
    assert_eq!(
        run.stats().records[0].outcome,
        CallOutcome::Succeeded { truncated: true }
    );
    assert_eq!(run.stats().truncated, 1);
}

#[tokio::test]
async fn the_token_budget_stops_the_run_before_the_next_request() {
    let replies = (0..5)
        .map(|i| chat_calls(&[(&format!("c{i}"), "add", r#"{"a":1,"b":1}"#)]))
        .collect::<Vec<_>>();
    let (server, client) = model("/chat/completions", replies).await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .max_total_tokens(150)
        .run_chat(chat_request("x"))
        .await;
    assert!(matches!(
        run.outcome(),
        RunOutcome::LimitReached(Limit::Tokens {
            used: 200,
            limit: 150
        })
    ));
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn the_time_budget_stops_the_run() {
    let replies = (0..50)
        .map(|i| chat_calls(&[(&format!("c{i}"), "nap", "{}")]))
        .collect::<Vec<_>>();
    let (_server, client) = model("/chat/completions", replies).await;
    let mut tools = ToolRegistry::new();
    tools
        .register_json(
            "nap",
            "",
            json!({"type": "object"}),
            false,
            |_: Value| async move {
                tokio::time::sleep(Duration::from_millis(40)).await;
                Ok::<_, String>("rested")
            },
        )
        .unwrap();
    let run = ToolRunner::new(client, tools)
        .max_rounds(50)
        .max_total_time(Duration::from_millis(200))
        .run_chat(chat_request("x"))
        .await;
    assert!(
        matches!(
            run.outcome(),
            RunOutcome::LimitReached(Limit::Time(d)) if *d == Duration::from_millis(200)
        ),
        "{:?}",
        run.outcome()
    );
    assert!(run.stats().rounds < 50);
    assert!(run.stats().elapsed >= Duration::from_millis(200));
}

#[tokio::test]
async fn too_many_calls_in_one_round_run_none_and_end_the_run() {
    let many: Vec<(String, &str, &str)> = (0..5)
        .map(|i| (format!("c{i}"), "add", r#"{"a":1,"b":1}"#))
        .collect();
    let refs: Vec<(&str, &str, &str)> = many.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    let (_server, client) = model("/chat/completions", vec![chat_calls(&refs)]).await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .max_calls_per_round(4)
        .run_chat(chat_request("x"))
        .await;
    assert!(matches!(
        run.outcome(),
        RunOutcome::LimitReached(Limit::CallsPerRound {
            requested: 5,
            limit: 4
        })
    ));
    assert!(calls.lock().unwrap().is_empty());
    assert_eq!(run.stats().not_run, 5);
    // Every call is answered, so the transcript can be sent again.
    assert_eq!(run.conversation().messages().len(), 1 + 1 + 5);
}

#[tokio::test]
async fn a_failed_request_keeps_the_transcript_and_the_run_resumes() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("c1", "add", r#"{"a":1,"b":2}"#)]),
            Reply::Status(503),
            chat_text("3"),
        ],
    )
    .await;
    let calls = Calls::default();
    let runner = ToolRunner::new(client, weather_tools(&calls));
    let run = runner.run_chat(chat_request("x")).await;
    match run.outcome() {
        RunOutcome::Failed(e) => assert!(e.is_api(), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(run.conversation().messages().len(), 3);
    let run = runner.resume_chat(run, []).await;
    assert!(run.outcome().is_completed());
    assert_eq!(run.conversation().final_text(), Some("3"));
    assert_eq!(calls.lock().unwrap().len(), 1, "the call ran once");
    let bodies = bodies(&server).await;
    assert_eq!(bodies[1]["messages"], bodies[2]["messages"]);
}

#[tokio::test]
async fn a_request_with_an_unregistered_function_tool_is_refused_before_any_io() {
    let (server, client) = model("/chat/completions", vec![chat_text("x")]).await;
    let calls = Calls::default();
    let mut request = chat_request("x");
    request.tools = Some(vec![
        oai::types::CreateChatCompletionRequestToolsItem::Function(
            oai::types::ChatCompletionTool::function("shell", json!({"type": "object"})),
        ),
    ]);
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_chat(request)
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => {
            assert!(e.is_invalid_input());
            assert!(e.to_string().contains("`shell`"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(bodies(&server).await.is_empty());
}

#[tokio::test]
async fn the_responses_api_runs_a_two_tool_conversation() {
    let (server, client) = model(
        "/responses",
        vec![
            response(vec![
                json!({"type": "reasoning", "id": "rs_1", "summary": []}),
                function_call(
                    "call_a",
                    "get_weather",
                    r#"{"city":"Lima","unit":"celsius"}"#,
                ),
                function_call("call_b", "add", r#"{"a":20,"b":22}"#),
            ]),
            response(vec![function_call("call_c", "nope", "{}")]),
            response(vec![message("18 degrees in Lima; 42.")]),
        ],
    )
    .await;
    let calls = Calls::default();
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Weather in Lima, and 20+22?")
        .build()
        .unwrap();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_responses(request)
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(
        run.conversation().final_text().as_deref(),
        Some("18 degrees in Lima; 42.")
    );
    assert_eq!(calls.lock().unwrap().len(), 2);
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    let tools = bodies[0]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert!(
        tools
            .iter()
            .all(|t| t["type"] == "function" && t["strict"] == true)
    );
    // Round 2 sends the user message, the output items, and the outputs.
    let input = bodies[1]["input"].as_array().unwrap();
    let types: Vec<_> = input
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(
        types,
        [
            "message",
            "reasoning",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output"
        ]
    );
    assert_eq!(input[4]["call_id"], "call_a");
    assert_eq!(input[4]["output"], "18 degrees in Lima");
    assert_eq!(input[5]["output"], r#"{"sum":42}"#);
    let input = bodies[2]["input"].as_array().unwrap();
    assert_eq!(input.last().unwrap()["call_id"], "call_c");
    assert!(
        input.last().unwrap()["output"]
            .as_str()
            .unwrap()
            .contains("no tool named `nope`")
    );
    assert_eq!(run.stats().tokens, 180);
    assert_eq!(run.conversation().items().len(), 9);
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("data: {e}\n\n"))
        .chain(std::iter::once("data: [DONE]\n\n".to_owned()))
        .collect()
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]})
}

#[tokio::test]
async fn streaming_chat_hands_text_deltas_to_the_caller_while_it_works() {
    let round1 = sse(&[
        chunk(
            json!({"role": "assistant", "content": "Let me check. "}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                "function": {"name": "add", "arguments": "{\"a\":"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "4,\"b\":5}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ]);
    let round2 = sse(&[
        chunk(json!({"role": "assistant", "content": "It is "}), None),
        chunk(json!({"content": "9."}), None),
        chunk(json!({}), Some("stop")),
    ]);
    let (server, client) = model(
        "/chat/completions",
        vec![Reply::Sse(round1), Reply::Sse(round2)],
    )
    .await;
    let calls = Calls::default();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = Arc::clone(&seen);
    let run = ToolRunner::new(client, weather_tools(&calls))
        .on_event(move |event| {
            let line = match event {
                RunEvent::RoundStarted { round } => format!("round {round}"),
                RunEvent::TextDelta(t) => format!("text {t}"),
                RunEvent::CallFinished(r) => format!("call {} {}", r.name, r.outcome.label()),
                _ => "other".to_owned(),
            };
            s.lock().unwrap().push(line);
        })
        .run_chat(chat_request("4+5?"))
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "round 1",
            "text Let me check. ",
            "call add succeeded",
            "round 2",
            "text It is ",
            "text 9.",
        ]
    );
    assert_eq!(run.conversation().final_text(), Some("It is 9."));
    let bodies = bodies(&server).await;
    assert_eq!(bodies[0]["stream"], true);
    assert_eq!(
        tool_messages(&bodies[1]),
        [("c1".to_owned(), r#"{"sum":9}"#.to_owned())]
    );
}

#[tokio::test]
async fn streaming_responses_hand_text_deltas_to_the_caller() {
    let done = |output: Vec<Value>| {
        json!({"type": "response.completed", "sequence_number": 9, "response": {
            "id": "resp_s", "object": "response", "created_at": 1, "status": "completed",
            "model": "m", "output": output, "parallel_tool_calls": true, "tool_choice": "auto",
            "tools": [], "metadata": {}, "temperature": 1.0, "top_p": 1.0, "error": null,
            "incomplete_details": null, "instructions": null, "usage": null}})
    };
    let call = function_call("call_1", "add", r#"{"a":1,"b":1}"#);
    let round1 = sse(&[
        json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
            "item": {"type": "function_call", "id": "fc_call_1", "call_id": "call_1",
                "name": "add", "arguments": "", "status": "in_progress"}}),
        json!({"type": "response.function_call_arguments.delta", "sequence_number": 2,
            "output_index": 0, "item_id": "fc_call_1", "delta": "{\"a\":1,\"b\":1}"}),
        json!({"type": "response.output_item.done", "sequence_number": 3, "output_index": 0,
            "item": call.clone()}),
        done(vec![call]),
    ]);
    let text = message("two");
    let round2 = sse(&[
        json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
            "item": {"type": "message", "id": "msg_1", "role": "assistant",
                "status": "in_progress", "content": []}}),
        json!({"type": "response.content_part.added", "sequence_number": 2, "output_index": 0,
            "item_id": "msg_1", "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        json!({"type": "response.output_text.delta", "sequence_number": 3, "output_index": 0,
            "item_id": "msg_1", "content_index": 0, "delta": "tw", "logprobs": []}),
        json!({"type": "response.output_text.delta", "sequence_number": 4, "output_index": 0,
            "item_id": "msg_1", "content_index": 0, "delta": "o", "logprobs": []}),
        json!({"type": "response.output_item.done", "sequence_number": 5, "output_index": 0,
            "item": text.clone()}),
        done(vec![text]),
    ]);
    let (_server, client) = model("/responses", vec![Reply::Sse(round1), Reply::Sse(round2)]).await;
    let calls = Calls::default();
    let deltas = Arc::new(Mutex::new(String::new()));
    let d = Arc::clone(&deltas);
    let request = CreateResponseBuilder::new()
        .model("m")
        .input("1+1?")
        .build()
        .unwrap();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .on_event(move |event| {
            if let RunEvent::TextDelta(t) = event {
                d.lock().unwrap().push_str(t);
            }
        })
        .run_responses(request)
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(*deltas.lock().unwrap(), "two");
    assert_eq!(calls.lock().unwrap().len(), 1);
}

#[test]
fn names_follow_the_api_rule_at_registration() {
    let mut tools = ToolRegistry::new();
    let handler = |_: Value| async move { Ok::<_, String>("") };
    let schema = json!({"type": "object"});
    for bad in [
        "",
        "has space",
        "dot.name",
        "ünï",
        &"x".repeat(65),
        "semi;colon",
    ] {
        assert!(
            matches!(
                tools.register_json(bad, "", schema.clone(), false, handler),
                Err(RegisterError::InvalidName(_))
            ),
            "{bad:?}"
        );
    }
    for good in ["a", "get_weather", "A-b_9", &"x".repeat(64)] {
        tools
            .register_json(good, "", schema.clone(), false, handler)
            .unwrap();
    }
    assert!(matches!(
        tools.register_json("a", "", schema.clone(), false, handler),
        Err(RegisterError::Duplicate(_))
    ));
    assert!(matches!(
        tools.register_json("list", "", json!({"type": "array"}), false, handler),
        Err(RegisterError::NotAnObject(_))
    ));
    assert!(matches!(
        tools.register_json(
            "weird",
            "",
            json!({"type": "object", "x-unknown-keyword": {"if": true}}),
            false,
            handler
        ),
        Err(RegisterError::Unenforceable { .. })
    ));
    assert_eq!(tools.len(), 4);
}

#[test]
fn a_parameter_type_without_a_strict_schema_is_refused_with_the_field() {
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Loose {
        tags: std::collections::HashMap<String, String>,
    }
    let mut tools = ToolRegistry::new();
    let err = tools
        .register("loose", "", |_: Loose| async move { Ok::<_, String>("") })
        .unwrap_err();
    match &err {
        RegisterError::Schema { tool, error } => {
            assert_eq!(tool, "loose");
            assert!(error.path().contains("tags"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_gives_the_same_verdict_the_runner_acts_on() {
    let calls = Calls::default();
    let tools = weather_tools(&calls);
    assert!(matches!(tools.check("nope", "{}"), Validation::UnknownTool));
    assert!(matches!(
        tools.check("add", "{"),
        Validation::MalformedJson(_)
    ));
    assert!(matches!(
        tools.check("add", r#"{"a":1}"#),
        Validation::Invalid(_)
    ));
    assert_eq!(
        tools.check("add", r#"{"a":1,"b":2}"#),
        Validation::Valid(json!({"a": 1, "b": 2}))
    );
}

// ------------------------------------------------------------- the property

mod property {
    use super::*;
    use proptest::prelude::*;

    /// Any JSON value, small.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-zA-Z ]{0,8}".prop_map(Value::String),
            Just(json!("celsius")),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("a".to_owned()),
                        Just("b".to_owned()),
                        Just("city".to_owned()),
                        Just("unit".to_owned()),
                        "[a-z]{1,4}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Arguments text a model might write: valid ones, near misses, any
    /// JSON, and garbage.
    fn arguments() -> impl Strategy<Value = String> {
        prop_oneof![
            (any::<i32>(), any::<i32>()).prop_map(|(a, b)| json!({"a": a, "b": b}).to_string()),
            (
                "[A-Za-z]{0,6}",
                prop_oneof![
                    Just(json!(null)),
                    Just(json!("celsius")),
                    Just(json!("kelvin"))
                ]
            )
                .prop_map(|(c, u)| json!({"city": c, "unit": u}).to_string()),
            (any::<i32>(), 0.5f64..2.0).prop_map(|(a, b)| json!({"a": a, "b": b}).to_string()),
            any_json().prop_map(|v| v.to_string()),
            ".{0,12}",
        ]
    }

    fn tool_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("add".to_owned()),
            Just("weather".to_owned()),
            Just("typed".to_owned()),
            Just("Add".to_owned()),
            Just("add ".to_owned()),
            Just("shell".to_owned()),
            Just(String::new()),
            "[a-z_]{1,8}",
        ]
    }

    fn decision() -> impl Strategy<Value = Option<Decision>> {
        prop_oneof![
            Just(None),
            Just(Some(Decision::Approve)),
            Just(Some(Decision::Reject("no".into()))),
            any_json().prop_map(|v| Some(Decision::Edit(v))),
            (any::<i32>(), any::<i32>())
                .prop_map(|(a, b)| Some(Decision::Edit(json!({"a": a, "b": b})))),
        ]
    }

    /// The independent oracle: does `args` fit tool `name`'s schema?
    fn fits(name: &str, args: &Value) -> bool {
        let Some(map) = args.as_object() else {
            return false;
        };
        let int = |v: Option<&Value>| {
            v.is_some_and(|v| {
                v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
            })
        };
        match name {
            "add" => map.len() == 2 && int(map.get("a")) && int(map.get("b")),
            "weather" | "typed" => {
                map.len() == 2
                    && map.get("city").is_some_and(Value::is_string)
                    && map
                        .get("unit")
                        .is_some_and(|u| u.is_null() || u == "celsius" || u == "fahrenheit")
            }
            _ => false,
        }
    }

    #[derive(Debug, Deserialize, JsonSchema, serde::Serialize)]
    struct Typed {
        city: String,
        unit: Option<Unit2>,
    }

    #[derive(Debug, Deserialize, JsonSchema, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Unit2 {
        Celsius,
        Fahrenheit,
    }

    fn registry(seen: &Calls) -> ToolRegistry {
        let mut tools = ToolRegistry::new();
        let record = |name: &'static str, seen: &Calls| {
            let seen = Arc::clone(seen);
            move |args: Value| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock().unwrap().push((name.to_owned(), args));
                    Ok::<_, String>("ok")
                }
            }
        };
        tools
            .register_json(
                "add",
                "",
                json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"], "additionalProperties": false}),
                true,
                record("add", seen),
            )
            .unwrap();
        tools
            .register_json(
                "weather",
                "",
                json!({"type": "object", "properties": {"city": {"type": "string"},
                    "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", null]}},
                    "required": ["city", "unit"], "additionalProperties": false}),
                true,
                record("weather", seen),
            )
            .unwrap();
        let s = Arc::clone(seen);
        tools
            .register("typed", "", move |args: Typed| {
                let s = Arc::clone(&s);
                async move {
                    s.lock()
                        .unwrap()
                        .push(("typed".to_owned(), serde_json::to_value(&args).unwrap()));
                    Ok::<_, String>("ok")
                }
            })
            .unwrap();
        tools
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        /// No sequence of model replies, and no review decisions, make the
        /// runner call an unregistered handler or a handler with arguments
        /// outside its schema.
        #[test]
        fn the_model_cannot_reach_past_the_registry_or_the_schemas(
            rounds in prop::collection::vec(
                prop::collection::vec((tool_name(), arguments(), decision()), 0..4), 1..4),
            review in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut replies = Vec::new();
                for (r, calls) in rounds.iter().enumerate() {
                    let owned: Vec<(String, String, String)> = calls
                        .iter()
                        .enumerate()
                        .map(|(i, (n, a, _))| (format!("r{r}c{i}"), n.clone(), a.clone()))
                        .collect();
                    let refs: Vec<(&str, &str, &str)> =
                        owned.iter().map(|(i, n, a)| (i.as_str(), n.as_str(), a.as_str())).collect();
                    replies.push(if refs.is_empty() { chat_text("done") } else { chat_calls(&refs) });
                }
                replies.push(chat_text("done"));
                let (_server, client) = model("/chat/completions", replies).await;
                let seen = Calls::default();
                let runner = ToolRunner::new(client, registry(&seen)).review_all(review);
                let mut run = runner.run_chat(chat_request("x")).await;
                let mut round = 0;
                while let RunOutcome::NeedsReview = run.outcome() {
                    let tokens: Vec<_> = run.pending().iter().map(|c| c.token()).collect();
                    let decisions: Vec<_> = rounds[round]
                        .iter()
                        .enumerate()
                        .filter_map(|(i, (_, _, d))| d.clone().map(|d| (tokens[i], d)))
                        .collect();
                    run = runner.resume_chat(run, decisions).await;
                    round += 1;
                }
                for (name, args) in seen.lock().unwrap().iter() {
                    assert!(
                        fits(name, args),
                        "handler `{name}` ran with arguments outside its schema: {args}"
                    );
                }
                let ran = seen.lock().unwrap().len() as u32;
                assert_eq!(ran, run.stats().succeeded);
            });
        }
    }
}

// ------------------------------------------------------- call identity

/// A `read` tool that records the paths it was asked to read.
fn read_tool(paths: &Arc<Mutex<Vec<String>>>) -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    let seen = Arc::clone(paths);
    tools
        .register_json(
            "read",
            "Reads a file",
            json!({"type": "object", "properties": {"path": {"type": "string"}},
                "required": ["path"], "additionalProperties": false}),
            true,
            move |args: Value| {
                let seen = Arc::clone(&seen);
                async move {
                    let path = args["path"].as_str().unwrap_or_default().to_owned();
                    seen.lock().unwrap().push(path.clone());
                    Ok::<_, String>(format!("contents of {path}"))
                }
            },
        )
        .unwrap();
    tools
}

#[tokio::test]
async fn calls_with_repeated_or_empty_ids_never_run_whatever_the_decisions() {
    // Three calls share the id `dup` (a local server's constant id, or a
    // hostile one); the application approves two paths and rejects
    // `/home/user`. Before, decisions went by id: `/home/user` ran.
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("dup", "read", r#"{"path":"/tmp/a"}"#),
                ("dup", "read", r#"{"path":"/home/user"}"#),
                ("dup", "read", r#"{"path":"/tmp/b"}"#),
                ("", "read", r#"{"path":"/tmp/c"}"#),
                ("ok", "read", r#"{"path":"/tmp/d"}"#),
            ]),
            chat_text("done"),
        ],
    )
    .await;
    let paths = Arc::new(Mutex::new(Vec::new()));
    let runner = ToolRunner::new(client, read_tool(&paths)).review_all(true);
    let run = runner.run_chat(chat_request("x")).await;
    assert!(matches!(run.outcome(), RunOutcome::NeedsReview));
    let ambiguous: Vec<_> = run.pending().iter().map(|c| c.has_ambiguous_id()).collect();
    assert_eq!(ambiguous, [true, true, true, true, false]);
    let waiting: Vec<_> = run.pending().iter().map(|c| c.needs_review()).collect();
    assert_eq!(waiting, [false, false, false, false, true]);
    let decisions: Vec<_> = run
        .pending()
        .iter()
        .map(|call| {
            let decision = if call.raw_arguments().contains("/home/user") {
                Decision::Reject("private".into())
            } else {
                Decision::Approve
            };
            (call.token(), decision)
        })
        .collect();
    let run = runner.resume_chat(run, decisions).await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(*paths.lock().unwrap(), ["/tmp/d"]);
    assert_eq!(run.stats().ambiguous_ids, 4);
    let outcomes: Vec<_> = run
        .stats()
        .records
        .iter()
        .map(|r| r.outcome.label())
        .collect();
    assert_eq!(
        outcomes,
        [
            "ambiguous_id",
            "ambiguous_id",
            "ambiguous_id",
            "ambiguous_id",
            "succeeded"
        ]
    );
    let answers = tool_messages(&bodies(&server).await[1]);
    assert_eq!(answers.len(), 5);
    for (_, text) in &answers[..4] {
        assert!(
            text.contains("not run") && text.contains("unique id"),
            "{text}"
        );
    }
    assert_eq!(
        answers[4],
        ("ok".to_owned(), "contents of /tmp/d".to_owned())
    );
}

#[tokio::test]
async fn a_decision_list_naming_a_call_twice_or_a_stranger_is_refused_and_nothing_runs() {
    let script = || {
        vec![
            chat_calls(&[
                ("c1", "read", r#"{"path":"/tmp/a"}"#),
                ("c2", "read", r#"{"path":"/etc/passwd"}"#),
            ]),
            chat_text("done"),
        ]
    };
    let (server, client) = model("/chat/completions", script()).await;
    let (_other_server, other_client) = model("/chat/completions", script()).await;
    let paths = Arc::new(Mutex::new(Vec::new()));
    let runner = ToolRunner::new(client, read_tool(&paths)).review_all(true);
    let run = runner.run_chat(chat_request("x")).await;
    let (t1, t2) = (run.pending()[0].token(), run.pending()[1].token());
    assert_ne!(t1, t2);

    // The same call twice: refused, whatever the two decisions say.
    let run = runner
        .resume_chat(
            run,
            [
                (t1, Decision::Approve),
                (t2, Decision::Reject("no".into())),
                (t2, Decision::Approve),
            ],
        )
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => {
            assert!(e.is_invalid_input(), "{e}");
            assert!(e.to_string().contains("two decisions"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(run.pending().len(), 2);

    // A token of another run (the same call id, the same place) names nothing here.
    let other = ToolRunner::new(other_client, read_tool(&paths)).review_all(true);
    let stranger = other.run_chat(chat_request("x")).await;
    let foreign = stranger.pending()[1].token();
    let run = runner
        .resume_chat(run, [(t1, Decision::Approve), (foreign, Decision::Approve)])
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => assert!(e.to_string().contains("not a call of this run"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(paths.lock().unwrap().is_empty(), "a refused list ran calls");
    assert_eq!(
        bodies(&server).await.len(),
        1,
        "a refused list sent a request"
    );

    // The right list, in any order, goes on.
    let run = runner
        .resume_chat(
            run,
            [(t2, Decision::Reject("no".into())), (t1, Decision::Approve)],
        )
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(*paths.lock().unwrap(), ["/tmp/a"]);
    // The tokens of a finished review name nothing any more.
    let run = runner.resume_chat(run, [(t1, Decision::Approve)]).await;
    assert!(matches!(run.outcome(), RunOutcome::Failed(_)));
}

#[tokio::test]
async fn a_resumed_call_is_checked_and_run_by_the_runner_that_resumes() {
    let (server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[
                ("c1", "add", r#"{"a":"x","b":1}"#),
                ("c2", "add", r#"{"a":1,"b":2}"#),
                ("c3", "mul", r#"{"a":2,"b":3}"#),
            ]),
            chat_text("done"),
        ],
    )
    .await;
    let ran = Arc::new(Mutex::new(Vec::<String>::new()));
    let tool = |who: &'static str, schema: Value| {
        let ran = Arc::clone(&ran);
        (schema, move |args: Value| {
            let ran = Arc::clone(&ran);
            async move {
                ran.lock().unwrap().push(format!("{who} {args}"));
                Ok::<_, String>("ok")
            }
        })
    };
    let lax = json!({"type": "object"});
    let strict = json!({"type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"], "additionalProperties": false});
    // The proposing runner: lax schemas, `add` under review, `mul` automatic.
    let mut proposing = ToolRegistry::new();
    for (name, who) in [("add", "A.add"), ("mul", "A.mul")] {
        let (schema, handler) = tool(who, lax.clone());
        proposing
            .register_json(name, "", schema, false, handler)
            .unwrap();
    }
    proposing.set_policy("add", Policy::Review).unwrap();
    // The resuming runner: strict schemas, and `mul` under review too.
    let mut resuming = ToolRegistry::new();
    for (name, who) in [("add", "B.add"), ("mul", "B.mul")] {
        let (schema, handler) = tool(who, strict.clone());
        resuming
            .register_json(name, "", schema, true, handler)
            .unwrap();
    }
    resuming.set_policy("mul", Policy::Review).unwrap();

    let run = ToolRunner::new(client.clone(), proposing)
        .run_chat(chat_request("x"))
        .await;
    assert!(matches!(run.outcome(), RunOutcome::NeedsReview));
    assert!(
        run.pending()[0].validation().is_valid(),
        "valid for the proposing runner"
    );
    let decisions = [
        (run.pending()[0].token(), Decision::Approve),
        (run.pending()[1].token(), Decision::Approve),
    ];
    let run = ToolRunner::new(client, resuming)
        .resume_chat(run, decisions)
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    // Only the resuming runner's handler ran, only on arguments its own
    // schema passes; `mul`, under review there, had no decision.
    assert_eq!(*ran.lock().unwrap(), [r#"B.add {"a":1,"b":2}"#]);
    let answers = tool_messages(&bodies(&server).await[1]);
    assert!(
        answers[0].1.contains("do not match the schema"),
        "{}",
        answers[0].1
    );
    assert!(answers[2].1.contains("no decision"), "{}", answers[2].1);
}

#[tokio::test]
async fn duration_max_means_no_limit_and_never_panics() {
    let (_server, client) = model(
        "/chat/completions",
        vec![
            chat_calls(&[("c1", "add", r#"{"a":1,"b":2}"#)]),
            chat_text("3"),
        ],
    )
    .await;
    let calls = Calls::default();
    let runner = ToolRunner::new(client, weather_tools(&calls))
        .max_total_time(Duration::MAX)
        .call_timeout(Duration::MAX);
    let run = runner.run_chat(chat_request("1+2?")).await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(calls.lock().unwrap().len(), 1);
    // Resuming (a second deadline from the time already spent) is as safe.
    let run = runner.resume_chat(run, []).await;
    assert!(
        !matches!(run.outcome(), RunOutcome::LimitReached(_)),
        "{:?}",
        run.outcome()
    );
}

/// A streamed chat answer whose call `index` gets `pieces` argument deltas.
fn streamed_calls(calls: usize, pieces: usize, piece: &str) -> String {
    let mut events = Vec::new();
    for index in 0..calls {
        events.push(chunk(
            json!({"tool_calls": [{"index": index, "id": format!("c{index}"), "type": "function",
                "function": {"name": "add", "arguments": ""}}]}),
            None,
        ));
        for _ in 0..pieces {
            events.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                None,
            ));
        }
    }
    events.push(chunk(json!({}), Some("tool_calls")));
    sse(&events)
}

#[tokio::test]
async fn streamed_tool_calls_are_bounded_in_number_and_in_argument_bytes() {
    let calls = Calls::default();
    // Arguments over the cap: the round stops at the delta that crosses it.
    let (server, client) = model(
        "/chat/completions",
        vec![Reply::Sse(streamed_calls(1, 1000, "          "))],
    )
    .await;
    let run = ToolRunner::new(client, weather_tools(&calls))
        .streaming(true)
        .max_argument_bytes(4096)
        .run_chat(chat_request("x"))
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => {
            assert!(e.is_limit(), "{e}");
            assert!(e.to_string().contains("4096"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bodies(&server).await.len(), 1);

    // More calls than the calls-per-round limit.
    let (_server, client) = model(
        "/chat/completions",
        vec![Reply::Sse(streamed_calls(3, 1, r#"{"a":1,"b":1}"#))],
    )
    .await;
    let run = ToolRunner::new(client, weather_tools(&calls))
        .streaming(true)
        .max_calls_per_round(2)
        .run_chat(chat_request("x"))
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => assert!(e.is_limit(), "{e}"),
        other => panic!("{other:?}"),
    }

    // Within both bounds, the same stream runs.
    let (_server, client) = model(
        "/chat/completions",
        vec![
            Reply::Sse(streamed_calls(2, 1, r#"{"a":1,"b":1}"#)),
            Reply::Sse(sse(&[
                chunk(json!({"role": "assistant", "content": "done"}), None),
                chunk(json!({}), Some("stop")),
            ])),
        ],
    )
    .await;
    let run = ToolRunner::new(client, weather_tools(&calls))
        .streaming(true)
        .max_calls_per_round(2)
        .max_argument_bytes(13)
        .run_chat(chat_request("x"))
        .await;
    assert!(run.outcome().is_completed(), "{:?}", run.outcome());
    assert_eq!(
        calls.lock().unwrap().len(),
        2,
        "only the calls within bounds ran"
    );
}

#[tokio::test]
async fn streamed_responses_tool_arguments_are_bounded() {
    let mut events = vec![
        json!({"type": "response.output_item.added", "sequence_number": 1,
        "output_index": 0, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1",
            "name": "add", "arguments": "", "status": "in_progress"}}),
    ];
    for n in 0..100 {
        events.push(json!({"type": "response.function_call_arguments.delta",
            "sequence_number": n + 2, "output_index": 0, "item_id": "fc_1",
            "delta": " ".repeat(100)}));
    }
    let (server, client) = model("/responses", vec![Reply::Sse(sse(&events))]).await;
    let calls = Calls::default();
    let request = CreateResponseBuilder::new()
        .model("m")
        .input("x")
        .build()
        .unwrap();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .streaming(true)
        .max_argument_bytes(1000)
        .run_responses(request)
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => assert!(e.is_limit(), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(calls.lock().unwrap().is_empty());
    assert_eq!(bodies(&server).await.len(), 1);
}

/// Call identity: the server's call ids may repeat or be empty; review
/// decisions must still reach exactly the call they were made for.
mod identity {
    use super::*;
    use oai::tools::{CallToken, ProposedCall};
    use proptest::prelude::*;

    /// The call id the server gives a call.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Id {
        Unique,
        Dup,
        Other,
        Empty,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Choice {
        Approve,
        Reject,
        /// An edit whose arguments fit the call's own tool, or the other
        /// tool's shape (which its own schema refuses).
        Edit {
            fits: bool,
        },
    }

    /// One call the model asks for, with the application's decision on it.
    #[derive(Debug, Clone)]
    struct Drawn {
        id: Id,
        weather: bool,
        valid: bool,
        decision: Option<Choice>,
        order: u8,
    }

    fn drawn() -> impl Strategy<Value = Drawn> {
        let id = prop_oneof![
            Just(Id::Unique),
            Just(Id::Dup),
            Just(Id::Other),
            Just(Id::Empty)
        ];
        let choice = prop_oneof![
            Just(None),
            Just(Some(Choice::Approve)),
            Just(Some(Choice::Reject)),
            any::<bool>().prop_map(|fits| Some(Choice::Edit { fits })),
        ];
        (
            id,
            any::<bool>(),
            prop::bool::weighted(0.8),
            choice,
            any::<u8>(),
        )
            .prop_map(|(id, weather, valid, decision, order)| Drawn {
                id,
                weather,
                valid,
                decision,
                order,
            })
    }

    /// Round `r`, call `i`: its marker, which names it in the arguments.
    fn marker(r: usize, i: usize) -> i64 {
        (r * 16 + i + 1) as i64
    }

    fn tool_of(weather: bool) -> &'static str {
        if weather { "weather" } else { "add" }
    }

    /// Arguments carrying `marker`: fitting `weather` or `add`, or not.
    fn arguments(weather: bool, marker: i64, valid: bool) -> Value {
        match (weather, valid) {
            (true, true) => json!({"city": format!("m{marker}"), "unit": null}),
            (true, false) => json!({"city": format!("m{marker}"), "unit": "kelvin"}),
            (false, true) => json!({"a": marker, "b": 0}),
            (false, false) => json!({"a": marker, "b": "x"}),
        }
    }

    /// The marker in a call's arguments (as the model or an edit wrote them).
    fn marker_in(args: &Value) -> i64 {
        match (&args["a"], &args["city"]) {
            (Value::Number(n), _) => n.as_i64().unwrap(),
            (_, Value::String(city)) => city.trim_start_matches('m').parse().unwrap(),
            _ => panic!("no marker in {args}"),
        }
    }

    /// Both tools record `(tool, marker)` when they run.
    fn registry(seen: &Arc<Mutex<Vec<(String, i64)>>>, weather_reviewed: bool) -> ToolRegistry {
        let mut tools = ToolRegistry::new();
        let record = |name: &'static str| {
            let seen = Arc::clone(seen);
            move |args: Value| {
                let seen = Arc::clone(&seen);
                async move {
                    seen.lock()
                        .unwrap()
                        .push((name.to_owned(), marker_in(&args)));
                    Ok::<_, String>("ok")
                }
            }
        };
        tools
            .register_json(
                "add",
                "",
                json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"], "additionalProperties": false}),
                true,
                record("add"),
            )
            .unwrap();
        tools
            .register_json(
                "weather",
                "",
                json!({"type": "object", "properties": {"city": {"type": "string"},
                    "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", null]}},
                    "required": ["city", "unit"], "additionalProperties": false}),
                true,
                record("weather"),
            )
            .unwrap();
        if weather_reviewed {
            tools.set_policy("weather", Policy::Review).unwrap();
        }
        tools
    }

    fn decision(call: &Drawn, marker: i64) -> Option<Decision> {
        Some(match call.decision? {
            Choice::Approve => Decision::Approve,
            Choice::Reject => Decision::Reject("no".into()),
            Choice::Edit { fits } => {
                let shape = if fits { call.weather } else { !call.weather };
                Decision::Edit(arguments(shape, 1000 + marker, true))
            }
        })
    }

    /// How the application names a pending call in its decisions.
    fn address(call: &ProposedCall) -> CallToken {
        call.token()
    }

    /// Draws rounds of calls with repeated and empty ids, reviews them with
    /// decisions in any order, and checks what ran against what was decided.
    /// With `twice`, the first list of each review names one call twice and
    /// must be refused with nothing run, before the right list is given.
    fn check(rounds: &[Vec<Drawn>], mode: u8, twice: Option<prop::sample::Index>) {
        let review_all = mode == 0;
        let weather_reviewed = mode == 1;
        let ids: Vec<Vec<String>> = rounds
            .iter()
            .enumerate()
            .map(|(r, calls)| {
                (0..calls.len())
                    .map(|i| match calls[i].id {
                        Id::Unique => format!("call_{r}_{i}"),
                        Id::Dup => "dup".to_owned(),
                        Id::Other => "x".to_owned(),
                        Id::Empty => String::new(),
                    })
                    .collect()
            })
            .collect();
        let ambiguous = |r: usize, i: usize| {
            let id = &ids[r][i];
            id.is_empty() || ids[r].iter().filter(|other| *other == id).count() > 1
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut replies = Vec::new();
            for (r, calls) in rounds.iter().enumerate() {
                let owned: Vec<(String, String, String)> = calls
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        (
                            ids[r][i].clone(),
                            tool_of(c.weather).to_owned(),
                            arguments(c.weather, marker(r, i), c.valid).to_string(),
                        )
                    })
                    .collect();
                let refs: Vec<(&str, &str, &str)> = owned
                    .iter()
                    .map(|(i, n, a)| (i.as_str(), n.as_str(), a.as_str()))
                    .collect();
                replies.push(chat_calls(&refs));
            }
            replies.push(chat_text("done"));
            let (_server, client) = model("/chat/completions", replies).await;
            let seen = Arc::new(Mutex::new(Vec::new()));
            let runner =
                ToolRunner::new(client, registry(&seen, weather_reviewed)).review_all(review_all);
            let mut run = runner.run_chat(chat_request("x")).await;
            // The decisions handed to the runner, by marker.
            let mut decided: Vec<(i64, Decision)> = Vec::new();
            let mut stops = 0;
            while let RunOutcome::NeedsReview = run.outcome() {
                stops += 1;
                assert!(stops <= rounds.len(), "more review stops than rounds");
                let mut list = Vec::new();
                for call in run.pending() {
                    let m = marker_in(&serde_json::from_str(call.raw_arguments()).unwrap());
                    let (r, i) = (((m - 1) / 16) as usize, ((m - 1) % 16) as usize);
                    let drawn = &rounds[r][i];
                    if let Some(d) = decision(drawn, m) {
                        decided.push((m, d.clone()));
                        list.push((drawn.order, address(call), d));
                    }
                }
                list.sort_by_key(|(order, _, _)| *order);
                let list: Vec<_> = list.into_iter().map(|(_, a, d)| (a, d)).collect();
                if let (Some(at), false) = (twice, list.is_empty()) {
                    let mut doubled = list.clone();
                    doubled.push(at.get(&list).clone());
                    let pending = run.pending().len();
                    let ran = seen.lock().unwrap().len();
                    run = runner.resume_chat(run, doubled).await;
                    match run.outcome() {
                        RunOutcome::Failed(e) => assert!(e.is_invalid_input(), "{e}"),
                        other => panic!("a call named twice was not refused: {other:?}"),
                    }
                    assert_eq!(
                        run.pending().len(),
                        pending,
                        "the refused review lost calls"
                    );
                    assert_eq!(
                        seen.lock().unwrap().len(),
                        ran,
                        "a refused review ran calls"
                    );
                }
                run = runner.resume_chat(run, list).await;
            }
            assert!(run.outcome().is_completed(), "{:?}", run.outcome());

            let ran = seen.lock().unwrap().clone();
            let mut expected = Vec::new();
            for (r, calls) in rounds.iter().enumerate() {
                for (i, call) in calls.iter().enumerate() {
                    let m = marker(r, i);
                    let tool = tool_of(call.weather);
                    let needs_review = review_all || (weather_reviewed && call.weather);
                    let given = decided.iter().find(|(dm, _)| *dm == m).map(|(_, d)| d);
                    let runs_as: Option<i64> = match given {
                        Some(Decision::Reject(_)) => None,
                        None if needs_review => None,
                        Some(Decision::Edit(args)) => {
                            let fits = registry(&Arc::default(), false)
                                .check(tool, &args.to_string())
                                .is_valid();
                            fits.then_some(1000 + m)
                        }
                        _ => call.valid.then_some(m),
                    };
                    // What must never happen, named: a rejected call, or a
                    // call under review without a decision, runs; an edit
                    // runs anywhere but on its own call.
                    for (t, seen_m) in &ran {
                        if *seen_m == m {
                            assert!(
                                !matches!(given, Some(Decision::Reject(_))),
                                "call {m} ({tool}) was rejected and ran"
                            );
                            assert!(
                                given.is_some() || !needs_review,
                                "call {m} ({tool}) needs review, had no decision, and ran"
                            );
                            assert!(
                                !matches!(given, Some(Decision::Edit(_))),
                                "call {m} ({tool}) was edited and ran with the model's arguments"
                            );
                        }
                        if *seen_m == 1000 + m {
                            assert_eq!(t, tool, "the edit of call {m} ran on another tool");
                            assert!(
                                matches!(given, Some(Decision::Edit(_))),
                                "an edit of call {m} ran though it was not edited"
                            );
                        }
                    }
                    if ambiguous(r, i) {
                        assert!(
                            !ran.iter().any(|(_, s)| *s == m || *s == 1000 + m),
                            "call {m} has the ambiguous id {:?} and ran",
                            ids[r][i]
                        );
                    } else if let Some(marker) = runs_as {
                        expected.push((tool.to_owned(), marker));
                    }
                }
            }
            let mut ran = ran;
            ran.sort();
            expected.sort();
            assert_eq!(ran, expected, "what ran is not what was decided");
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

        /// No handler runs for a rejected call, for a call under review
        /// without a decision, or for a call whose id is empty or repeated
        /// in its round; every edit runs on the call it was made for; what
        /// runs is exactly what the decisions allow.
        #[test]
        fn decisions_reach_exactly_their_calls_whatever_the_ids(
            rounds in prop::collection::vec(prop::collection::vec(drawn(), 1..5), 1..3),
            mode in 0u8..3,
            twice in prop::option::weighted(0.3, any::<prop::sample::Index>()),
        ) {
            check(&rounds, mode, twice);
        }
    }
}

#[tokio::test]
async fn an_answer_without_choices_is_the_servers_fault_not_the_users_input() {
    // A server that answers 200 with no choice at all: the run cannot go
    // on, and the error says the server broke the protocol; it is never
    // filed as the user's invalid input.
    let (_server, client) = model(
        "/chat/completions",
        vec![Reply::Json(json!({"id": "c", "object": "chat.completion",
            "created": 1, "model": "m", "choices": []}))],
    )
    .await;
    let calls = Calls::default();
    let run = ToolRunner::new(client, weather_tools(&calls))
        .run_chat(chat_request("x"))
        .await;
    match run.outcome() {
        RunOutcome::Failed(e) => {
            assert!(e.is_protocol(), "{e}");
            assert!(!e.is_invalid_input(), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(calls.lock().unwrap().is_empty());
}
