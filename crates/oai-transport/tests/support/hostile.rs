//! A server that echoes the key back, and a run of requests against it.

use futures_util::StreamExt;
use http::Method;
use oai_transport::{RequestBuilder, Transport};
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that answers 500 once, then echoes the key in a 401 error, and
/// serves a stream with an error event quoting it too.
pub async fn hostile_server(key: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/v1/retry"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after-ms", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/retry"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": 1})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/echo"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": format!("Incorrect API key provided: {key}"), "type": "invalid_request_error",
                      "param": key, "code": "invalid_api_key"}
        })))
        .mount(&server)
        .await;
    Mock::given(path("/v1/echo-html"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string(format!("<html>bad key {key}</html>")),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/stream"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(format!("data: {{\"a\":1}}\n\ndata: {{\"error\":{{\"message\":\"key {key} revoked\"}}}}\n\n")),
        )
        .mount(&server)
        .await;
    server
}

pub async fn exercise(t: &Transport) -> Vec<String> {
    let mut out = Vec::new();
    let v: Value = RequestBuilder::new(t.clone(), Method::POST, "/retry")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    out.push(format!("{v:?}"));
    for p in ["/echo", "/echo-html"] {
        let e = RequestBuilder::new(t.clone(), Method::GET, p)
            .send::<Value>()
            .await
            .unwrap_err();
        out.push(e.to_string());
        out.push(format!("{e:?}"));
        out.push(format!("{:?}", e.api_error()));
        out.push(format!("{:?}", e.body_excerpt()));
    }
    let mut s = RequestBuilder::new(t.clone(), Method::GET, "/stream")
        .stream::<Value>()
        .await
        .unwrap();
    out.push(format!("{s:?}"));
    while let Some(item) = s.next().await {
        match item {
            Ok(v) => out.push(format!("{v:?}")),
            Err(e) => {
                out.push(e.to_string());
                out.push(format!("{e:?}"));
            }
        }
    }
    out.push(format!("{t:?}"));
    out.push(format!("{:?}", t.config()));
    out
}
