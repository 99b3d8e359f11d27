//! The facade against a real OpenAI-compatible server: llama.cpp's server
//! through llama-cpp-python, serving a 270M Gemma 3 model.
//!
//! Not part of plain `cargo test` (`test = false` in Cargo.toml): `cargo xtask
//! real-server` (and the "real server" step of `cargo xtask ci`) installs the
//! server, starts it, and runs this file with
//!
//! - `OAI_REAL_SERVER_URL`: the base URL, ending in `/v1`;
//! - `OAI_REAL_SERVER_KEY`: the key the server was started with;
//! - `OAI_REAL_SERVER_MODEL`: the name the server lists its model under;
//! - `OAI_CLI_BIN`: the `oai` command-line tool, built from `crates/oai-cli`.
//!
//! The model is tiny: the tests check the structure of what it says (a
//! message with text, a call to the named function whose arguments are a
//! JSON object, a JSON object when one is asked for), never its wisdom.
//! Sampling is greedy (temperature 0, a fixed seed) and answers are short.
//! This server refuses `json_schema` response formats and ignores
//! `max_completion_tokens`, so structured output uses `json_object` and the
//! limit is `max_tokens`.
#![cfg(all(feature = "chat", feature = "models", feature = "tools"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
// `max_tokens` and `seed` are deprecated by OpenAI, and what this server reads.
#![allow(deprecated)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use oai::accumulate::AccumulateExt;
use oai::builders::CreateChatCompletionRequestBuilder;
use oai::structured::JsonSchema;
use oai::tools::{CallOutcome, Limit, RunOutcome, ToolRegistry, ToolRunner};
use oai::types::{
    ChatCompletionMessageToolCallsItem, ChatCompletionRequestMessage as Message,
    ChatCompletionStreamOptions, ChatCompletionToolChoiceOption, CreateChatCompletionRequest,
    CreateChatCompletionRequestResponseFormat, CreateChatCompletionResponse,
};
use oai::{Client, Config, ErrorKind};
use serde::Deserialize;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// The server, from the environment

struct Server {
    url: String,
    key: String,
    model: String,
}

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: this test runs against a real server that `cargo xtask \
             real-server` starts (it sets OAI_REAL_SERVER_URL, OAI_REAL_SERVER_KEY, \
             OAI_REAL_SERVER_MODEL and OAI_CLI_BIN); run that instead of `cargo test`"
        ),
    }
}

fn server() -> Server {
    Server {
        url: var("OAI_REAL_SERVER_URL"),
        key: var("OAI_REAL_SERVER_KEY"),
        model: var("OAI_REAL_SERVER_MODEL"),
    }
}

fn client_with_key(server: &Server, key: &str) -> Client {
    Client::new(
        Config::builder()
            .base_url(&server.url)
            .api_key(key)
            // A failure here must show, not be retried away.
            .max_retries(0)
            .build()
            .expect("the configuration of the real server"),
    )
    .expect("a client")
}

fn client(server: &Server) -> Client {
    client_with_key(server, &server.key)
}

/// A greedy chat request for `prompt`, at most `max_tokens` long.
fn chat(server: &Server, prompt: &str, max_tokens: i64) -> CreateChatCompletionRequestBuilder {
    CreateChatCompletionRequestBuilder::new(Message::user(prompt), &*server.model)
        .temperature(0.0)
        .seed(7)
        .max_tokens(max_tokens)
}

fn finish_reason(choice: &oai::types::CreateChatCompletionResponseChoicesItem) -> String {
    match serde_json::to_value(&choice.finish_reason).unwrap() {
        Value::String(s) => s,
        other => panic!("finish_reason is not a string: {other}"),
    }
}

/// The one choice of an answer, with its text and finish reason.
fn only_choice(answer: &CreateChatCompletionResponse, what: &str) -> (String, String) {
    assert_eq!(answer.choices.len(), 1, "{what}: {answer:?}");
    let choice = &answer.choices[0];
    assert_eq!(choice.index, 0, "{what}");
    let text = choice
        .message
        .content
        .clone()
        .unwrap_or_else(|| panic!("{what}: the message has no content: {answer:?}"));
    (text, finish_reason(choice))
}

async fn streamed(
    client: &Client,
    request: CreateChatCompletionRequest,
) -> (usize, String, CreateChatCompletionResponse) {
    let mut stream = client
        .chat()
        .completions()
        .create(request)
        .stream()
        .await
        .expect("the streamed request")
        .accumulate();
    let mut chunks = 0;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("a chunk of the stream");
        chunks += 1;
        if let Some(delta) = oai::accumulate::StreamEvent::text_delta(&chunk) {
            text.push_str(delta);
        }
    }
    (
        chunks,
        text,
        stream.into_final().expect("the accumulated answer"),
    )
}

// ---------------------------------------------------------------------------
// Models

#[tokio::test]
async fn models_lists_the_served_model() {
    let server = server();
    let models = client(&server).models().list().await.expect("GET /models");
    let ids: Vec<&str> = models.data.iter().map(|m| m.id.as_str()).collect();
    assert!(
        ids.contains(&server.model.as_str()),
        "{} is not among {ids:?}",
        server.model
    );
}

// ---------------------------------------------------------------------------
// Chat, plain and streamed

#[tokio::test]
async fn chat_plain_and_streamed_give_the_same_shape() {
    let server = server();
    let client = client(&server);
    let prompt = "Name one colour of the rainbow. Answer in one word.";

    let plain = client
        .chat()
        .completions()
        .create(chat(&server, prompt, 24).build().unwrap())
        .await
        .expect("a chat answer");
    let (plain_text, plain_finish) = only_choice(&plain, "plain");
    assert!(!plain_text.trim().is_empty(), "plain: empty text");
    assert!(
        ["stop", "length"].contains(&plain_finish.as_str()),
        "plain: finish_reason {plain_finish}"
    );
    let usage = plain.usage.as_ref().expect("plain: usage");
    assert!(
        usage.prompt_tokens > 0 && usage.completion_tokens > 0,
        "{usage:?}"
    );
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert!(usage.completion_tokens <= 24, "{usage:?}");
    assert!(!plain.id.is_empty(), "plain: no id");

    let request = chat(&server, prompt, 24)
        .stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        })
        .build()
        .unwrap();
    let (chunks, deltas, folded) = streamed(&client, request).await;
    assert!(chunks >= 2, "only {chunks} chunks");
    let (folded_text, folded_finish) = only_choice(&folded, "streamed");
    assert_eq!(
        folded_text, deltas,
        "the accumulated text is the deltas' text"
    );
    assert!(!folded_text.trim().is_empty(), "streamed: empty text");
    assert_eq!(folded_finish, plain_finish, "the same finish_reason");
    assert_eq!(folded.model, plain.model, "the same model");
    assert!(folded.choices[0].message.tool_calls.is_none());
    println!("plain: {plain_text:?} ({plain_finish}); streamed: {folded_text:?} ({folded_finish})");
}

// ---------------------------------------------------------------------------
// A forced tool call through the tool runner

/// Arguments of `get_weather`.
#[derive(Debug, Deserialize, JsonSchema)]
struct WeatherQuery {
    /// The city, e.g. "Paris".
    city: String,
}

async fn forced_tool_run(stream: bool) {
    let server = server();
    let what = if stream { "streamed" } else { "plain" };
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tools = ToolRegistry::new();
    let record = Arc::clone(&seen);
    tools
        .register(
            "get_weather",
            "Current weather of a city",
            move |q: WeatherQuery| {
                let record = Arc::clone(&record);
                async move {
                    record.lock().unwrap().push(q.city.clone());
                    Ok::<_, String>(json!({"city": q.city, "celsius": 18}))
                }
            },
        )
        .unwrap();
    let choice: ChatCompletionToolChoiceOption = serde_json::from_value(json!({
        "type": "function",
        "function": {"name": "get_weather"}
    }))
    .expect("a named tool choice");
    let request = chat(&server, "What is the weather in Paris?", 64)
        .tool_choice(choice)
        .build()
        .unwrap();
    // The choice forces the tool on every round: one round is the run.
    let runner = ToolRunner::new(client(&server), tools)
        .max_rounds(1)
        .streaming(stream)
        .call_timeout(Duration::from_secs(10));
    let run = runner.run_chat(request).await;

    match run.outcome() {
        RunOutcome::LimitReached(Limit::Rounds(1)) => {}
        other => panic!("{what}: the run ended with {other:?}"),
    }
    let stats = run.stats();
    assert_eq!(stats.rounds, 1, "{what}");
    assert!(stats.calls >= 1, "{what}: no call in {stats:?}");
    for record in &stats.records {
        assert_eq!(record.name, "get_weather", "{what}: {record:?}");
        assert!(!record.call_id.is_empty(), "{what}: a call without id");
        assert_eq!(
            record.outcome,
            CallOutcome::Succeeded { truncated: false },
            "{what}: {record:?}"
        );
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        stats.records.len(),
        "{what}: the handler ran once per call"
    );

    // The model's turn, as the server sent it, and the tools' answers.
    let last = run
        .conversation()
        .last_completion()
        .expect("the model's answer");
    assert_eq!(last.choices.len(), 1, "{what}");
    let message = &last.choices[0].message;
    let calls: Vec<_> = message
        .tool_calls
        .iter()
        .flatten()
        .map(|call| match call {
            ChatCompletionMessageToolCallsItem::Function(f) => f,
            other => panic!("{what}: not a function call: {other:?}"),
        })
        .collect();
    assert_eq!(calls.len(), stats.records.len(), "{what}");
    for call in &calls {
        assert_eq!(call.function.name, "get_weather", "{what}");
        let arguments: Value = serde_json::from_str(&call.function.arguments)
            .unwrap_or_else(|e| panic!("{what}: arguments {:?}: {e}", call.function.arguments));
        assert!(arguments["city"].is_string(), "{what}: {arguments}");
    }
    let finish = finish_reason(&last.choices[0]);
    assert_eq!(finish, "tool_calls", "{what}");
    let answered: Vec<&Message> = run
        .conversation()
        .messages()
        .iter()
        .filter(|m| matches!(m, Message::Tool(_)))
        .collect();
    assert_eq!(
        answered.len(),
        calls.len(),
        "{what}: one tool message per call"
    );
    println!(
        "{what}: {} call(s), arguments {:?}",
        calls.len(),
        calls
            .iter()
            .map(|c| &c.function.arguments)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn forced_tool_call_runs_through_the_tool_runner() {
    forced_tool_run(false).await;
}

#[tokio::test]
async fn forced_tool_call_streamed_runs_through_the_tool_runner() {
    forced_tool_run(true).await;
}

// ---------------------------------------------------------------------------
// Structured output

#[tokio::test]
async fn json_object_response_format_gives_a_json_object() {
    let server = server();
    let format: CreateChatCompletionRequestResponseFormat =
        serde_json::from_value(json!({"type": "json_object"})).expect("json_object");
    // This model continues text more than it follows instructions: asked
    // for an object in words, it writes one until the token limit cuts it;
    // shown an object, it writes that object and stops.
    let request = chat(&server, r#"{"colour": "blue"}"#, 48)
        .response_format(format)
        .build()
        .unwrap();
    let answer = client(&server)
        .chat()
        .completions()
        .create(request)
        .await
        .expect("a structured answer");
    let (text, finish) = only_choice(&answer, "json_object");
    assert_eq!(finish, "stop", "the object was cut: {text:?}");
    let value: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON: {text:?}: {e}"));
    assert!(value.is_object(), "not an object: {value}");
    println!("json_object: {value}");
}

// ---------------------------------------------------------------------------
// finish_reason: length

#[tokio::test]
async fn max_tokens_ends_with_finish_reason_length() {
    let server = server();
    let client = client(&server);
    let prompt = "Count from 1 to 100, separated by commas.";
    let max = 4;

    let plain = client
        .chat()
        .completions()
        .create(chat(&server, prompt, max).build().unwrap())
        .await
        .expect("a cut answer");
    let (_, finish) = only_choice(&plain, "plain");
    assert_eq!(finish, "length", "plain");
    let usage = plain.usage.as_ref().expect("usage");
    assert_eq!(usage.completion_tokens, max, "{usage:?}");

    let request = chat(&server, prompt, max)
        .stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        })
        .build()
        .unwrap();
    let (_, _, folded) = streamed(&client, request).await;
    let (_, finish) = only_choice(&folded, "streamed");
    assert_eq!(finish, "length", "streamed");
}

// ---------------------------------------------------------------------------
// A wrong key

fn wrong_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("sk-wrong-{nanos:x}")
}

fn assert_unauthorized(err: &oai::Error, keys: &[&str], what: &str) {
    assert_eq!(err.kind(), ErrorKind::Api, "{what}: {err:?}");
    assert_eq!(
        err.status().map(|s| s.as_u16()),
        Some(401),
        "{what}: {err:?}"
    );
    let shown = format!("{err} {err:?}");
    for key in keys {
        assert!(!shown.contains(key), "{what}: a key is shown: {shown}");
    }
    // llama-cpp-python (FastAPI) says why in `{"detail": "Invalid API key"}`.
    let message = err.api_error().map(|d| d.message().to_owned());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("Invalid API key")),
        "{what}: the server's message is lost: {message:?} ({err})"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_401_and_not_shown() {
    let server = server();
    let wrong = wrong_key();
    let client = client_with_key(&server, &wrong);
    let keys = [wrong.as_str(), server.key.as_str()];

    let err = client.models().list().await.expect_err("a wrong key");
    assert_unauthorized(&err, &keys, "models");

    let err = client
        .chat()
        .completions()
        .create(chat(&server, "Hello", 4).build().unwrap())
        .await
        .expect_err("a wrong key");
    assert_unauthorized(&err, &keys, "chat");

    let request = chat(&server, "Hello", 4).build().unwrap();
    match client.chat().completions().create(request).stream().await {
        Ok(_) => panic!("a stream opened with a wrong key"),
        Err(err) => assert_unauthorized(&err, &keys, "streamed chat"),
    }
}

// ---------------------------------------------------------------------------
// The `oai` command

/// How long one run of the command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(120);

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn oai_cli(server: &Server, key: &str, args: &[&str]) -> Ran {
    let bin = var("OAI_CLI_BIN");
    let mut cmd = Command::new(&bin);
    cmd.args(args)
        .env("OPENAI_BASE_URL", &server.url)
        .env("OPENAI_API_KEY", key)
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {bin}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CLI_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`oai {}` still ran after {CLI_TIMEOUT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn ok(ran: &Ran, what: &str) {
    assert_eq!(
        ran.code,
        Some(0),
        "{what}: exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        ran.code,
        ran.stdout,
        ran.stderr
    );
}

#[test]
fn the_oai_command_talks_to_the_server() {
    let server = server();
    let key = server.key.clone();
    let model = server.model.clone();

    let ran = oai_cli(&server, &key, &["models"]);
    ok(&ran, "oai models");
    assert!(
        ran.stdout.lines().any(|l| l.contains(&model)),
        "{}",
        ran.stdout
    );

    let ran = oai_cli(&server, &key, &["--json", "models"]);
    ok(&ran, "oai --json models");
    let listed: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("oai --json models: {e}: {}", ran.stdout));
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&model.as_str()), "{listed}");

    // This server reads `max_tokens`, not `max_completion_tokens`.
    let chat = |extra: &[&str]| {
        let mut args = vec!["chat", "Say hello in three words.", "--model", &model];
        args.extend(["--max-tokens", "16", "--max-tokens-field", "max_tokens"]);
        args.extend(extra);
        oai_cli(&server, &key, &args)
    };
    let ran = chat(&["--no-stream"]);
    ok(&ran, "oai chat --no-stream");
    assert!(
        !ran.stdout.trim().is_empty(),
        "oai chat --no-stream printed nothing"
    );

    let ran = chat(&[]);
    ok(&ran, "oai chat");
    assert!(!ran.stdout.trim().is_empty(), "oai chat printed nothing");

    // `--json`: the server's answer as it sent it; a stream, one event a line.
    let ran = chat(&["--no-stream", "--json"]);
    ok(&ran, "oai --json chat --no-stream");
    let answer: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("oai --json chat --no-stream: {e}: {}", ran.stdout));
    assert!(
        answer["choices"][0]["message"]["content"].is_string(),
        "{answer}"
    );
    let ran = chat(&["--json"]);
    ok(&ran, "oai --json chat");
    let events: Vec<Value> = ran
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("oai --json chat: {e}: {line}"))
        })
        .collect();
    assert!(events.len() >= 2, "{}", ran.stdout);
    for event in &events {
        assert_eq!(event["object"], "chat.completion.chunk", "{event}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["choices"][0]["finish_reason"].is_string()),
        "no finish_reason: {}",
        ran.stdout
    );

    // A wrong key: the API's exit code, the status on stderr, no key shown.
    let wrong = wrong_key();
    let ran = oai_cli(&server, &wrong, &["models"]);
    assert_eq!(ran.code, Some(1), "oai models, wrong key: {}", ran.stderr);
    assert!(ran.stderr.contains("401"), "{}", ran.stderr);
    for shown in [&ran.stdout, &ran.stderr] {
        assert!(!shown.contains(&wrong) && !shown.contains(&key), "{shown}");
    }
}
