//! One chat completion, printed: what the smallest user of `oai` builds.
use oai::chat::{Chat, Message};

#[tokio::main]
async fn main() -> oai::Result<()> {
    let client = oai::Client::from_env()?;
    let answer = client
        .chat()
        .completions()
        .create(Chat::new(Message::user("Hello"), "gpt-4o-mini"))
        .await?;
    for choice in answer.choices {
        println!("{}", choice.message.content.unwrap_or_default());
    }
    Ok(())
}
