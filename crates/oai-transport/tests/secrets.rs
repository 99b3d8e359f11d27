//! The key never shows in `Debug`, `Display` or errors, for random keys, even
//! when a server echoes it back. (Log capture is in `trace_capture.rs`, a
//! process of its own so no other test races the subscriber.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use oai_transport::{Config, ConfigBuilder, Transport};
use proptest::prelude::*;
use support::hostile::*;

fn keys() -> impl Strategy<Value = String> {
    "sk-[A-Za-z0-9_-]{20,80}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_keys_never_leak(key in keys()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outputs = rt.block_on(async {
            let server = hostile_server(&key).await;
            let t = Transport::new(
                Config::builder().api_key(key.clone()).base_url(format!("{}/v1", server.uri())).build().unwrap(),
            ).unwrap();
            exercise(&t).await
        });
        for o in &outputs {
            prop_assert!(!o.contains(&key), "key found in: {}", o);
        }
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
        let b = Config::builder().api_key(key.clone());
        let dbg = format!("{:?}", b);
        prop_assert!(!dbg.contains(&key));
        let c = b.build().unwrap();
        let dbg = format!("{:?}", c);
        prop_assert!(!dbg.contains(&key));
    }
}
