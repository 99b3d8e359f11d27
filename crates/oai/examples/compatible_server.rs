//! The client against an OpenAI-compatible local server: llama.cpp's
//! `llama-server`, vLLM or Ollama. Shows a chat answer, a streamed answer
//! accumulated into one message, and an embedding.
//!
//! ```text
//! cargo run -p oai --example compatible_server
//! ```
//!
//! Without `OPENAI_BASE_URL` the example starts a local stand-in on 127.0.0.1
//! that answers the way `llama-server` does, and says so, so it runs anywhere
//! with no model, no key and no network. With `OPENAI_BASE_URL` it talks to
//! that server: the chat model is `OAI_MODEL` (default `llama3.2`), the
//! embedding model `OAI_EMBEDDING_MODEL` (default `nomic-embed-text`).
//!
//! # The configuration
//!
//! A local server needs its base URL (ending in `/v1`) and, usually, no
//! credential: `Config::builder().base_url(url).no_auth()`. When the server
//! was started with a key (vLLM's `--api-key`, `llama-server --api-key`), give
//! it with `.api_key(key)`: it is sent as `Authorization: Bearer <key>`.
//! `Config::from_env()` alone refuses to start without `OPENAI_API_KEY`, with
//! an error that names `no_auth()`; the recipe used here takes the rest from
//! the environment and asks for no key:
//!
//! ```no_run
//! let mut config = oai::ConfigBuilder::from_env(); // OPENAI_BASE_URL, ...
//! if std::env::var_os("OPENAI_API_KEY").is_none() {
//!     config = config.no_auth();
//! }
//! let client = oai::Client::new(config.build()?)?;
//! # Ok::<(), oai::Error>(())
//! ```
//!
//! Plain `http` is accepted for loopback hosts (`localhost`, `127.0.0.1`,
//! `[::1]`) only. A server elsewhere on the network needs
//! `.danger_accept_insecure_http(true)`, since anyone on the path can then
//! read the traffic, the key included: prefer https (a reverse proxy) there.
//!
//! What these servers leave out of their answers (`refusal`, `logprobs`,
//! `system_fingerprint`, `usage` on every chunk but the last, ...) decodes as
//! `None`; what they add (`timings`, `stop_reason`, `reasoning_content`, ...)
//! is ignored. Their error bodies, each in its own shape, become
//! [`oai::Error`] with the server's message, type and code.
//!
//! # Starting a server
//!
//! llama.cpp (tool calls need `--jinja`; embeddings need a second server with
//! an embedding model and `--embeddings`):
//!
//! ```text
//! llama-server -hf ggml-org/Qwen2.5-1.5B-Instruct-GGUF --jinja --port 8080
//! OPENAI_BASE_URL=http://localhost:8080/v1 cargo run -p oai --example compatible_server
//! ```
//!
//! vLLM (here with a key; the model name is the one served):
//!
//! ```text
//! vllm serve Qwen/Qwen2.5-1.5B-Instruct --port 8000 --api-key token-abc123
//! OPENAI_BASE_URL=http://localhost:8000/v1 OPENAI_API_KEY=token-abc123 \
//!     OAI_MODEL=Qwen/Qwen2.5-1.5B-Instruct cargo run -p oai --example compatible_server
//! ```
//!
//! Ollama (serves every pulled model on port 11434):
//!
//! ```text
//! ollama pull llama3.2 && ollama pull nomic-embed-text
//! OPENAI_BASE_URL=http://localhost:11434/v1 cargo run -p oai --example compatible_server
//! ```

use std::io::Write;

use futures_util::StreamExt;
use oai::accumulate::{AccumulateExt, StreamEvent};
use oai::builders::{CreateChatCompletionRequestBuilder, CreateEmbeddingRequestBuilder};
use oai::types::{ChatCompletionRequestMessage as Message, ChatCompletionStreamOptions};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Kept alive until the end of `main`: the stand-in stops when dropped.
    let mut _stand_in = None;
    let (client, model, embedding_model) = if std::env::var_os("OPENAI_BASE_URL").is_some() {
        let mut config = oai::ConfigBuilder::from_env();
        let auth = if std::env::var_os("OPENAI_API_KEY").is_some() {
            "with the key in OPENAI_API_KEY"
        } else {
            config = config.no_auth();
            "without a key"
        };
        let client = oai::Client::new(config.build()?)?;
        println!(
            "Using the server at {} ({auth}).",
            client.config().base_url()
        );
        (
            client,
            env_or("OAI_MODEL", "llama3.2"),
            env_or("OAI_EMBEDDING_MODEL", "nomic-embed-text"),
        )
    } else {
        let server = llama_server_stand_in().await;
        let base = format!("{}/v1", server.uri());
        println!(
            "OPENAI_BASE_URL is not set: using a local stand-in at {base} that answers like \
             llama.cpp's llama-server."
        );
        _stand_in = Some(server);
        let client = oai::Client::new(oai::Config::builder().base_url(base).no_auth().build()?)?;
        (
            client,
            "qwen2.5-1.5b-instruct".to_owned(),
            "nomic-embed-text-v1.5".to_owned(),
        )
    };

    // A plain call.
    println!("\n== chat ({model})");
    let request = CreateChatCompletionRequestBuilder::new(
        Message::user("Say hello in one sentence."),
        &*model,
    )
    .temperature(0.2)
    .build()?;
    let answer = client.chat().completions().create(request).await?;
    for choice in &answer.choices {
        println!("{}", choice.message.content.as_deref().unwrap_or_default());
        println!("(finish_reason {})", choice.finish_reason);
    }
    if let Some(usage) = &answer.usage {
        println!(
            "(tokens: {} in, {} out)",
            usage.prompt_tokens, usage.completion_tokens
        );
    }

    // A streamed call: the text as it arrives, then the accumulated message.
    println!("\n== streamed chat ({model})");
    let request = CreateChatCompletionRequestBuilder::new(
        Message::user("Name three colours, comma-separated."),
        &*model,
    )
    .stream_options(ChatCompletionStreamOptions {
        extra: Default::default(),
        include_usage: Some(true),
        include_obfuscation: None,
    })
    .build()?;
    let mut stream = client
        .chat()
        .completions()
        .create(request)
        .stream()
        .await?
        .accumulate();
    let mut out = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk?.text_delta() {
            write!(out, "{text}")?;
            out.flush()?;
        }
    }
    let completion = stream.into_final()?;
    println!();
    for choice in &completion.choices {
        println!(
            "-- accumulated: {:?} (finish_reason {})",
            choice.message.content.as_deref().unwrap_or_default(),
            choice.finish_reason
        );
    }
    match &completion.usage {
        Some(usage) => println!(
            "(tokens: {} in, {} out)",
            usage.prompt_tokens, usage.completion_tokens
        ),
        None => println!("(the server sent no usage)"),
    }

    // An embedding. The client asks for base64; servers that ignore it send
    // numbers, and both read the same.
    println!("\n== embedding ({embedding_model})");
    let request =
        CreateEmbeddingRequestBuilder::new("The food was delicious", &*embedding_model).build()?;
    match client.embeddings().create(request).await {
        Ok(embeddings) => {
            for item in &embeddings.data {
                let values = item.embedding.to_f32();
                let shown: Vec<String> = values.iter().take(4).map(|v| format!("{v:.4}")).collect();
                println!(
                    "#{}: {} dimensions [{}, ...]",
                    item.index,
                    values.len(),
                    shown.join(", ")
                );
            }
        }
        // llama-server answers 501 without `--embeddings`; a chat model
        // may refuse too. The server's own message says which.
        Err(e) => println!("no embedding from this server: {e}"),
    }
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A local server answering the three calls with bodies in llama-server's
/// shape (the recorded-style fixtures of the `compatible` tests).
async fn llama_server_stand_in() -> MockServer {
    let server = MockServer::start().await;
    let json_body = |body: &str| {
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/json")
            .set_body_string(body)
    };
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(include_str!(
                    "../tests/data/compatible/llamacpp_chat_stream.sse"
                )),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(json_body(include_str!(
            "../tests/data/compatible/llamacpp_chat.json"
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(json_body(include_str!(
            "../tests/data/compatible/llamacpp_embeddings_base64.json"
        )))
        .mount(&server)
        .await;
    server
}
