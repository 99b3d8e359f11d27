//! One chat completion, printed, with no client library: the dependency
//! floor of a one-call binary.
use serde::Deserialize;

#[derive(Deserialize)]
struct Answer {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("OPENAI_API_KEY")?;
    let answer: Answer = reqwest::Client::new()
        .post("https://api.openai.com/v1/chat/completions")
        .bearer_auth(key)
        .json(&serde_json::json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Hello"}],
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    for choice in answer.choices {
        println!("{}", choice.message.content.unwrap_or_default());
    }
    Ok(())
}
