//! Every log line, at TRACE level, is free of the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::hostile::*;
use support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn trace_logs_and_errors_never_contain_the_key() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    const HELICONE: &str = "hel1c0ne-s3cret-value";
    const QUERY: &str = "qu3ry-s3cret-value";
    let outputs = rt.block_on(async {
        let server = hostile_server_padded(&[KEY, HELICONE, QUERY], 190).await;
        let t = transport_with(
            builder(&format!("{}/v1", server.uri()))
                .default_header("helicone-auth", HELICONE)
                .secret_query("token", QUERY),
        );
        exercise(&t).await
    });
    let logs = capture.text();
    // The capture really saw the client's spans and events at every level.
    assert!(logs.contains("oai.request"), "{logs}");
    assert!(logs.contains("sending request"));
    assert!(logs.contains("retrying"));
    assert!(
        logs.contains("request headers"),
        "TRACE header lines are on"
    );
    assert!(
        logs.contains("authorization"),
        "the header name is logged, its value is not"
    );
    assert!(
        logs.contains("x-echo") && logs.contains("[hidden]"),
        "a header off the allow-list shows its name only"
    );
    for secret in [KEY, HELICONE, QUERY] {
        assert!(!leaks(&logs, secret), "{secret} found in logs: {logs}");
        for o in &outputs {
            assert!(!leaks(o, secret), "{secret} found in output: {o}");
        }
    }
    assert!(
        outputs.iter().any(|o| o.contains("[REDACTED]")),
        "the echoed key was redacted"
    );
}
