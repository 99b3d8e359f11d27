//! What the `oai` command sends and prints, byte for byte: the request id of
//! a failure said once, `--json` as the server's own JSON (fields our types do
//! not know kept, fields the server left out not filled in), and the token
//! limit in the request body.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use oai_mock::MockServer;
use serde_json::{Value, json};
use support::{RawServer, response, sse};

/// Runs the binary against `base_url` with `key`, nothing else from the
/// environment that could point it elsewhere.
fn run(base_url: &str, key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oai"))
        .args(args)
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .env("OPENAI_API_KEY", key)
        .env("OPENAI_BASE_URL", base_url)
        .output()
        .unwrap()
}

/// Runs the binary against the mock (off the runtime's threads).
async fn oai(mock: &MockServer, args: &[&str]) -> Output {
    let base = mock.base_url();
    let key = mock.api_key();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&base, key, &args)
    })
    .await
    .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// How many times `needle` is in `text`.
fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// The body of the last request the mock received.
fn last_body(mock: &MockServer) -> Value {
    mock.requests().pop().unwrap().json().unwrap()
}

// --- The request id of a failure, once ---

#[tokio::test(flavor = "multi_thread")]
async fn an_api_error_names_its_request_id_once() {
    let mock = MockServer::start().await;
    for args in [
        &["chat", "--no-stream", "hi"][..],
        &["chat", "hi"],
        &["--json", "chat", "hi"],
        &["--json", "chat", "--no-stream", "hi"],
        &["responses", "create", "hi"],
    ] {
        if args.contains(&"responses") {
            mock.responses().error(400, "no such model");
        } else {
            mock.chat().error(400, "no such model");
        }
        let out = oai(&mock, args).await;
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        // The mock's ids are `req_mock_<n>`.
        assert_eq!(count(&err, "request id"), 1, "{args:?}: {err}");
        assert!(err.contains("(request id req_mock_"), "{args:?}: {err}");
        assert_eq!(count(&err, "req_mock_"), 1, "{args:?}: {err}");
    }
}

#[test]
fn an_error_inside_a_stream_names_the_request_id_once() {
    let server = RawServer::start(|_| {
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
            "model": "m", "choices": [{"index": 0, "delta": {"content": "partial"},
            "finish_reason": null}]});
        let error = json!({"error": {"message": "the server fell over", "type": "server_error",
            "code": null, "param": null}});
        sse(
            &[("x-request-id", "req_stream_77")],
            &[chunk.to_string(), error.to_string()],
        )
    });
    for args in [&["chat", "hi"][..], &["--json", "chat", "hi"]] {
        let out = run(&server.base_url, "sk-test", args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("the server fell over"), "{err}");
        assert_eq!(count(&err, "req_stream_77"), 1, "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_and_batch_failures_name_the_request_id_once() {
    let mock = MockServer::start().await;
    let dir = std::env::temp_dir().join(format!("oai-cli-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.jsonl");
    std::fs::write(&path, b"{}\n").unwrap();
    // The Uploads API refuses to create the upload.
    mock.on("POST", "/v1/uploads")
        .error(400, "uploads are closed");
    let out = oai(
        &mock,
        &[
            "files",
            "upload",
            path.to_str().unwrap(),
            "--purpose",
            "batch",
        ],
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("uploads are closed"), "{err}");
    assert_eq!(count(&err, "req_mock_"), 1, "{err}");
    // A batch the API does not know.
    let out = oai(&mock, &["batch", "run", "--resume", "batch_nope"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("batch_nope"), "{err}");
    assert_eq!(count(&err, "req_mock_"), 1, "{err}");
}

// --- `--json`: the server's JSON as it sent it ---

/// A chat completion as a server other than OpenAI might send it: keys in its
/// own order, fields our types do not know (at the top, in the message, in
/// the usage), optional fields left out (no `refusal`, no
/// `system_fingerprint`, no `service_tier`, no usage details).
fn vendor_completion() -> Value {
    json!({
        "model": "llama-3-8b",
        "id": "chatcmpl-vendor-1",
        "object": "chat.completion",
        "created": 1_718_000_000,
        "choices": [{
            "finish_reason": "stop",
            "index": 0,
            "message": {"role": "assistant", "content": "forty-two",
                "reasoning_content": "six times seven"},
            "logprobs": null
        }],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
            "cost": 0.000_012},
        "timings": {"predicted_ms": 12.5, "prompt_n": 3},
        "x_vendor": {"region": "eu", "cached": false}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn json_prints_the_body_exactly_as_the_server_sent_it() {
    let mock = MockServer::start().await;
    let completion = vendor_completion();
    // The mock writes a body as `Value::to_string` does (compact, keys in
    // the order given).
    let sent = completion.to_string();
    mock.chat().body(200, completion.clone());
    let out = oai(&mock, &["--json", "chat", "--no-stream", "q"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{sent}\n"));
    // What a re-encoding through our types would have added is not there.
    for filled in [
        "\"refusal\"",
        "\"system_fingerprint\"",
        "\"service_tier\"",
        "details",
    ] {
        assert!(!stdout(&out).contains(filled), "{filled}: {}", stdout(&out));
    }

    let response = json!({"id": "resp_1", "object": "response", "created_at": 1,
        "status": "completed", "model": "m", "output": [{"type": "message", "id": "msg_1",
        "role": "assistant", "status": "completed", "content": [{"type": "output_text",
        "text": "hi", "annotations": []}]}], "vendor_trace": [1, 2, 3]});
    mock.responses().body(200, response.clone());
    let out = oai(
        &mock,
        &["--json", "responses", "create", "--no-stream", "q"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{response}\n"));

    let models = json!({"data": [{"id": "m-1", "object": "model", "created": 1,
        "owned_by": "me", "max_context": 8192}], "object": "list"});
    mock.on("GET", "/v1/models").body(200, models.clone());
    let out = oai(&mock, &["--json", "models"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{models}\n"));

    let files = json!({"object": "list", "data": [], "has_more": false, "note": "x"});
    mock.on("GET", "/v1/files").body(200, files.clone());
    let out = oai(&mock, &["--json", "files", "list"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{files}\n"));
}

#[test]
fn json_keeps_the_servers_own_layout_and_refuses_a_body_that_is_not_json() {
    // Pretty-printed with CRLF line ends and a trailing newline: printed as
    // it came (no newline added), and on a terminal as the same value.
    let body = "{\r\n  \"id\": \"chatcmpl-2\",\r\n  \"object\": \"chat.completion\",\r\n  \
                \"created\": 1,\r\n  \"model\": \"m\",\r\n  \"choices\": [],\r\n  \
                \"extra\": \"\u{202e}kept\"\r\n}\r\n";
    let server = RawServer::start(move |seen| match seen.path.as_str() {
        "/v1/chat/completions" => response("200 OK", &[], body.as_bytes()),
        _ => response("200 OK", &[], b"<html>not json</html>"),
    });
    let out = run(
        &server.base_url,
        "sk-test",
        &["--json", "chat", "--no-stream", "q"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), body);
    let out = run(
        &server.base_url,
        "sk-test",
        &["--terminal", "--json", "chat", "--no-stream", "q"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        !shown.contains('\r') && !shown.contains('\u{202e}'),
        "{shown:?}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&shown).unwrap(),
        serde_json::from_str::<Value>(body).unwrap()
    );
    // Not JSON: a decode error, nothing on stdout.
    let out = run(&server.base_url, "sk-test", &["--json", "models"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("could not decode"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_prints_each_streamed_event_as_the_server_sent_it() {
    // Azure's first chunk (empty id, model and object, no choices, its filter
    // results), chunks with fields our types do not know, keys in the
    // server's order, an event spread over two `data:` lines, then [DONE].
    let events = [
        r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel","reasoning_content":"think"},"finish_reason":null}],"x_groq":{"id":"req_1"}}"#,
        r#"{"model":"m","choices":[{"delta":{"content":"lo"},"index":0,"finish_reason":"stop"}],"id":"c1","created":1,"object":"chat.completion.chunk","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost":0.5}}"#,
    ];
    let split = "{\"id\":\"c1\",\"choices\":[],\ndata: \"object\":\"chat.completion.chunk\"}";
    let server = RawServer::start(move |_| {
        let mut all: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        all.push(split.to_owned());
        all.push("[DONE]".to_owned());
        sse(&[("x-request-id", "req_s")], &all)
    });
    let out = run(&server.base_url, "sk-test", &["--json", "chat", "q"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut expected: String = events.iter().map(|e| format!("{e}\n")).collect();
    // The two-line event: its line break (between tokens) is a space.
    expected.push_str("{\"id\":\"c1\",\"choices\":[], \"object\":\"chat.completion.chunk\"}\n");
    assert_eq!(stdout(&out), expected);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_streams_of_the_mock_are_one_event_a_line() {
    let mock = MockServer::start().await;
    let out = oai(&mock, &["--json", "chat", "hello"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut text = String::new();
    for line in stdout(&out).lines() {
        let chunk: Value = serde_json::from_str(line).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk", "{line}");
        text.push_str(
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or(""),
        );
    }
    assert_eq!(text, "This is a mock answer to: hello");
    assert_eq!(last_body(&mock)["stream"], true);

    mock.responses().text("streamed words");
    let out = oai(&mock, &["--json", "responses", "create", "hi"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let types: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("response.created"));
    assert_eq!(types.last().map(String::as_str), Some("response.completed"));
    assert!(
        types.iter().any(|t| t == "response.output_text.delta"),
        "{types:?}"
    );
    assert_eq!(last_body(&mock)["stream"], true);
}

// --- The token limit ---

#[tokio::test(flavor = "multi_thread")]
async fn the_token_limit_reaches_the_request_body() {
    let mock = MockServer::start().await;
    let out = oai(&mock, &["chat", "--max-tokens", "7", "hi"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let body = last_body(&mock);
    assert_eq!(body["max_completion_tokens"], 7);
    assert!(body.get("max_tokens").is_none(), "{body}");

    for field in ["max_tokens", "legacy"] {
        let args = [
            "chat",
            "--no-stream",
            "--max-tokens",
            "9",
            "--max-tokens-field",
            field,
            "hi",
        ];
        let out = oai(&mock, &args).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let body = last_body(&mock);
        assert_eq!(body["max_tokens"], 9, "{field}");
        assert!(
            body.get("max_completion_tokens").is_none(),
            "{field}: {body}"
        );
    }

    let args = [
        "--json",
        "chat",
        "--max-tokens",
        "5",
        "--max-tokens-field",
        "max_completion_tokens",
        "hi",
    ];
    let out = oai(&mock, &args).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(last_body(&mock)["max_completion_tokens"], 5);

    let out = oai(&mock, &["responses", "create", "--max-tokens", "20", "hi"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(last_body(&mock)["max_output_tokens"], 20);
    // Below the API's minimum for responses: refused before it is sent.
    let sent = mock.requests().len();
    let out = oai(&mock, &["responses", "create", "--max-tokens", "11", "hi"]).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(count(&err, "invalid request"), 1, "{err}");
    assert!(err.contains("max_output_tokens"), "{err}");
    assert_eq!(mock.requests().len(), sent, "nothing was sent");

    // Without the flag, no limit is sent.
    let out = oai(&mock, &["chat", "hi"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let body = last_body(&mock);
    assert!(body.get("max_tokens").is_none() && body.get("max_completion_tokens").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_limit_the_command_line_gets_wrong_is_a_usage_error() {
    let mock = MockServer::start().await;
    for args in [
        &["chat", "--max-tokens", "0", "hi"][..],
        &["chat", "--max-tokens", "-3", "hi"],
        &["chat", "--max-tokens-field", "max_tokens", "hi"],
        &[
            "chat",
            "--max-tokens",
            "5",
            "--max-tokens-field",
            "tokens",
            "hi",
        ],
    ] {
        let out = oai(&mock, args).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    assert!(mock.requests().is_empty(), "nothing was sent");
    // The help names both fields and says when to use the older one.
    let out = oai(&mock, &["chat", "--help"]).await;
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    for word in [
        "--max-tokens",
        "max_completion_tokens",
        "max_tokens",
        "llama.cpp",
    ] {
        assert!(help.contains(word), "{word}: {help}");
    }
}
