//! Embeddings travel as base64 unless the request asks otherwise, and decode to
//! `f32` without parsing JSON numbers; a caller who asks for floats gets floats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai::types::{CreateEmbeddingRequestEncodingFormat as Format, EmbeddingVector};
use oai::{Client, Config};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .api_key("sk-emb")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn answer(embedding: Value) -> Value {
    json!({"object": "list", "model": "text-embedding-3-small",
           "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
           "usage": {"prompt_tokens": 2, "total_tokens": 2}})
}

fn request(format: Option<Format>) -> oai::types::CreateEmbeddingRequest {
    let mut r: oai::types::CreateEmbeddingRequest =
        serde_json::from_value(json!({"model": "text-embedding-3-small", "input": "hello"}))
            .unwrap();
    r.encoding_format = format;
    r
}

/// 1,536 values that exercise every bit pattern class (signs, tiny, huge).
fn values() -> Vec<f32> {
    (0..1536u32)
        .map(|i| {
            let x = (i as f32 * 0.618_034).sin() * 10f32.powi((i % 7) as i32 - 3);
            if i % 11 == 0 { -x } else { x }
        })
        .collect()
}

#[tokio::test]
async fn base64_by_default_decodes_bit_for_bit() {
    let server = MockServer::start().await;
    let want = values();
    let wire = serde_json::to_value(EmbeddingVector::Base64(want.clone())).unwrap();
    assert!(wire.is_string());
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(body_partial_json(json!({"encoding_format": "base64"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer(wire)))
        .expect(1)
        .mount(&server)
        .await;
    let got = client(&server)
        .embeddings()
        .create(request(None))
        .await
        .unwrap();
    let v = got.data[0].embedding.as_f32().expect("decoded from base64");
    assert_eq!(v.len(), 1536);
    let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(v), bits(&want));
}

#[tokio::test]
async fn a_caller_who_asks_for_floats_gets_floats() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"encoding_format": "float"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(answer(json!([0.125, -2.5e-7, 3.0]))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let got = client(&server)
        .embeddings()
        .create(request(Some(Format::Float)))
        .await
        .unwrap();
    assert_eq!(
        got.data[0].embedding,
        EmbeddingVector::Float(vec![0.125, -2.5e-7, 3.0])
    );
    assert_eq!(got.data[0].embedding.to_f32(), vec![0.125f32, -2.5e-7, 3.0]);
}

#[tokio::test]
async fn a_server_that_ignores_base64_still_works() {
    // Some OpenAI-compatible servers answer floats whatever was asked.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer(json!([1.0, 2.0]))))
        .mount(&server)
        .await;
    let got = client(&server)
        .embeddings()
        .create(request(None))
        .await
        .unwrap();
    assert_eq!(got.data[0].embedding.clone().into_f32(), vec![1.0f32, 2.0]);
}

#[tokio::test]
async fn malformed_base64_is_a_clear_decode_error() {
    let server = MockServer::start().await;
    for bad in ["AACA", "AAC*PwAA", "AACAPwAAAMA=x"] {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer(json!(bad))))
            .mount(&server)
            .await;
        let err = client(&server)
            .embeddings()
            .create(request(None))
            .await
            .unwrap_err();
        assert!(err.is_decode(), "{bad}: {err}");
        // The reason is in the error's own text (no value of the body quoted).
        let why = err.to_string();
        assert!(why.contains("base64"), "{bad}: {why}");
    }
}
