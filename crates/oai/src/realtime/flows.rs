//! Helpers for the common flows: session update, audio in, response out,
//! function calls answered through the tool registry.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oai_types::{
    RealtimeClientEvent, RealtimeClientEventConversationItemCreate,
    RealtimeClientEventInputAudioBufferAppend, RealtimeClientEventInputAudioBufferClear,
    RealtimeClientEventInputAudioBufferCommit, RealtimeClientEventResponseCreate,
    RealtimeClientEventSessionUpdate, RealtimeConversationItem,
    RealtimeConversationItemFunctionCallOutput, RealtimeConversationItemMessageUser,
    RealtimeConversationItemMessageUserContentItem,
    RealtimeConversationItemMessageUserContentItemType, RealtimeResponse,
    RealtimeResponseCreateParams, RealtimeServerEvent, RealtimeSessionCreateRequestGA,
};

use super::error::RealtimeError;
use super::session::{RealtimeReceiver, RealtimeSender, RealtimeSession};

/// Bytes of an `input_audio_buffer.append` event around its base64 audio,
/// with room to spare (the event as serialized is 49 bytes plus the audio).
const APPEND_OVERHEAD: usize = 128;

/// PCM16 samples as the API takes them: little-endian bytes, base64.
///
/// ```
/// assert_eq!(oai::realtime::pcm16_base64(&[1, -2]), "AQD+/w==");
/// ```
pub fn pcm16_base64(samples: &[i16]) -> String {
    let mut bytes = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    BASE64.encode(bytes)
}

/// The most samples one append event can carry under a message cap of
/// `max_message_bytes` (at least one).
pub fn pcm16_samples_per_message(max_message_bytes: usize) -> usize {
    let base64_room = max_message_bytes.saturating_sub(APPEND_OVERHEAD);
    (base64_room / 4 * 3 / 2).max(1)
}

impl RealtimeSender {
    /// Sends `session.update` with a realtime session configuration.
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn update_session(
        &self,
        session: RealtimeSessionCreateRequestGA,
    ) -> Result<(), RealtimeError> {
        self.send(RealtimeClientEventSessionUpdate {
            extra: Default::default(),
            event_id: None,
            r#type: Default::default(),
            session: session.into(),
        })
        .await
    }

    /// Appends PCM16 audio (mono, at the session's input rate) to the input
    /// buffer, in as many `input_audio_buffer.append` events as the message
    /// cap needs. Gives the number of events sent.
    ///
    /// # Errors
    /// As [`RealtimeSender::send`]; events sent before the error stay sent.
    pub async fn append_audio_pcm16(&self, samples: &[i16]) -> Result<usize, RealtimeError> {
        let per_message = pcm16_samples_per_message(self.limits().get_max_message_bytes());
        let mut sent = 0;
        for chunk in samples.chunks(per_message) {
            self.send(RealtimeClientEventInputAudioBufferAppend {
                extra: Default::default(),
                event_id: None,
                r#type: Default::default(),
                audio: pcm16_base64(chunk),
            })
            .await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Sends `input_audio_buffer.commit`.
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn commit_audio(&self) -> Result<(), RealtimeError> {
        self.send(RealtimeClientEventInputAudioBufferCommit::default())
            .await
    }

    /// Sends `input_audio_buffer.clear`.
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn clear_audio(&self) -> Result<(), RealtimeError> {
        self.send(RealtimeClientEventInputAudioBufferClear::default())
            .await
    }

    /// Adds a user message with `text` to the conversation
    /// (`conversation.item.create`).
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn send_user_text(&self, text: impl Into<String>) -> Result<(), RealtimeError> {
        let item = RealtimeConversationItemMessageUser {
            extra: Default::default(),
            id: None,
            object: None,
            r#type: Default::default(),
            status: None,
            role: Default::default(),
            content: vec![RealtimeConversationItemMessageUserContentItem {
                r#type: Some(RealtimeConversationItemMessageUserContentItemType::InputText),
                text: Some(text.into()),
                ..Default::default()
            }],
        };
        self.create_item(RealtimeConversationItem::ConversationItemMessageUser(item))
            .await
    }

    /// Adds the output of a function call to the conversation
    /// (`conversation.item.create` with a `function_call_output` item).
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn send_function_output(
        &self,
        call_id: impl Into<String>,
        output: impl Into<String>,
    ) -> Result<(), RealtimeError> {
        let item = RealtimeConversationItemFunctionCallOutput {
            extra: Default::default(),
            id: None,
            object: None,
            r#type: Default::default(),
            status: None,
            call_id: call_id.into(),
            output: output.into(),
        };
        self.create_item(RealtimeConversationItem::ConversationItemFunctionCallOutput(item))
            .await
    }

    async fn create_item(&self, item: RealtimeConversationItem) -> Result<(), RealtimeError> {
        self.send(RealtimeClientEventConversationItemCreate {
            extra: Default::default(),
            event_id: None,
            r#type: Default::default(),
            previous_item_id: None,
            item,
        })
        .await
    }

    /// Asks for a response with the session's settings (`response.create`).
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn create_response(&self) -> Result<(), RealtimeError> {
        self.send(RealtimeClientEventResponseCreate::default())
            .await
    }

    /// Asks for a response with these settings (`response.create`).
    ///
    /// # Errors
    /// As [`RealtimeSender::send`].
    pub async fn create_response_with(
        &self,
        response: RealtimeResponseCreateParams,
    ) -> Result<(), RealtimeError> {
        self.send(RealtimeClientEvent::from(
            RealtimeClientEventResponseCreate {
                extra: Default::default(),
                event_id: None,
                r#type: Default::default(),
                response: Some(Box::new(response)),
            },
        ))
        .await
    }
}

/// A function call the model made in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealtimeFunctionCall {
    /// The call's id, to answer it with.
    pub call_id: String,
    /// The function's name, as the model wrote it.
    pub name: String,
    /// The arguments, as the JSON text the model wrote.
    pub arguments: String,
}

/// What one response gave, gathered from its events up to `response.done`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RealtimeTurn {
    /// The response's id.
    pub response_id: Option<String>,
    /// The text deltas (`response.output_text.delta`), joined.
    pub text: String,
    /// The audio deltas (`response.output_audio.delta`), decoded from
    /// base64 and joined: PCM16 little-endian at the session's output rate.
    pub audio: Vec<u8>,
    /// The transcript deltas of the audio, joined.
    pub audio_transcript: String,
    /// The function calls (`response.function_call_arguments.done`), in order.
    pub function_calls: Vec<RealtimeFunctionCall>,
    /// The response as `response.done` described it.
    pub response: Option<RealtimeResponse>,
    /// Events of kinds this version does not know, seen during the response
    /// (their `type`), kept so nothing passes unnoticed.
    pub unknown_events: Vec<String>,
}

impl RealtimeTurn {
    /// Bytes gathered so far, function calls included (a server sending
    /// call after call before `response.done` meets the same cap).
    fn collected(&self) -> usize {
        let calls: usize = self
            .function_calls
            .iter()
            .map(|c| c.call_id.len() + c.name.len() + c.arguments.len())
            .sum();
        self.text.len() + self.audio.len() + self.audio_transcript.len() + calls
    }
}

impl RealtimeReceiver {
    /// Reads events up to the next `response.done` and gathers what the
    /// response said: text, audio, transcript, function calls. Events of
    /// other kinds are passed over; `on_event` sees every event first (to
    /// print deltas as they arrive, say).
    ///
    /// # Errors
    /// A server `error` event ([`RealtimeError::Server`]), an event that
    /// could not be read, audio that is not base64, output beyond the
    /// collection cap ([`RealtimeError::TooLarge`]), or the end of the
    /// session ([`RealtimeError::Closed`] when it closed cleanly).
    pub async fn collect_response_with(
        &mut self,
        mut on_event: impl FnMut(&RealtimeServerEvent),
    ) -> Result<RealtimeTurn, RealtimeError> {
        let cap = self.limits.get_max_collected_bytes();
        let mut turn = RealtimeTurn::default();
        loop {
            let event = match self.next_event().await {
                None => return Err(RealtimeError::Closed),
                Some(event) => event?,
            };
            on_event(&event);
            match event {
                RealtimeServerEvent::ResponseCreated(e) => {
                    turn.response_id = e.response.id;
                }
                RealtimeServerEvent::ResponseOutputTextDelta(e) => turn.text.push_str(&e.delta),
                RealtimeServerEvent::ResponseOutputAudioTranscriptDelta(e) => {
                    turn.audio_transcript.push_str(&e.delta);
                }
                RealtimeServerEvent::ResponseOutputAudioDelta(e) => {
                    BASE64
                        .decode_vec(e.delta.as_bytes(), &mut turn.audio)
                        .map_err(|err| RealtimeError::Decode {
                            event_type: Some("response.output_audio.delta".to_owned()),
                            raw: String::new(),
                            message: format!("the audio is not base64: {err}"),
                        })?;
                }
                RealtimeServerEvent::ResponseFunctionCallArgumentsDone(e) => {
                    turn.function_calls.push(RealtimeFunctionCall {
                        call_id: e.call_id,
                        name: e.name,
                        arguments: e.arguments,
                    });
                }
                RealtimeServerEvent::ResponseDone(e) => {
                    if turn.response_id.is_none() {
                        turn.response_id.clone_from(&e.response.id);
                    }
                    turn.response = Some(e.response);
                    return Ok(turn);
                }
                RealtimeServerEvent::Unknown(value) if turn.unknown_events.len() < 64 => {
                    let tag = value.get("type").and_then(|t| t.as_str()).unwrap_or("");
                    turn.unknown_events
                        .push(super::error::excerpt(&self.scrub, tag, 100));
                }
                _ => {}
            }
            if turn.collected() > cap {
                return Err(RealtimeError::TooLarge {
                    what: "collected output",
                    size: Some(turn.collected()),
                    limit: cap,
                });
            }
        }
    }

    /// [`collect_response_with`](Self::collect_response_with) without a
    /// callback.
    ///
    /// # Errors
    /// As [`collect_response_with`](Self::collect_response_with).
    pub async fn collect_response(&mut self) -> Result<RealtimeTurn, RealtimeError> {
        self.collect_response_with(|_| {}).await
    }
}

impl RealtimeSession {
    /// Reads up to the next `response.done` (see
    /// [`RealtimeReceiver::collect_response`]).
    ///
    /// # Errors
    /// As [`RealtimeReceiver::collect_response`].
    pub async fn collect_response(&mut self) -> Result<RealtimeTurn, RealtimeError> {
        self.receiver().collect_response().await
    }
}

#[cfg(feature = "tools")]
mod with_tools {
    use super::*;
    use crate::tools::{Limit, RunStats, ToolRunner};

    /// The end of [`RealtimeSession::run_tools`]: the last response (the
    /// one without function calls) and the record of every call.
    #[derive(Debug, Clone)]
    #[non_exhaustive]
    pub struct RealtimeToolRun {
        /// The last response.
        pub turn: RealtimeTurn,
        /// Responses read, the first included.
        pub responses: u32,
        /// Every call and what became of it (`stats.records`).
        pub stats: RunStats,
        /// The runner's limit the run stopped at, if any: the round limit
        /// (`turn` then holds calls left unanswered), the calls-per-round
        /// limit (every call of `turn` was answered as not run), or the time
        /// budget. After a limit no further response is asked for.
        pub limit: Option<Limit>,
    }

    impl RealtimeReceiver {
        /// Reads responses and answers their function calls through
        /// `runner`'s registry, until a response has no call: each call is
        /// checked (registered name, arguments against the schema) and run
        /// under the runner's timeout and output cap exactly as in
        /// [`ToolRunner`] runs, its output sent as a `function_call_output`
        /// item, then a new `response.create`. A tool whose policy asks for
        /// review is answered as rejected (a session has nobody to ask).
        /// Stops after the runner's round limit.
        ///
        /// Start it after `response.create` (or with server-side voice
        /// detection, which creates responses itself).
        ///
        /// # Errors
        /// As [`collect_response`](Self::collect_response), and sending errors.
        pub async fn run_tools(
            &mut self,
            sender: &RealtimeSender,
            runner: &ToolRunner,
        ) -> Result<RealtimeToolRun, RealtimeError> {
            let mut stats = RunStats::default();
            let mut responses = 0;
            let deadline = runner.deadline_from(tokio::time::Instant::now());
            loop {
                let turn = self.collect_response().await?;
                responses += 1;
                if turn.function_calls.is_empty() {
                    return Ok(RealtimeToolRun {
                        turn,
                        responses,
                        stats,
                        limit: None,
                    });
                }
                if responses >= runner.round_limit() {
                    return Ok(RealtimeToolRun {
                        turn,
                        responses,
                        stats,
                        limit: Some(Limit::Rounds(runner.round_limit())),
                    });
                }
                let calls = turn
                    .function_calls
                    .iter()
                    .map(|c| (c.call_id.clone(), c.name.clone(), c.arguments.clone()))
                    .collect();
                let (answers, limit) = runner
                    .answer_calls(responses, calls, deadline, &mut stats)
                    .await;
                for (call_id, text) in answers {
                    sender.send_function_output(call_id, text).await?;
                }
                if limit.is_some() {
                    return Ok(RealtimeToolRun {
                        turn,
                        responses,
                        stats,
                        limit,
                    });
                }
                sender.create_response().await?;
            }
        }
    }

    impl RealtimeSession {
        /// Answers function calls until a response has none (see
        /// [`RealtimeReceiver::run_tools`]).
        ///
        /// # Errors
        /// As [`RealtimeReceiver::run_tools`].
        pub async fn run_tools(
            &mut self,
            runner: &ToolRunner,
        ) -> Result<RealtimeToolRun, RealtimeError> {
            let sender = self.sender().clone();
            self.receiver().run_tools(&sender, runner).await
        }
    }
}

#[cfg(feature = "tools")]
pub use with_tools::RealtimeToolRun;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_per_message_fit_the_cap() {
        for cap in [1024usize, 1025, 4096, 65_536, 16 << 20] {
            let n = pcm16_samples_per_message(cap);
            let samples = vec![i16::MIN; n];
            let event = RealtimeClientEvent::from(RealtimeClientEventInputAudioBufferAppend {
                extra: Default::default(),
                event_id: None,
                r#type: Default::default(),
                audio: pcm16_base64(&samples),
            });
            let len = serde_json::to_string(&event).unwrap().len();
            assert!(len <= cap, "{cap}: {len}");
            // And one more sample's worth of room is not wasted by much.
            assert!(len + 16 + APPEND_OVERHEAD >= cap, "{cap}: {len}");
        }
    }

    #[test]
    fn pcm16_is_little_endian_base64() {
        assert_eq!(pcm16_base64(&[]), "");
        assert_eq!(pcm16_base64(&[0x0102]), "AgE=");
        assert_eq!(pcm16_base64(&[-1, 0]), "//8AAA==");
    }
}
