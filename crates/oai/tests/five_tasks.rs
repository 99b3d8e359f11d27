//! The five tasks users do most, written as a user would with the public API
//! and nothing else; issue 17 counts their lines (non-blank, non-comment,
//! between `// task:` and `// end`) before and after the call-shape change.
//! Compiled in every `cargo test`, so the counts are of code that builds.
#![cfg(all(
    feature = "chat",
    feature = "responses",
    feature = "files",
    feature = "tools",
    feature = "structured"
))]
#![allow(dead_code)]

// task: streamed chat
use futures_util::StreamExt;
use oai::chat::{Chat, Message};

async fn streamed_chat(client: &oai::Client) -> oai::Result<()> {
    let request = Chat::new(Message::user("Hello"), "gpt-4o-mini");
    let mut stream = client.chat().completions().create(request).stream().await?;
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            print!("{}", choice.delta.content.unwrap_or_default());
        }
    }
    Ok(())
}
// end

// task: responses with a tool
use oai::builders::CreateResponseBuilder;
use oai::tools::{RunOutcome, ToolRegistry, ToolRunner};

#[derive(serde::Deserialize, oai::structured::JsonSchema)]
struct City {
    city: String,
}

async fn responses_with_a_tool(client: &oai::Client) -> oai::Result<()> {
    let mut tools = ToolRegistry::new();
    tools.register("get_weather", "Weather of a city", |c: City| async move {
        Ok::<_, String>(format!("18 °C in {}", c.city))
    })?;
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Weather in Paris?");
    let run = ToolRunner::new(client.clone(), tools)
        .run_responses(request)
        .await;
    match run.outcome() {
        RunOutcome::Completed => {
            println!("{}", run.conversation().final_text().unwrap_or_default())
        }
        other => eprintln!("the run stopped: {other:?}"),
    }
    Ok(())
}
// end

// task: structured output
use oai::structured::ParseExt;

#[derive(serde::Deserialize, oai::structured::JsonSchema)]
struct Event {
    name: String,
    date: String,
}

async fn structured_output(client: &oai::Client) -> oai::Result<()> {
    let request = Chat::new(Message::user("Alice's party is on Friday."), "gpt-4o-mini")
        .response_format(oai::structured::response_format::<Event>()?);
    let answer = client.chat().completions().create(request).await?;
    let event: Event = answer.parse()?;
    println!("{} on {}", event.name, event.date);
    Ok(())
}
// end

// task: file upload
use oai::builders::CreateFileRequestBuilder;
use oai::types::{CreateFileRequestPurpose, InputFile};

async fn file_upload(client: &oai::Client) -> oai::Result<()> {
    let request = CreateFileRequestBuilder::new(
        InputFile::from_path("data.jsonl"),
        CreateFileRequestPurpose::UserData,
    );
    let file = client.files().create(request).await?;
    println!("uploaded {}", file.id);
    Ok(())
}
// end

// task: every item of a list
async fn every_item(client: &oai::Client) -> oai::Result<()> {
    let mut files = client.files().list(Default::default()).items();
    while let Some(file) = files.next().await {
        println!("{}", file?.id);
    }
    Ok(())
}
// end

/// Lines of each task: non-blank, non-comment lines between its markers.
fn counts() -> Vec<(String, usize)> {
    let text = include_str!("five_tasks.rs");
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("// task: ") {
            current = Some((name.to_owned(), 0));
        } else if t == "// end" {
            out.extend(current.take());
        } else if let Some((_, n)) = current.as_mut()
            && !t.is_empty()
            && !t.starts_with("//")
        {
            *n += 1;
        }
    }
    out
}

#[test]
fn the_five_tasks_are_counted() {
    let counts = counts();
    for (name, n) in &counts {
        println!("{name}: {n} lines");
    }
    assert_eq!(counts.len(), 5);
}
