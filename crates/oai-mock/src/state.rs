//! What the server remembers: recorded requests, queued scripts, files, batches.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

use crate::{ReceivedRequest, ToolCall};

/// One scripted reply.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Text(String),
    ToolCalls(Vec<ToolCall>),
    Json(serde_json::Value),
    Refusal(String),
    Error {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    Body {
        status: u16,
        body: serde_json::Value,
    },
    CutStream(usize),
    Stall(Duration),
}

/// A cassette being served.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub(crate) cassette: oai_cassette::Replay,
    /// Requests no exchange matched, as the error each got said.
    pub(crate) unmatched: Vec<String>,
}

/// What a request takes from its endpoint's queue.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    /// The total of the stalls queued before the reply.
    pub(crate) stall: Option<Duration>,
    /// The reply, or `None` for the default answer.
    pub(crate) reply: Option<Reply>,
}

/// The queue key of an endpoint: `"METHOD /v1/path"`.
pub(crate) fn script_key(method: &str, path: &str) -> String {
    let method = method.trim().to_ascii_uppercase();
    let path = path.trim();
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path == "/v1" || path.starts_with("/v1/") {
        format!("{method} {path}")
    } else if path.starts_with('/') {
        format!("{method} /v1{path}")
    } else {
        format!("{method} /v1/{path}")
    }
}

/// A file of the in-memory store.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) purpose: String,
    pub(crate) created_at: u64,
    pub(crate) content: Bytes,
}

/// A batch and how far its lifecycle went.
#[derive(Debug, Clone)]
pub(crate) struct StoredBatch {
    /// The batch object as last answered.
    pub(crate) object: serde_json::Value,
    /// The input file's content when the batch was made.
    pub(crate) input: Bytes,
    /// How many times it was retrieved.
    pub(crate) retrievals: u32,
}

/// An Upload (the Uploads API) and the parts it has received.
#[derive(Debug, Clone)]
pub(crate) struct StoredUpload {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) purpose: String,
    /// The size announced at creation.
    pub(crate) bytes: u64,
    pub(crate) created_at: u64,
    /// `pending`, `completed` or `cancelled`.
    pub(crate) status: &'static str,
    /// Parts by id, in the order received.
    pub(crate) parts: Vec<(String, Bytes)>,
    /// The file made by completing it.
    pub(crate) file_id: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// A cassette answering every request, when one was given.
    pub(crate) replay: Option<Replay>,
    pub(crate) requests: Vec<ReceivedRequest>,
    pub(crate) scripts: HashMap<String, VecDeque<Reply>>,
    pub(crate) files: Vec<StoredFile>,
    pub(crate) batches: Vec<StoredBatch>,
    pub(crate) uploads: Vec<StoredUpload>,
}

/// The state shared by the handles and the server task.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
    ids: AtomicU64,
    request_ids: AtomicU64,
    tool_call_ids: AtomicU64,
}

impl Shared {
    /// The state, even after a panic elsewhere poisoned the lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A number unique in this server, for ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The number of the next request (`x-request-id: req_mock_<n>`).
    pub(crate) fn next_request_number(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The number of the next tool call without an id of its own.
    pub(crate) fn next_tool_call_number(&self) -> u64 {
        self.tool_call_ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.clone()
    }

    pub(crate) fn record(&self, request: ReceivedRequest) {
        self.lock().requests.push(request);
    }

    pub(crate) fn reset(&self) {
        let mut state = self.lock();
        state.requests.clear();
        state.scripts.clear();
    }

    pub(crate) fn push_script(&self, key: String, reply: Reply) {
        self.lock().scripts.entry(key).or_default().push_back(reply);
    }

    /// Takes the next reply for `key`: stalls queued in front of it add up;
    /// a cut stream only goes to a streamed request (others pass over it).
    pub(crate) fn take_script(&self, key: &str, streamed: bool) -> Taken {
        let mut state = self.lock();
        let mut taken = Taken::default();
        let Some(queue) = state.scripts.get_mut(key) else {
            return taken;
        };
        loop {
            let position = queue
                .iter()
                .position(|reply| streamed || !matches!(reply, Reply::CutStream(_)));
            let Some(reply) = position.and_then(|i| queue.remove(i)) else {
                break;
            };
            if let Reply::Stall(delay) = reply {
                taken.stall = Some(taken.stall.unwrap_or_default().saturating_add(delay));
                continue;
            }
            taken.reply = Some(reply);
            break;
        }
        if queue.is_empty() {
            state.scripts.remove(key);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised() {
        assert_eq!(
            script_key("post", "/v1/chat/completions"),
            "POST /v1/chat/completions"
        );
        assert_eq!(script_key("GET", "/models"), "GET /v1/models");
        assert_eq!(script_key("GET", "models?x=1"), "GET /v1/models");
        assert_eq!(script_key("GET", "/v1"), "GET /v1");
    }

    #[test]
    fn stalls_join_the_next_reply_and_cuts_wait_for_a_stream() {
        let shared = Shared::default();
        let key = script_key("POST", "/v1/chat/completions");
        shared.push_script(key.clone(), Reply::CutStream(2));
        shared.push_script(key.clone(), Reply::Stall(Duration::from_millis(5)));
        shared.push_script(key.clone(), Reply::Text("a".into()));
        let first = shared.take_script(&key, false);
        assert_eq!(first.stall, Some(Duration::from_millis(5)));
        assert!(matches!(first.reply, Some(Reply::Text(ref t)) if t == "a"));
        let none = shared.take_script(&key, false);
        assert!(none.reply.is_none() && none.stall.is_none());
        let cut = shared.take_script(&key, true);
        assert!(matches!(cut.reply, Some(Reply::CutStream(2))));
        assert!(shared.lock().scripts.is_empty());
    }
}
