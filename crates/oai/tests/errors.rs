//! One error for the user: every error the library gives converts into
//! `oai::Error` with `?`, the kind says whose fault it is, and the helper's
//! own error (with the ids and parts it knows) stays reachable.

use oai::builders::CreateEmbeddingRequestBuilder;
use oai::types::CreateChatCompletionResponse;
use oai::{Error, ErrorKind};
use serde_json::json;

fn validation() -> oai::Result<()> {
    CreateEmbeddingRequestBuilder::new("hi", "text-embedding-3-small")
        .dimensions(0)
        .user("u")
        .build()?;
    Ok(())
}

#[test]
fn validation_errors_convert_with_every_violation_and_its_path() {
    let err = validation().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.is_invalid_input());
    let paths: Vec<&str> = err.violations().iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["dimensions"]);
    assert!(
        err.to_string().starts_with("invalid request: dimensions"),
        "{err}"
    );
    assert!(err.status().is_none() && err.request_id().is_none());
}

#[test]
fn a_path_parameter_that_cannot_be_a_segment_is_a_violation_at_its_name() {
    for bad in ["", ".", ".."] {
        let err = oai::path_segment("file_id", bad).unwrap_err();
        assert!(err.is_invalid_input(), "{err}");
        assert_eq!(err.violations().len(), 1);
        assert_eq!(err.violations()[0].path, "file_id");
    }
}

#[cfg(feature = "tools")]
#[test]
fn a_tool_that_cannot_be_registered_is_invalid_input() {
    fn register() -> oai::Result<()> {
        let mut tools = oai::tools::ToolRegistry::new();
        let schema = json!({"type": "object", "properties": {}, "required": [],
            "additionalProperties": false});
        let handler = |_: serde_json::Value| async { Ok::<_, String>("ok") };
        tools.register_json("twice", "", schema.clone(), true, handler)?;
        tools.register_json("twice", "", schema, true, handler)?;
        Ok(())
    }
    let err = register().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(matches!(
        err.downcast_ref::<oai::tools::RegisterError>(),
        Some(oai::tools::RegisterError::Duplicate(name)) if name == "twice"
    ));
}

#[cfg(feature = "webhooks")]
#[test]
fn a_refused_webhook_is_its_own_kind_and_keeps_the_reason() {
    fn verify() -> oai::Result<()> {
        // A secret of the documented shape (`whsec_` + base64).
        let verifier = oai::WebhookVerifier::new("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=")?;
        verifier.verify_with(|_| None, b"{}")?;
        Ok(())
    }
    let err = verify().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Webhook);
    assert!(matches!(
        err.downcast_ref::<oai::WebhookError>(),
        Some(oai::WebhookError::MissingHeader { .. })
    ));

    // An unusable secret is a configuration error.
    let bad_secret = Error::from(oai::WebhookVerifier::new("").unwrap_err());
    assert_eq!(bad_secret.kind(), ErrorKind::Config);
}

#[cfg(all(feature = "structured", feature = "chat"))]
#[test]
fn a_refusal_is_an_answer_error_that_keeps_the_text() {
    use oai::structured::{ParseError, ParseExt};
    fn parse(completion: &CreateChatCompletionResponse) -> oai::Result<serde_json::Value> {
        Ok(completion.parse()?)
    }
    let completion: CreateChatCompletionResponse = serde_json::from_value(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
            "message": {"role": "assistant", "content": null, "refusal": "No."}}]
    }))
    .unwrap();
    let err = parse(&completion).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Answer);
    assert!(matches!(
        err.downcast_ref::<ParseError>(),
        Some(ParseError::Refusal { refusal }) if refusal == "No."
    ));
}

#[cfg(all(feature = "batches", feature = "files", feature = "chat"))]
#[test]
fn a_batch_refused_before_any_io_is_invalid_input_and_keeps_the_batch_error() {
    fn input() -> oai::Result<()> {
        let line = json!({"model": "m", "messages": []});
        oai::batch::BatchInput::<serde_json::Value>::custom(
            "/v1/chat/completions",
            [("a", &line), ("a", &line)],
        )?;
        Ok(())
    }
    let err = input().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let batch = err.downcast_ref::<oai::batch::BatchRunError>().unwrap();
    assert_eq!(batch.stage(), oai::batch::BatchStage::Input);
}

#[cfg(feature = "uploads")]
#[tokio::test]
async fn an_upload_from_a_missing_file_is_refused_before_any_io_and_keeps_the_upload_error() {
    async fn upload(client: &oai::Client) -> oai::Result<()> {
        oai::upload::LargeUpload::from_path("/nonexistent/oai/file.jsonl", "batch")
            .send(client)
            .await?;
        Ok(())
    }
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-test")
            // Nothing listens here; the file is read (and fails) first.
            .base_url("http://127.0.0.1:9/v1")
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = upload(&client).await.unwrap_err();
    // The user named a file that is not there: their input, found before
    // any network I/O (a read that fails mid-upload is `Io`).
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let upload = err.downcast_ref::<oai::upload::UploadError>().unwrap();
    assert_eq!(upload.stage(), oai::upload::UploadStage::Validate);
    assert!(upload.upload_id().is_none());
}

#[test]
fn a_transport_error_converts_and_answers_as_before() {
    fn config() -> oai::Result<oai::Config> {
        Ok(oai::Config::builder()
            .base_url("not a url")
            .api_key("k")
            .build()?)
    }
    let err = config().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.transport().is_some());
}

#[test]
fn the_error_is_one_pointer_wide() {
    assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    assert_eq!(
        std::mem::size_of::<oai::Result<()>>(),
        std::mem::size_of::<usize>()
    );
}
