//! Layers around each attempt: a header-signing layer and a cache, both
//! written as async functions with `oai::layer::from_fn`.
//!
//! ```text
//! cargo run -p oai --example layers
//! ```
//!
//! The signing layer adds an HMAC of the method, path and body under a key
//! of your gateway's (not the API key, which layers do not see); the cache
//! answers a repeated identical request from memory, so the second call
//! below reaches no server. Without `OPENAI_API_KEY` it runs against
//! `oai-mock` and counts what the server received.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use oai::chat::{Chat, Message};
use oai::layer::{AttemptRequest, Body, Next, from_fn};

/// Cached answers by method, URI and request body.
type Cache = Arc<Mutex<HashMap<(String, String, Bytes), (http::StatusCode, Bytes)>>>;

/// The most a cached answer may hold.
const CACHE_ENTRY_LIMIT: usize = 4 << 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway_key: &'static [u8] = b"the gateway's signing key";
    let sign = from_fn(move |mut req: AttemptRequest, next: Next| async move {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(gateway_key)?;
        mac.update(req.method().as_str().as_bytes());
        mac.update(req.uri().path().as_bytes());
        // A multipart upload is a stream: its signature covers no body.
        mac.update(req.body().as_bytes().unwrap_or_default());
        let signature: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        req.headers_mut()
            .insert("x-gateway-signature", signature.parse()?);
        next.run(req).await
    });

    let cache = Cache::default();
    let cached = from_fn(move |req: AttemptRequest, next: Next| {
        let cache = cache.clone();
        async move {
            let key = (
                req.method().to_string(),
                req.uri().to_string(),
                Bytes::copy_from_slice(req.body().as_bytes().unwrap_or_default()),
            );
            let hit = cache
                .lock()
                .map_err(|_| "cache poisoned")?
                .get(&key)
                .cloned();
            if let Some((status, body)) = hit {
                println!("  (cache: answered from memory)");
                return Ok(http::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Body::from(body))?);
            }
            let answer = next.run(req).await?;
            let (parts, body) = answer.into_parts();
            let body = body.collect(CACHE_ENTRY_LIMIT).await?;
            if parts.status.is_success() {
                cache
                    .lock()
                    .map_err(|_| "cache poisoned")?
                    .insert(key, (parts.status, body.clone()));
            }
            Ok(http::Response::from_parts(parts, Body::from(body)))
        }
    });

    // The signature is made above the cache, so both attempts are signed;
    // only the first reaches the server.
    let (client, mock) =
        common::client_or_mock_with(|config| config.layer(sign).layer(cached)).await?;
    let request = Chat::new(Message::user("Name a prime number."), "gpt-4o-mini");
    for round in 1..=2 {
        println!("call {round}");
        let answer = client.chat().completions().create(request.clone()).await?;
        for choice in answer.choices {
            println!("  {}", choice.message.content.unwrap_or_default());
        }
    }
    if let Some(mock) = mock {
        let received = mock.requests();
        println!("the server received {} request(s)", received.len());
        let signed = received
            .iter()
            .all(|r| r.header("x-gateway-signature").is_some());
        println!("every request it received was signed: {signed}");
        if received.len() != 1 || !signed {
            return Err("the cache or the signing layer did not work".into());
        }
    }
    Ok(())
}
