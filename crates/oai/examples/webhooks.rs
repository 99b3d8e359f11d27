//! Verifying and decoding webhooks, with no network: the example signs sample
//! deliveries itself, as OpenAI would, then checks them the way an endpoint does.
//!
//! Uses `OPENAI_WEBHOOK_SECRET` when it is set, else a demo secret.
//!
//! ```sh
//! cargo run -p oai --example webhooks --features webhooks
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use oai::transport::http::{HeaderMap, HeaderValue};
use oai::webhooks::{ReplayGuard, WebhookEvent, WebhookVerifier};

/// A demo secret in OpenAI's format (`whsec_` + base64 of the key).
const DEMO_SECRET: &str = "whsec_ZGVtby1rZXktZm9yLXRoZS1vYWktd2ViaG9va3MtZXhhbXBsZQ==";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let verifier = if std::env::var_os("OPENAI_WEBHOOK_SECRET").is_some() {
        println!("Webhooks demo (no network): signing and verifying with OPENAI_WEBHOOK_SECRET.");
        WebhookVerifier::from_env()?
    } else {
        println!(
            "Webhooks demo (no network): OPENAI_WEBHOOK_SECRET is not set, using a demo secret."
        );
        WebhookVerifier::new(DEMO_SECRET)?
    }
    // Opt-in: refuse a second delivery of the same `webhook-id`.
    .with_replay_guard(ReplayGuard::new(1_000));
    println!("verifier: {verifier:?}");

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let body = br#"{"id":"evt_685343a1381c819085d44c354e1b330e","type":"response.completed","created_at":1750287018,"data":{"id":"resp_abc123"}}"#;

    // 1. A genuine delivery: verified, then decoded into a typed event.
    let headers = delivery(&verifier, "wh_demo_1", now, body)?;
    match verifier.verify_event(&headers, body)? {
        WebhookEvent::ResponseCompleted(event) => println!(
            "accepted: response.completed for response {} (event {})",
            event.data.id, event.id
        ),
        other => println!("accepted: {:?}", other.tag()),
    }

    // 2. The same delivery again: the replay guard refuses it.
    let error = verifier
        .verify_event(&headers, body)
        .err()
        .ok_or("a replay was accepted")?;
    println!("rejected (replay): {error}");

    // 3. A body changed on the way.
    let headers = delivery(&verifier, "wh_demo_2", now, body)?;
    let tampered = String::from_utf8_lossy(body).replace("resp_abc123", "resp_evil");
    let error = verifier
        .verify_event(&headers, tampered.as_bytes())
        .err()
        .ok_or("a tampered body was accepted")?;
    println!("rejected (tampered body): {error}");

    // 4. A delivery signed an hour ago.
    let headers = delivery(&verifier, "wh_demo_3", now - 3600, body)?;
    let error = verifier
        .verify_event(&headers, body)
        .err()
        .ok_or("a stale delivery was accepted")?;
    println!("rejected (stale): {error}");

    // 5. Signed with another secret.
    let stranger = WebhookVerifier::new("whsec_c29tZWJvZHkgZWxzZQ==")?;
    let headers = delivery(&stranger, "wh_demo_4", now, body)?;
    let error = verifier
        .verify_event(&headers, body)
        .err()
        .ok_or("a stranger's delivery was accepted")?;
    println!("rejected (other secret): {error}");

    // 6. An event type this version does not know is kept whole.
    let newer = br#"{"id":"evt_1","type":"video.completed","created_at":1750287018,"data":{"id":"video_1"}}"#;
    let headers = delivery(&verifier, "wh_demo_5", now, newer)?;
    let event = verifier.verify_event(&headers, newer)?;
    println!(
        "accepted: {:?}, kept as raw JSON: {}",
        event.tag(),
        event.as_unknown().is_some()
    );
    Ok(())
}

/// The headers OpenAI would send with `body`.
fn delivery(
    signer: &WebhookVerifier,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<HeaderMap, Box<dyn std::error::Error>> {
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", HeaderValue::from_str(id)?);
    headers.insert(
        "webhook-timestamp",
        HeaderValue::from_str(&timestamp.to_string())?,
    );
    headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&signer.sign(id, timestamp, body))?,
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    Ok(headers)
}
