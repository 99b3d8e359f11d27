//! Sends a file through the Uploads API in parts, with progress, then deletes it.
//!
//! ```text
//! cargo run -p oai --example upload_large_file [PATH]
//! ```
//!
//! Without PATH it writes a 12 MiB JSONL file of batch requests to the temp
//! directory and sends that. With `OPENAI_API_KEY` set it talks to the API (or
//! to `OPENAI_BASE_URL`); without one it starts a local stand-in server and
//! says so, so the example runs anywhere, with no key and no network.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use oai::upload::LargeUpload;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _server; // keeps the stand-in alive until the end
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        oai::Client::from_env()?
    } else {
        let server = local_stand_in().await;
        println!(
            "OPENAI_API_KEY is not set: using a local stand-in server at {}.",
            server.uri()
        );
        let client = oai::Client::new(
            oai::Config::builder()
                .api_key("sk-local-demo")
                .base_url(format!("{}/v1", server.uri()))
                .build()?,
        )?;
        _server = server;
        client
    };

    let (file, is_sample) = match std::env::args_os().nth(1) {
        Some(p) => (std::path::PathBuf::from(p), false),
        None => (sample_file()?, true),
    };
    println!("sending {}", file.display());

    let upload = LargeUpload::from_path(&file, "batch")
        .part_size(5 << 20) // 5 MiB parts: three for the sample file
        .concurrency(2) // at most two parts in memory and in flight
        .on_progress(|p| {
            println!(
                "  part {}/{}: {:>5.1} % ({} of {} bytes)",
                p.parts_done,
                p.parts_total,
                100.0 * p.bytes_sent as f64 / p.total_bytes as f64,
                p.bytes_sent,
                p.total_bytes
            );
        })
        .send(&client)
        .await;
    if is_sample {
        let _ = std::fs::remove_file(&file);
    }
    let upload = match upload {
        Ok(u) => u,
        Err(e) => {
            // The error names the part; `e.completed_parts()` and
            // `LargeUpload::resume` finish an upload left pending.
            eprintln!("upload failed: {e}");
            if let Some(cause) = std::error::Error::source(&e) {
                eprintln!("  cause: {cause}");
            }
            return Err(e.into());
        }
    };
    println!("upload {} is {}", upload.id, upload.status);
    if let Some(f) = upload.file {
        println!("file {} ({} bytes, purpose {})", f.id, f.bytes, f.purpose);
        client.files().delete(&f.id).await?;
        println!("deleted {}", f.id);
    }
    Ok(())
}

/// A 12 MiB JSONL file of chat requests in the batch input format.
fn sample_file() -> std::io::Result<std::path::PathBuf> {
    let p = std::env::temp_dir().join("oai-upload-example.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&p)?);
    let mut written = 0usize;
    let mut i = 0;
    while written < 12 << 20 {
        let line = json!({
            "custom_id": format!("request-{i}"), "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("Say {i}")}]}
        })
        .to_string();
        writeln!(out, "{line}")?;
        written += line.len() + 1;
        i += 1;
    }
    out.flush()?;
    Ok(p)
}

/// Answers the Uploads and Files endpoints the way the API does.
async fn local_stand_in() -> MockServer {
    let server = MockServer::start().await;
    let upload = |status: &str, bytes: u64, file: serde_json::Value| {
        json!({"id": "upload_local", "object": "upload", "created_at": 0, "filename": "upload.jsonl",
               "bytes": bytes, "purpose": "batch", "status": status, "expires_at": 3600, "file": file})
    };
    // The size announced at creation, echoed by the completion.
    let size = Arc::new(AtomicU64::new(0));
    let announced = Arc::clone(&size);
    Mock::given(method("POST"))
        .and(path("/v1/uploads"))
        .respond_with(move |req: &Request| {
            let bytes = req
                .body_json::<serde_json::Value>()
                .ok()
                .and_then(|b| b["bytes"].as_u64())
                .unwrap_or(0);
            announced.store(bytes, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(upload("pending", bytes, json!(null)))
        })
        .mount(&server)
        .await;
    let parts = AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_local/parts"))
        .respond_with(move |_: &Request| {
            let n = parts.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "id": format!("part_local_{n}"), "object": "upload.part",
                "created_at": 0, "upload_id": "upload_local"
            }))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/uploads/upload_local/complete"))
        .respond_with(move |_: &Request| {
            let bytes = size.load(Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(upload(
                "completed",
                bytes,
                json!({"id": "file_local", "object": "file", "bytes": bytes, "created_at": 0,
                       "filename": "upload.jsonl", "purpose": "batch", "status": "processed"}),
            ))
        })
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path_regex("^/v1/files/.+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "file_local", "object": "file", "deleted": true})),
        )
        .mount(&server)
        .await;
    server
}
