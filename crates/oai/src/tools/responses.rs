//! The runner over the Responses API: the transcript is the request's input
//! items, sent whole every round (no server-side state is needed).

use futures_util::StreamExt;
use oai_types::{
    CreateResponse, CustomToolCallOutput, CustomToolCallOutputOutput, EasyInputMessage,
    FunctionCallOutputItemParam, FunctionCallOutputItemParamOutput, InputItem, InputParam, Item,
    OutputItem, Response, ResponseStreamEvent as Ev, Tool,
};

use super::registry::ToolRegistry;
use super::runner::{
    Answer, CallToken, Conversation, Decision, EventSink, RawCall, Reply, RunEvent, StreamBudget,
    ToolRun, ToolRunner,
};
use crate::accumulate::{AccumulateExt, StreamEvent};
use crate::{Client, Error, Result};

/// A Responses API conversation driven by a [`ToolRunner`]: the request,
/// whose `input` items grow with every round (the model's output items and
/// the tools' outputs), and the model's last response.
#[derive(Debug, Clone)]
pub struct ResponsesConversation {
    request: CreateResponse,
    items: Vec<InputItem>,
    last: Option<Response>,
}

/// A [`ToolRun`] over the Responses API.
pub type ResponsesRun = ToolRun<ResponsesConversation>;

impl ResponsesConversation {
    /// The transcript: the input items of the next request.
    pub fn items(&self) -> &[InputItem] {
        &self.items
    }

    /// The request as the next round would send it (with [`items`](Self::items)
    /// as its `input`).
    pub fn request(&self) -> CreateResponse {
        let mut request = self.request.clone();
        request.input = Some(InputParam::InputItemList(self.items.clone()));
        request
    }

    /// The model's last response.
    pub fn last_response(&self) -> Option<&Response> {
        self.last.as_ref()
    }

    /// The output text of the model's last response
    /// ([`Response::output_text`]), when it has any.
    pub fn final_text(&self) -> Option<String> {
        Some(self.last.as_ref()?.output_text()).filter(|t| !t.is_empty())
    }
}

impl ToolRunner {
    /// Runs a Responses API conversation starting from `request` (its `input`,
    /// a text or items, is the start of the transcript). Each round sends the
    /// whole transcript as `input`; the model's output items (messages,
    /// reasoning, calls) are added to it. The registry's tools are added to
    /// the request's `tools`; hosted tools are kept, but a function tool the
    /// registry does not have is refused.
    ///
    /// The run never returns an `Err`: a failure is [`RunOutcome::Failed`](super::RunOutcome::Failed),
    /// with the transcript kept.
    pub async fn run_responses(&self, request: impl Into<CreateResponse>) -> ResponsesRun {
        let mut request = request.into();
        let items = match request.input.take() {
            None => Vec::new(),
            Some(InputParam::TextInput(text)) => {
                vec![InputItem::EasyInputMessage(EasyInputMessage::user(text))]
            }
            Some(InputParam::InputItemList(items)) => items,
            Some(other) => match other.as_unknown().cloned().map(serde_json::from_value) {
                Some(Ok(items)) => items,
                _ => {
                    return ToolRun::failed(
                        ResponsesConversation {
                            request,
                            items: Vec::new(),
                            last: None,
                        },
                        Error::invalid_input(
                            "the request's `input` is neither a text nor a list of items",
                        ),
                    );
                }
            },
        };
        self.start(ResponsesConversation {
            request,
            items,
            last: None,
        })
        .await
    }

    /// Resumes a Responses run that stopped for review, at a limit, or on a
    /// failure (see [`resume_chat`](Self::resume_chat) for the decisions).
    pub async fn resume_responses(
        &self,
        run: ResponsesRun,
        decisions: impl IntoIterator<Item = (CallToken, Decision)>,
    ) -> ResponsesRun {
        self.drive(run, decisions.into_iter().collect()).await
    }
}

impl Conversation for ResponsesConversation {
    fn install_tools(&mut self, registry: &ToolRegistry) -> Result<()> {
        self.request.tools = registry.merge_tools(
            self.request.tools.take(),
            |tool| match tool {
                Tool::Function(f) => Some(f.name.as_str()),
                _ => None,
            },
            registry.response_tools().into_iter().map(Tool::Function),
        )?;
        Ok(())
    }

    async fn round(
        &mut self,
        client: &Client,
        stream: bool,
        sink: Option<&EventSink>,
        mut budget: StreamBudget,
    ) -> Result<Reply> {
        let request = self.request();
        let response = if stream {
            let mut events = client
                .responses()
                .create(request)
                .stream()
                .await?
                .accumulate();
            while let Some(event) = events.next().await {
                let event = event?;
                count_call_bytes(&event, &mut budget)?;
                if let (Some(sink), Some(delta)) = (sink, event.text_delta()) {
                    sink(&RunEvent::TextDelta(delta));
                }
            }
            events.into_final()?
        } else {
            client.responses().create(request).await?
        };
        // Every output item goes back as input, so the next round sees the
        // whole exchange (reasoning included).
        let mut added = Vec::with_capacity(response.output.len());
        let mut calls = Vec::new();
        for item in &response.output {
            match item {
                OutputItem::FunctionCall(c) => calls.push(RawCall {
                    call_id: c.call_id.clone(),
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                    custom: false,
                }),
                OutputItem::CustomToolCall(c) => calls.push(RawCall {
                    call_id: c.call_id.clone(),
                    name: c.name.clone(),
                    arguments: c.input.clone(),
                    custom: true,
                }),
                _ => {}
            }
            added.push(as_input(item)?);
        }
        self.items.extend(added);
        let tokens = response
            .usage
            .as_ref()
            .map_or(0, |u| u64::try_from(u.total_tokens).unwrap_or(0));
        self.last = Some(response);
        Ok(Reply { calls, tokens })
    }

    fn answer(&mut self, answers: Vec<Answer>) {
        for answer in answers {
            let item = if answer.custom {
                Item::CustomToolCallOutput(CustomToolCallOutput {
                    extra: Default::default(),
                    r#type: Default::default(),
                    id: None,
                    call_id: answer.call_id,
                    caller: None,
                    output: CustomToolCallOutputOutput::StringOutput(answer.text),
                })
            } else {
                Item::FunctionCallOutputItemParam(FunctionCallOutputItemParam {
                    extra: Default::default(),
                    id: None,
                    call_id: Some(answer.call_id),
                    r#type: Default::default(),
                    output: FunctionCallOutputItemParamOutput::Text(answer.text),
                    name: None,
                    namespace: None,
                    caller: None,
                    status: None,
                })
            };
            self.items.push(InputItem::Item(item));
        }
    }
}

/// Counts the tool calls of a streamed response, and the bytes of their
/// arguments, against the round's budget as their events arrive.
fn count_call_bytes(event: &Ev, budget: &mut StreamBudget) -> Result<()> {
    let item = |index: i64, item: &OutputItem, budget: &mut StreamBudget| match item {
        OutputItem::FunctionCall(c) => budget.set((0, index), c.arguments.len()),
        OutputItem::CustomToolCall(c) => budget.set((0, index), c.input.len()),
        _ => Ok(()),
    };
    match event {
        Ev::ResponseOutputItemAdded(e) => item(e.output_index, &e.item, budget),
        Ev::ResponseOutputItemDone(e) => item(e.output_index, &e.item, budget),
        Ev::ResponseFunctionCallArgumentsDelta(e) => budget.add((0, e.output_index), e.delta.len()),
        Ev::ResponseFunctionCallArgumentsDone(e) => {
            budget.set((0, e.output_index), e.arguments.len())
        }
        Ev::ResponseCustomToolCallInputDelta(e) => budget.add((0, e.output_index), e.delta.len()),
        Ev::ResponseCustomToolCallInputDone(e) => budget.set((0, e.output_index), e.input.len()),
        Ev::ResponseCompleted(e) => {
            for (index, output) in e.response.output.iter().enumerate() {
                item(i64::try_from(index).unwrap_or(i64::MAX), output, budget)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// An output item as an input item: the same JSON object read as input.
fn as_input(item: &OutputItem) -> Result<InputItem> {
    // The server's item, not the user's input: a failure is the answer's
    // fault, and the serde error (which may quote the item) is not kept.
    let cannot = || Error::protocol("an output item of the answer cannot be sent back as input");
    let value = serde_json::to_value(item).map_err(|_| cannot())?;
    serde_json::from_value(value).map_err(|_| cannot())
}
