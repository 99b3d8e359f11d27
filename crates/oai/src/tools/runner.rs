//! The runner: model rounds, checked calls, limits, review, and the record.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use oai_transport::redact::single_line;
use serde_json::Value;
use tokio::time::Instant;

use super::registry::{
    ErasedHandler, HandlerResult, Policy, ToolRegistry, Validation, shorten, validate_value,
};
use crate::{Client, Error, Result};

/// Receives the runner's events as they happen (see [`ToolRunner::on_event`]).
pub(crate) type EventSink = Arc<dyn Fn(&RunEvent<'_>) + Send + Sync>;

/// Something the runner did, handed to the [`ToolRunner::on_event`] callback
/// while it works.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunEvent<'a> {
    /// A request to the model is about to be sent (rounds count from 1).
    RoundStarted {
        /// The round's number.
        round: u32,
    },
    /// A piece of the model's answer text, as it streams in (only when the
    /// runner streams: [`ToolRunner::streaming`] or an `on_event` callback).
    TextDelta(&'a str),
    /// A tool call has finished (or was answered without running).
    CallFinished(&'a CallRecord),
}

/// What became of one call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// The handler returned a value, which was sent to the model (cut to the
    /// output limit when `truncated`).
    Succeeded {
        /// Whether the output was longer than the limit and was cut.
        truncated: bool,
    },
    /// The handler returned an error; its text was sent to the model.
    ToolError(String),
    /// No tool of that name is registered.
    UnknownTool,
    /// The arguments are not a JSON object.
    MalformedArguments(String),
    /// The arguments break the tool's schema (or do not fit its parameter
    /// type); the violations were sent to the model.
    InvalidArguments(Vec<String>),
    /// The handler did not finish within the per-call timeout (or the run's
    /// time budget); it was cancelled.
    TimedOut(Duration),
    /// The handler panicked; the panic message is kept here and not sent to
    /// the model.
    Panicked(String),
    /// The application rejected the call during review.
    Rejected(String),
    /// Not run, because the round asked for more calls than the limit.
    NotRun,
    /// Not run, because the server gave the call an empty id or one another
    /// call of the same round has: its answer could not be told apart, so
    /// none of those calls runs, whatever the decisions.
    AmbiguousId,
}

impl CallOutcome {
    /// A short label (`succeeded`, `tool_error`, `unknown_tool`, ...), as
    /// written in `tracing` events.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Succeeded { .. } => "succeeded",
            Self::ToolError(_) => "tool_error",
            Self::UnknownTool => "unknown_tool",
            Self::MalformedArguments(_) => "malformed_arguments",
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::TimedOut(_) => "timed_out",
            Self::Panicked(_) => "panicked",
            Self::Rejected(_) => "rejected",
            Self::NotRun => "not_run",
            Self::AmbiguousId => "ambiguous_id",
        }
    }

    /// Whether the handler ran and returned a value.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Succeeded { .. })
    }
}

/// The record of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The round the model asked for it in.
    pub round: u32,
    /// The call's id, as the model gave it.
    pub call_id: String,
    /// The tool name the model asked for (not necessarily a registered one).
    pub name: String,
    /// What became of it.
    pub outcome: CallOutcome,
    /// How long the handler ran (zero when it did not run).
    pub duration: Duration,
    /// The length in bytes of the text sent back to the model.
    pub output_bytes: usize,
}

/// Counts over a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunStats {
    /// Requests sent to the model.
    pub rounds: u32,
    /// Tokens the model reported using (`usage.total_tokens`), over all rounds.
    pub tokens: u64,
    /// Time the runner has worked (time spent waiting for a review is not counted).
    pub elapsed: Duration,
    /// Calls the model asked for.
    pub calls: u32,
    /// Calls whose handler returned a value.
    pub succeeded: u32,
    /// Calls whose handler returned an error.
    pub tool_errors: u32,
    /// Calls to a name that is not registered.
    pub unknown_tool: u32,
    /// Calls whose arguments were not a JSON object.
    pub malformed_arguments: u32,
    /// Calls whose arguments broke the schema.
    pub invalid_arguments: u32,
    /// Calls cancelled at their timeout.
    pub timed_out: u32,
    /// Calls whose handler panicked.
    pub panicked: u32,
    /// Calls rejected in review.
    pub rejected: u32,
    /// Calls not run because of the per-round limit.
    pub not_run: u32,
    /// Calls not run because their id was empty or repeated in their round.
    pub ambiguous_ids: u32,
    /// Outputs cut to the output limit.
    pub truncated: u32,
    /// Every call, in the order the model asked for them.
    pub records: Vec<CallRecord>,
}

impl RunStats {
    fn count(&mut self, record: &CallRecord) {
        self.calls += 1;
        match &record.outcome {
            CallOutcome::Succeeded { truncated } => {
                self.succeeded += 1;
                if *truncated {
                    self.truncated += 1;
                }
            }
            CallOutcome::ToolError(_) => self.tool_errors += 1,
            CallOutcome::UnknownTool => self.unknown_tool += 1,
            CallOutcome::MalformedArguments(_) => self.malformed_arguments += 1,
            CallOutcome::InvalidArguments(_) => self.invalid_arguments += 1,
            CallOutcome::TimedOut(_) => self.timed_out += 1,
            CallOutcome::Panicked(_) => self.panicked += 1,
            CallOutcome::Rejected(_) => self.rejected += 1,
            CallOutcome::NotRun => self.not_run += 1,
            CallOutcome::AmbiguousId => self.ambiguous_ids += 1,
        }
        self.records.push(record.clone());
    }
}

/// Which limit ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The model was asked [`ToolRunner::max_rounds`] times and still wanted tools.
    Rounds(u32),
    /// The run worked longer than [`ToolRunner::max_total_time`].
    Time(Duration),
    /// The model used more tokens than [`ToolRunner::max_total_tokens`].
    Tokens {
        /// Tokens used so far.
        used: u64,
        /// The budget.
        limit: u64,
    },
    /// One round asked for more calls than [`ToolRunner::max_calls_per_round`].
    CallsPerRound {
        /// Calls asked for.
        requested: usize,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rounds(n) => write!(f, "the limit of {n} rounds"),
            Self::Time(d) => write!(f, "the time budget of {:.1} s", d.as_secs_f64()),
            Self::Tokens { used, limit } => {
                write!(f, "the token budget ({used} used of {limit})")
            }
            Self::CallsPerRound { requested, limit } => write!(
                f,
                "the limit of {limit} calls per round ({requested} asked for)"
            ),
        }
    }
}

/// How a run ended (so far: a run that stopped for review or at a limit can
/// be resumed).
#[derive(Debug)]
#[non_exhaustive]
pub enum RunOutcome {
    /// The model answered without asking for tools.
    Completed,
    /// Calls wait for the application's decision: see [`ToolRun::pending`]
    /// and resume with the decisions.
    NeedsReview,
    /// A limit was reached. The transcript is complete (every call the model
    /// asked for has its answer), so the run can be resumed by a runner with
    /// higher limits.
    LimitReached(Limit),
    /// A request to the model failed. Nothing was added to the transcript by
    /// the failed request; resuming sends it again.
    ///
    /// Also the outcome of a resume whose decisions were refused (a
    /// [`CallToken`] named twice, or naming no call waiting for review): then
    /// nothing ran, nothing was sent, [`ToolRun::pending`] still lists the
    /// calls, and resuming with a correct list goes on.
    Failed(Error),
}

impl RunOutcome {
    /// Whether the model gave its final answer.
    pub fn is_completed(&self) -> bool {
        matches!(self, Self::Completed)
    }
}

/// The runner's name for one call waiting for review: decisions address
/// calls by it ([`ProposedCall::token`]), never by the server's call id.
///
/// The runner issues tokens, not the server: each round of calls gets a
/// number no other round in the process has, and each call its place in the
/// round. A token therefore names exactly one call even when the server
/// repeats call ids or leaves them empty, and a token from another round or
/// another run names none (a decision carrying one is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallToken {
    batch: u64,
    index: usize,
}

impl fmt::Display for CallToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {} of review {}", self.index, self.batch)
    }
}

/// The number of the next round of proposed calls (0 is never issued).
static NEXT_BATCH: AtomicU64 = AtomicU64::new(1);

/// A call the model asked for, as shown to the application in review.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedCall {
    pub(crate) token: CallToken,
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) raw_arguments: String,
    pub(crate) validation: Validation,
    pub(crate) needs_review: bool,
    /// A free-form (custom) tool call rather than a function call.
    pub(crate) custom: bool,
    /// The call's id is empty or another call of its round has it.
    pub(crate) ambiguous: bool,
}

impl ProposedCall {
    /// The runner's name for this call: give it with the call's [`Decision`]
    /// when resuming.
    pub fn token(&self) -> CallToken {
        self.token
    }

    /// The call's id, as the server gave it (not unique: decisions address
    /// calls by [`token`](Self::token)).
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Whether the server gave this call an empty id or one another call of
    /// its round has. Such a call never runs, whatever the decisions: it is
    /// answered to the model as [`CallOutcome::AmbiguousId`].
    pub fn has_ambiguous_id(&self) -> bool {
        self.ambiguous
    }

    /// The tool name the model asked for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments exactly as the model wrote them.
    pub fn raw_arguments(&self) -> &str {
        &self.raw_arguments
    }

    /// The parsed arguments, when they passed the schema.
    pub fn arguments(&self) -> Option<&Value> {
        match &self.validation {
            Validation::Valid(v) => Some(v),
            _ => None,
        }
    }

    /// The check of the call against the registry.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Whether the call waits for a decision (its tool's policy is
    /// [`Policy::Review`], or the runner reviews every call; never for a call
    /// with an ambiguous id, which does not run). Calls that do not need
    /// review run as proposed unless a decision says otherwise.
    pub fn needs_review(&self) -> bool {
        self.needs_review
    }
}

/// The application's decision on a [`ProposedCall`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// Run the call as proposed. Its arguments are checked again by the
    /// runner that resumes, against its own registry; a call that fails the
    /// check is answered with the error, never run.
    Approve,
    /// Run the call with these arguments instead, on the tool the call named
    /// (never another); they are checked against that tool's schema like the
    /// model's, and a call whose edited arguments fail is answered with the
    /// violations.
    Edit(Value),
    /// Do not run the call; the reason is sent to the model.
    Reject(String),
}

/// A run of a tool-calling conversation, in progress or ended: the
/// transcript so far, how it ended, the calls waiting for review, and the
/// counts. Nothing is lost when a run stops: it can be resumed with
/// [`ToolRunner::resume_chat`] or [`ToolRunner::resume_responses`].
#[derive(Debug)]
pub struct ToolRun<C> {
    pub(crate) conversation: C,
    pub(crate) outcome: RunOutcome,
    pub(crate) pending: Vec<ProposedCall>,
    pub(crate) stats: RunStats,
}

impl<C> ToolRun<C> {
    pub(crate) fn failed(conversation: C, error: Error) -> Self {
        Self {
            conversation,
            outcome: RunOutcome::Failed(error),
            pending: Vec::new(),
            stats: RunStats::default(),
        }
    }

    /// How the run ended.
    pub fn outcome(&self) -> &RunOutcome {
        &self.outcome
    }

    /// The calls of the last round, waiting for decisions, when the outcome
    /// is [`RunOutcome::NeedsReview`] (empty otherwise).
    pub fn pending(&self) -> &[ProposedCall] {
        &self.pending
    }

    /// The counts and the record of every call.
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    /// The conversation state (the transcript).
    pub fn conversation(&self) -> &C {
        &self.conversation
    }

    /// Takes the conversation state out.
    pub fn into_conversation(self) -> C {
        self.conversation
    }
}

/// One call as the conversation reads it from the model's answer.
#[derive(Debug, Clone)]
pub(crate) struct RawCall {
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
    pub(crate) custom: bool,
}

/// What one model round gave.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) calls: Vec<RawCall>,
    pub(crate) tokens: u64,
}

/// The answer to one call, as the conversation adds it to the transcript.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) call_id: String,
    /// Chat answers both kinds alike; the Responses API has an item for each.
    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) custom: bool,
    pub(crate) text: String,
}

/// A conversation kind (chat completions, Responses): how to ask the model,
/// read its calls and add their answers.
pub(crate) trait Conversation: Send {
    /// Puts the registry's tools in the request.
    fn install_tools(&mut self, registry: &ToolRegistry) -> Result<()>;

    /// Sends the transcript, adds the model's answer to it, and returns its
    /// calls. Nothing is added when it fails. A streamed answer is read under
    /// `budget` (a fresh one per round).
    fn round<'a>(
        &'a mut self,
        client: &'a Client,
        stream: bool,
        sink: Option<&'a EventSink>,
        budget: StreamBudget,
    ) -> impl Future<Output = Result<Reply>> + Send + 'a;

    /// Adds the answers of the calls of the last round, in order.
    fn answer(&mut self, answers: Vec<Answer>);
}

use std::future::Future;

/// The bounds on the tool calls of one streamed answer, checked as the
/// deltas arrive (before the accumulator has grown past one event more):
/// how many calls, and how many bytes of arguments each.
#[derive(Debug)]
pub(crate) struct StreamBudget {
    max_calls: usize,
    max_argument_bytes: usize,
    /// Bytes of arguments so far, by (choice or 0, call or output index).
    calls: HashMap<(i64, i64), usize>,
}

impl StreamBudget {
    fn new(max_calls: usize, max_argument_bytes: usize) -> Self {
        Self {
            max_calls,
            max_argument_bytes,
            calls: HashMap::new(),
        }
    }

    /// The call `key` has `bytes` more bytes of arguments.
    #[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
    pub(crate) fn add(&mut self, key: (i64, i64), bytes: usize) -> Result<()> {
        let total = self.slot(key)?;
        *total = total.saturating_add(bytes);
        self.check(key)
    }

    /// The call `key` has `bytes` bytes of arguments in all (an event that
    /// carries the whole text).
    #[cfg_attr(not(feature = "responses"), allow(dead_code))]
    pub(crate) fn set(&mut self, key: (i64, i64), bytes: usize) -> Result<()> {
        let total = self.slot(key)?;
        *total = (*total).max(bytes);
        self.check(key)
    }

    fn slot(&mut self, key: (i64, i64)) -> Result<&mut usize> {
        let known = self.calls.len();
        if !self.calls.contains_key(&key) && known >= self.max_calls {
            return Err(Error::limit(
                "tool calls in one streamed answer (max_calls_per_round)",
                u64::try_from(self.max_calls).unwrap_or(u64::MAX),
            ));
        }
        Ok(self.calls.entry(key).or_insert(0))
    }

    fn check(&self, key: (i64, i64)) -> Result<()> {
        match self.calls.get(&key) {
            Some(total) if *total > self.max_argument_bytes => Err(Error::limit(
                "bytes of one tool call's arguments in a streamed answer (max_argument_bytes)",
                u64::try_from(self.max_argument_bytes).unwrap_or(u64::MAX),
            )),
            _ => Ok(()),
        }
    }
}

/// Runs tool-calling conversations: it sends the transcript to the model,
/// checks every call the model asks for against the [`ToolRegistry`], runs
/// the approved ones (in parallel, each with a timeout, a panic caught), adds
/// their outputs to the transcript and asks again, until the model answers
/// without tools or a limit is reached.
///
/// Model output is never executed: it can only pick a registered tool by its
/// exact name, with arguments that passed the tool's schema.
///
/// The defaults: 10 rounds, a 30 s timeout per call, 4 calls at a time, at
/// most 16 calls per round, 16 KiB of output per call, 256 KiB of streamed
/// arguments per call, no time or token budget, no review, no payloads in
/// `tracing` events, no streaming.
///
/// ```no_run
/// # #[cfg(feature = "chat")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use oai::builders::CreateChatCompletionRequestBuilder as Chat;
/// use oai::structured::JsonSchema;
/// use oai::tools::{RunOutcome, ToolRegistry, ToolRunner};
/// use oai::types::ChatCompletionRequestMessage as Message;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct City { name: String }
///
/// let mut tools = ToolRegistry::new();
/// tools.register("get_weather", "Current weather of a city", |c: City| async move {
///     Ok::<_, String>(format!("18 °C and sunny in {}", c.name))
/// })?;
/// let runner = ToolRunner::new(oai::Client::from_env()?, tools);
/// let request = Chat::new(Message::user("Weather in Paris?"), "gpt-4o-mini").build()?;
/// let run = runner.run_chat(request).await;
/// match run.outcome() {
///     RunOutcome::Completed => println!("{}", run.conversation().final_text().unwrap_or("")),
///     other => println!("stopped: {other:?}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ToolRunner {
    client: Client,
    registry: Arc<ToolRegistry>,
    call_timeout: Duration,
    max_rounds: u32,
    max_parallel: usize,
    max_calls_per_round: usize,
    max_output_bytes: usize,
    max_argument_bytes: usize,
    max_total_time: Option<Duration>,
    max_total_tokens: Option<u64>,
    review_all: bool,
    log_payloads: bool,
    stream: bool,
    sink: Option<EventSink>,
}

impl fmt::Debug for ToolRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolRunner")
            .field("tools", &self.registry.names().collect::<Vec<_>>())
            .field("call_timeout", &self.call_timeout)
            .field("max_rounds", &self.max_rounds)
            .field("max_parallel", &self.max_parallel)
            .field("max_calls_per_round", &self.max_calls_per_round)
            .field("max_output_bytes", &self.max_output_bytes)
            .field("max_argument_bytes", &self.max_argument_bytes)
            .field("max_total_time", &self.max_total_time)
            .field("max_total_tokens", &self.max_total_tokens)
            .field("review_all", &self.review_all)
            .field("log_payloads", &self.log_payloads)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// Text sent to the model for a call that was not run for the round limit.
const NOT_RUN_TEXT: &str = "error: not run: too many calls in one round";

/// Text sent to the model for a call whose id was empty or repeated.
const AMBIGUOUS_ID_TEXT: &str = "error: not run: the call's id is empty or another call of \
     this round has it, so its answer could not be told apart; ask again with a unique id";

/// The decisions for `pending`, one slot per call in order. Refused when a
/// token names no call of `pending` (another round, another run) or names
/// a call twice.
fn assign(
    pending: &[ProposedCall],
    decisions: Vec<(CallToken, Decision)>,
) -> Result<Vec<Option<Decision>>> {
    let mut slots: Vec<Option<Decision>> = pending.iter().map(|_| None).collect();
    for (token, decision) in decisions {
        let known = pending.get(token.index).is_some_and(|c| c.token == token);
        match slots.get_mut(token.index) {
            Some(slot) if known => {
                if slot.is_some() {
                    return Err(Error::invalid_input(format!(
                        "two decisions name {token}; nothing was run (each pending call takes \
                         at most one decision)"
                    )));
                }
                *slot = Some(decision);
            }
            _ => {
                return Err(Error::invalid_input(format!(
                    "a decision names {token}, which is not a call of this run waiting for \
                     review; nothing was run"
                )));
            }
        }
    }
    Ok(slots)
}

impl ToolRunner {
    /// A runner with the default limits (see the type's docs).
    pub fn new(client: Client, registry: ToolRegistry) -> Self {
        Self {
            client,
            registry: Arc::new(registry),
            call_timeout: Duration::from_secs(30),
            max_rounds: 10,
            max_parallel: 4,
            max_calls_per_round: 16,
            max_output_bytes: 16 * 1024,
            max_argument_bytes: 256 * 1024,
            max_total_time: None,
            max_total_tokens: None,
            review_all: false,
            log_payloads: false,
            stream: false,
            sink: None,
        }
    }

    /// The registry.
    pub fn registry(&self) -> &ToolRegistry {
        &self.registry
    }

    /// How long one handler may run before it is cancelled and the model is
    /// told it timed out (default 30 s; anything over a year counts as a
    /// year, so `Duration::MAX` is a way to say "no limit").
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = oai_transport::clamp_duration(timeout);
        self
    }

    /// How many requests a run may send to the model (default 10, at least 1).
    pub fn max_rounds(mut self, rounds: u32) -> Self {
        self.max_rounds = rounds.max(1);
        self
    }

    /// How many handlers run at once (default 4, at least 1).
    pub fn max_parallel(mut self, calls: usize) -> Self {
        self.max_parallel = calls.max(1);
        self
    }

    /// How many calls one round may ask for (default 16). A round that asks
    /// for more runs none of them: each is answered as not run, and the run
    /// ends with [`Limit::CallsPerRound`]. A streamed answer is stopped at
    /// its first call over the limit instead: the run ends with
    /// [`RunOutcome::Failed`] and an error for which
    /// [`is_limit`](crate::Error::is_limit) holds.
    pub fn max_calls_per_round(mut self, calls: usize) -> Self {
        self.max_calls_per_round = calls.max(1);
        self
    }

    /// The most bytes of one tool's output sent to the model (default 16 KiB,
    /// at least 64); longer outputs are cut at a character boundary and end
    /// with a note saying so.
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes.max(64);
        self
    }

    /// The most bytes of arguments one call of a streamed answer may have
    /// (default 256 KiB, at least 1). The deltas are counted as they arrive;
    /// the first over the limit ends the round, and the run ends with
    /// [`RunOutcome::Failed`] and an error for which
    /// [`is_limit`](crate::Error::is_limit) holds. (An answer that is not
    /// streamed is bounded by the client's response size cap.)
    pub fn max_argument_bytes(mut self, bytes: usize) -> Self {
        self.max_argument_bytes = bytes.max(1);
        self
    }

    /// A budget for the whole run's working time (model requests and tools).
    /// Anything over a year counts as a year, so `Duration::MAX` is a way to
    /// say "no limit".
    pub fn max_total_time(mut self, budget: Duration) -> Self {
        self.max_total_time = Some(oai_transport::clamp_duration(budget));
        self
    }

    /// A budget of tokens (the sum of the model's `usage.total_tokens`); the
    /// run stops before the next request once it is spent.
    pub fn max_total_tokens(mut self, budget: u64) -> Self {
        self.max_total_tokens = Some(budget);
        self
    }

    /// Review mode: every call waits for a [`Decision`] (default off: only
    /// tools whose [`Policy`] is [`Policy::Review`] wait).
    pub fn review_all(mut self, on: bool) -> Self {
        self.review_all = on;
        self
    }

    /// Writes arguments and outputs into the `tracing` events (default off:
    /// the events carry tool names, ids, durations and outcomes only).
    pub fn log_payloads(mut self, on: bool) -> Self {
        self.log_payloads = on;
        self
    }

    /// Streams the model's answers (default off; on when an
    /// [`on_event`](Self::on_event) callback is set), so text deltas reach
    /// the callback as they arrive.
    pub fn streaming(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Calls `callback` with every [`RunEvent`] as it happens, and streams the
    /// model's answers so text deltas arrive as they are written.
    pub fn on_event(mut self, callback: impl Fn(&RunEvent<'_>) + Send + Sync + 'static) -> Self {
        self.sink = Some(Arc::new(callback));
        self.stream = true;
        self
    }

    /// Starts a run and drives it until it completes, stops for review,
    /// reaches a limit or fails.
    pub(crate) async fn start<C: Conversation>(&self, mut conversation: C) -> ToolRun<C> {
        match conversation.install_tools(&self.registry) {
            Err(e) => ToolRun::failed(conversation, e),
            Ok(()) => {
                let run = ToolRun {
                    conversation,
                    outcome: RunOutcome::Completed,
                    pending: Vec::new(),
                    stats: RunStats::default(),
                };
                self.drive(run, Vec::new()).await
            }
        }
    }

    /// Resumes `run`: applies `decisions` (by token) to the calls waiting
    /// for review, runs and answers them, then goes on. Decisions that name
    /// a call twice, or name no call waiting, are refused before anything
    /// runs: the run comes back failed with its pending calls kept.
    pub(crate) async fn drive<C: Conversation>(
        &self,
        run: ToolRun<C>,
        decisions: Vec<(CallToken, Decision)>,
    ) -> ToolRun<C> {
        use tracing::Instrument as _;
        // The run's span: its rounds (each model call's GenAI span) and its
        // tool calls are spans under it.
        let span = tracing::info_span!(
            target: "oai::gen_ai",
            "oai.tools.run",
            otel.name = "invoke_agent oai.tools",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.provider.name = "openai",
            gen_ai.agent.name = "oai.tools",
        );
        self.drive_in_span(run, decisions).instrument(span).await
    }

    async fn drive_in_span<C: Conversation>(
        &self,
        mut run: ToolRun<C>,
        decisions: Vec<(CallToken, Decision)>,
    ) -> ToolRun<C> {
        use tracing::Instrument as _;
        let started = Instant::now();
        let spent_before = run.stats.elapsed;
        let deadline = self
            .max_total_time
            .and_then(|budget| started.checked_add(budget.saturating_sub(spent_before)));
        let pending = std::mem::take(&mut run.pending);
        let decisions = match assign(&pending, decisions) {
            Ok(decisions) => decisions,
            Err(e) => {
                tracing::warn!(target: "oai::tools", error = %e, "review decisions refused");
                run.pending = pending;
                run.outcome = RunOutcome::Failed(e);
                return run;
            }
        };
        if !pending.is_empty() {
            let round = run.stats.rounds;
            let answers = self
                .execute(round, pending, decisions, deadline, &mut run.stats)
                .await;
            run.conversation.answer(answers);
        }
        let outcome = loop {
            run.stats.elapsed = spent_before.saturating_add(started.elapsed());
            if let Some(limit) = self.limit_reached(&run.stats, deadline) {
                break RunOutcome::LimitReached(limit);
            }
            let round = run.stats.rounds + 1;
            let round_span = tracing::info_span!(target: "oai::gen_ai", "oai.tools.round", round);
            self.emit(&RunEvent::RoundStarted { round });
            let round_started = Instant::now();
            let budget = StreamBudget::new(self.max_calls_per_round, self.max_argument_bytes);
            let asked = run
                .conversation
                .round(&self.client, self.stream, self.sink.as_ref(), budget)
                .instrument(round_span.clone());
            let reply = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, asked).await {
                    Ok(reply) => reply,
                    Err(_) => {
                        run.stats.elapsed = spent_before.saturating_add(started.elapsed());
                        break RunOutcome::LimitReached(Limit::Time(
                            self.max_total_time.unwrap_or_default(),
                        ));
                    }
                },
                None => asked.await,
            };
            let reply = match reply {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::warn!(
                        target: "oai::tools",
                        round,
                        error = %single_line(&e.to_string()),
                        "model round failed"
                    );
                    break RunOutcome::Failed(e);
                }
            };
            run.stats.rounds = round;
            run.stats.tokens = run.stats.tokens.saturating_add(reply.tokens);
            tracing::info!(
                target: "oai::tools",
                round,
                calls = reply.calls.len(),
                tokens = reply.tokens,
                duration_ms = duration_ms(round_started.elapsed()),
                "model round"
            );
            if reply.calls.is_empty() {
                break RunOutcome::Completed;
            }
            if reply.calls.len() > self.max_calls_per_round {
                let requested = reply.calls.len();
                let answers = reply
                    .calls
                    .into_iter()
                    .map(|call| {
                        self.finish(
                            round,
                            &call.call_id,
                            &call.name,
                            &call.arguments,
                            CallOutcome::NotRun,
                            Duration::ZERO,
                            NOT_RUN_TEXT.to_owned(),
                            call.custom,
                            &mut run.stats,
                        )
                    })
                    .collect();
                run.conversation.answer(answers);
                break RunOutcome::LimitReached(Limit::CallsPerRound {
                    requested,
                    limit: self.max_calls_per_round,
                });
            }
            let proposed = self.propose_round(reply.calls);
            if proposed.iter().any(|p| p.needs_review) {
                run.pending = proposed;
                break RunOutcome::NeedsReview;
            }
            let decisions = proposed.iter().map(|_| None).collect();
            let answers = self
                .execute(round, proposed, decisions, deadline, &mut run.stats)
                .instrument(round_span)
                .await;
            run.conversation.answer(answers);
        };
        run.stats.elapsed = spent_before.saturating_add(started.elapsed());
        if let RunOutcome::LimitReached(limit) = &outcome {
            tracing::warn!(target: "oai::tools", limit = %limit, "tool run stopped at a limit");
        }
        run.outcome = outcome;
        run
    }

    /// Checks and answers calls that came from elsewhere than the two
    /// conversation APIs (a realtime session), as in a round of a run:
    /// the calls-per-round limit (over it, no call runs and each is answered
    /// as not run), registry lookup, schema check, handlers under the call
    /// timeout with panics caught, output capped, the time budget (`deadline`),
    /// events and `tracing` as usual. There is nobody to ask for a review
    /// here, so a call that needs one is rejected. Gives each call's id and
    /// the text to send back, in order, and the limit the run has reached,
    /// if any (after which the caller must stop).
    #[cfg_attr(not(feature = "realtime-ws"), allow(dead_code))]
    pub(crate) async fn answer_calls(
        &self,
        round: u32,
        calls: Vec<(String, String, String)>,
        deadline: Option<Instant>,
        stats: &mut RunStats,
    ) -> (Vec<(String, String)>, Option<Limit>) {
        stats.rounds = round;
        if calls.len() > self.max_calls_per_round {
            let requested = calls.len();
            let answers = calls
                .into_iter()
                .map(|(call_id, name, arguments)| {
                    let answer = self.finish(
                        round,
                        &call_id,
                        &name,
                        &arguments,
                        CallOutcome::NotRun,
                        Duration::ZERO,
                        NOT_RUN_TEXT.to_owned(),
                        false,
                        stats,
                    );
                    (answer.call_id, answer.text)
                })
                .collect();
            let limit = Limit::CallsPerRound {
                requested,
                limit: self.max_calls_per_round,
            };
            return (answers, Some(limit));
        }
        let proposed = self.propose_round(
            calls
                .into_iter()
                .map(|(call_id, name, arguments)| RawCall {
                    call_id,
                    name,
                    arguments,
                    custom: false,
                })
                .collect(),
        );
        let decisions = proposed.iter().map(|_| None).collect();
        let answers = self
            .execute(round, proposed, decisions, deadline, stats)
            .await
            .into_iter()
            .map(|answer| (answer.call_id, answer.text))
            .collect();
        (answers, self.limit_reached(stats, deadline))
    }

    /// The end of the time budget of a run that starts at `started`.
    #[cfg_attr(not(feature = "realtime-ws"), allow(dead_code))]
    pub(crate) fn deadline_from(&self, started: Instant) -> Option<Instant> {
        self.max_total_time
            .and_then(|budget| started.checked_add(budget))
    }

    /// The most model rounds a run may take.
    #[cfg_attr(not(feature = "realtime-ws"), allow(dead_code))]
    pub(crate) fn round_limit(&self) -> u32 {
        self.max_rounds
    }

    fn limit_reached(&self, stats: &RunStats, deadline: Option<Instant>) -> Option<Limit> {
        if stats.rounds >= self.max_rounds {
            return Some(Limit::Rounds(self.max_rounds));
        }
        if let (Some(limit), Some(deadline)) = (self.max_total_time, deadline)
            && Instant::now() >= deadline
        {
            return Some(Limit::Time(limit));
        }
        if let Some(limit) = self.max_total_tokens
            && stats.tokens >= limit
        {
            return Some(Limit::Tokens {
                used: stats.tokens,
                limit,
            });
        }
        None
    }

    /// Checks the calls of one round against the registry, gives each its
    /// token, and marks the calls whose id is empty or repeated.
    fn propose_round(&self, calls: Vec<RawCall>) -> Vec<ProposedCall> {
        let batch = NEXT_BATCH.fetch_add(1, Ordering::Relaxed);
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for call in &calls {
            *uses.entry(call.call_id.as_str()).or_insert(0) += 1;
        }
        let ambiguous: Vec<bool> = calls
            .iter()
            .map(|c| c.call_id.is_empty() || uses.get(c.call_id.as_str()).is_some_and(|n| *n > 1))
            .collect();
        calls
            .into_iter()
            .zip(ambiguous)
            .enumerate()
            .map(|(index, (call, ambiguous))| {
                let validation = self.check(&call.name, &call.arguments, call.custom);
                let needs_review = !ambiguous && self.needs_review(&call.name);
                ProposedCall {
                    token: CallToken { batch, index },
                    call_id: call.call_id,
                    name: call.name,
                    raw_arguments: call.arguments,
                    validation,
                    needs_review,
                    custom: call.custom,
                    ambiguous,
                }
            })
            .collect()
    }

    /// Checks a call's arguments against this runner's registry.
    fn check(&self, name: &str, arguments: &str, custom: bool) -> Validation {
        if custom {
            // Free-form tools are never registered: only function tools are.
            Validation::UnknownTool
        } else {
            self.registry.check(name, arguments)
        }
    }

    /// Whether this runner holds calls to `name` for review.
    fn needs_review(&self, name: &str) -> bool {
        self.review_all
            || self
                .registry
                .get(name)
                .is_some_and(|t| t.policy == Policy::Review)
    }

    /// Applies the decisions (one per call, in the calls' order), runs what
    /// may run (at most `max_parallel` at once), and returns the answers in
    /// the calls' order. Every call that runs is checked here, by this
    /// runner's registry, whatever was checked when it was proposed.
    async fn execute(
        &self,
        round: u32,
        calls: Vec<ProposedCall>,
        decisions: Vec<Option<Decision>>,
        deadline: Option<Instant>,
        stats: &mut RunStats,
    ) -> Vec<Answer> {
        enum Step {
            Run(Arc<dyn ErasedHandler>, Value),
            Answer(CallOutcome, String),
        }
        let steps: Vec<(ProposedCall, Step)> = calls
            .into_iter()
            .zip(decisions)
            .map(|(call, decision)| {
                if call.ambiguous {
                    let text = AMBIGUOUS_ID_TEXT.to_owned();
                    return (call, Step::Answer(CallOutcome::AmbiguousId, text));
                }
                // The stricter of the proposing runner's view and this one's.
                let needs_review = call.needs_review || self.needs_review(&call.name);
                let decision = match decision {
                    Some(d) => d,
                    None if needs_review => {
                        Decision::Reject("no decision was made on this call".to_owned())
                    }
                    None => Decision::Approve,
                };
                let validation = match decision {
                    Decision::Reject(reason) => {
                        let text = format!("error: the call was rejected: {reason}");
                        return (call, Step::Answer(CallOutcome::Rejected(reason), text));
                    }
                    Decision::Approve => self.check(&call.name, &call.raw_arguments, call.custom),
                    Decision::Edit(arguments) => match self.registry.get(&call.name) {
                        Some(tool) if !call.custom => validate_value(tool, arguments),
                        _ => Validation::UnknownTool,
                    },
                };
                let step = match (&validation, self.registry.get(&call.name)) {
                    (Validation::Valid(args), Some(tool)) if !call.custom => {
                        Step::Run(Arc::clone(&tool.handler), args.clone())
                    }
                    _ => {
                        let text = validation
                            .error_text(&call.name)
                            .unwrap_or_else(|| "error: there is no such tool".to_owned());
                        Step::Answer(invalid_outcome(&validation), text)
                    }
                };
                (call, step)
            })
            .collect();
        let timeout = self.call_timeout;
        let max_output = self.max_output_bytes;
        let results: Vec<(ProposedCall, CallOutcome, Duration, String)> =
            futures_util::stream::iter(steps)
                .map(|(call, step)| async move {
                    match step {
                        Step::Answer(outcome, text) => (call, outcome, Duration::ZERO, text),
                        Step::Run(handler, args) => {
                            let limit = match deadline {
                                Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
                                None => timeout,
                            };
                            let name = single_line(&call.name);
                            let span = tracing::info_span!(
                                target: "oai::gen_ai",
                                "execute_tool",
                                otel.name = %format_args!("execute_tool {name}"),
                                gen_ai.operation.name = "execute_tool",
                                gen_ai.tool.name = %name,
                                gen_ai.tool.call.id = %single_line(&call.call_id),
                                gen_ai.tool.type = "function",
                                error.type = tracing::field::Empty,
                            );
                            let started = Instant::now();
                            let (outcome, text) = {
                                use tracing::Instrument as _;
                                run_handler(handler, args, limit, max_output)
                                    .instrument(span.clone())
                                    .await
                            };
                            if !matches!(outcome, CallOutcome::Succeeded { .. }) {
                                span.record("error.type", outcome.label());
                            }
                            (call, outcome, started.elapsed(), text)
                        }
                    }
                })
                .buffered(self.max_parallel)
                .collect()
                .await;
        results
            .into_iter()
            .map(|(call, outcome, duration, text)| {
                self.finish(
                    round,
                    &call.call_id,
                    &call.name,
                    &call.raw_arguments,
                    outcome,
                    duration,
                    text,
                    call.custom,
                    stats,
                )
            })
            .collect()
    }

    /// Records, reports and turns one finished call into its answer.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        round: u32,
        call_id: &str,
        name: &str,
        raw_arguments: &str,
        outcome: CallOutcome,
        duration: Duration,
        text: String,
        custom: bool,
        stats: &mut RunStats,
    ) -> Answer {
        let record = CallRecord {
            round,
            call_id: call_id.to_owned(),
            name: shorten(name, 80),
            outcome,
            duration,
            output_bytes: text.len(),
        };
        if self.log_payloads {
            tracing::info!(
                target: "oai::tools",
                round,
                tool = %single_line(&record.name),
                call_id = %single_line(&record.call_id),
                outcome = record.outcome.label(),
                duration_ms = duration_ms(duration),
                arguments = %single_line(raw_arguments),
                output = %single_line(&text),
                "tool call"
            );
        } else {
            tracing::info!(
                target: "oai::tools",
                round,
                tool = %single_line(&record.name),
                call_id = %single_line(&record.call_id),
                outcome = record.outcome.label(),
                duration_ms = duration_ms(duration),
                output_bytes = text.len(),
                "tool call"
            );
        }
        self.emit(&RunEvent::CallFinished(&record));
        stats.count(&record);
        Answer {
            call_id: call_id.to_owned(),
            custom,
            text,
        }
    }

    fn emit(&self, event: &RunEvent<'_>) {
        if let Some(sink) = &self.sink {
            sink(event);
        }
    }
}

fn invalid_outcome(validation: &Validation) -> CallOutcome {
    match validation {
        Validation::UnknownTool | Validation::Valid(_) => CallOutcome::UnknownTool,
        Validation::MalformedJson(reason) => CallOutcome::MalformedArguments(reason.clone()),
        Validation::Invalid(violations) => {
            CallOutcome::InvalidArguments(violations.iter().map(|v| v.to_string()).collect())
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Aborts the task when dropped, so a run that is dropped (or a call that
/// timed out) leaves no handler running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one handler in a task of its own, so a panic is caught and a hang is
/// cut at `limit`.
async fn run_handler(
    handler: Arc<dyn ErasedHandler>,
    args: Value,
    limit: Duration,
    max_output: usize,
) -> (CallOutcome, String) {
    let mut task = AbortOnDrop(tokio::spawn(handler.call(args)));
    let joined: std::result::Result<std::result::Result<Result<HandlerResult, String>, _>, _> =
        tokio::time::timeout(limit, &mut task.0).await;
    match joined {
        Err(_) => (
            CallOutcome::TimedOut(limit),
            format!(
                "error: the tool did not finish within {:.1} s",
                limit.as_secs_f64()
            ),
        ),
        Ok(Err(join)) => {
            let message = if join.is_panic() {
                panic_message(join.into_panic())
            } else {
                "the task was cancelled".to_owned()
            };
            (
                CallOutcome::Panicked(message),
                "error: the tool failed unexpectedly".to_owned(),
            )
        }
        Ok(Ok(Err(unfit))) => {
            let violation = format!("the arguments do not fit the tool's parameters: {unfit}");
            (
                CallOutcome::InvalidArguments(vec![violation.clone()]),
                format!("error: {violation}"),
            )
        }
        Ok(Ok(Ok(Err(message)))) => {
            let text = truncate(format!("error: {message}"), max_output).0;
            (CallOutcome::ToolError(message), text)
        }
        Ok(Ok(Ok(Ok(output)))) => {
            let (text, truncated) = truncate(output, max_output);
            (CallOutcome::Succeeded { truncated }, text)
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// `text` cut to at most `max` bytes (note included) at a character boundary.
fn truncate(text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let note = format!("\n[output truncated: {} bytes in all]", text.len());
    let mut cut = max.saturating_sub(note.len());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + note.len());
    out.push_str(text.get(..cut).unwrap_or_default());
    out.push_str(&note);
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_keeps_characters_whole_and_the_limit() {
        let text = "é".repeat(100);
        let (out, cut) = truncate(text, 80);
        assert!(cut);
        assert!(out.len() <= 80, "{}", out.len());
        assert!(out.ends_with("[output truncated: 200 bytes in all]"));
        let (out, cut) = truncate("short".to_owned(), 80);
        assert!(!cut);
        assert_eq!(out, "short");
    }
}
