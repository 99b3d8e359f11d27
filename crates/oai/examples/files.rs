//! Files: upload a small file, list, read it back, delete it. (For files of
//! any size in parts, see the `upload_large_file` example.)
//!
//! ```text
//! cargo run -p oai --example files
//! ```
//!
//! Runs against the API with `OPENAI_API_KEY`, otherwise against `oai-mock`.

mod common;

use oai::builders::CreateFileRequestBuilder;
use oai::types::{CreateFileRequestPurpose, InputFile};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client_or_mock().await?;

    let content = b"{\"prompt\": \"hello\"}\n".to_vec();
    let request = CreateFileRequestBuilder::new(
        InputFile::from_bytes("example.jsonl", content.clone()),
        CreateFileRequestPurpose::UserData,
    )
    .build()?;
    let file = client.files().create(request).await?;
    println!(
        "uploaded {} ({} bytes, {})",
        file.id, file.bytes, file.filename
    );

    let list = client.files().list(Default::default()).await?;
    println!("{} file(s) on the account", list.data.len());

    let back = client.files().content(&file.id).await?;
    println!(
        "read back {} bytes, same content: {}",
        back.len(),
        back[..] == content[..]
    );

    // A large file is better streamed to disk than held in memory: the same
    // call, written as it arrives (its length checked against what the
    // server declared).
    let path = std::env::temp_dir().join(format!("oai-example-{}.jsonl", std::process::id()));
    let mut out = tokio::fs::File::create(&path).await?;
    let written = client.files().content(&file.id).write_to(&mut out).await?;
    println!("streamed {written} bytes to {}", path.display());
    tokio::fs::remove_file(&path).await?;

    let deleted = client.files().delete(&file.id).await?;
    println!("deleted {}: {}", deleted.id, deleted.deleted);
    Ok(())
}
