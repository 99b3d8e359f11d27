//! The two GenAI client metrics (feature `metrics`), recorded through the
//! `metrics` facade and read back with its debugging recorder.
#![cfg(all(feature = "metrics", feature = "chat"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use oai::chat::{Chat, Message};
use oai_mock::MockServer;

#[test]
fn a_call_records_its_duration_and_its_tokens_by_type() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The GenAI span must have a subscriber for anything to be read.
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let server = MockServer::start().await;
            server.chat().text("four words in all");
            let config = oai::Config::builder()
                .api_key(server.api_key())
                .base_url(server.base_url())
                .build()
                .unwrap();
            let client = oai::Client::new(config).unwrap();
            client
                .chat()
                .completions()
                .create(Chat::new(Message::user("hi"), "gpt-4o-mini"))
                .await
                .unwrap();
        });
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let mut seen = Vec::new();
    for (key, _, _, value) in snapshot {
        let key = key.key();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let DebugValue::Histogram(values) = value else {
            panic!("{} is not a histogram", key.name());
        };
        assert_eq!(values.len(), 1);
        assert!(
            labels.contains(&"gen_ai.operation.name=chat".to_owned()),
            "{labels:?}"
        );
        assert!(
            labels.contains(&"gen_ai.provider.name=openai".to_owned()),
            "{labels:?}"
        );
        assert!(
            labels.contains(&"gen_ai.request.model=gpt-4o-mini".to_owned()),
            "{labels:?}"
        );
        let kind = labels
            .iter()
            .find_map(|l| l.strip_prefix("gen_ai.token.type="));
        seen.push((
            key.name().to_owned(),
            kind.map(str::to_owned),
            values[0].into_inner(),
        ));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let names: Vec<(&str, Option<&str>)> = seen
        .iter()
        .map(|(n, k, _)| (n.as_str(), k.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("gen_ai.client.operation.duration", None),
            ("gen_ai.client.token.usage", Some("input")),
            ("gen_ai.client.token.usage", Some("output")),
        ]
    );
    assert!(seen.iter().all(|(_, _, v)| *v > 0.0), "{seen:?}");
}
