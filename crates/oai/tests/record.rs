//! Record and replay: a session recorded once replays offline, streams
//! included, fails clearly on an unrecorded request, and the cassette never
//! holds a secret, whichever channel the server echoes it through.
#![cfg(all(feature = "record", feature = "chat", feature = "models"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use futures_util::StreamExt;
use oai::chat::{Chat, Message};
use oai::record::Recorder;
use oai_cassette::Cassette;
use oai_mock::MockServer;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn cassette_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oai-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn client(base: &str, key: &str, recorder: Option<Recorder>) -> oai::Client {
    let mut config = oai::Config::builder()
        .api_key(key)
        .base_url(base)
        .max_retries(0);
    if let Some(r) = recorder {
        config = config.layer(r);
    }
    oai::Client::new(config.build().unwrap()).unwrap()
}

fn chat(text: &str) -> Chat {
    Chat::new(Message::user(text), "gpt-4o-mini")
}

/// What one session does: a plain call, a stream read to its end, a list,
/// and a call the server refuses. Returns what the client saw of each.
async fn session(client: &oai::Client) -> Vec<String> {
    let mut seen = Vec::new();
    let answer = client
        .chat()
        .completions()
        .create(chat("plain"))
        .await
        .unwrap();
    seen.push(
        answer.choices[0]
            .message
            .content
            .clone()
            .unwrap_or_default(),
    );
    let mut stream = client
        .chat()
        .completions()
        .create(chat("streamed"))
        .stream()
        .await
        .unwrap();
    let mut text = String::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        for choice in chunk.unwrap().choices {
            text.push_str(&choice.delta.content.unwrap_or_default());
        }
        chunks += 1;
    }
    seen.push(format!("{chunks} chunks: {text}"));
    let models = client.models().list().await.unwrap();
    seen.push(format!("{} models", models.data.len()));
    let refused = client
        .chat()
        .completions()
        .create(chat("refused"))
        .await
        .unwrap_err();
    seen.push(format!("{:?} {:?}", refused.kind(), refused.status()));
    seen
}

#[tokio::test]
async fn a_recorded_session_replays_offline_streams_included() {
    let path = cassette_path("session.jsonl");
    let recorded = {
        let live = MockServer::start().await;
        live.chat().text("the plain answer");
        live.chat().text("a streamed answer in words");
        live.chat().error(400, "this one is refused");
        let client = client(
            &live.base_url(),
            live.api_key(),
            Some(Recorder::create(&path).unwrap()),
        );
        session(&client).await
        // The live server stops here.
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let cassette = Cassette::parse(&text).unwrap();
    assert_eq!(cassette.exchanges().len(), 4, "{text}");
    let streamed = &cassette.exchanges()[1].response;
    let events = streamed
        .events
        .as_ref()
        .expect("the stream is kept event by event");
    assert!(events.len() > 3 && streamed.complete);
    assert_eq!(events.last().unwrap().data, "[DONE]");

    // Replayed by a server that knows nothing but the cassette, with
    // another key: the same answers, chunk for chunk.
    let offline = MockServer::start().await;
    offline.replay(cassette);
    let client = client(&offline.base_url(), "sk-another-key", None);
    let replayed = session(&client).await;
    assert_eq!(replayed, recorded);
    assert!(offline.unmatched().is_empty());

    // A request the cassette does not hold is a clear error naming the
    // closest recorded one.
    let e = client
        .chat()
        .completions()
        .create(chat("never recorded"))
        .await
        .unwrap_err();
    let message = e.to_string();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{message}");
    assert!(
        message.contains("no recorded exchange for POST /v1/chat/completions"),
        "{message}"
    );
    assert!(
        message.contains("differs in the body at $.messages[0].content"),
        "{message}"
    );
    assert_eq!(offline.unmatched().len(), 1);
}

#[tokio::test]
async fn append_answers_what_the_cassette_holds_and_records_what_is_new() {
    let path = cassette_path("append.jsonl");
    let live = MockServer::start().await;
    live.chat().text("first");
    let c = client(
        &live.base_url(),
        live.api_key(),
        Some(Recorder::create(&path).unwrap()),
    );
    c.chat().completions().create(chat("one")).await.unwrap();
    drop(c);

    live.chat().text("second");
    let before = live.requests().len();
    let c = client(
        &live.base_url(),
        live.api_key(),
        Some(Recorder::append(&path).unwrap()),
    );
    let again = c.chat().completions().create(chat("one")).await.unwrap();
    assert_eq!(again.choices[0].message.content.as_deref(), Some("first"));
    assert_eq!(
        live.requests().len(),
        before,
        "a recorded request reaches no server"
    );
    let new = c.chat().completions().create(chat("two")).await.unwrap();
    assert_eq!(new.choices[0].message.content.as_deref(), Some("second"));
    assert_eq!(live.requests().len(), before + 1);
    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(cassette.exchanges().len(), 2);
}

#[tokio::test]
async fn a_stream_cut_by_the_server_replays_cut() {
    let path = cassette_path("cut.jsonl");
    let read = |c: oai::Client| async move {
        let mut stream = c
            .chat()
            .completions()
            .create(chat("cut"))
            .stream()
            .await
            .unwrap();
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item.map(|c| c.choices.len()).map_err(|e| e.kind()));
        }
        items
    };
    let live = MockServer::start().await;
    live.chat().cut_stream_after(2);
    let recorded = read(client(
        &live.base_url(),
        live.api_key(),
        Some(Recorder::create(&path).unwrap()),
    ))
    .await;
    assert!(recorded.last().is_some_and(Result::is_err), "{recorded:?}");
    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(
        cassette.exchanges()[0]
            .response
            .events
            .as_ref()
            .map(Vec::len),
        Some(2)
    );

    let offline = MockServer::start().await;
    offline.replay(cassette);
    let replayed = read(client(&offline.base_url(), "sk-x", None)).await;
    assert_eq!(
        replayed, recorded,
        "a cut recording replays as the same cut stream"
    );
}

#[tokio::test]
async fn a_stream_left_before_its_end_is_recorded_as_incomplete() {
    let path = cassette_path("left.jsonl");
    let live = MockServer::start().await;
    // Words trickle in one event per network write, so the client can stop
    // before the end has arrived.
    live.chat().stall(std::time::Duration::from_millis(300));
    let c = client(
        &live.base_url(),
        live.api_key(),
        Some(Recorder::create(&path).unwrap()),
    );
    let mut stream = c
        .chat()
        .completions()
        .create(chat("left"))
        .stream()
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    drop(c);
    let cassette = Cassette::load(&path).unwrap();
    let response = &cassette.exchanges()[0].response;
    assert!(!response.complete, "{response:?}");
    assert_ne!(
        response
            .events
            .as_ref()
            .and_then(|e| e.last())
            .map(|e| e.data.as_str()),
        Some("[DONE]")
    );
}

const KEY: &str = "sk-proj-RECORDERsecret0123456789abcdefXYZ";
const ORG: &str = "org-SECRETorganization42";
const PROJECT: &str = "proj_SECRETproject77";

#[tokio::test]
async fn no_secret_reaches_the_cassette_whatever_the_server_echoes() {
    let server = wiremock::MockServer::start().await;
    let masked = format!("{}****{}", &KEY[..8], &KEY[KEY.len() - 4..]);
    // The key, the org and the project, in every channel the recorder
    // writes: a kept header, the JSON body, an error message, stream events
    // and event names.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("x-request-id", format!("req_{KEY}").as_str())
                .insert_header("openai-organization", ORG)
                .set_body_json(json!({"error": {
                    "message": format!("Incorrect API key provided: {masked}; full {KEY} for {ORG}/{PROJECT}"),
                    "type": "invalid_request_error",
                    "code": "invalid_api_key"
                }})),
        )
        .mount(&server)
        .await;
    let events = format!(
        "event: {KEY}\ndata: {{\"echo\":\"{KEY}\",\"org\":\"{ORG}\"}}\n\ndata: {{\"project\":\"{PROJECT}\"}}\n\ndata: [DONE]\n\n"
    );
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_raw(events, "text/event-stream"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
        )
        .mount(&server)
        .await;
    let cassette = cassette_path("secrets.jsonl");
    let recorder = Recorder::create(&cassette)
        .unwrap()
        .keep_header("openai-organization");
    let config = oai::Config::builder()
        .api_key(KEY)
        .organization(ORG)
        .project(PROJECT)
        .base_url(format!("{}/v1", server.uri()))
        .max_retries(0)
        .layer(recorder)
        .build()
        .unwrap();
    let client = oai::Client::new(config).unwrap();
    // The key in the request body too (a user pasted it in a prompt).
    let e = client
        .chat()
        .completions()
        .create(chat(&format!("my key is {KEY}")))
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    let mut raw = client
        .post("/responses")
        .json(&json!({"model": "m", "input": "x", "stream": true}))
        .stream::<Value>()
        .await
        .unwrap();
    while raw.next().await.is_some() {}
    drop(raw);
    // And in a query (as some gateways take it).
    let _: Value = client
        .get("/models")
        .query("api-key", KEY)
        .send()
        .await
        .unwrap();
    drop(client);

    let text = std::fs::read_to_string(&cassette).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    for secret in [KEY, ORG, PROJECT, &KEY[8..20], &KEY[KEY.len() - 12..]] {
        assert!(
            !text.contains(secret),
            "{secret:?} is in the cassette:\n{text}"
        );
    }
    assert!(text.contains("[REDACTED]"), "{text}");
    // Request headers are never written, the kept ones are scrubbed.
    assert!(
        !text.to_ascii_lowercase().contains("authorization"),
        "{text}"
    );
    assert!(text.contains("openai-organization"), "{text}");
}

#[tokio::test]
async fn a_secret_added_after_the_recorder_is_shared_is_still_scrubbed() {
    let path = cassette_path("late.jsonl");
    let live = MockServer::start().await;
    live.chat().text("the code word is PINEAPPLE-SECRET-42");
    let recorder = Recorder::create(&path).unwrap();
    let c = client(&live.base_url(), live.api_key(), Some(recorder.clone()));
    let _ = recorder.scrub("PINEAPPLE-SECRET-42");
    c.chat().completions().create(chat("x")).await.unwrap();
    drop(c);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("the code word is"), "{text}");
    assert!(!text.contains("PINEAPPLE-SECRET-42"), "{text}");
}

/// Every recorded chat stream of a real server in the wire corpus goes
/// through the recorder and comes back from the cassette event for event.
#[tokio::test]
async fn recorded_streams_of_real_servers_replay_event_for_event() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|d| std::fs::read_dir(d.ok()?.path()).ok())
        .flatten()
        .filter_map(|f| Some(f.ok()?.path()))
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("chat-stream--"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{}", files.len());
    let read = |client: oai::Client| async move {
        let mut out = Vec::new();
        match client
            .post("/chat/completions")
            .json(&json!({"model": "m", "messages": [], "stream": true}))
            .stream::<Value>()
            .await
        {
            Err(e) => out.push(Err(e.kind())),
            Ok(mut s) => {
                while let Some(item) = s.next().await {
                    out.push(item.map_err(|e| e.kind()));
                }
            }
        }
        out
    };
    for (n, file) in files.iter().enumerate() {
        let sse = std::fs::read_to_string(file).unwrap();
        let server = wiremock::MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
            .mount(&server)
            .await;
        let path = cassette_path(&format!("real-{n}.jsonl"));
        let base = format!("{}/v1", server.uri());
        let recorded = read(client(
            &base,
            "sk-real",
            Some(Recorder::create(&path).unwrap()),
        ))
        .await;
        drop(server);
        let offline = MockServer::start().await;
        offline.replay(Cassette::load(&path).unwrap());
        let replayed = read(client(&offline.base_url(), "sk-real", None)).await;
        assert_eq!(replayed, recorded, "{}", file.display());
        assert!(offline.unmatched().is_empty());
    }
}
