//! A server that echoes the credentials back through every channel it has,
//! and a run of requests against it that collects everything the client lets
//! a user or a log see.
//!
//! Channels: an error body (JSON message, type, code and param; an HTML page),
//! the `x-request-id` header, every other response header, a 3xx `Location`,
//! a 2xx body that does not decode (the decoder's own message quotes it), an
//! event-stream error event, a stream event that does not decode. `pad` puts
//! that many bytes before each echo, so that the key sits across every cut
//! point the client has (excerpts, field caps, source text, header values).

use futures_util::StreamExt;
use http::Method;
use oai_transport::{RequestBuilder, Transport};
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A typed answer the echoes cannot decode into.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct Typed {
    pub id: u32,
}

/// Every credential echoed, each with `pad` bytes of `x` before it.
pub async fn hostile_server_padded(secrets: &[&str], pad: usize) -> MockServer {
    let server = MockServer::start().await;
    let x = "x".repeat(pad);
    let echo: String = secrets.iter().map(|s| format!("{x}{s} ")).collect();
    let one = secrets.first().copied().unwrap_or_default();
    let headers = |t: ResponseTemplate| {
        t.insert_header("x-request-id", one)
            .insert_header("x-echo", echo.trim_end())
            .insert_header("server", format!("{x}{one}").as_str())
            .insert_header("content-type", "application/json")
    };
    Mock::given(path("/v1/retry"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after-ms", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/retry"))
        .respond_with(headers(
            ResponseTemplate::new(200).set_body_json(json!({"ok": 1})),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/echo"))
        .respond_with(headers(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"message": format!("Incorrect API key provided: {echo}"),
                      "type": echo, "param": echo, "code": echo}
        }))))
        .mount(&server)
        .await;
    Mock::given(path("/v1/echo-html"))
        .respond_with(headers(
            ResponseTemplate::new(400).set_body_string(format!("<html>bad key {echo}</html>")),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/redirect"))
        .respond_with(headers(ResponseTemplate::new(302).insert_header(
            "location",
            format!("https://evil.test/{x}{one}").as_str(),
        )))
        .mount(&server)
        .await;
    Mock::given(path("/v1/undecodable"))
        .respond_with(headers(
            ResponseTemplate::new(200).set_body_string(json!({ "id": echo }).to_string()),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/stream"))
        .respond_with(headers(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(format!(
                    "data: {{\"a\":1}}\n\ndata: {}\n\n",
                    json!({"error": {"message": format!("key {echo} revoked"), "code": echo}})
                )),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/stream-undecodable"))
        .respond_with(headers(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(format!(
                    "data: {{\"id\":1}}\n\ndata: {}\n\n",
                    json!({ "id": echo })
                )),
        ))
        .mount(&server)
        .await;
    server
}

/// The key echoed with no padding.
pub async fn hostile_server(key: &str) -> MockServer {
    hostile_server_padded(&[key], 0).await
}

pub async fn exercise(t: &Transport) -> Vec<String> {
    let mut out = Vec::new();
    let r = RequestBuilder::new(t.clone(), Method::POST, "/retry")
        .json(&json!({}))
        .send_with_meta::<Value>()
        .await
        .unwrap();
    out.push(format!("{r:?}"));
    out.push(format!("{:?}", r.meta.request_id()));
    for p in ["/echo", "/echo-html", "/redirect", "/undecodable"] {
        let e = RequestBuilder::new(t.clone(), Method::GET, p)
            .send::<Typed>()
            .await
            .unwrap_err();
        out.extend(describe(&e));
    }
    for p in ["/stream", "/stream-undecodable"] {
        let mut s = RequestBuilder::new(t.clone(), Method::GET, p)
            .stream::<Typed>()
            .await
            .unwrap();
        out.push(format!("{s:?}"));
        out.push(format!("{:?}", s.meta()));
        while let Some(item) = s.next().await {
            match item {
                Ok(v) => out.push(format!("{v:?}")),
                Err(e) => out.extend(describe(&e)),
            }
        }
    }
    out.push(format!("{t:?}"));
    out.push(format!("{:?}", t.config()));
    out
}

/// Everything an error shows: `Display`, `Debug`, its details, excerpt,
/// request id and the whole chain of sources.
pub fn describe(e: &oai_transport::Error) -> Vec<String> {
    let mut out = vec![
        e.to_string(),
        format!("{e:?}"),
        format!("{:?}", e.api_error()),
        format!("{:?}", e.body_excerpt()),
        format!("{:?}", e.request_id()),
    ];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push(s.to_string());
        out.push(format!("{s:?}"));
        source = s.source();
    }
    out
}

/// Whether `text` holds `secret` or any 8-byte piece of it.
pub fn leaks(text: &str, secret: &str) -> bool {
    secret
        .as_bytes()
        .windows(8)
        .any(|w| text.as_bytes().windows(8).any(|t| t == w))
}
