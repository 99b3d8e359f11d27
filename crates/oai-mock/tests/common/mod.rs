//! What the integration tests share: an authorised client and an SSE reader.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use oai_mock::MockServer;
use serde_json::Value;

/// A client that sends the mock's key on every request.
pub fn client(server: &MockServer) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {}", server.api_key());
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&value).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

pub fn url(server: &MockServer, path: &str) -> String {
    format!("{}{}", server.base_url(), path)
}

/// One server-sent event: its `event:` name (if any) and its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Splits a whole event-stream body into events.
pub fn events(body: &str) -> Vec<Event> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push(d);
                } else {
                    panic!("unexpected event-stream line {line:?}");
                }
            }
            Event {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

/// POSTs `body` as JSON and returns the response.
pub async fn post(server: &MockServer, path: &str, body: &Value) -> reqwest::Response {
    client(server)
        .post(url(server, path))
        .json(body)
        .send()
        .await
        .unwrap()
}

pub async fn get(server: &MockServer, path: &str) -> reqwest::Response {
    client(server).get(url(server, path)).send().await.unwrap()
}

/// Checks the API's error shape and returns its `error` object.
pub async fn api_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    let error = body["error"].clone();
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["type"].is_string(), "{body}");
    assert!(
        error.get("param").is_some() && error.get("code").is_some(),
        "{body}"
    );
    error
}
