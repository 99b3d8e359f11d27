//! Every operation of the API called through the facade against wiremock:
//! the generated tests in `generated/` (one per operation and body kind) check
//! method, path, query, headers and body on the wire, and decode the answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generated;

mod support {
    use oai::{Client, Config};
    use serde::Serialize;
    use serde_json::Value;
    use wiremock::MockServer;

    pub fn client(server: &MockServer) -> Client {
        Client::new(
            Config::builder()
                .api_key("sk-operations")
                .base_url(format!("{}/v1", server.uri()))
                .max_retries(0)
                .build()
                .unwrap(),
        )
        .unwrap()
    }

    /// The decoded answer serializes back to the JSON the server sent.
    pub fn same_json<T: Serialize>(got: &T, sent: &Value) {
        let back = serde_json::to_value(got).unwrap();
        assert_eq!(&back, sent, "the typed answer does not round-trip");
    }
}
