//! Record a session to a cassette, then replay it offline.
//!
//! ```text
//! cargo run -p oai --example record_replay --features record
//! ```
//!
//! It records against `oai-mock`'s scripted answers (so it runs anywhere);
//! in a test suite the recording run goes against the real API once
//! (`ConfigBuilder::from_env().layer(Recorder::create(path)?)`), and every
//! run after that replays the cassette with the network off. The cassette
//! is printed: one JSON line per exchange, the key nowhere in it.

use futures_util::StreamExt;
use oai::chat::{Chat, Message};
use oai::record::Recorder;
use oai_mock::MockServer;

/// One short session: a plain answer and a streamed one.
async fn session(client: &oai::Client) -> oai::Result<Vec<String>> {
    let mut answers = Vec::new();
    let plain = client
        .chat()
        .completions()
        .create(Chat::new(Message::user("Name a colour."), "gpt-4o-mini"))
        .await?;
    answers.push(plain.choices[0].message.content.clone().unwrap_or_default());
    let mut stream = client
        .chat()
        .completions()
        .create(Chat::new(Message::user("Count to three."), "gpt-4o-mini"))
        .stream()
        .await?;
    let mut streamed = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            streamed.push_str(&choice.delta.content.unwrap_or_default());
        }
    }
    answers.push(streamed);
    Ok(answers)
}

fn client(base: &str, key: &str, recorder: Option<Recorder>) -> oai::Result<oai::Client> {
    let mut config = oai::Config::builder().api_key(key).base_url(base);
    if let Some(recorder) = recorder {
        config = config.layer(recorder);
    }
    oai::Client::new(config.build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("oai-example-{}.jsonl", std::process::id()));

    // 1. Record: every exchange goes to the cassette as the client reads it.
    let live = MockServer::try_start().await?;
    live.chat().text("Teal.");
    live.chat().text("One, two, three.");
    println!("recording against oai-mock at {}", live.base_url());
    let recorder = Recorder::create(&path)?;
    let recorded = session(&client(&live.base_url(), live.api_key(), Some(recorder))?).await?;
    drop(live);
    let cassette = std::fs::read_to_string(&path)?;
    println!("the cassette ({}):", path.display());
    for line in cassette.lines() {
        let shown: String = line.chars().take(160).collect();
        println!("  {shown}...");
    }

    // 2. Replay: a server that knows nothing but the cassette.
    let offline = MockServer::try_start().await?;
    offline.replay(oai_cassette::Cassette::parse(&cassette)?);
    let replayed = session(&client(&offline.base_url(), "sk-any", None)?).await?;
    println!("recorded: {recorded:?}");
    println!("replayed: {replayed:?}");
    let _ = std::fs::remove_file(&path);
    if recorded != replayed {
        return Err("the replay differs from the recording".into());
    }
    Ok(())
}
