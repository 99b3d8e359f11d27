//! One chat completion, printed: what the smallest user of async-openai builds.
use async_openai::Client;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::new();
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content("Hello")
            .build()?
            .into()])
        .build()?;
    let answer = client.chat().create(request).await?;
    for choice in answer.choices {
        println!("{}", choice.message.content.unwrap_or_default());
    }
    Ok(())
}
