//! The `oai` binary against `oai-mock`: what it prints, and its exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::time::Duration;

use oai_mock::MockServer;
use serde_json::{Value, json};

/// Runs the binary with the mock's key and base URL (and nothing else from
/// the environment that could point it elsewhere).
async fn oai(mock: Option<&MockServer>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oai"));
    cmd.args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID");
    if let Some(mock) = mock {
        cmd.env("OPENAI_API_KEY", mock.api_key())
            .env("OPENAI_BASE_URL", mock.base_url());
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_streams_the_answer_to_stdout() {
    let mock = MockServer::start().await;
    let out = oai(Some(&mock), &["chat", "hello there"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "This is a mock answer to: hello there\n");
    let request = mock.requests().pop().unwrap().json().unwrap();
    assert_eq!(request["stream"], true);
    assert_eq!(request["model"], "gpt-4o-mini");
    assert_eq!(request["messages"][0]["content"], "hello there");
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_json_prints_the_completion_object() {
    let mock = MockServer::start().await;
    mock.chat().text("forty-two");
    let out = oai(
        Some(&mock),
        &[
            "--json",
            "chat",
            "--no-stream",
            "-m",
            "gpt-4o",
            "--system",
            "be brief",
            "q",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let value: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["object"], "chat.completion");
    assert_eq!(value["choices"][0]["message"]["content"], "forty-two");
    let request = mock.requests().pop().unwrap().json().unwrap();
    assert_eq!(request["model"], "gpt-4o");
    assert_eq!(request["messages"][0]["role"], "system");
    assert!(request.get("stream").is_none_or(|s| s == false));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_error_is_one_line_with_the_request_id_and_exit_code_1() {
    let mock = MockServer::start().await;
    mock.chat().error(400, "the model `nope` does not exist");
    let out = oai(Some(&mock), &["chat", "-m", "nope", "hi"]).await;
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("oai: error: "), "{err}");
    assert!(err.contains("the model `nope` does not exist"), "{err}");
    assert!(err.contains("request id req_mock_"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_and_network_failures_have_their_own_exit_codes() {
    // No key at all.
    let out = oai(None, &["models"]).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("OPENAI_API_KEY"));
    // A server that is not there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oai"));
    cmd.args(["models"])
        .env("OPENAI_API_KEY", "sk-test")
        .env("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    // A usage error.
    let out = oai(None, &["chat"]).await;
    assert_eq!(code(&out), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn models_lists_ids_or_the_json_list() {
    let mock = MockServer::start().await;
    let out = oai(Some(&mock), &["models"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert!(ids.contains(&"gpt-4o-mini".to_owned()), "{ids:?}");
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    let out = oai(Some(&mock), &["models", "--json"]).await;
    let value: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["object"], "list");
    assert_eq!(value["data"].as_array().unwrap().len(), ids.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn files_upload_shows_progress_then_list_and_delete() {
    let mock = MockServer::start().await;
    let dir = std::env::temp_dir().join(format!("oai-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notes.txt");
    // Three parts of 1 MiB (the last shorter).
    std::fs::write(&path, vec![b'x'; (2 << 20) + 1000]).unwrap();
    let out = oai(
        Some(&mock),
        &[
            "files",
            "upload",
            path.to_str().unwrap(),
            "--purpose",
            "batch",
            "--part-mib",
            "1",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Not a terminal: one progress line per part.
    let err = stderr(&out);
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("uploaded part"))
        .collect();
    assert_eq!(progress.len(), 3, "{}", stderr(&out));
    assert!(progress[2].contains("3/3"), "{progress:?}");
    let line = stdout(&out);
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 3, "{line}");
    let file_id = fields[0].to_owned();
    assert_eq!(fields[1], ((2 << 20) + 1000).to_string());
    assert_eq!(fields[2], "notes.txt");

    // A purpose the Uploads API does not take goes through the Files API.
    let small = dir.join("small.txt");
    std::fs::write(&small, b"tiny").unwrap();
    let out = oai(Some(&mock), &["files", "upload", small.to_str().unwrap()]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("uploaded 4 of 4 bytes in one request"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).ends_with("\t4\tsmall.txt\n"),
        "{}",
        stdout(&out)
    );

    let small_id = stdout(&out).split('\t').next().unwrap().to_owned();

    let out = oai(Some(&mock), &["files", "list"]).await;
    assert!(stdout(&out).contains(&file_id), "{}", stdout(&out));
    assert!(stdout(&out).contains("small.txt"), "{}", stdout(&out));
    // `--json` prints the server's answer to the delete.
    let out = oai(Some(&mock), &["--json", "files", "delete", &small_id]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let value: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (value["id"].as_str(), value["deleted"].as_bool()),
        (Some(small_id.as_str()), Some(true))
    );
    // An id that would change the endpoint never leaves the process.
    let out = oai(Some(&mock), &["--json", "files", "delete", ".."]).await;
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("file_id"), "{}", stderr(&out));
    let out = oai(Some(&mock), &["files", "delete", &file_id]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("deleted {file_id}\n"));
    let out = oai(Some(&mock), &["files", "list"]).await;
    assert!(!stdout(&out).contains(&file_id));
    // A file that is not there is a local error.
    let missing = dir.join("missing.bin");
    let out = oai(Some(&mock), &["files", "upload", missing.to_str().unwrap()]).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

fn batch_file(lines: &[Value]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "oai-cli-batch-{}-{}",
        std::process::id(),
        fastrand_name()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("requests.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn fastrand_name() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn chat_line(id: &str, prompt: &str) -> Value {
    json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}})
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_run_submits_waits_and_prints_results_by_custom_id() {
    let mock = MockServer::start().await;
    let path = batch_file(&[chat_line("a", "first"), chat_line("b", "second")]);
    let out = oai(
        Some(&mock),
        &[
            "batch",
            "run",
            path.to_str().unwrap(),
            "--poll-seconds",
            "0.05",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("submitted (2 requests)"), "{err}");
    assert!(
        err.contains("resume with: oai batch run --resume batch_"),
        "{err}"
    );
    assert!(err.contains("2 succeeded, 0 failed"), "{err}");
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let answer = |id: &str| {
        lines.iter().find(|l| l["custom_id"] == id).unwrap()["response"]["choices"][0]["message"]
            ["content"]
            .clone()
    };
    assert_eq!(answer("a"), "This is a mock answer to: first");
    assert_eq!(answer("b"), "This is a mock answer to: second");

    // --output writes the same lines to a file.
    let output = path.with_file_name("results.jsonl");
    let out = oai(
        Some(&mock),
        &[
            "batch",
            "run",
            path.to_str().unwrap(),
            "--poll-seconds",
            "0.05",
            "-o",
            output.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 2);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_whose_polling_fails_can_be_resumed() {
    let mock = MockServer::start().await;
    // Create the batch through the library, as an earlier run would have.
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key(mock.api_key())
            .base_url(mock.base_url())
            .build()
            .unwrap(),
    )
    .unwrap();
    let input: oai::batch::BatchInput = oai::batch::BatchInput::custom(
        "/v1/chat/completions",
        [(
            "only",
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        )],
    )
    .unwrap();
    let batch = oai::batch::BatchRunner::new(&client)
        .submit(&input)
        .await
        .unwrap();
    // Every poll fails (the client's retries included).
    let poll = format!("/v1/batches/{}", batch.id);
    for _ in 0..3 {
        mock.on("GET", &poll)
            .error_with_retry_after(503, "overloaded", Duration::from_millis(1));
    }
    let out = oai(
        Some(&mock),
        &[
            "batch",
            "run",
            "--resume",
            &batch.id,
            "--poll-seconds",
            "0.05",
        ],
    )
    .await;
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("resume with: oai batch run --resume {}", batch.id)),
        "{err}"
    );
    // The next run picks it up and finishes.
    let out = oai(
        Some(&mock),
        &[
            "batch",
            "run",
            "--resume",
            &batch.id,
            "--poll-seconds",
            "0.05",
        ],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("\"custom_id\":\"only\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_batch_file_is_a_local_error_naming_the_line() {
    let mock = MockServer::start().await;
    let path = batch_file(&[chat_line("a", "x"), json!({"custom_id": "b"})]);
    let out = oai(Some(&mock), &["batch", "run", path.to_str().unwrap()]).await;
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    assert!(mock.requests().is_empty(), "nothing was sent");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_create_streams_the_text() {
    let mock = MockServer::start().await;
    mock.responses().text("a streamed response");
    let out = oai(Some(&mock), &["responses", "create", "say something"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "a streamed response\n");
    let out = oai(
        Some(&mock),
        &["--json", "responses", "create", "--no-stream", "hello"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let value: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["object"], "response");
    assert_eq!(value["status"], "completed");
}

#[tokio::test(flavor = "multi_thread")]
async fn resuming_a_batch_the_api_does_not_know_is_an_api_error_without_a_resume_hint() {
    let mock = MockServer::start().await;
    let out = oai(Some(&mock), &["batch", "run", "--resume", "batch_nope"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("there is no batch `batch_nope`"), "{err}");
    assert!(!err.contains("resume with"), "{err}");
}
