//! Responses API events folded into a response.

use std::collections::BTreeMap;

use oai_types::{
    OutputContent, OutputItem, OutputMessageContent, Response, ResponseStreamEvent as Ev,
    SummaryTextContent,
};

use super::{
    AccumulateError, AccumulateErrorKind, Accumulator, Budget, DEFAULT_MAX_OUTPUT_ITEMS,
    StreamEvent, put, shown,
};

/// Folds [`ResponseStreamEvent`](oai_types::ResponseStreamEvent)s into the
/// [`Response`] the same request returns unstreamed.
///
/// Two views of the result:
///
/// - [`snapshot`](Self::snapshot) is what the events built: the latest
///   response sent by a lifecycle event (`response.created`,
///   `response.queued`, `response.in_progress` or a terminal one) with its
///   `output` replaced by the output items accumulated from the item,
///   content-part and delta events. It is available at any point of the
///   stream.
/// - [`finish`](Accumulator::finish) is the response of the terminal event
///   (`response.completed`, `response.incomplete` or `response.failed`), the
///   authority, when one was received; otherwise the snapshot.
///
/// On a consistent stream both are equal.
///
/// # What is accumulated
///
/// `response.output_item.added` and `.done` put their item at `output_index`
/// (the final output is ordered by index). Into that item:
/// `response.content_part.added`/`.done` (a message's content, or a
/// reasoning item's text), `response.output_text.delta`/`.done`,
/// `response.output_text.annotation.added`, `response.refusal.delta`/`.done`,
/// `response.function_call_arguments.delta`/`.done`,
/// `response.custom_tool_call_input.delta`/`.done`,
/// `response.reasoning_summary_part.added`/`.done`,
/// `response.reasoning_summary_text.delta`/`.done` and
/// `response.reasoning_text.delta`/`.done`. A `.done` event replaces what the
/// deltas built. Log probabilities come from the content part and item `.done`
/// events (the deltas' lists are of another shape).
///
/// # Tolerated
///
/// Every other event (tool progress events, audio, unknown events from a newer
/// API) is ignored: their effect reaches the output through
/// `response.output_item.done`. Output indices may have gaps. Events after the
/// terminal one still change the snapshot but not the final response. An
/// event's `output_index` says which item it changes, whatever its `item_id`
/// (GitHub Copilot's endpoint gives one item several ids).
///
/// # Errors
///
/// - [`OutOfOrder`](AccumulateErrorKind::OutOfOrder): an event for an output
///   item, content part or summary part that no earlier event added (a part
///   may be added only at the next free index), or for an item or part of
///   another kind (a text delta on a function call), or a negative index.
/// - [`ErrorEvent`](AccumulateErrorKind::ErrorEvent): an `error` event (the
///   transport usually turns it into an [`Error`](crate::Error) first).
/// - [`Limit`](AccumulateErrorKind::Limit): more bytes of deltas and `.done`
///   texts than [`max_bytes`](Self::max_bytes), more distinct output indices
///   than [`max_output_items`](Self::max_output_items). An output index is a
///   key, never a position.
/// - At [`finish`](Accumulator::finish), [`Empty`](AccumulateErrorKind::Empty):
///   neither a lifecycle event nor a terminal one was received.
#[derive(Debug, Clone)]
pub struct ResponseAccumulator {
    budget: Budget,
    max_output_items: usize,
    envelope: Option<Response>,
    terminal: Option<Response>,
    items: BTreeMap<i64, OutputItem>,
}

/// What a Responses event adds to the output, for showing it as it arrives.
///
/// ```
/// use oai::accumulate::ResponseDelta;
/// use oai::types::ResponseStreamEvent;
///
/// let event: ResponseStreamEvent = serde_json::from_str(
///     r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,
///         "content_index":0,"delta":"Hi","sequence_number":4,"logprobs":[]}"#,
/// )?;
/// match ResponseDelta::of(&event) {
///     Some(ResponseDelta::OutputText { delta, .. }) => assert_eq!(delta, "Hi"),
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseDelta<'a> {
    /// Output text of a message (`response.output_text.delta`).
    OutputText {
        /// The message's `output_index`.
        output_index: i64,
        /// The content part's index.
        content_index: i64,
        /// The text added.
        delta: &'a str,
    },
    /// A refusal (`response.refusal.delta`).
    Refusal {
        /// The message's `output_index`.
        output_index: i64,
        /// The content part's index.
        content_index: i64,
        /// The text added.
        delta: &'a str,
    },
    /// A function call's arguments (`response.function_call_arguments.delta`).
    FunctionCallArguments {
        /// The call's `output_index`.
        output_index: i64,
        /// The call item's id.
        item_id: &'a str,
        /// The JSON text added.
        delta: &'a str,
    },
    /// A custom tool call's input (`response.custom_tool_call_input.delta`).
    CustomToolCallInput {
        /// The call's `output_index`.
        output_index: i64,
        /// The call item's id.
        item_id: &'a str,
        /// The text added.
        delta: &'a str,
    },
    /// A reasoning summary (`response.reasoning_summary_text.delta`).
    ReasoningSummary {
        /// The reasoning item's `output_index`.
        output_index: i64,
        /// The summary part's index.
        summary_index: i64,
        /// The text added.
        delta: &'a str,
    },
    /// Reasoning text (`response.reasoning_text.delta`).
    ReasoningText {
        /// The reasoning item's `output_index`.
        output_index: i64,
        /// The content part's index.
        content_index: i64,
        /// The text added.
        delta: &'a str,
    },
}

impl<'a> ResponseDelta<'a> {
    /// What `event` adds, if it is a delta event.
    pub fn of(event: &'a Ev) -> Option<Self> {
        Some(match event {
            Ev::ResponseOutputTextDelta(e) => Self::OutputText {
                output_index: e.output_index,
                content_index: e.content_index,
                delta: &e.delta,
            },
            Ev::ResponseRefusalDelta(e) => Self::Refusal {
                output_index: e.output_index,
                content_index: e.content_index,
                delta: &e.delta,
            },
            Ev::ResponseFunctionCallArgumentsDelta(e) => Self::FunctionCallArguments {
                output_index: e.output_index,
                item_id: &e.item_id,
                delta: &e.delta,
            },
            Ev::ResponseCustomToolCallInputDelta(e) => Self::CustomToolCallInput {
                output_index: e.output_index,
                item_id: &e.item_id,
                delta: &e.delta,
            },
            Ev::ResponseReasoningSummaryTextDelta(e) => Self::ReasoningSummary {
                output_index: e.output_index,
                summary_index: e.summary_index,
                delta: &e.delta,
            },
            Ev::ResponseReasoningTextDelta(e) => Self::ReasoningText {
                output_index: e.output_index,
                content_index: e.content_index,
                delta: &e.delta,
            },
            _ => return None,
        })
    }

    /// The text added, whatever its kind.
    pub fn delta(&self) -> &'a str {
        match *self {
            Self::OutputText { delta, .. }
            | Self::Refusal { delta, .. }
            | Self::FunctionCallArguments { delta, .. }
            | Self::CustomToolCallInput { delta, .. }
            | Self::ReasoningSummary { delta, .. }
            | Self::ReasoningText { delta, .. } => delta,
        }
    }
}

fn out_of_order(message: String) -> AccumulateError {
    AccumulateError::new(AccumulateErrorKind::OutOfOrder, message)
}

fn kind(item: &OutputItem) -> String {
    shown(item.tag().unwrap_or("unknown"))
}

/// The `index`-th element of `items`, or an error naming `what`.
fn part<T>(
    items: &mut [T],
    index: i64,
    what: impl FnOnce() -> String,
) -> Result<&mut T, AccumulateError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get_mut(i))
        .ok_or_else(|| out_of_order(format!("{} was never added", what())))
}

impl Default for ResponseAccumulator {
    fn default() -> Self {
        Self {
            budget: Budget::default(),
            max_output_items: DEFAULT_MAX_OUTPUT_ITEMS,
            envelope: None,
            terminal: None,
            items: BTreeMap::new(),
        }
    }
}

impl ResponseAccumulator {
    /// An empty accumulator with the default bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cap on the bytes gathered from deltas and `.done` texts (default
    /// [`DEFAULT_MAX_ACCUMULATED_BYTES`](super::DEFAULT_MAX_ACCUMULATED_BYTES)).
    #[must_use]
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.budget.set_max(bytes);
        self
    }

    /// Cap on the number of output items (default
    /// [`DEFAULT_MAX_OUTPUT_ITEMS`](super::DEFAULT_MAX_OUTPUT_ITEMS)).
    #[must_use]
    pub fn max_output_items(mut self, items: usize) -> Self {
        self.max_output_items = items;
        self
    }

    /// The output items so far, by index.
    pub fn output(&self) -> impl Iterator<Item = &OutputItem> {
        self.items.values()
    }

    /// The response of the terminal event, once received.
    pub fn terminal(&self) -> Option<&Response> {
        self.terminal.as_ref()
    }

    /// The response as the events built it so far (see the type's
    /// documentation); `None` before the first lifecycle event.
    pub fn snapshot(&self) -> Option<Response> {
        let mut response = self.envelope.clone()?;
        response.output = self.items.values().cloned().collect();
        Some(response)
    }

    /// The item at `output_index` (events' `item_id`s are not checked
    /// against it: real servers rotate ids).
    fn item(&mut self, output_index: i64, event: &str) -> Result<&mut OutputItem, AccumulateError> {
        self.items.get_mut(&output_index).ok_or_else(|| {
            out_of_order(format!(
                "`{event}` for output {output_index}, which no output_item event added"
            ))
        })
    }

    fn wrong_kind(item: &OutputItem, output_index: i64, event: &str) -> AccumulateError {
        out_of_order(format!(
            "`{event}` for output {output_index}, which is a {} item",
            kind(item)
        ))
    }

    fn put_part(
        &mut self,
        output_index: i64,
        content_index: i64,
        part: &OutputContent,
        event: &str,
    ) -> Result<(), AccumulateError> {
        let item = self.item(output_index, event)?;
        let what = || format!("content part {content_index} of output {output_index}");
        match item {
            OutputItem::Message(m) => {
                let content = match part {
                    OutputContent::OutputText(t) => OutputMessageContent::OutputText(t.clone()),
                    OutputContent::Refusal(r) => OutputMessageContent::Refusal(r.clone()),
                    OutputContent::Unknown(v) => OutputMessageContent::Unknown(v.clone()),
                    other => {
                        return Err(out_of_order(format!(
                            "`{event}` adds a {} part to the message at output {output_index}",
                            shown(other.tag().unwrap_or("unknown"))
                        )));
                    }
                };
                put(&mut m.content, content_index, content, what)
            }
            OutputItem::Reasoning(r) => match part {
                OutputContent::ReasoningText(t) => put(
                    r.content.get_or_insert_with(Vec::new),
                    content_index,
                    t.clone(),
                    what,
                ),
                _ => Err(out_of_order(format!(
                    "`{event}` adds a {} part to the reasoning item at output {output_index}",
                    shown(part.tag().unwrap_or("unknown"))
                ))),
            },
            other => Err(Self::wrong_kind(other, output_index, event)),
        }
    }

    /// The message content part an event targets.
    fn message_part(
        &mut self,
        output_index: i64,
        content_index: i64,
        event: &str,
    ) -> Result<&mut OutputMessageContent, AccumulateError> {
        match self.item(output_index, event)? {
            OutputItem::Message(m) => part(&mut m.content, content_index, || {
                format!("`{event}`: content part {content_index} of output {output_index}")
            }),
            other => Err(Self::wrong_kind(other, output_index, event)),
        }
    }

    fn output_text(
        &mut self,
        output_index: i64,
        content_index: i64,
        event: &str,
    ) -> Result<&mut oai_types::OutputTextContent, AccumulateError> {
        match self.message_part(output_index, content_index, event)? {
            OutputMessageContent::OutputText(t) => Ok(t),
            _ => Err(out_of_order(format!(
                "`{event}`: content part {content_index} of output {output_index} is not output text"
            ))),
        }
    }

    fn refusal(
        &mut self,
        output_index: i64,
        content_index: i64,
        event: &str,
    ) -> Result<&mut String, AccumulateError> {
        match self.message_part(output_index, content_index, event)? {
            OutputMessageContent::Refusal(r) => Ok(&mut r.refusal),
            _ => Err(out_of_order(format!(
                "`{event}`: content part {content_index} of output {output_index} is not a refusal"
            ))),
        }
    }

    /// The arguments of a function call or the input of a custom tool call.
    fn call_text(
        &mut self,
        output_index: i64,
        custom: bool,
        event: &str,
    ) -> Result<&mut String, AccumulateError> {
        match (self.item(output_index, event)?, custom) {
            (OutputItem::FunctionCall(c), false) => Ok(&mut c.arguments),
            (OutputItem::CustomToolCall(c), true) => Ok(&mut c.input),
            (other, _) => Err(Self::wrong_kind(other, output_index, event)),
        }
    }

    fn reasoning(
        &mut self,
        output_index: i64,
        event: &str,
    ) -> Result<&mut oai_types::ReasoningItem, AccumulateError> {
        match self.item(output_index, event)? {
            OutputItem::Reasoning(r) => Ok(r),
            other => Err(Self::wrong_kind(other, output_index, event)),
        }
    }

    fn summary(
        &mut self,
        output_index: i64,
        summary_index: i64,
        event: &str,
    ) -> Result<&mut String, AccumulateError> {
        let r = self.reasoning(output_index, event)?;
        part(&mut r.summary, summary_index, || {
            format!("`{event}`: summary part {summary_index} of output {output_index}")
        })
        .map(|s| &mut s.text)
    }

    fn reasoning_text(
        &mut self,
        output_index: i64,
        content_index: i64,
        event: &str,
    ) -> Result<&mut String, AccumulateError> {
        let r = self.reasoning(output_index, event)?;
        part(
            r.content.get_or_insert_with(Vec::new),
            content_index,
            || format!("`{event}`: reasoning text {content_index} of output {output_index}"),
        )
        .map(|t| &mut t.text)
    }

    fn put_item(&mut self, output_index: i64, item: &OutputItem) -> Result<(), AccumulateError> {
        if output_index < 0 {
            return Err(out_of_order(format!(
                "an output item has the negative index {output_index}"
            )));
        }
        if !self.items.contains_key(&output_index) && self.items.len() >= self.max_output_items {
            return Err(AccumulateError::limit(
                "the output items of a response",
                self.max_output_items,
            ));
        }
        self.items.insert(output_index, item.clone());
        Ok(())
    }
}

impl Accumulator for ResponseAccumulator {
    type Event = Ev;
    type Output = Response;

    fn push(&mut self, event: &Ev) -> Result<(), AccumulateError> {
        self.budget.charge(text_bytes(event))?;
        match event {
            Ev::ResponseCreated(e) => self.envelope = Some(e.response.clone()),
            Ev::ResponseQueued(e) => self.envelope = Some(e.response.clone()),
            Ev::ResponseInProgress(e) => self.envelope = Some(e.response.clone()),
            Ev::ResponseCompleted(e) => self.set_terminal(&e.response),
            Ev::ResponseIncomplete(e) => self.set_terminal(&e.response),
            Ev::ResponseFailed(e) => self.set_terminal(&e.response),
            Ev::Error(e) => {
                return Err(AccumulateError::error_event(
                    &e.message,
                    e.code.as_deref(),
                    e.param.as_deref(),
                ));
            }
            Ev::ResponseOutputItemAdded(e) => self.put_item(e.output_index, &e.item)?,
            Ev::ResponseOutputItemDone(e) => self.put_item(e.output_index, &e.item)?,
            Ev::ResponseContentPartAdded(e) => self.put_part(
                e.output_index,
                e.content_index,
                &e.part,
                "response.content_part.added",
            )?,
            Ev::ResponseContentPartDone(e) => self.put_part(
                e.output_index,
                e.content_index,
                &e.part,
                "response.content_part.done",
            )?,
            Ev::ResponseOutputTextDelta(e) => self
                .output_text(
                    e.output_index,
                    e.content_index,
                    "response.output_text.delta",
                )?
                .text
                .push_str(&e.delta),
            Ev::ResponseOutputTextDone(e) => {
                self.output_text(e.output_index, e.content_index, "response.output_text.done")?
                    .text
                    .clone_from(&e.text);
            }
            Ev::ResponseOutputTextAnnotationAdded(e) => {
                let text = self.output_text(
                    e.output_index,
                    e.content_index,
                    "response.output_text.annotation.added",
                )?;
                if let Some(annotation) = &e.annotation {
                    let (oi, ci, ai) = (e.output_index, e.content_index, e.annotation_index);
                    put(&mut text.annotations, ai, annotation.clone(), || {
                        format!("annotation {ai} of content part {ci} of output {oi}")
                    })?;
                }
            }
            Ev::ResponseRefusalDelta(e) => self
                .refusal(e.output_index, e.content_index, "response.refusal.delta")?
                .push_str(&e.delta),
            Ev::ResponseRefusalDone(e) => self
                .refusal(e.output_index, e.content_index, "response.refusal.done")?
                .clone_from(&e.refusal),
            Ev::ResponseFunctionCallArgumentsDelta(e) => self
                .call_text(
                    e.output_index,
                    false,
                    "response.function_call_arguments.delta",
                )?
                .push_str(&e.delta),
            Ev::ResponseFunctionCallArgumentsDone(e) => {
                let event = "response.function_call_arguments.done";
                match self.item(e.output_index, event)? {
                    OutputItem::FunctionCall(c) => {
                        c.arguments.clone_from(&e.arguments);
                        c.name.clone_from(&e.name);
                    }
                    other => return Err(Self::wrong_kind(other, e.output_index, event)),
                }
            }
            Ev::ResponseCustomToolCallInputDelta(e) => self
                .call_text(
                    e.output_index,
                    true,
                    "response.custom_tool_call_input.delta",
                )?
                .push_str(&e.delta),
            Ev::ResponseCustomToolCallInputDone(e) => self
                .call_text(e.output_index, true, "response.custom_tool_call_input.done")?
                .clone_from(&e.input),
            Ev::ResponseReasoningSummaryPartAdded(e) => {
                self.put_summary(
                    e.output_index,
                    e.summary_index,
                    &e.part.text,
                    "response.reasoning_summary_part.added",
                )?;
            }
            Ev::ResponseReasoningSummaryPartDone(e) => {
                self.put_summary(
                    e.output_index,
                    e.summary_index,
                    &e.part.text,
                    "response.reasoning_summary_part.done",
                )?;
            }
            Ev::ResponseReasoningSummaryTextDelta(e) => self
                .summary(
                    e.output_index,
                    e.summary_index,
                    "response.reasoning_summary_text.delta",
                )?
                .push_str(&e.delta),
            Ev::ResponseReasoningSummaryTextDone(e) => self
                .summary(
                    e.output_index,
                    e.summary_index,
                    "response.reasoning_summary_text.done",
                )?
                .clone_from(&e.text),
            Ev::ResponseReasoningTextDelta(e) => self
                .reasoning_text(
                    e.output_index,
                    e.content_index,
                    "response.reasoning_text.delta",
                )?
                .push_str(&e.delta),
            Ev::ResponseReasoningTextDone(e) => self
                .reasoning_text(
                    e.output_index,
                    e.content_index,
                    "response.reasoning_text.done",
                )?
                .clone_from(&e.text),
            // Progress events, audio, and events this version does not know.
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Response, AccumulateError> {
        if let Some(terminal) = self.terminal {
            return Ok(terminal);
        }
        let mut response = self.envelope.ok_or_else(|| {
            AccumulateError::new(
                AccumulateErrorKind::Empty,
                "the stream carried neither a lifecycle event (response.created) nor a terminal one",
            )
        })?;
        response.output = self.items.into_values().collect();
        Ok(response)
    }
}

impl ResponseAccumulator {
    fn set_terminal(&mut self, response: &Response) {
        self.envelope = Some(response.clone());
        if self.terminal.is_none() {
            self.terminal = Some(response.clone());
        }
    }

    fn put_summary(
        &mut self,
        output_index: i64,
        summary_index: i64,
        text: &str,
        event: &str,
    ) -> Result<(), AccumulateError> {
        let r = self.reasoning(output_index, event)?;
        let summary = SummaryTextContent {
            extra: Default::default(),
            r#type: Default::default(),
            text: text.to_owned(),
        };
        put(&mut r.summary, summary_index, summary, || {
            format!("summary part {summary_index} of output {output_index}")
        })
    }
}

/// The text an event adds or replaces, counted against the byte budget.
fn text_bytes(event: &Ev) -> usize {
    match event {
        Ev::ResponseOutputTextDelta(e) => e.delta.len(),
        Ev::ResponseOutputTextDone(e) => e.text.len(),
        Ev::ResponseRefusalDelta(e) => e.delta.len(),
        Ev::ResponseRefusalDone(e) => e.refusal.len(),
        Ev::ResponseFunctionCallArgumentsDelta(e) => e.delta.len(),
        Ev::ResponseFunctionCallArgumentsDone(e) => e.arguments.len() + e.name.len(),
        Ev::ResponseCustomToolCallInputDelta(e) => e.delta.len(),
        Ev::ResponseCustomToolCallInputDone(e) => e.input.len(),
        Ev::ResponseReasoningSummaryPartAdded(e) => e.part.text.len(),
        Ev::ResponseReasoningSummaryPartDone(e) => e.part.text.len(),
        Ev::ResponseReasoningSummaryTextDelta(e) => e.delta.len(),
        Ev::ResponseReasoningSummaryTextDone(e) => e.text.len(),
        Ev::ResponseReasoningTextDelta(e) => e.delta.len(),
        Ev::ResponseReasoningTextDone(e) => e.text.len(),
        _ => 0,
    }
}

impl StreamEvent for Ev {
    type Accumulator = ResponseAccumulator;

    fn text_delta(&self) -> Option<&str> {
        match self {
            Ev::ResponseOutputTextDelta(e) => Some(&e.delta),
            _ => None,
        }
    }
}
