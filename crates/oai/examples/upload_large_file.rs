//! Sends a file through the Uploads API in parts, with progress, then deletes it.
//!
//! ```text
//! cargo run -p oai --example upload_large_file [PATH]
//! ```
//!
//! Without PATH it writes a 12 MiB JSONL file of batch requests to the temp
//! directory and sends that. With `OPENAI_API_KEY` set it talks to the API (or
//! to `OPENAI_BASE_URL`); without one it starts `oai-mock` and says so, so the
//! example runs anywhere, with no key and no network.

mod common;

use std::io::Write;

use oai::upload::LargeUpload;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client_or_mock().await?;

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
