//! OpenAI-compatible local servers (llama.cpp `llama-server`, vLLM, Ollama):
//! answers in each server's own shape, recorded-style under
//! `tests/data/compatible/`, decode through the typed facade; their streams
//! accumulate into one message; their error bodies become `oai::Error` with
//! the server's message kept; the configuration for a local server sends no
//! credential, or the key a server asks for.
//!
//! The fixtures follow what each server writes (field order, extra fields such
//! as llama.cpp's `timings` or vLLM's `stop_reason`, the fields each leaves
//! out); expected values are read from the fixture itself, never written here.
#![cfg(all(
    feature = "chat",
    feature = "completions",
    feature = "embeddings",
    feature = "models"
))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use futures_util::StreamExt;
use oai::accumulate::AccumulateExt;
use oai::builders::{
    CreateChatCompletionRequestBuilder, CreateCompletionRequestBuilder,
    CreateEmbeddingRequestBuilder,
};
use oai::types::{
    ChatCompletionMessageToolCallsItem, ChatCompletionRequestMessage as Message,
    ChatCompletionStreamOptions, ChatCompletionTool, CreateChatCompletionRequest,
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, CreateCompletionResponse,
    CreateEmbeddingResponse, ListModelsResponse,
};
use oai::{Client, Config, ConfigBuilder};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The servers whose answers are recorded, by fixture prefix.
const SERVERS: [&str; 3] = ["llamacpp", "vllm", "ollama"];

// ---------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> String {
    let file = format!(
        "{}/tests/data/compatible/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The JSON payloads of an event stream, `[DONE]` left out.
fn payloads(sse: &str) -> Vec<Value> {
    sse.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// A stand-in server answering `verb route` once with `body`.
async fn serve(
    verb: &str,
    route: &str,
    status: u16,
    content_type: &str,
    body: String,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(verb))
        .and(path(format!("/v1{route}")))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", content_type)
                .set_body_string(body),
        )
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// The configuration the documentation recommends for a local server:
/// its base URL, no credential.
fn local(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .base_url(format!("{}/v1", server.uri()))
            .no_auth()
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn chat_request(model: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestBuilder::new(Message::user("Hello"), model)
        .tool(ChatCompletionTool::function(
            "get_weather",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ))
        .stream_options(ChatCompletionStreamOptions { extra: Default::default(),
            include_usage: Some(true),
            include_obfuscation: None,
        })
        .into_inner()
}

/// `Some(text)` for a JSON string, `None` for null or absent.
fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// The tool calls of a decoded message as `(id, name, arguments)`.
fn tool_calls(
    message: &oai::types::ChatCompletionResponseMessage,
) -> Vec<(String, String, String)> {
    message
        .tool_calls
        .iter()
        .flatten()
        .map(|call| match call {
            ChatCompletionMessageToolCallsItem::Function(f) => (
                f.id.clone(),
                f.function.name.clone(),
                f.function.arguments.clone(),
            ),
            other => panic!("not a function call: {other:?}"),
        })
        .collect()
}

/// The tool calls of a recorded message as `(id, name, arguments)`.
fn raw_tool_calls(message: &Value) -> Vec<(String, String, String)> {
    message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap().to_owned(),
                        c["function"]["name"].as_str().unwrap().to_owned(),
                        c["function"]["arguments"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn assert_usage(got: Option<&oai::types::CompletionUsage>, raw: &Value, what: &str) {
    match got {
        Some(u) => {
            assert_eq!(
                Some(u.prompt_tokens),
                raw["prompt_tokens"].as_i64(),
                "{what}"
            );
            assert_eq!(
                Some(u.completion_tokens),
                raw["completion_tokens"].as_i64(),
                "{what}"
            );
            assert_eq!(Some(u.total_tokens), raw["total_tokens"].as_i64(), "{what}");
        }
        None => assert!(raw.is_null(), "{what}: usage was sent but not decoded"),
    }
}

// ---------------------------------------------------------------------------
// Chat completions, not streamed

#[tokio::test]
async fn chat_completions_of_every_server_decode() {
    for server_name in SERVERS {
        for kind in ["chat", "chat_tools"] {
            let name = format!("{server_name}_{kind}.json");
            let raw = fixture_json(&name);
            let server = serve(
                "POST",
                "/chat/completions",
                200,
                "application/json",
                fixture(&name),
            )
            .await;
            let got: CreateChatCompletionResponse = local(&server)
                .chat()
                .completions()
                .create(chat_request(raw["model"].as_str().unwrap()))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));

            assert_eq!(got.id, raw["id"].as_str().unwrap(), "{name}");
            assert_eq!(got.model, raw["model"].as_str().unwrap(), "{name}");
            assert_eq!(Some(got.created), raw["created"].as_i64(), "{name}");
            assert_eq!(
                got.system_fingerprint.as_deref(),
                text(&raw["system_fingerprint"]),
                "{name}"
            );
            assert_usage(got.usage.as_deref(), &raw["usage"], &name);
            let raw_choices = raw["choices"].as_array().unwrap();
            assert_eq!(got.choices.len(), raw_choices.len(), "{name}");
            for (choice, rc) in got.choices.iter().zip(raw_choices) {
                assert_eq!(Some(choice.index), rc["index"].as_i64(), "{name}");
                assert_eq!(
                    serde_json::to_value(&choice.finish_reason).unwrap(),
                    rc["finish_reason"],
                    "{name}"
                );
                let message = &choice.message;
                assert_eq!(
                    message.content.as_deref(),
                    text(&rc["message"]["content"]),
                    "{name}"
                );
                // None of these servers sends a refusal; absent reads as none.
                assert_eq!(message.refusal, None, "{name}");
                let calls = tool_calls(message);
                assert_eq!(calls, raw_tool_calls(&rc["message"]), "{name}");
                for (_, _, arguments) in &calls {
                    // Arguments are a JSON document in a string, as OpenAI sends them.
                    let args: Value = serde_json::from_str(arguments).unwrap();
                    assert!(args.is_object(), "{name}: {arguments}");
                }
                if kind == "chat_tools" {
                    assert!(!calls.is_empty(), "{name}: the fixture has a tool call");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Chat completions, streamed and accumulated

/// What a recorded stream says the final message is: the text and every tool
/// call's arguments concatenated, the last `finish_reason`, the last usage.
struct Expected {
    content: Option<String>,
    finish_reason: Value,
    calls: Vec<(Option<String>, Option<String>, String)>,
    usage: Value,
    chunks: usize,
}

fn expected_from(chunks: &[Value]) -> Expected {
    let mut e = Expected {
        content: None,
        finish_reason: Value::Null,
        calls: Vec::new(),
        usage: Value::Null,
        chunks: chunks.len(),
    };
    for chunk in chunks {
        if !chunk["usage"].is_null() {
            e.usage = chunk["usage"].clone();
        }
        for choice in chunk["choices"].as_array().unwrap() {
            let delta = &choice["delta"];
            if let Some(t) = delta["content"].as_str() {
                e.content.get_or_insert_with(String::new).push_str(t);
            }
            if !choice["finish_reason"].is_null() {
                e.finish_reason = choice["finish_reason"].clone();
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let i = usize::try_from(call["index"].as_u64().unwrap()).unwrap();
                if e.calls.len() <= i {
                    e.calls.resize(i + 1, (None, None, String::new()));
                }
                let slot = &mut e.calls[i];
                if let Some(id) = call["id"].as_str().filter(|s| !s.is_empty()) {
                    slot.0 = Some(id.to_owned());
                }
                if let Some(n) = call["function"]["name"].as_str().filter(|s| !s.is_empty()) {
                    slot.1 = Some(n.to_owned());
                }
                if let Some(a) = call["function"]["arguments"].as_str() {
                    slot.2.push_str(a);
                }
            }
        }
    }
    e
}

#[tokio::test]
async fn chat_streams_of_every_server_accumulate() {
    for server_name in SERVERS {
        for kind in ["chat_stream", "chat_tools_stream"] {
            let name = format!("{server_name}_{kind}.sse");
            let sse = fixture(&name);
            let want = expected_from(&payloads(&sse));
            let server = serve("POST", "/chat/completions", 200, "text/event-stream", sse).await;
            let model = "local-model";
            let mut stream = local(&server)
                .chat()
                .completions()
                .create(chat_request(model))
                .stream()
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .accumulate();
            let mut seen = 0;
            while let Some(chunk) = stream.next().await {
                let _: CreateChatCompletionStreamResponse =
                    chunk.unwrap_or_else(|e| panic!("{name}: {e}"));
                seen += 1;
            }
            assert_eq!(seen, want.chunks, "{name}: every chunk is handed over");
            let done = stream
                .into_final()
                .unwrap_or_else(|e| panic!("{name}: {e}"));

            assert_eq!(done.choices.len(), 1, "{name}");
            let choice = &done.choices[0];
            assert_eq!(choice.message.content, want.content, "{name}");
            assert_eq!(
                serde_json::to_value(&choice.finish_reason).unwrap(),
                want.finish_reason,
                "{name}"
            );
            let calls: Vec<_> = tool_calls(&choice.message)
                .into_iter()
                .map(|(id, name, args)| (Some(id), Some(name), args))
                .collect();
            assert_eq!(calls, want.calls, "{name}");
            if kind == "chat_tools_stream" {
                assert!(!calls.is_empty(), "{name}: the fixture has a tool call");
                let args: Value = serde_json::from_str(&calls[0].2).unwrap();
                assert!(args.is_object(), "{name}");
            } else {
                assert!(
                    want.content.as_deref().is_some_and(|t| !t.is_empty()),
                    "{name}"
                );
            }
            assert_usage(done.usage.as_deref(), &want.usage, &name);
        }
    }
}

// ---------------------------------------------------------------------------
// Embeddings

/// The vector as `f32`s, from JSON numbers or from base64 little-endian bytes.
fn raw_vector(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
        Value::String(b64) => {
            let bytes = decode_base64(b64);
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }
        other => panic!("not an embedding: {other}"),
    }
}

/// A small standard-alphabet base64 decoder, so the test does not trust the
/// decoder it checks.
fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for b in s.bytes().filter(|b| *b != b'=') {
        let v = u32::try_from(ALPHABET.iter().position(|a| *a == b).unwrap()).unwrap();
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn embeddings_of_every_server_decode_as_floats_or_base64() {
    let cases = [
        "llamacpp_embeddings_base64.json",
        "vllm_embeddings_base64.json",
        "ollama_embeddings_base64.json",
        // Ollama before 0.12.7 ignores `encoding_format` and sends numbers.
        "ollama_embeddings_float.json",
    ];
    for name in cases {
        let raw = fixture_json(name);
        let server = MockServer::start().await;
        // The client asks for base64 unless told otherwise.
        Mock::given(method("POST"))
            .and(path("/v1/embeddings"))
            .and(body_partial_json(json!({"encoding_format": "base64"})))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/json")
                    .set_body_string(fixture(name)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let request =
            CreateEmbeddingRequestBuilder::new("The food was delicious", "embedder").into_inner();
        let got: CreateEmbeddingResponse = local(&server)
            .embeddings()
            .create(request)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(got.model, raw["model"].as_str().unwrap(), "{name}");
        assert_eq!(
            Some(got.usage.prompt_tokens),
            raw["usage"]["prompt_tokens"].as_i64(),
            "{name}"
        );
        let raw_data = raw["data"].as_array().unwrap();
        assert_eq!(got.data.len(), raw_data.len(), "{name}");
        for (item, raw_item) in got.data.iter().zip(raw_data) {
            assert_eq!(Some(item.index), raw_item["index"].as_i64(), "{name}");
            let want = raw_vector(&raw_item["embedding"]);
            assert!(!want.is_empty(), "{name}");
            assert_eq!(item.embedding.to_f32(), want, "{name}");
        }
    }
    // The same vector sent both ways decodes to the same values.
    let floats = fixture_json("ollama_embeddings_float.json");
    let base64 = fixture_json("ollama_embeddings_base64.json");
    assert_eq!(
        raw_vector(&floats["data"][0]["embedding"]),
        raw_vector(&base64["data"][0]["embedding"])
    );
}

// ---------------------------------------------------------------------------
// Models, legacy completions

#[tokio::test]
async fn model_lists_of_every_server_decode() {
    for server_name in SERVERS {
        let name = format!("{server_name}_models.json");
        let raw = fixture_json(&name);
        let server = serve("GET", "/models", 200, "application/json", fixture(&name)).await;
        let got: ListModelsResponse = local(&server)
            .models()
            .list()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let raw_data = raw["data"].as_array().unwrap();
        assert!(!raw_data.is_empty(), "{name}");
        assert_eq!(got.data.len(), raw_data.len(), "{name}");
        for (model, rm) in got.data.iter().zip(raw_data) {
            assert_eq!(model.id, rm["id"].as_str().unwrap(), "{name}");
            assert_eq!(model.owned_by, rm["owned_by"].as_str().unwrap(), "{name}");
            assert_eq!(Some(model.created), rm["created"].as_i64(), "{name}");
        }
    }
}

#[tokio::test]
async fn legacy_completions_of_every_server_decode() {
    for server_name in SERVERS {
        let name = format!("{server_name}_completion.json");
        let raw = fixture_json(&name);
        let server = serve(
            "POST",
            "/completions",
            200,
            "application/json",
            fixture(&name),
        )
        .await;
        let request = CreateCompletionRequestBuilder::new(raw["model"].as_str().unwrap())
            .prompt("The capital of France is")
            .into_inner();
        let got: CreateCompletionResponse = local(&server)
            .completions()
            .create(request)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.id, raw["id"].as_str().unwrap(), "{name}");
        assert_usage(got.usage.as_deref(), &raw["usage"], &name);
        let rc = &raw["choices"][0];
        assert_eq!(got.choices.len(), 1, "{name}");
        assert_eq!(got.choices[0].text, rc["text"].as_str().unwrap(), "{name}");
        assert_eq!(
            serde_json::to_value(&got.choices[0].finish_reason).unwrap(),
            rc["finish_reason"],
            "{name}"
        );
        assert!(got.choices[0].logprobs.is_none(), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Required fields some servers leave out (the generator's TOLERATED_OMISSIONS)

#[tokio::test]
async fn models_without_created_decode_with_zero() {
    // llama-cpp-python's server lists `{id, object, owned_by, permissions}`.
    let name = "llamacpppython_models.json";
    let raw = fixture_json(name);
    assert!(
        raw["data"][0].get("created").is_none(),
        "the fixture omits `created`"
    );
    let server = serve("GET", "/models", 200, "application/json", fixture(name)).await;
    let got = local(&server).models().list().await.unwrap();
    assert_eq!(got.data.len(), 1);
    assert_eq!(got.data[0].id, raw["data"][0]["id"].as_str().unwrap());
    assert_eq!(
        got.data[0].owned_by,
        raw["data"][0]["owned_by"].as_str().unwrap()
    );
    assert_eq!(got.data[0].created, 0);
}

#[tokio::test]
async fn embeddings_without_usage_decode_with_zero_counts() {
    // Ollama 0.2.6 to 0.3.2 sent no `usage` (and floats, whatever was asked).
    let name = "ollama_0.3.0_embeddings.json";
    let raw = fixture_json(name);
    assert!(raw.get("usage").is_none(), "the fixture omits `usage`");
    let server = serve(
        "POST",
        "/embeddings",
        200,
        "application/json",
        fixture(name),
    )
    .await;
    let request = CreateEmbeddingRequestBuilder::new("The food was delicious", "nomic-embed-text")
        .into_inner();
    let got = local(&server).embeddings().create(request).await.unwrap();
    assert_eq!((got.usage.prompt_tokens, got.usage.total_tokens), (0, 0));
    assert_eq!(
        got.data[0].embedding.to_f32(),
        raw_vector(&raw["data"][0]["embedding"])
    );
}

#[tokio::test]
async fn omissions_read_as_empty_and_wrong_types_are_still_decode_errors() {
    // Tolerant decoding: a model without an id, a completion without choices
    // read as empty (the caller sees "" and no choice, not an error in the
    // middle of a working answer).
    let server = serve(
        "GET",
        "/models",
        200,
        "application/json",
        r#"{"object":"list","data":[{"object":"model","created":1,"owned_by":"me"}]}"#.to_owned(),
    )
    .await;
    let models = local(&server).models().list().await.unwrap();
    assert_eq!(models.data[0].id, "");
    assert_eq!(models.data[0].owned_by, "me");
    let server = serve(
        "POST",
        "/chat/completions",
        200,
        "application/json",
        r#"{"id":"c","object":"chat.completion","created":1,"model":"m"}"#.to_owned(),
    )
    .await;
    let done = local(&server)
        .chat()
        .completions()
        .create(chat_request("m"))
        .await
        .unwrap();
    assert!(done.choices.is_empty());
    // A value of the wrong type is still an error that names where it is.
    let server = serve(
        "POST",
        "/chat/completions",
        200,
        "application/json",
        r#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":{"a":1}}"#
            .to_owned(),
    )
    .await;
    let err = local(&server)
        .chat()
        .completions()
        .create(chat_request("m"))
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert!(err.to_string().contains("choices"), "{err}");
}

// ---------------------------------------------------------------------------
// Errors in each server's own format

#[tokio::test]
async fn error_bodies_of_every_server_keep_their_message() {
    // (fixture, status)
    let cases = [
        // {"error": {"code": 400, "message", "type", ...extra counts}}
        ("llamacpp_error.json", 400),
        // {"error": {"message", "type", "param", "code": 404}}
        ("vllm_error.json", 404),
        // Older vLLM: {"object": "error", "message", "type", "param", "code"}
        ("vllm_error_legacy.json", 404),
        // vLLM started with --api-key, called without the key.
        ("vllm_unauthorized.json", 401),
        // {"error": {"message", "type", "param": null, "code": null}}
        ("ollama_error.json", 404),
    ];
    for (name, status) in cases {
        let raw = fixture_json(name);
        let server = serve(
            "POST",
            "/chat/completions",
            status,
            "application/json",
            fixture(name),
        )
        .await;
        let err = local(&server)
            .chat()
            .completions()
            .create(chat_request("m"))
            .await
            .expect_err(name);
        assert!(err.is_api(), "{name}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{name}");
        let details = err.api_error().unwrap();
        // The error object is the `error` member, or the body itself.
        let obj = match &raw["error"] {
            Value::Object(_) => raw["error"].clone(),
            Value::String(s) => json!({ "message": s }),
            _ => raw.clone(),
        };
        let message = obj["message"].as_str().unwrap();
        assert_eq!(details.message(), message, "{name}");
        assert!(err.to_string().contains(message), "{name}: {err}");
        assert_eq!(details.error_type(), obj["type"].as_str(), "{name}");
        // Numeric codes (llama.cpp, vLLM) are kept as text.
        let code = match &obj["code"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        assert_eq!(details.code().map(str::to_owned), code, "{name}");
        assert_eq!(details.param(), obj["param"].as_str(), "{name}");
    }
}

// ---------------------------------------------------------------------------
// Configuration: credentials, base URL

#[tokio::test]
async fn no_auth_sends_no_authorization_header_and_a_key_is_sent_as_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(fixture("vllm_models.json")),
        )
        .expect(2)
        .mount(&server)
        .await;

    local(&server).models().list().await.unwrap();
    // vLLM started with `--api-key token-abc123`.
    let keyed = Client::new(
        Config::builder()
            .base_url(format!("{}/v1", server.uri()))
            .api_key("token-abc123")
            .build()
            .unwrap(),
    )
    .unwrap();
    keyed.models().list().await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "no_auth() must send no Authorization header"
    );
    assert_eq!(
        requests[1]
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer token-abc123")
    );
}

#[test]
fn from_env_with_a_base_url_but_no_key_names_the_way_out() {
    let env =
        |name: &str| (name == "OPENAI_BASE_URL").then(|| "http://localhost:11434/v1".to_owned());
    let err = ConfigBuilder::from_env_with(env).build().unwrap_err();
    assert!(err.is_config(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("OPENAI_API_KEY"), "{text}");
    assert!(text.contains("no_auth()"), "{text}");

    // The recipe for a local server: the environment's base URL, no key.
    let config = ConfigBuilder::from_env_with(env).no_auth().build().unwrap();
    assert_eq!(config.base_url().as_str(), "http://localhost:11434/v1");
}

#[test]
fn plain_http_is_for_loopback_unless_opted_in() {
    for url in [
        "http://localhost:8080/v1",
        "http://127.0.0.1:8000/v1",
        "http://[::1]:11434/v1",
    ] {
        let config = Config::builder().base_url(url).no_auth().build();
        assert!(config.is_ok(), "{url}: {config:?}");
    }
    // A LAN host (a GPU box running vLLM, say) needs the explicit opt-in.
    let lan = "http://192.168.1.20:8000/v1";
    let err = Config::builder()
        .base_url(lan)
        .no_auth()
        .build()
        .unwrap_err();
    assert!(err.is_config());
    assert!(
        err.to_string().contains("danger_accept_insecure_http"),
        "{err}"
    );
    let config = Config::builder()
        .base_url(lan)
        .no_auth()
        .danger_accept_insecure_http(true)
        .build()
        .unwrap();
    assert_eq!(config.base_url().as_str(), lan);
}

// ---------------------------------------------------------------------------
// Tolerance as a property: the fields these servers leave out, left out in
// any combination, never break decoding.

/// Members some compatible server omits from a chat completion choice's
/// message, a choice, or the completion.
const CHAT_OMITTABLE: &[&[&str]] = &[
    &["choices", "*", "message", "refusal"],
    &["choices", "*", "message", "annotations"],
    &["choices", "*", "message", "audio"],
    &["choices", "*", "message", "function_call"],
    &["choices", "*", "message", "tool_calls"],
    &["choices", "*", "message", "content"],
    &["choices", "*", "logprobs"],
    &["system_fingerprint"],
    &["service_tier"],
    &["usage"],
];

/// The same for stream chunks.
const CHUNK_OMITTABLE: &[&[&str]] = &[
    &["choices", "*", "delta", "role"],
    &["choices", "*", "delta", "content"],
    &["choices", "*", "delta", "refusal"],
    &["choices", "*", "delta", "tool_calls", "*", "id"],
    &["choices", "*", "delta", "tool_calls", "*", "type"],
    &[
        "choices",
        "*",
        "delta",
        "tool_calls",
        "*",
        "function",
        "name",
    ],
    &[
        "choices",
        "*",
        "delta",
        "tool_calls",
        "*",
        "function",
        "arguments",
    ],
    &["choices", "*", "logprobs"],
    &["choices", "*", "finish_reason"],
    &["system_fingerprint"],
    &["usage"],
];

/// Removes the member at `path` (`*` is every item of an array).
fn remove(v: &mut Value, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            if let Value::Object(m) = v {
                m.remove(*last);
            }
        }
        ["*", rest @ ..] => {
            if let Value::Array(items) = v {
                for item in items {
                    remove(item, rest);
                }
            }
        }
        [key, rest @ ..] => {
            if let Some(inner) = v.get_mut(*key) {
                remove(inner, rest);
            }
        }
    }
}

fn chat_fixtures() -> Vec<String> {
    SERVERS
        .iter()
        .flat_map(|s| [format!("{s}_chat.json"), format!("{s}_chat_tools.json")])
        .collect()
}

fn chunk_fixtures() -> Vec<Value> {
    SERVERS
        .iter()
        .flat_map(|s| {
            [
                format!("{s}_chat_stream.sse"),
                format!("{s}_chat_tools_stream.sse"),
            ]
        })
        .flat_map(|name| payloads(&fixture(&name)))
        .collect()
}

proptest! {
    #[test]
    fn chat_completions_decode_without_the_fields_servers_omit(
        which in any::<prop::sample::Index>(),
        mask in prop::collection::vec(any::<bool>(), CHAT_OMITTABLE.len()),
    ) {
        let names = chat_fixtures();
        let name = &names[which.index(names.len())];
        let mut raw = fixture_json(name);
        for (path, drop) in CHAT_OMITTABLE.iter().zip(&mask) {
            if *drop {
                remove(&mut raw, path);
            }
        }
        let got: Result<CreateChatCompletionResponse, _> = serde_json::from_value(raw.clone());
        prop_assert!(got.is_ok(), "{}: {:?}\n{}", name, got.err(), raw);
    }

    #[test]
    fn stream_chunks_decode_without_the_fields_servers_omit(
        which in any::<prop::sample::Index>(),
        mask in prop::collection::vec(any::<bool>(), CHUNK_OMITTABLE.len()),
    ) {
        let chunks = chunk_fixtures();
        let mut raw = chunks[which.index(chunks.len())].clone();
        for (path, drop) in CHUNK_OMITTABLE.iter().zip(&mask) {
            if *drop {
                remove(&mut raw, path);
            }
        }
        let got: Result<CreateChatCompletionStreamResponse, _> =
            serde_json::from_value(raw.clone());
        prop_assert!(got.is_ok(), "{:?}\n{}", got.err(), raw);
    }
}
