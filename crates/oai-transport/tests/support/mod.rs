//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod hostile;
pub mod rawserver;

use std::time::Duration;

use oai_transport::{Config, ConfigBuilder, Transport};
use wiremock::MockServer;

pub const KEY: &str = "sk-test-0123456789abcdefSECRET";

pub fn builder(base: &str) -> ConfigBuilder {
    Config::builder().api_key(KEY).base_url(base).max_retries(2)
}

pub fn transport_with(b: ConfigBuilder) -> Transport {
    Transport::new(b.build().expect("config")).expect("transport")
}

pub fn transport(server: &MockServer) -> Transport {
    transport_with(builder(&format!("{}/v1", server.uri())))
}

pub async fn hits(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map(|r| r.len())
        .unwrap_or(0)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
