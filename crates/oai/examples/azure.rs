//! Azure OpenAI with the same `Client` API: the configuration, and what goes
//! on the wire for a deployment operation (chat) and for one that is not
//! (files).
//!
//! ```text
//! cargo run -p oai --example azure
//! ```
//!
//! With `AZURE_OPENAI_ENDPOINT` set it talks to that resource, reading
//! `OPENAI_API_VERSION` and `AZURE_OPENAI_API_KEY` (or `AZURE_OPENAI_AD_TOKEN`);
//! the chat model is the deployment name in `AZURE_OPENAI_DEPLOYMENT` (default
//! `gpt-4o-mini`). Without it, a local stand-in plays the Azure endpoint and
//! prints the requests it received, so the example runs anywhere.

use oai::builders::CreateChatCompletionRequestBuilder as Chat;
use oai::types::ChatCompletionRequestMessage as Message;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHAT: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from an Azure deployment.","refusal":null},"finish_reason":"stop","logprobs":null}]}"#;
const FILES: &str = r#"{"object":"list","data":[],"has_more":false,"first_id":"","last_id":""}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut stand_in = None;
    let config = if std::env::var_os("AZURE_OPENAI_ENDPOINT").is_some() {
        println!("Using the Azure resource in AZURE_OPENAI_ENDPOINT.");
        oai::Config::azure_from_env().build()?
    } else {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/openai/deployments/gpt-4o-mini/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(CHAT, "application/json"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/openai/files"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(FILES, "application/json"))
            .mount(&server)
            .await;
        println!(
            "AZURE_OPENAI_ENDPOINT is not set: using a local stand-in Azure endpoint at {}.",
            server.uri()
        );
        let config = oai::Config::azure()
            .endpoint(server.uri())
            .api_version("2024-10-21")
            .api_key("demo-azure-key")
            .build()?;
        stand_in = Some(server);
        config
    };
    println!("config: {config:?}");
    let client = oai::Client::new(config)?;

    // The model names the deployment: this goes to
    // /openai/deployments/{model}/chat/completions?api-version=...
    let deployment =
        std::env::var("AZURE_OPENAI_DEPLOYMENT").unwrap_or_else(|_| "gpt-4o-mini".into());
    let request = Chat::new(Message::user("Say hello in five words."), deployment).build()?;
    let answer = client
        .chat()
        .completions()
        .create(request)
        .with_meta()
        .await?;
    println!(
        "answer: {}",
        answer.data.choices[0]
            .message
            .content
            .as_deref()
            .unwrap_or("(no text)")
    );
    println!("request id: {:?}", answer.meta.request_id());

    // Not a deployment operation: /openai/files?api-version=...
    let files = client
        .files()
        .list(oai::types::ListFilesParams::default())
        .await?;
    println!("files: {}", files.data.len());

    if let Some(server) = stand_in {
        for r in server.received_requests().await.unwrap_or_default() {
            let key = if r.headers.contains_key("api-key") {
                "api-key: [REDACTED]"
            } else {
                "no api-key"
            };
            println!("  stand-in saw {} {} ({key})", r.method, r.url);
        }
    }
    Ok(())
}
