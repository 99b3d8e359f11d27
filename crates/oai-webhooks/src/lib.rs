//! Webhooks: check that a delivery was signed with your endpoint's secret, then
//! read it as a typed [`WebhookEvent`].
//!
//! OpenAI signs webhooks with the [Standard Webhooks] scheme. Each delivery
//! carries three headers:
//!
//! - `webhook-id`: the delivery's id (a retry of the same delivery keeps it);
//! - `webhook-timestamp`: when it was signed, in whole seconds since the Unix epoch;
//! - `webhook-signature`: space-separated `v1,<base64>` entries, each an
//!   HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret. One matching
//!   entry is enough; entries of other versions are ignored.
//!
//! [`WebhookVerifier`] checks them the way the official SDKs do (their
//! `webhooks.unwrap()` and `webhooks.verify_signature()`): the timestamp must be
//! within a tolerance (300 s by default) of now, in both directions, and one
//! signature must match, compared in constant time. On top of that, an opt-in
//! [`ReplayGuard`] remembers the ids it has accepted and refuses a second
//! delivery of one within the tolerance window.
//!
//! ```no_run
//! use http::HeaderMap;
//! use oai_webhooks::{WebhookError, WebhookEvent, WebhookVerifier};
//!
//! // Once, at start-up: reads OPENAI_WEBHOOK_SECRET (`whsec_...`).
//! let verifier = WebhookVerifier::from_env()?;
//!
//! // For each request your web framework hands you (raw body bytes, not re-serialized JSON):
//! fn handle(verifier: &WebhookVerifier, headers: &HeaderMap, body: &[u8]) -> u16 {
//!     match verifier.verify_event(headers, body) {
//!         Ok(WebhookEvent::ResponseCompleted(event)) => {
//!             println!("response {} completed", event.data.id);
//!             200
//!         }
//!         Ok(other) => {
//!             println!("ignoring {:?}", other.tag());
//!             200
//!         }
//!         Err(error) => {
//!             eprintln!("rejected webhook: {error}");
//!             400
//!         }
//!     }
//! }
//! # let _ = handle;
//! # Ok::<(), WebhookError>(())
//! ```
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use oai_types::{
    WebhookBatchCancelled, WebhookBatchCompleted, WebhookBatchExpired, WebhookBatchFailed,
    WebhookEvalRunCanceled, WebhookEvalRunFailed, WebhookEvalRunSucceeded,
    WebhookFineTuningJobCancelled, WebhookFineTuningJobFailed, WebhookFineTuningJobSucceeded,
    WebhookLiveCallIncoming, WebhookRealtimeCallIncoming, WebhookResponseCancelled,
    WebhookResponseCompleted, WebhookResponseFailed, WebhookResponseIncomplete,
};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;

/// The environment variable [`WebhookVerifier::from_env`] reads.
pub const ENV_WEBHOOK_SECRET: &str = "OPENAI_WEBHOOK_SECRET";

/// The header carrying the delivery id.
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the signing time (whole seconds since the Unix epoch).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The default tolerance between the signing time and now: 300 s, as the official SDKs.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The prefix of the secrets OpenAI hands out; the rest is base64.
const SECRET_PREFIX: &str = "whsec_";

/// Bytes of an HMAC-SHA256 signature.
const SIGNATURE_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

oai_types::tagged_union! {
    /// A webhook event, by its `type`. Events of a type this version does not
    /// know are kept whole in `Unknown`.
    ///
    /// `tag()` gives the `type`; [`WebhookEvent::id`] and
    /// [`WebhookEvent::created_at`] read the fields every event has.
    pub enum WebhookEvent tag "type" {
        /// `batch.cancelled`.
        BatchCancelled(WebhookBatchCancelled) = "batch.cancelled",
        /// `batch.completed`.
        BatchCompleted(WebhookBatchCompleted) = "batch.completed",
        /// `batch.expired`.
        BatchExpired(WebhookBatchExpired) = "batch.expired",
        /// `batch.failed`.
        BatchFailed(WebhookBatchFailed) = "batch.failed",
        /// `eval.run.canceled`.
        EvalRunCanceled(WebhookEvalRunCanceled) = "eval.run.canceled",
        /// `eval.run.failed`.
        EvalRunFailed(WebhookEvalRunFailed) = "eval.run.failed",
        /// `eval.run.succeeded`.
        EvalRunSucceeded(WebhookEvalRunSucceeded) = "eval.run.succeeded",
        /// `fine_tuning.job.cancelled`.
        FineTuningJobCancelled(WebhookFineTuningJobCancelled) = "fine_tuning.job.cancelled",
        /// `fine_tuning.job.failed`.
        FineTuningJobFailed(WebhookFineTuningJobFailed) = "fine_tuning.job.failed",
        /// `fine_tuning.job.succeeded`.
        FineTuningJobSucceeded(WebhookFineTuningJobSucceeded) = "fine_tuning.job.succeeded",
        /// `live.call.incoming`.
        LiveCallIncoming(WebhookLiveCallIncoming) = "live.call.incoming",
        /// `realtime.call.incoming`.
        RealtimeCallIncoming(WebhookRealtimeCallIncoming) = "realtime.call.incoming",
        /// `response.cancelled`.
        ResponseCancelled(WebhookResponseCancelled) = "response.cancelled",
        /// `response.completed`.
        ResponseCompleted(WebhookResponseCompleted) = "response.completed",
        /// `response.failed`.
        ResponseFailed(WebhookResponseFailed) = "response.failed",
        /// `response.incomplete`.
        ResponseIncomplete(WebhookResponseIncomplete) = "response.incomplete",
    }
}

impl WebhookEvent {
    /// Reads an event from JSON **without checking any signature**: for bodies
    /// that were verified elsewhere, and for tests. Use
    /// [`WebhookVerifier::verify_event`] for deliveries.
    ///
    /// # Errors
    /// [`WebhookError::InvalidBody`] when the body is not JSON, has no string
    /// `type`, or does not fit the type's schema.
    pub fn from_json(body: &[u8]) -> std::result::Result<Self, WebhookError> {
        serde_json::from_slice(body).map_err(WebhookError::InvalidBody)
    }

    /// The event's `id` (`evt_...`; not the `webhook-id` header). `None` only for
    /// an `Unknown` event without a string `id`.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::BatchCancelled(e) => Some(&e.id),
            Self::BatchCompleted(e) => Some(&e.id),
            Self::BatchExpired(e) => Some(&e.id),
            Self::BatchFailed(e) => Some(&e.id),
            Self::EvalRunCanceled(e) => Some(&e.id),
            Self::EvalRunFailed(e) => Some(&e.id),
            Self::EvalRunSucceeded(e) => Some(&e.id),
            Self::FineTuningJobCancelled(e) => Some(&e.id),
            Self::FineTuningJobFailed(e) => Some(&e.id),
            Self::FineTuningJobSucceeded(e) => Some(&e.id),
            Self::LiveCallIncoming(e) => Some(&e.id),
            Self::RealtimeCallIncoming(e) => Some(&e.id),
            Self::ResponseCancelled(e) => Some(&e.id),
            Self::ResponseCompleted(e) => Some(&e.id),
            Self::ResponseFailed(e) => Some(&e.id),
            Self::ResponseIncomplete(e) => Some(&e.id),
            Self::Unknown(value) => value.get("id").and_then(|v| v.as_str()),
        }
    }

    /// The event's `created_at` (seconds since the Unix epoch). `None` only for
    /// an `Unknown` event without an integer `created_at`.
    pub fn created_at(&self) -> Option<i64> {
        match self {
            Self::BatchCancelled(e) => Some(e.created_at),
            Self::BatchCompleted(e) => Some(e.created_at),
            Self::BatchExpired(e) => Some(e.created_at),
            Self::BatchFailed(e) => Some(e.created_at),
            Self::EvalRunCanceled(e) => Some(e.created_at),
            Self::EvalRunFailed(e) => Some(e.created_at),
            Self::EvalRunSucceeded(e) => Some(e.created_at),
            Self::FineTuningJobCancelled(e) => Some(e.created_at),
            Self::FineTuningJobFailed(e) => Some(e.created_at),
            Self::FineTuningJobSucceeded(e) => Some(e.created_at),
            Self::LiveCallIncoming(e) => Some(e.created_at),
            Self::RealtimeCallIncoming(e) => Some(e.created_at),
            Self::ResponseCancelled(e) => Some(e.created_at),
            Self::ResponseCompleted(e) => Some(e.created_at),
            Self::ResponseFailed(e) => Some(e.created_at),
            Self::ResponseIncomplete(e) => Some(e.created_at),
            Self::Unknown(value) => value.get("created_at").and_then(|v| v.as_i64()),
        }
    }
}

/// Why a webhook delivery was refused. Messages never contain the secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent.
    MissingHeader {
        /// The header's name (`webhook-id`, `webhook-timestamp` or `webhook-signature`).
        name: &'static str,
    },
    /// A header is present but unusable.
    MalformedHeader {
        /// The header's name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `webhook-timestamp` is not a whole number of seconds (ASCII digits only).
    InvalidTimestamp,
    /// The delivery was signed longer ago than the tolerance allows.
    TimestampTooOld {
        /// How long ago it was signed (whole seconds).
        age: Duration,
        /// The tolerance in force.
        tolerance: Duration,
    },
    /// The delivery claims to be signed further in the future than the tolerance allows.
    TimestampTooNew {
        /// How far ahead of now its timestamp is (whole seconds).
        ahead: Duration,
        /// The tolerance in force.
        tolerance: Duration,
    },
    /// No `v1` signature matches: another secret signed it, or the id,
    /// timestamp or body were changed on the way.
    NoMatchingSignature,
    /// The [`ReplayGuard`] has already accepted a delivery with this `webhook-id`.
    Replayed {
        /// The `webhook-id` seen twice.
        id: String,
    },
    /// The [`ReplayGuard`] is full of ids still inside the tolerance window; the
    /// delivery is refused rather than forgetting one of them.
    ReplayGuardFull {
        /// The guard's capacity.
        capacity: usize,
    },
    /// The (verified) body is not a webhook event: not JSON, no string `type`,
    /// or a known `type` whose fields do not fit its schema.
    InvalidBody(serde_json::Error),
    /// The signing secret cannot be used (empty, malformed `whsec_` value,
    /// missing variable). The message names what is wrong, never the secret.
    InvalidSecret(String),
}

impl WebhookError {
    /// Whether this is a second delivery of an id the replay guard accepted
    /// before. A duplicate of a delivery you handled can be acknowledged (2xx)
    /// without handling it again.
    pub fn is_replay(&self) -> bool {
        matches!(self, Self::Replayed { .. })
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader { name } => write!(f, "webhook header `{name}` is missing"),
            Self::MalformedHeader { name, reason } => {
                write!(f, "webhook header `{name}` is malformed: {reason}")
            }
            Self::InvalidTimestamp => write!(
                f,
                "webhook header `{HEADER_TIMESTAMP}` is not a whole number of seconds since the Unix epoch"
            ),
            Self::TimestampTooOld { age, tolerance } => write!(
                f,
                "webhook timestamp is {} s old, more than the tolerance of {} s",
                age.as_secs(),
                tolerance.as_secs()
            ),
            Self::TimestampTooNew { ahead, tolerance } => write!(
                f,
                "webhook timestamp is {} s in the future, more than the tolerance of {} s",
                ahead.as_secs(),
                tolerance.as_secs()
            ),
            Self::NoMatchingSignature => write!(
                f,
                "no `v1` signature in `{HEADER_SIGNATURE}` matches the id, timestamp and body under this secret"
            ),
            Self::Replayed { id } => {
                write!(f, "webhook `{id}` was already accepted (replay guard)")
            }
            Self::ReplayGuardFull { capacity } => write!(
                f,
                "the replay guard already holds {capacity} ids inside the tolerance window; \
                 refusing the delivery (give the guard a larger capacity)"
            ),
            Self::InvalidBody(e) => write!(f, "webhook body is not a valid event: {e}"),
            Self::InvalidSecret(why) => write!(f, "unusable webhook secret: {why}"),
        }
    }
}

impl std::error::Error for WebhookError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidBody(e) => Some(e),
            _ => None,
        }
    }
}

/// The time source: now, as the system clock gives it unless replaced.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Checks webhook signatures and decodes verified bodies.
///
/// Cheap to clone (clones share the key and the replay guard); `Send + Sync`.
/// `Debug` shows the settings, never the secret.
///
/// ```
/// use oai_webhooks::{ReplayGuard, WebhookVerifier};
/// use std::time::Duration;
///
/// let verifier = WebhookVerifier::new("whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=")?
///     .with_tolerance(Duration::from_secs(120))
///     .with_replay_guard(ReplayGuard::new(50_000));
///
/// // Sign the way OpenAI does (handy for testing your own handler), then verify.
/// let body = br#"{"id":"evt_1","type":"batch.completed","created_at":1,"data":{"id":"batch_1"}}"#;
/// let now = std::time::SystemTime::now()
///     .duration_since(std::time::UNIX_EPOCH)?
///     .as_secs()
///     .try_into()?;
/// let signature = verifier.sign("wh_1", now, body);
/// let now_text = now.to_string();
/// let headers = [
///     ("webhook-id", "wh_1"),
///     ("webhook-timestamp", now_text.as_str()),
///     ("webhook-signature", signature.as_str()),
/// ];
/// let lookup = |name: &str| {
///     headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
/// };
/// let event = verifier.verify_event_with(lookup, body)?;
/// assert_eq!(event.tag(), Some("batch.completed"));
///
/// // The same delivery again is refused by the replay guard.
/// assert!(verifier.verify_with(lookup, body).unwrap_err().is_replay());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    /// HMAC-SHA256 already keyed with the secret; cloned for each delivery.
    /// With `hmac`'s `zeroize` feature its state is wiped on drop.
    mac: Arc<HmacSha256>,
    tolerance: Duration,
    clock: Clock,
    guard: Option<Arc<ReplayGuard>>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &"[REDACTED]")
            .field("tolerance", &self.tolerance)
            .field("replay_guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier for `secret`.
    ///
    /// A secret starting with `whsec_` (as OpenAI hands them out) is the base64
    /// of the key (padding optional). Any other secret is used as is, its UTF-8
    /// bytes being the key: the official SDKs do the same.
    ///
    /// # Errors
    /// A configuration error when the secret is empty, contains whitespace or
    /// control characters, or has `whsec_` followed by something that is not
    /// base64 of at least one byte. The message never contains the secret.
    pub fn new(secret: impl Into<SecretString>) -> Result<Self, WebhookError> {
        Self::from_secret(&secret.into(), "the webhook secret")
    }

    /// A verifier for the secret in `OPENAI_WEBHOOK_SECRET`.
    ///
    /// # Errors
    /// A configuration error naming `OPENAI_WEBHOOK_SECRET` when it is missing
    /// or malformed (see [`WebhookVerifier::new`]).
    pub fn from_env() -> Result<Self, WebhookError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// The same as [`WebhookVerifier::from_env`] with another source of
    /// variables (tests, a configuration file).
    ///
    /// # Errors
    /// As [`WebhookVerifier::from_env`].
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, WebhookError> {
        match lookup(ENV_WEBHOOK_SECRET) {
            Some(value) => Self::from_secret(&SecretString::from(value), ENV_WEBHOOK_SECRET),
            None => Err(WebhookError::InvalidSecret(format!(
                "{ENV_WEBHOOK_SECRET} is missing from the environment (set it to your \
                 endpoint's signing secret, `whsec_...`)"
            ))),
        }
    }

    fn from_secret(secret: &SecretString, what: &str) -> Result<Self, WebhookError> {
        let text = secret.expose_secret();
        if text.is_empty() {
            return Err(WebhookError::InvalidSecret(format!("{what} is empty")));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(WebhookError::InvalidSecret(format!(
                "{what} contains whitespace or control characters"
            )));
        }
        let key: SecretSlice<u8> = match text.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => {
                let bytes = STANDARD_PAD_INDIFFERENT.decode(encoded).map_err(|_| {
                    WebhookError::InvalidSecret(format!(
                        "{what}: the part after `whsec_` is not valid base64"
                    ))
                })?;
                if bytes.is_empty() {
                    return Err(WebhookError::InvalidSecret(format!(
                        "{what}: the part after `whsec_` is empty"
                    )));
                }
                SecretSlice::from(bytes)
            }
            None => SecretSlice::from(text.as_bytes().to_vec()),
        };
        let mac = HmacSha256::new_from_slice(key.expose_secret()).map_err(|_| {
            WebhookError::InvalidSecret(format!("{what} cannot be used as an HMAC key"))
        })?;
        Ok(Self {
            mac: Arc::new(mac),
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemTime::now),
            guard: None,
        })
    }

    /// Sets how far the signing time may be from now, in either direction
    /// (default 300 s; counted in whole seconds).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The tolerance in force.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Replaces the clock (the system clock by default), for tests.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Turns on replay protection beyond the timestamp check (off by default,
    /// as in the official SDKs): the guard remembers each accepted
    /// `webhook-id` while a delivery with its timestamp could still pass, and
    /// refuses it a second time with [`WebhookError::Replayed`]. Pass an
    /// `Arc<ReplayGuard>` to share one guard between verifiers.
    ///
    /// OpenAI retries a delivery with the same `webhook-id`. If your handling of
    /// an accepted delivery fails, call [`ReplayGuard::forget`] so that the
    /// retry is accepted. One guard protects one process: several replicas
    /// behind a load balancer each have their own.
    #[must_use]
    pub fn with_replay_guard(mut self, guard: impl Into<Arc<ReplayGuard>>) -> Self {
        self.guard = Some(guard.into());
        self
    }

    /// The replay guard, if one is set.
    pub fn replay_guard(&self) -> Option<&ReplayGuard> {
        self.guard.as_deref()
    }

    /// The `webhook-signature` value OpenAI would send for this delivery
    /// (`v1,<base64>`), to test your own endpoint.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = (*self.mac).clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Checks a delivery: the headers, the timestamp against the tolerance, the
    /// signatures, and the replay guard if one is set.
    ///
    /// `body` must be the raw bytes received: JSON parsed and written again
    /// does not keep the signature.
    ///
    /// # Errors
    /// A [`WebhookError`] saying what is wrong. A header sent more than once is
    /// malformed.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> std::result::Result<(), WebhookError> {
        let delivery = self.authenticate(&HeaderMapSource(headers), body)?;
        self.record(&delivery)
    }

    /// [`WebhookVerifier::verify`] with headers from any web framework:
    /// `header(name)` returns the value of the header `name` (lower case). It
    /// should match names case-insensitively, as HTTP does.
    ///
    /// # Errors
    /// As [`WebhookVerifier::verify`].
    pub fn verify_with<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> std::result::Result<(), WebhookError> {
        let delivery = self.authenticate(&FnSource(header, PhantomData), body)?;
        self.record(&delivery)
    }

    /// Checks a delivery as [`WebhookVerifier::verify`] does, then reads the
    /// body as a [`WebhookEvent`] (what the official SDKs call `unwrap`).
    ///
    /// The replay guard records the id only once the body has been read, so a
    /// delivery refused for its body can be retried.
    ///
    /// # Errors
    /// A [`WebhookError`]; [`WebhookError::InvalidBody`] when the verified body
    /// is not an event.
    pub fn verify_event(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> std::result::Result<WebhookEvent, WebhookError> {
        let delivery = self.authenticate(&HeaderMapSource(headers), body)?;
        let event = WebhookEvent::from_json(body)?;
        self.record(&delivery)?;
        Ok(event)
    }

    /// [`WebhookVerifier::verify_event`] with headers from a lookup function
    /// (see [`WebhookVerifier::verify_with`]).
    ///
    /// # Errors
    /// As [`WebhookVerifier::verify_event`].
    pub fn verify_event_with<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> std::result::Result<WebhookEvent, WebhookError> {
        let delivery = self.authenticate(&FnSource(header, PhantomData), body)?;
        let event = WebhookEvent::from_json(body)?;
        self.record(&delivery)?;
        Ok(event)
    }

    /// Now, in whole seconds since the Unix epoch (negative before it).
    fn now(&self) -> i128 {
        match (self.clock)().duration_since(UNIX_EPOCH) {
            Ok(d) => i128::from(d.as_secs()),
            Err(e) => -i128::from(e.duration().as_secs()),
        }
    }

    /// Everything but the replay guard, in the official SDKs' order: headers,
    /// timestamp, signatures.
    fn authenticate(
        &self,
        headers: &dyn HeaderSource,
        body: &[u8],
    ) -> std::result::Result<Delivery, WebhookError> {
        let id = required(headers, HEADER_ID)?;
        let timestamp_text = required(headers, HEADER_TIMESTAMP)?;
        let signatures = required(headers, HEADER_SIGNATURE)?;

        let timestamp = parse_timestamp(timestamp_text)?;
        let now = self.now();
        let tolerance = i128::from(self.tolerance.as_secs());
        let age = now - i128::from(timestamp);
        if age > tolerance {
            return Err(WebhookError::TimestampTooOld {
                age: seconds(age),
                tolerance: Duration::from_secs(self.tolerance.as_secs()),
            });
        }
        if -age > tolerance {
            return Err(WebhookError::TimestampTooNew {
                ahead: seconds(-age),
                tolerance: Duration::from_secs(self.tolerance.as_secs()),
            });
        }

        // The signed content, with the id and timestamp exactly as received.
        let mut mac = (*self.mac).clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_text.as_bytes());
        mac.update(b".");
        mac.update(body);

        let mut any_v1 = false;
        let mut any_malformed = false;
        for entry in signatures.split_ascii_whitespace() {
            let Some(encoded) = entry.strip_prefix("v1,") else {
                continue; // another version, or not a signature: ignored
            };
            any_v1 = true;
            match STANDARD.decode(encoded) {
                // `verify_slice` compares in constant time.
                Ok(sig) if sig.len() == SIGNATURE_LEN => {
                    if mac.clone().verify_slice(&sig).is_ok() {
                        return Ok(Delivery {
                            id: id.to_owned(),
                            timestamp,
                        });
                    }
                }
                _ => any_malformed = true,
            }
        }
        if !any_v1 {
            return Err(WebhookError::MalformedHeader {
                name: HEADER_SIGNATURE,
                reason: "no `v1,<base64>` signature",
            });
        }
        if any_malformed {
            return Err(WebhookError::MalformedHeader {
                name: HEADER_SIGNATURE,
                reason: "a `v1` signature is not the base64 of 32 bytes, and no other matches",
            });
        }
        Err(WebhookError::NoMatchingSignature)
    }

    fn record(&self, delivery: &Delivery) -> std::result::Result<(), WebhookError> {
        match &self.guard {
            Some(guard) => guard.check_and_record(
                &delivery.id,
                delivery.timestamp,
                self.now(),
                i128::from(self.tolerance.as_secs()),
            ),
            None => Ok(()),
        }
    }
}

/// An authenticated delivery, not yet recorded by the replay guard.
struct Delivery {
    id: String,
    timestamp: i64,
}

/// Where header values come from.
trait HeaderSource {
    /// The single value of `name`, `Ok(None)` when absent.
    fn get(&self, name: &'static str) -> std::result::Result<Option<&str>, WebhookError>;
}

struct HeaderMapSource<'a>(&'a HeaderMap);

impl HeaderSource for HeaderMapSource<'_> {
    fn get(&self, name: &'static str) -> std::result::Result<Option<&str>, WebhookError> {
        let mut values = self.0.get_all(name).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(WebhookError::MalformedHeader {
                name,
                reason: "sent more than once",
            });
        }
        value
            .to_str()
            .map(Some)
            .map_err(|_| WebhookError::MalformedHeader {
                name,
                reason: "not visible ASCII",
            })
    }
}

/// A lookup function; the marker ties `'h` to the source, so that a borrow of
/// the source may hand out the `'h` values.
struct FnSource<'h, F>(F, PhantomData<&'h str>);

impl<'h, F: Fn(&str) -> Option<&'h str>> HeaderSource for FnSource<'h, F> {
    fn get(&self, name: &'static str) -> std::result::Result<Option<&str>, WebhookError> {
        Ok((self.0)(name))
    }
}

fn required<'s>(
    headers: &'s dyn HeaderSource,
    name: &'static str,
) -> std::result::Result<&'s str, WebhookError> {
    match headers.get(name)? {
        None => Err(WebhookError::MissingHeader { name }),
        Some("") => Err(WebhookError::MalformedHeader {
            name,
            reason: "empty",
        }),
        Some(value) => Ok(value),
    }
}

/// Whole seconds: ASCII digits only (no sign, no spaces), fitting an `i64`.
fn parse_timestamp(text: &str) -> std::result::Result<i64, WebhookError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::InvalidTimestamp);
    }
    text.parse::<i64>()
        .map_err(|_| WebhookError::InvalidTimestamp)
}

fn seconds(n: i128) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Remembers the `webhook-id`s a [`WebhookVerifier`] accepted, to refuse a
/// second delivery of one ([`WebhookError::Replayed`]).
///
/// Opt-in (see [`WebhookVerifier::with_replay_guard`]); the official SDKs only
/// check the timestamp. An id is kept while a delivery with its timestamp could
/// still pass the tolerance check, then dropped. The guard holds at most
/// `capacity` ids: when it is full of ids still inside the window, a new
/// delivery is refused with [`WebhookError::ReplayGuardFull`] rather than
/// forgetting one (OpenAI retries it later). Only deliveries whose signature
/// matched are recorded, so forged requests cannot fill it.
pub struct ReplayGuard {
    capacity: usize,
    state: Mutex<GuardState>,
}

#[derive(Default)]
struct GuardState {
    /// id -> its timestamp.
    seen: HashMap<String, i64>,
    /// (timestamp, id), oldest first, for expiry.
    by_time: BTreeSet<(i64, String)>,
}

impl fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for ReplayGuard {
    /// A guard for 10,000 ids.
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(GuardState::default()),
        }
    }

    /// The most ids it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many ids it holds now (expired ones are dropped at the next check).
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether it holds no id.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets `id`, so that a new delivery of it is accepted (when handling
    /// the first one failed and you want OpenAI's retry). Returns whether it
    /// was held.
    pub fn forget(&self, id: &str) -> bool {
        let mut state = self.lock();
        match state.seen.remove(id) {
            Some(timestamp) => {
                state.by_time.remove(&(timestamp, id.to_owned()));
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, GuardState> {
        // The state is two collections updated together under the lock; a
        // panic elsewhere cannot leave them half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check_and_record(
        &self,
        id: &str,
        timestamp: i64,
        now: i128,
        tolerance: i128,
    ) -> std::result::Result<(), WebhookError> {
        let mut state = self.lock();
        // Drop the ids whose timestamp no longer passes the tolerance check.
        while let Some((oldest, _)) = state.by_time.first() {
            if now - i128::from(*oldest) <= tolerance {
                break;
            }
            if let Some((_, old_id)) = state.by_time.pop_first() {
                state.seen.remove(&old_id);
            }
        }
        if state.seen.contains_key(id) {
            return Err(WebhookError::Replayed { id: id.to_owned() });
        }
        if state.seen.len() >= self.capacity {
            return Err(WebhookError::ReplayGuardFull {
                capacity: self.capacity,
            });
        }
        state.seen.insert(id.to_owned(), timestamp);
        state.by_time.insert((timestamp, id.to_owned()));
        Ok(())
    }
}
