//! Streams a chat completion and prints it as it arrives.
//!
//! ```text
//! cargo run -p oai --example quickstart
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts a small local stand-in server on 127.0.0.1 and says so,
//! so the example runs anywhere, with no key and no network.

use std::io::Write;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        oai::Client::from_env()?
    } else {
        let base = local_stand_in().await?;
        println!("OPENAI_API_KEY is not set: using a local stand-in server at {base}.");
        oai::Client::new(
            oai::Config::builder()
                .api_key("sk-local-demo")
                .base_url(base)
                .build()?,
        )?
    };

    let mut stream = client
        .post("/chat/completions")
        .json(&json!({
            "model": "gpt-4o-mini",
            "stream": true,
            "messages": [{"role": "user", "content": "Say hello to a Rust developer in one sentence."}],
        }))
        .stream::<Value>()
        .await?;
    println!("request id: {}", stream.meta().request_id().unwrap_or("-"));

    let mut out = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(text) = chunk["choices"][0]["delta"]["content"].as_str() {
            write!(out, "{text}")?;
            out.flush()?;
        }
    }
    println!();
    Ok(())
}

/// Serves canned streamed chat completions on a loopback port, one connection
/// at a time, until the example exits.
async fn local_stand_in() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = sock.read(&mut buf).await;
            let words = [
                "Hello",
                ", Rust",
                " developer",
                ": your",
                " stream",
                " arrived",
                " safely",
                ".",
            ];
            let mut body = String::new();
            for w in words {
                let chunk = json!({"object": "chat.completion.chunk", "model": "stand-in",
                                   "choices": [{"index": 0, "delta": {"content": w}}]});
                body.push_str(&format!("data: {chunk}\n\n"));
            }
            body.push_str("data: [DONE]\n\n");
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: req_local_demo\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
        }
    });
    Ok(format!("http://{addr}/v1"))
}
