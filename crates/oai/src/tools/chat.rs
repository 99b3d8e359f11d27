//! The runner over chat completions: the transcript is the request's messages.

use futures_util::StreamExt;
use oai_types::{
    ChatCompletionMessageToolCallsItem as CallItem, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestAssistantMessageAudio, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    CreateChatCompletionRequestToolsItem as ToolItem, CreateChatCompletionResponse,
};

use super::registry::ToolRegistry;
use super::runner::{
    Answer, CallToken, Conversation, Decision, EventSink, RawCall, Reply, RunEvent, StreamBudget,
    ToolRun, ToolRunner,
};
use crate::accumulate::{AccumulateExt, StreamEvent};
use crate::{Client, Error, Result};

/// A chat completions conversation driven by a [`ToolRunner`]: the request,
/// whose `messages` grow with every round, and the model's last answer.
#[derive(Debug, Clone)]
pub struct ChatConversation {
    request: CreateChatCompletionRequest,
    last: Option<CreateChatCompletionResponse>,
}

/// A [`ToolRun`] over chat completions.
pub type ChatRun = ToolRun<ChatConversation>;

impl ChatConversation {
    /// The transcript: the request's messages, the model's turns and the
    /// tools' answers.
    pub fn messages(&self) -> &[ChatCompletionRequestMessage] {
        &self.request.messages
    }

    /// The request as the next round would send it.
    pub fn request(&self) -> &CreateChatCompletionRequest {
        &self.request
    }

    /// The model's last answer.
    pub fn last_completion(&self) -> Option<&CreateChatCompletionResponse> {
        self.last.as_ref()
    }

    /// The text of the model's last answer (choice 0).
    pub fn final_text(&self) -> Option<&str> {
        self.last
            .as_ref()?
            .choices
            .first()?
            .message
            .content
            .as_deref()
    }
}

impl ToolRunner {
    /// Runs a chat completions conversation starting from `request` (its
    /// messages are the start of the transcript). The registry's tools are
    /// added to the request's `tools`; other tools of the request are kept,
    /// but a function tool the registry does not have is refused (the model
    /// could call it and nothing could answer).
    ///
    /// The run never returns an `Err`: a failure is [`RunOutcome::Failed`](super::RunOutcome::Failed),
    /// with the transcript kept.
    pub async fn run_chat(&self, request: impl Into<CreateChatCompletionRequest>) -> ChatRun {
        self.start(ChatConversation {
            request: request.into(),
            last: None,
        })
        .await
    }

    /// Resumes a chat run that stopped for review, at a limit, or on a
    /// failure. `decisions` name the calls of [`ToolRun::pending`] by their
    /// [`token`](super::ProposedCall::token), at most one decision each; a
    /// call that needs review and has no decision is rejected, one that does
    /// not need review runs as proposed, a call with an ambiguous id never
    /// runs. A list that names a call twice, or a token that is not one of
    /// the pending calls, is refused before anything runs: the run comes
    /// back as [`RunOutcome::Failed`](super::RunOutcome::Failed) with its
    /// pending calls kept, so it can be resumed again.
    pub async fn resume_chat(
        &self,
        run: ChatRun,
        decisions: impl IntoIterator<Item = (CallToken, Decision)>,
    ) -> ChatRun {
        self.drive(run, decisions.into_iter().collect()).await
    }
}

impl Conversation for ChatConversation {
    fn install_tools(&mut self, registry: &ToolRegistry) -> Result<()> {
        self.request.tools = registry.merge_tools(
            self.request.tools.take(),
            |tool| match tool {
                ToolItem::Function(f) => Some(f.function.name.as_str()),
                _ => None,
            },
            registry.chat_tools().into_iter().map(ToolItem::Function),
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
        let mut request = self.request.clone();
        let completion = if stream {
            if request.stream_options.is_none() {
                request.stream_options = Some(ChatCompletionStreamOptions {
                    include_usage: Some(true),
                    ..Default::default()
                });
            }
            let mut events = client
                .chat()
                .completions()
                .create(request)
                .stream()
                .await?
                .accumulate();
            while let Some(chunk) = events.next().await {
                let chunk = chunk?;
                for choice in &chunk.choices {
                    for call in choice.delta.tool_calls.iter().flatten() {
                        let bytes = call
                            .function
                            .as_ref()
                            .and_then(|f| f.arguments.as_ref())
                            .map_or(0, String::len);
                        budget.add((choice.index, call.index), bytes)?;
                    }
                }
                if let (Some(sink), Some(delta)) = (sink, chunk.text_delta()) {
                    sink(&RunEvent::TextDelta(delta));
                }
            }
            events.into_final()?
        } else {
            client.chat().completions().create(request).await?
        };
        let Some(choice) = completion.choices.first() else {
            return Err(Error::protocol(
                "the model's answer has no choices, so the conversation cannot go on",
            ));
        };
        let message = &choice.message;
        let calls = message
            .tool_calls
            .iter()
            .flatten()
            .filter_map(|item| match item {
                CallItem::Function(c) => Some(RawCall {
                    call_id: c.id.clone(),
                    name: c.function.name.clone(),
                    arguments: c.function.arguments.clone(),
                    custom: false,
                }),
                CallItem::Custom(c) => Some(RawCall {
                    call_id: c.id.clone(),
                    name: c.custom.name.clone(),
                    arguments: c.custom.input.clone(),
                    custom: true,
                }),
                // A kind of call this crate does not know: answered as an
                // unknown tool when it has an id to answer.
                other => {
                    let id = other.as_unknown()?.get("id")?.as_str()?;
                    Some(RawCall {
                        call_id: id.to_owned(),
                        name: other.tag().unwrap_or("unknown").to_owned(),
                        arguments: String::new(),
                        custom: true,
                    })
                }
            })
            .collect();
        let turn = ChatCompletionRequestAssistantMessage {
            content: message
                .content
                .clone()
                .map(ChatCompletionRequestAssistantMessageContent::TextContent),
            refusal: message.refusal.clone(),
            audio: message
                .audio
                .as_ref()
                .map(|a| ChatCompletionRequestAssistantMessageAudio {
                    extra: Default::default(),
                    id: a.id.clone(),
                }),
            tool_calls: message.tool_calls.clone().filter(|c| !c.is_empty()),
            ..Default::default()
        };
        self.request
            .messages
            .push(ChatCompletionRequestMessage::Assistant(turn));
        let tokens = completion
            .usage
            .as_ref()
            .map_or(0, |u| u64::try_from(u.total_tokens).unwrap_or(0));
        self.last = Some(completion);
        Ok(Reply { calls, tokens })
    }

    fn answer(&mut self, answers: Vec<Answer>) {
        for answer in answers {
            self.request
                .messages
                .push(ChatCompletionRequestMessage::tool(
                    answer.call_id,
                    answer.text,
                ));
        }
    }
}
