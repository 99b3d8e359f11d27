//! A tool runner that never executes model output (feature `tools`).
//!
//! A model asks for tools by name, with arguments it wrote itself. The runner
//! treats both as untrusted data:
//!
//! - **Registry-only dispatch.** Only the async Rust functions put in a
//!   [`ToolRegistry`] can run, each found by its exact name. Names follow the
//!   API's rule (`^[a-zA-Z0-9_-]{1,64}$`), checked at registration. A call to
//!   any other name is answered to the model as an error; nothing is guessed,
//!   nothing is looked up by reflection, and nothing the model wrote is ever
//!   evaluated.
//! - **Checked arguments.** The parameters schema comes from the handler's
//!   argument type (the strict form of [`structured`](crate::structured)) or
//!   is written by hand. The arguments are parsed and checked against it
//!   before the handler runs; malformed JSON or a schema violation is
//!   answered to the model with the violations, and counted in
//!   [`RunStats`]. A hand-written schema that uses a keyword the validator
//!   cannot enforce is refused at registration, so "checked" always means
//!   checked.
//! - **Review.** With [`ToolRunner::review_all`], or for tools whose
//!   [`Policy`] is [`Policy::Review`], the run stops before anything runs and
//!   returns the [`ProposedCall`]s (name, parsed arguments, validation); the
//!   application approves, edits or rejects each ([`Decision`]) and resumes.
//!   Decisions name calls by the [`CallToken`] the runner gave each, never by
//!   the server's call id; a list naming a call twice is refused. A call whose
//!   id is empty or repeated in its round never runs (it is answered as
//!   [`CallOutcome::AmbiguousId`]). An approved or edited call is checked
//!   again, by the registry of the runner that resumes, right before it runs.
//! - **Limits.** A timeout per call (the handler is cancelled), a maximum
//!   number of rounds (10 by default), calls run at once, calls per round,
//!   bytes of output per call, bytes of streamed arguments per call, and
//!   budgets of time and tokens for the run.
//!   A run-wide limit ends the run with [`RunOutcome::LimitReached`] naming
//!   the [`Limit`], and the transcript so far is kept. A handler that panics
//!   is reported as [`CallOutcome::Panicked`]; the process goes on.
//! - **Observability.** Every model round and every call is a `tracing`
//!   event (target `oai::tools`: tool name, call id, duration, outcome);
//!   arguments and outputs are left out unless
//!   [`ToolRunner::log_payloads`] is on. Text the model or server chose (tool
//!   names, call ids, payloads, error messages) is written on one line, its
//!   control characters replaced. [`ToolRunner::on_event`] gets the
//!   same, plus the answer's text deltas as they stream in.
//!
//! It works with chat completions ([`ToolRunner::run_chat`], feature `chat`)
//! and the Responses API ([`ToolRunner::run_responses`], feature `responses`).
//!
//! ```no_run
//! # #[cfg(feature = "responses")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use oai::builders::CreateResponseBuilder;
//! use oai::structured::JsonSchema;
//! use oai::tools::{Decision, Policy, RunOutcome, ToolRegistry, ToolRunner};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Transfer { to: String, cents: u64 }
//!
//! let mut tools = ToolRegistry::new();
//! tools.register("transfer", "Sends money", |t: Transfer| async move {
//!     Ok::<_, String>(format!("sent {} cents to {}", t.cents, t.to))
//! })?;
//! tools.set_policy("transfer", Policy::Review)?;
//!
//! let runner = ToolRunner::new(oai::Client::from_env()?, tools)
//!     .call_timeout(std::time::Duration::from_secs(5))
//!     .on_event(|event| if let oai::tools::RunEvent::TextDelta(t) = event { print!("{t}") });
//! let request = CreateResponseBuilder::new()
//!     .model("gpt-4o-mini")
//!     .input("Pay Bob 5 dollars")
//!     .build()?;
//! let mut run = runner.run_responses(request).await;
//! while let RunOutcome::NeedsReview = run.outcome() {
//!     let decisions: Vec<_> = run
//!         .pending()
//!         .iter()
//!         .map(|call| {
//!             let small = call.arguments().and_then(|a| a["cents"].as_u64()) < Some(10_000);
//!             let decision = if small { Decision::Approve } else { Decision::Reject("too much".into()) };
//!             (call.token(), decision)
//!         })
//!         .collect();
//!     run = runner.resume_responses(run, decisions).await;
//! }
//! println!("\n{:?}: {} calls", run.outcome(), run.stats().calls);
//! # Ok(()) }
//! ```

#[cfg(feature = "chat")]
mod chat;
mod registry;
#[cfg(feature = "responses")]
mod responses;
// With only a realtime session to serve, the conversation loop has no caller.
#[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
mod runner;
mod validate;

#[cfg(feature = "chat")]
pub use chat::{ChatConversation, ChatRun};
pub use registry::{
    MAX_TOOL_NAME_LEN, Policy, RegisterError, ToolRegistry, Validation, is_valid_tool_name,
};
#[cfg(feature = "responses")]
pub use responses::{ResponsesConversation, ResponsesRun};
pub use runner::{
    CallOutcome, CallRecord, CallToken, Decision, Limit, ProposedCall, RunEvent, RunOutcome,
    RunStats, ToolRun, ToolRunner,
};
pub use validate::{CompiledSchema, SchemaCompileError, SchemaViolation};
