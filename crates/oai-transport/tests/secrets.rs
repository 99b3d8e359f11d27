//! The key never shows in `Debug`, `Display` or errors, for random keys, even
//! when a server echoes it back through every channel it has, at any position
//! relative to the client's cut points. (Log capture is in `trace_capture.rs`,
//! a process of its own so no other test races the subscriber.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use oai_transport::{Config, ConfigBuilder, Transport};
use proptest::prelude::*;
use support::hostile::*;

fn keys() -> impl Strategy<Value = String> {
    "sk-[A-Za-z0-9_-]{20,80}"
}

/// Paddings that put the echoed key across each cut: none, the 200-character
/// excerpts, the 256-byte fields and header values, the 1 KiB source text,
/// the 4 KiB message.
fn pads() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..8, 120usize..260, 940usize..1030, 4000usize..4100]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_keys_never_leak(key in keys(), helicone in "[A-Za-z0-9]{16,40}",
                              query in "[A-Za-z0-9]{16,40}", pad in pads()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outputs = rt.block_on(async {
            let server = hostile_server_padded(&[&key, &helicone, &query], pad).await;
            let t = Transport::new(
                Config::builder()
                    .api_key(key.clone())
                    .default_header("helicone-auth", &format!("Bearer {helicone}"))
                    .secret_query("gateway", query.clone())
                    .base_url(format!("{}/v1", server.uri()))
                    .build()
                    .unwrap(),
            ).unwrap();
            exercise(&t).await
        });
        for o in &outputs {
            prop_assert!(!leaks(o, &key), "key found in: {}", o);
            prop_assert!(!leaks(o, &helicone), "helicone-auth found in: {}", o);
            prop_assert!(!leaks(o, &query), "secret query value found in: {}", o);
        }
        // The echoes were seen and scrubbed, not lost on the way.
        prop_assert!(outputs.iter().any(|o| o.contains("[REDACTED]")));
    }

    #[test]
    fn config_errors_and_debug_never_contain_the_key(key in keys(), junk in "[ \t\n\u{1}\u{7f}é]") {
        // a key with a bad character: the error names the variable, not the key
        let bad = format!("{key}{junk}{key}");
        let lookup = |name: &str| (name == "OPENAI_API_KEY").then(|| bad.clone());
        let err = ConfigBuilder::from_env_with(lookup).build().unwrap_err();
        prop_assert!(err.is_config());
        prop_assert!(err.to_string().contains("OPENAI_API_KEY"));
        prop_assert!(!err.to_string().contains(&key));
        let dbg = format!("{:?}", err);
        prop_assert!(!dbg.contains(&key));
        let b = Config::builder()
            .api_key(key.clone())
            .default_header("x-portkey-api-key", &key)
            .default_header("helicone-auth", &key)
            .secret_header("x-custom", &key)
            .default_query("api_key", key.clone())
            .secret_query("sig", key.clone());
        let dbg = format!("{:?}", b);
        prop_assert!(!leaks(&dbg, &key));
        let c = b.build().unwrap();
        let dbg = format!("{:?}", c);
        prop_assert!(!leaks(&dbg, &key), "{}", dbg);
        let dbg = format!("{:?}", Transport::new(c).unwrap());
        prop_assert!(!leaks(&dbg, &key), "{}", dbg);
    }
}

/// A request id that is not a plausible id is not kept: not in the error, not
/// in the metadata.
#[tokio::test]
async fn implausible_request_ids_are_dropped() {
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    for (p, id) in [
        ("/v1/a", "req_7Hq2ZxWmPk"),
        ("/v1/b", "id with spaces"),
        ("/v1/c", "line\u{1b}[31m"),
        ("/v1/d", support::KEY),
    ] {
        Mock::given(path(p))
            .respond_with(
                ResponseTemplate::new(400)
                    .insert_header("x-request-id", id.replace('\u{1b}', "%1b").as_str())
                    .set_body_json(serde_json::json!({"error": {"message": "no"}})),
            )
            .mount(&server)
            .await;
    }
    Mock::given(path("/v1/e"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-request-id", "r".repeat(129).as_str())
                .set_body_json(serde_json::json!({"error": {"message": "no"}})),
        )
        .mount(&server)
        .await;
    let t = support::transport(&server);
    let id = |p: &'static str| {
        let t = t.clone();
        async move {
            oai_transport::RequestBuilder::new(t, http::Method::GET, p)
                .send::<serde_json::Value>()
                .await
                .unwrap_err()
                .request_id()
                .map(str::to_owned)
        }
    };
    assert_eq!(id("/a").await.as_deref(), Some("req_7Hq2ZxWmPk"));
    assert_eq!(id("/b").await, None);
    assert_eq!(id("/c").await, None);
    assert_eq!(id("/d").await, None, "the key is never a request id");
    assert_eq!(id("/e").await, None, "129 characters is too long");
}
