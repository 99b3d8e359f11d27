//! Chat completion chunks folded into a chat completion.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use oai_types::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCallFunction,
    ChatCompletionMessageToolCallsItem, ChatCompletionModeration, ChatCompletionResponseMessage,
    ChatCompletionResponseMessageFunctionCall, ChatCompletionStreamResponseDeltaRole,
    ChatCompletionTokenLogprob, CompletionUsage, CreateChatCompletionResponse,
    CreateChatCompletionResponseChoicesItem, CreateChatCompletionResponseChoicesItemFinishReason,
    CreateChatCompletionResponseChoicesItemLogprobs, CreateChatCompletionStreamResponse,
    CreateChatCompletionStreamResponseChoicesItem,
    CreateChatCompletionStreamResponseChoicesItemFinishReason, ServiceTier,
};

use super::{
    AccumulateError, AccumulateErrorKind, Accumulator, Budget, DEFAULT_MAX_CHOICES,
    DEFAULT_MAX_TOOL_CALLS, StreamEvent, shown,
};

/// What one log probability entry counts against the byte budget, besides
/// its token and the tokens of its alternatives.
const LOGPROB_OVERHEAD: usize = 64;

/// Folds [`CreateChatCompletionStreamResponse`] chunks into the
/// [`CreateChatCompletionResponse`] the same request returns unstreamed.
///
/// ```
/// use oai::accumulate::{Accumulator, ChatCompletionAccumulator};
/// use oai::types::CreateChatCompletionStreamResponse as Chunk;
///
/// let chunks: Vec<Chunk> = [
///     r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#,
///     r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
/// ]
/// .iter()
/// .map(|s| serde_json::from_str(s))
/// .collect::<Result<_, _>>()?;
///
/// let mut acc = ChatCompletionAccumulator::new();
/// for chunk in &chunks {
///     acc.push(chunk)?;
/// }
/// let completion = acc.finish()?;
/// assert_eq!(completion.choices[0].message.content.as_deref(), Some("Hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What is accumulated
///
/// Per choice `index` (the final choices are ordered by index): `content` and
/// `refusal` are the concatenation of their deltas (`None` when no delta had
/// one), `finish_reason` the last one sent, `logprobs.content` and
/// `logprobs.refusal` the concatenation of the chunks' lists. Tool calls are
/// keyed by their `index`: the first delta that has an `id` or a `name` sets
/// it, `arguments` is the concatenation of every fragment. The deprecated
/// `function_call` delta is assembled the same way. Of the whole completion:
/// `id`, `model` and `created` come from the first chunk that has them
/// (non-empty, non-zero), `system_fingerprint`, `service_tier`, `usage` and
/// `moderation` from the last chunk that has them.
///
/// Fields the types do not name (`extra`) are kept too. A delta's are folded
/// into the message's `extra`: texts are concatenated and lists appended, so
/// vendors' reasoning text (`reasoning_content`, `reasoning`,
/// `reasoning_details`) arrives whole; other values are the last one sent. A
/// choice's (Azure's `content_filter_results`) and a chunk's (Azure's
/// `prompt_filter_results`, Groq's `x_groq`, Perplexity's `citations`,
/// llama.cpp's `timings`, ...) are the last value sent for each name.
///
/// # Tolerated
///
/// What real servers send: chunks without choices (the final usage chunk of
/// `stream_options.include_usage`, Azure's first chunk with empty `id` and
/// `model`); choices without a `delta` (Azure's content-filter chunks);
/// an id or name repeated by later deltas; empty strings where an id or a name
/// is absent; deltas after a `finish_reason`; chunks whose `id` changes
/// mid-stream (Groq's compound models: the first id is kept); tool-call deltas
/// without an `index` (Gemini's and Mistral's endpoints; read as 0): a delta
/// whose `id` is that of an earlier call continues that call, and one with a
/// new `id` at an index another call holds starts a call at the next free
/// index; a choice that never gets a `finish_reason` (some OpenRouter and
/// Snowflake streams): its `finish_reason` is then `Unknown("")`.
///
/// # Errors
///
/// - [`Conflict`](AccumulateErrorKind::Conflict): a tool call or function
///   call given two different names; a `role` other than `assistant`.
/// - [`OutOfOrder`](AccumulateErrorKind::OutOfOrder): a negative choice or
///   tool call index.
/// - [`Limit`](AccumulateErrorKind::Limit): more bytes gathered than
///   [`max_bytes`](Self::max_bytes), more distinct choice indices than
///   [`max_choices`](Self::max_choices), more distinct tool calls than
///   [`max_tool_calls`](Self::max_tool_calls). An index is a key, never a
///   position: choice 4 000 000 000 is one choice, not a table that size.
/// - At [`finish`](Accumulator::finish), [`Incomplete`](AccumulateErrorKind::Incomplete):
///   a tool call or function call without a name, a tool call without an id;
///   [`Empty`](AccumulateErrorKind::Empty): no chunk at all.
///
/// Not accumulated: `annotations` and `audio` of the message (chunks do not
/// carry them; they stay `None`) and `metadata` (not streamed).
#[derive(Debug, Clone)]
pub struct ChatCompletionAccumulator {
    budget: Budget,
    max_choices: usize,
    max_tool_calls: usize,
    tool_calls: usize,
    started: bool,
    id: String,
    model: String,
    created: i64,
    system_fingerprint: Option<String>,
    service_tier: Option<ServiceTier>,
    usage: Option<Box<CompletionUsage>>,
    moderation: Option<Box<ChatCompletionModeration>>,
    extra: Map<String, Value>,
    choices: BTreeMap<i64, PartialChoice>,
}

/// One choice of a chat completion as accumulated so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartialChoice {
    index: i64,
    content: Option<String>,
    refusal: Option<String>,
    finish_reason: Option<CreateChatCompletionStreamResponseChoicesItemFinishReason>,
    logprobs: Option<Logprobs>,
    tool_calls: BTreeMap<i64, PartialToolCall>,
    function_call: Option<PartialToolCall>,
    extra: Map<String, Value>,
    message_extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Logprobs {
    content: Option<Vec<ChatCompletionTokenLogprob>>,
    refusal: Option<Vec<ChatCompletionTokenLogprob>>,
}

/// One tool call (or the deprecated function call) as accumulated so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialToolCall {
    index: i64,
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl PartialChoice {
    /// The choice's `index`.
    pub fn index(&self) -> i64 {
        self.index
    }

    /// The text so far, `None` before any content delta.
    pub fn content(&self) -> Option<&str> {
        self.content.as_deref()
    }

    /// The refusal so far, `None` before any refusal delta.
    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// The `finish_reason`, once sent.
    pub fn finish_reason(
        &self,
    ) -> Option<&CreateChatCompletionStreamResponseChoicesItemFinishReason> {
        self.finish_reason.as_ref()
    }

    /// The tool calls so far, by index.
    pub fn tool_calls(&self) -> impl Iterator<Item = &PartialToolCall> {
        self.tool_calls.values()
    }

    /// The deprecated function call so far.
    pub fn function_call(&self) -> Option<&PartialToolCall> {
        self.function_call.as_ref()
    }
}

impl PartialToolCall {
    /// The tool call's `index` (0 for a function call).
    pub fn index(&self) -> i64 {
        self.index
    }

    /// The call's id, once sent (`None` for a function call).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The function's name, once sent.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The arguments so far (JSON text, complete only at the end).
    pub fn arguments(&self) -> &str {
        &self.arguments
    }

    /// Sets a field that the first delta having it fixes.
    fn set_once(
        slot: &mut Option<String>,
        value: Option<&str>,
        budget: &mut Budget,
        what: impl FnOnce() -> String,
    ) -> Result<(), AccumulateError> {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return Ok(());
        };
        match slot {
            None => {
                budget.charge(value.len())?;
                *slot = Some(value.to_owned());
                Ok(())
            }
            Some(first) if first == value => Ok(()),
            Some(first) => Err(AccumulateError::new(
                AccumulateErrorKind::Conflict,
                format!("{} is `{}`, then `{}`", what(), shown(first), shown(value)),
            )),
        }
    }
}

impl Default for ChatCompletionAccumulator {
    fn default() -> Self {
        Self {
            budget: Budget::default(),
            max_choices: DEFAULT_MAX_CHOICES,
            max_tool_calls: DEFAULT_MAX_TOOL_CALLS,
            tool_calls: 0,
            started: false,
            id: String::new(),
            model: String::new(),
            created: 0,
            system_fingerprint: None,
            service_tier: None,
            usage: None,
            moderation: None,
            extra: Map::new(),
            choices: BTreeMap::new(),
        }
    }
}

impl ChatCompletionAccumulator {
    /// An empty accumulator with the default bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cap on the bytes gathered: content, refusals, arguments, ids and names
    /// (default [`DEFAULT_MAX_ACCUMULATED_BYTES`](super::DEFAULT_MAX_ACCUMULATED_BYTES)).
    #[must_use]
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.budget.set_max(bytes);
        self
    }

    /// Cap on the number of choices (default
    /// [`DEFAULT_MAX_CHOICES`](super::DEFAULT_MAX_CHOICES)).
    #[must_use]
    pub fn max_choices(mut self, choices: usize) -> Self {
        self.max_choices = choices;
        self
    }

    /// Cap on the number of tool calls, all choices together (default
    /// [`DEFAULT_MAX_TOOL_CALLS`](super::DEFAULT_MAX_TOOL_CALLS)).
    #[must_use]
    pub fn max_tool_calls(mut self, calls: usize) -> Self {
        self.max_tool_calls = calls;
        self
    }

    /// The choices so far, by index.
    pub fn choices(&self) -> impl Iterator<Item = &PartialChoice> {
        self.choices.values()
    }

    /// The choice with `index`, if any delta named it.
    pub fn choice(&self, index: i64) -> Option<&PartialChoice> {
        self.choices.get(&index)
    }

    /// The usage, once a chunk carried it.
    pub fn usage(&self) -> Option<&CompletionUsage> {
        self.usage.as_deref()
    }

    /// The completion so far, without consuming the accumulator.
    ///
    /// # Errors
    /// As [`finish`](Accumulator::finish): before every choice has its
    /// `finish_reason`, this is an [`Incomplete`](AccumulateErrorKind::Incomplete)
    /// error; use [`choices`](Self::choices) to look at a completion in progress.
    pub fn to_completion(&self) -> Result<CreateChatCompletionResponse, AccumulateError> {
        self.clone().finish()
    }

    fn push_choice(
        &mut self,
        choice: &CreateChatCompletionStreamResponseChoicesItem,
    ) -> Result<(), AccumulateError> {
        let ci = choice.index;
        if ci < 0 {
            return Err(AccumulateError::new(
                AccumulateErrorKind::OutOfOrder,
                format!("a choice has the negative index {ci}"),
            ));
        }
        if !self.choices.contains_key(&ci) && self.choices.len() >= self.max_choices {
            return Err(AccumulateError::limit(
                "the choices of a completion",
                self.max_choices,
            ));
        }
        let budget = &mut self.budget;
        let state = self.choices.entry(ci).or_insert_with(|| PartialChoice {
            index: ci,
            ..PartialChoice::default()
        });
        let delta = &choice.delta;
        if let Some(role) = &delta.role
            && *role != ChatCompletionStreamResponseDeltaRole::Assistant
        {
            return Err(AccumulateError::new(
                AccumulateErrorKind::Conflict,
                format!(
                    "choice {ci} has the role `{}`; a completion's message is the assistant's",
                    shown(role.as_str())
                ),
            ));
        }
        if let Some(text) = &delta.content {
            budget.charge(text.len())?;
            state.content.get_or_insert_with(String::new).push_str(text);
        }
        if let Some(text) = &delta.refusal {
            budget.charge(text.len())?;
            state.refusal.get_or_insert_with(String::new).push_str(text);
        }
        for call in delta.tool_calls.iter().flatten() {
            let mut ti = call.index;
            if ti < 0 {
                return Err(AccumulateError::new(
                    AccumulateErrorKind::OutOfOrder,
                    format!("a tool call of choice {ci} has the negative index {ti}"),
                ));
            }
            if let Some(id) = call.id.as_deref().filter(|id| !id.is_empty()) {
                if let Some((&known, _)) = state
                    .tool_calls
                    .iter()
                    .find(|(_, tc)| tc.id.as_deref() == Some(id))
                {
                    ti = known;
                } else if state.tool_calls.get(&ti).is_some_and(|tc| tc.id.is_some()) {
                    // A new call where another is: the server does not number them.
                    ti = state
                        .tool_calls
                        .keys()
                        .next_back()
                        .and_then(|last| last.checked_add(1))
                        .ok_or_else(|| {
                            AccumulateError::new(
                                AccumulateErrorKind::OutOfOrder,
                                format!("a tool call of choice {ci} has no free index"),
                            )
                        })?;
                }
            }
            if !state.tool_calls.contains_key(&ti) {
                if self.tool_calls >= self.max_tool_calls {
                    return Err(AccumulateError::limit(
                        "the tool calls of a completion",
                        self.max_tool_calls,
                    ));
                }
                self.tool_calls += 1;
            }
            let tc = state
                .tool_calls
                .entry(ti)
                .or_insert_with(|| PartialToolCall {
                    index: ti,
                    ..PartialToolCall::default()
                });
            PartialToolCall::set_once(&mut tc.id, call.id.as_deref(), budget, || {
                format!("the id of tool call {ti} of choice {ci}")
            })?;
            if let Some(function) = &call.function {
                PartialToolCall::set_once(&mut tc.name, function.name.as_deref(), budget, || {
                    format!("the name of tool call {ti} of choice {ci}")
                })?;
                if let Some(fragment) = &function.arguments {
                    budget.charge(fragment.len())?;
                    tc.arguments.push_str(fragment);
                }
            }
        }
        if let Some(function) = &delta.function_call {
            let fc = state
                .function_call
                .get_or_insert_with(PartialToolCall::default);
            PartialToolCall::set_once(&mut fc.name, function.name.as_deref(), budget, || {
                format!("the name of the function call of choice {ci}")
            })?;
            if let Some(fragment) = &function.arguments {
                budget.charge(fragment.len())?;
                fc.arguments.push_str(fragment);
            }
        }
        if let Some(lp) = &choice.logprobs {
            let acc = state.logprobs.get_or_insert_with(Logprobs::default);
            if let Some(tokens) = &lp.content {
                budget.charge(logprob_bytes(tokens))?;
                acc.content
                    .get_or_insert_with(Vec::new)
                    .extend(tokens.iter().cloned());
            }
            if let Some(tokens) = &lp.refusal {
                budget.charge(logprob_bytes(tokens))?;
                acc.refusal
                    .get_or_insert_with(Vec::new)
                    .extend(tokens.iter().cloned());
            }
        }
        if let Some(reason) = &choice.finish_reason {
            state.finish_reason = Some(reason.clone());
        }
        fold_extra(&mut state.message_extra, &delta.extra, budget, true)?;
        fold_extra(&mut state.extra, &choice.extra, budget, false)?;
        Ok(())
    }
}

impl Accumulator for ChatCompletionAccumulator {
    type Event = CreateChatCompletionStreamResponse;
    type Output = CreateChatCompletionResponse;

    fn push(&mut self, chunk: &CreateChatCompletionStreamResponse) -> Result<(), AccumulateError> {
        self.started = true;
        if self.id.is_empty() {
            self.id.clone_from(&chunk.id);
        }
        if self.model.is_empty() {
            self.model.clone_from(&chunk.model);
        }
        if self.created == 0 {
            self.created = chunk.created;
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if chunk.service_tier.is_some() {
            self.service_tier.clone_from(&chunk.service_tier);
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        if chunk.moderation.is_some() {
            self.moderation.clone_from(&chunk.moderation);
        }
        fold_extra(&mut self.extra, &chunk.extra, &mut self.budget, false)?;
        for choice in &chunk.choices {
            self.push_choice(choice)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<CreateChatCompletionResponse, AccumulateError> {
        if !self.started {
            return Err(AccumulateError::empty());
        }
        let choices = self
            .choices
            .into_values()
            .map(finish_choice)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CreateChatCompletionResponse {
            extra: self.extra.into(),
            id: self.id,
            choices,
            created: self.created,
            model: self.model,
            metadata: None,
            service_tier: self.service_tier,
            system_fingerprint: self.system_fingerprint,
            object: Default::default(),
            usage: self.usage,
            moderation: self.moderation,
        })
    }
}

/// Adds the unnamed fields of a chunk, choice or delta to those gathered:
/// with `concat`, a text is appended to the text gathered under its name and
/// a list to the list (a `null` adds nothing); otherwise, and for other
/// values, the value sent last is kept.
fn fold_extra(
    into: &mut Map<String, Value>,
    from: &Map<String, Value>,
    budget: &mut Budget,
    concat: bool,
) -> Result<(), AccumulateError> {
    for (name, value) in from {
        budget.charge(name.len().saturating_add(value_bytes(value)))?;
        match (into.get_mut(name), value) {
            (Some(Value::String(gathered)), Value::String(text)) if concat => {
                gathered.push_str(text);
            }
            (Some(Value::Array(gathered)), Value::Array(items)) if concat => {
                gathered.extend(items.iter().cloned());
            }
            (_, Value::Null) if concat => {}
            _ => {
                into.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// What a JSON value counts against the byte budget: its length as JSON.
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len().saturating_add(2),
        Value::Array(items) => items
            .iter()
            .map(value_bytes)
            .fold(2, |a, b| a.saturating_add(b).saturating_add(1)),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| k.len().saturating_add(value_bytes(v)).saturating_add(4))
            .fold(2, usize::saturating_add),
        Value::Null | Value::Bool(_) | Value::Number(_) => 8,
    }
}

/// What a list of log probability entries counts against the byte budget.
fn logprob_bytes(tokens: &[ChatCompletionTokenLogprob]) -> usize {
    tokens
        .iter()
        .map(|t| {
            let bytes = |b: &Option<Vec<i64>>| b.as_ref().map_or(0, |b| b.len() * 8);
            let top: usize = t
                .top_logprobs
                .iter()
                .map(|a| a.token.len() + bytes(&a.bytes) + LOGPROB_OVERHEAD)
                .sum();
            t.token.len() + bytes(&t.bytes) + LOGPROB_OVERHEAD + top
        })
        .fold(0, usize::saturating_add)
}

fn finish_choice(
    choice: PartialChoice,
) -> Result<CreateChatCompletionResponseChoicesItem, AccumulateError> {
    let ci = choice.index;
    let reason = choice
        .finish_reason
        .map_or_else(String::new, |r| r.as_str().to_owned());
    let tool_calls = if choice.tool_calls.is_empty() {
        None
    } else {
        let calls = choice
            .tool_calls
            .into_values()
            .map(|tc| {
                let ti = tc.index;
                let missing = |what: &str| {
                    AccumulateError::new(
                        AccumulateErrorKind::Incomplete,
                        format!("tool call {ti} of choice {ci} never received {what}"),
                    )
                };
                let id = tc.id.ok_or_else(|| missing("an id"))?;
                let name = tc.name.ok_or_else(|| missing("a function name"))?;
                Ok(ChatCompletionMessageToolCallsItem::Function(
                    ChatCompletionMessageToolCall {
                        extra: Default::default(),
                        id,
                        r#type: Default::default(),
                        function: ChatCompletionMessageToolCallFunction {
                            extra: Default::default(),
                            name,
                            arguments: tc.arguments,
                        },
                    },
                ))
            })
            .collect::<Result<Vec<_>, AccumulateError>>()?;
        Some(calls)
    };
    let function_call = match choice.function_call {
        None => None,
        Some(fc) => Some(ChatCompletionResponseMessageFunctionCall {
            extra: Default::default(),
            name: fc.name.ok_or_else(|| {
                AccumulateError::new(
                    AccumulateErrorKind::Incomplete,
                    format!("the function call of choice {ci} never received a name"),
                )
            })?,
            arguments: fc.arguments,
        }),
    };
    #[allow(deprecated)]
    let message = ChatCompletionResponseMessage {
        extra: choice.message_extra.into(),
        content: choice.content,
        refusal: choice.refusal,
        tool_calls,
        annotations: None,
        role: Default::default(),
        function_call,
        audio: None,
    };
    Ok(CreateChatCompletionResponseChoicesItem {
        extra: choice.extra.into(),
        finish_reason: CreateChatCompletionResponseChoicesItemFinishReason::from(reason),
        index: ci,
        message,
        logprobs: choice
            .logprobs
            .map(|lp| CreateChatCompletionResponseChoicesItemLogprobs {
                extra: Default::default(),
                content: lp.content,
                refusal: lp.refusal,
            }),
    })
}

impl StreamEvent for CreateChatCompletionStreamResponse {
    type Accumulator = ChatCompletionAccumulator;

    fn text_delta(&self) -> Option<&str> {
        self.choices
            .iter()
            .find(|c| c.index == 0)
            .and_then(|c| c.delta.content.as_deref())
            .filter(|t| !t.is_empty())
    }
}
