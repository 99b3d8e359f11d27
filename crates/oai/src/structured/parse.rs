//! Reading the model's structured answer back as a Rust value.

use std::fmt;

use serde::de::DeserializeOwned;

/// Why an answer was cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncompleteReason {
    /// The token limit was reached (`finish_reason: "length"`, or
    /// `incomplete_details.reason: "max_output_tokens"`).
    Length,
    /// The content filter stopped the answer (`content_filter`).
    ContentFilter,
    /// Another reason, as the API gave it (empty when it gave none).
    Other(String),
}

impl fmt::Display for IncompleteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length => f.write_str("the output token limit was reached"),
            Self::ContentFilter => f.write_str("the content filter stopped it"),
            Self::Other(r) if r.is_empty() => f.write_str("no reason given"),
            Self::Other(r) => write!(f, "reason {r:?}"),
        }
    }
}

/// The answer could not be read as the requested type.
#[derive(Debug)]
#[non_exhaustive]
pub enum ParseError {
    /// The chat completion has no choice (or not the one asked for).
    NoChoice {
        /// The index asked for.
        index: usize,
    },
    /// The model refused; its explanation is kept.
    Refusal {
        /// The refusal text.
        refusal: String,
    },
    /// The answer was cut short, so it is not the whole JSON value.
    Incomplete {
        /// Why.
        reason: IncompleteReason,
        /// The text received before the cut, if any.
        partial: Option<String>,
    },
    /// There is no text to read: the model called a tool instead
    /// (`finish_reason: "tool_calls"`), or the response has no message.
    NoContent {
        /// The `finish_reason` of the choice (chat completions).
        finish_reason: Option<String>,
    },
    /// The response did not complete (Responses API status `failed`,
    /// `cancelled`, `in_progress`, `queued`).
    NotCompleted {
        /// The response status.
        status: String,
        /// The API's error message, if it gave one.
        message: Option<String>,
    },
    /// The text is not valid JSON for the requested type.
    InvalidJson {
        /// The text, as received.
        text: String,
        /// What serde reported.
        source: serde_json::Error,
    },
}

/// At most 200 characters of model text, for messages.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

impl ParseError {
    /// The refusal text, when the model refused.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            Self::Refusal { refusal } => Some(refusal),
            _ => None,
        }
    }

    /// The model's text when it was received but could not be used (invalid
    /// JSON, or the part received before a cut).
    pub fn raw_text(&self) -> Option<&str> {
        match self {
            Self::InvalidJson { text, .. } => Some(text),
            Self::Incomplete { partial, .. } => partial.as_deref(),
            _ => None,
        }
    }

    /// Whether the answer was cut short by the token limit.
    pub fn is_length(&self) -> bool {
        matches!(
            self,
            Self::Incomplete {
                reason: IncompleteReason::Length,
                ..
            }
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoChoice { index } => write!(f, "the chat completion has no choice {index}"),
            Self::Refusal { refusal } => {
                write!(f, "the model refused: {}", excerpt(refusal))
            }
            Self::Incomplete { reason, .. } => {
                write!(f, "the answer is incomplete: {reason}")
            }
            Self::NoContent {
                finish_reason: Some(r),
            } => write!(f, "the answer has no text (finish_reason {r:?})"),
            Self::NoContent {
                finish_reason: None,
            } => f.write_str("the response has no output message with text"),
            Self::NotCompleted {
                status,
                message: Some(m),
            } => write!(f, "the response did not complete (status {status:?}): {m}"),
            Self::NotCompleted {
                status,
                message: None,
            } => write!(f, "the response did not complete (status {status:?})"),
            Self::InvalidJson { text, .. } => write!(
                f,
                "the answer is not valid JSON for the requested type ({} bytes)",
                text.len()
            ),
        }
    }
}

impl From<ParseError> for crate::Error {
    /// An answer that arrived but is not the requested type is
    /// [`crate::ErrorKind::Answer`]; [`crate::Error::downcast_ref`] gives
    /// the parse error back (the refusal, the partial text).
    fn from(e: ParseError) -> Self {
        crate::Error::helper(crate::ErrorKind::Answer, e)
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidJson { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    serde_json::from_str(text).map_err(|source| ParseError::InvalidJson {
        text: text.to_owned(),
        source,
    })
}

mod sealed {
    pub trait Sealed {}
}

/// `parse::<T>()` on API answers: the structured output as `T`.
///
/// - On a chat completion: its first choice (`choices[i].parse()` for another).
/// - On a chat completion choice: a cut answer (`finish_reason` `length` or
///   `content_filter`) is [`ParseError::Incomplete`], a refusal
///   [`ParseError::Refusal`], no text [`ParseError::NoContent`], then the
///   content is read as JSON.
/// - On a Responses API response: a status other than `completed` is
///   [`ParseError::NotCompleted`] (or `Incomplete` for `incomplete`), a refusal
///   part [`ParseError::Refusal`]; the text of the first output message (the
///   final answer, when messages carry a phase) is read as JSON.
pub trait ParseExt: sealed::Sealed {
    /// The answer as `T`.
    ///
    /// # Errors
    /// A [`ParseError`] saying why there is no `T`: refusal, cut answer, no
    /// text, or text that is not JSON for `T` (kept, with serde's error).
    fn parse<T: DeserializeOwned>(&self) -> Result<T, ParseError>;
}

#[cfg(feature = "chat")]
mod chat {
    use super::*;
    use oai_types::{
        CreateChatCompletionResponse, CreateChatCompletionResponseChoicesItem as Choice,
        CreateChatCompletionResponseChoicesItemFinishReason as Finish,
    };

    impl sealed::Sealed for CreateChatCompletionResponse {}
    impl sealed::Sealed for Choice {}

    impl ParseExt for CreateChatCompletionResponse {
        fn parse<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
            // `index` orders choices; the API sends them in order.
            let choice = self
                .choices
                .iter()
                .find(|c| c.index == 0)
                .or_else(|| self.choices.first())
                .ok_or(ParseError::NoChoice { index: 0 })?;
            choice.parse()
        }
    }

    impl ParseExt for Choice {
        fn parse<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
            let reason = match &self.finish_reason {
                Finish::Length => Some(IncompleteReason::Length),
                Finish::ContentFilter => Some(IncompleteReason::ContentFilter),
                _ => None,
            };
            if let Some(reason) = reason {
                return Err(ParseError::Incomplete {
                    reason,
                    partial: self.message.content.clone(),
                });
            }
            if let Some(refusal) = self.message.refusal.as_ref().filter(|r| !r.is_empty()) {
                return Err(ParseError::Refusal {
                    refusal: refusal.clone(),
                });
            }
            match &self.message.content {
                Some(text) => from_text(text),
                None => Err(ParseError::NoContent {
                    finish_reason: Some(self.finish_reason.as_str().to_owned()),
                }),
            }
        }
    }
}

#[cfg(feature = "responses")]
mod responses {
    use super::*;
    use oai_types::{
        MessagePhase, OutputItem, OutputMessage, OutputMessageContent, Response,
        ResponseIncompleteDetailsReason as Why, ResponseStatus,
    };

    impl sealed::Sealed for Response {}

    fn messages(r: &Response) -> impl Iterator<Item = &OutputMessage> {
        r.output.iter().filter_map(|item| match item {
            OutputItem::Message(m) => Some(m),
            _ => None,
        })
    }

    /// The message holding the answer: the first one that is not commentary.
    fn answer(r: &Response) -> Option<&OutputMessage> {
        messages(r)
            .find(|m| !matches!(m.phase, Some(MessagePhase::Commentary)))
            .or_else(|| messages(r).next())
    }

    fn text_of(m: &OutputMessage) -> Option<String> {
        let mut text: Option<String> = None;
        for part in &m.content {
            if let OutputMessageContent::OutputText(t) = part {
                text.get_or_insert_with(String::new).push_str(&t.text);
            }
        }
        text
    }

    impl ParseExt for Response {
        fn parse<T: DeserializeOwned>(&self) -> Result<T, ParseError> {
            if let Some(error) = &self.error {
                return Err(ParseError::NotCompleted {
                    status: self
                        .status
                        .as_ref()
                        .map_or("failed", ResponseStatus::as_str)
                        .to_owned(),
                    message: Some(error.message.clone()),
                });
            }
            match &self.status {
                None | Some(ResponseStatus::Completed) => {}
                Some(ResponseStatus::Incomplete) => {
                    let reason = match self
                        .incomplete_details
                        .as_ref()
                        .and_then(|d| d.reason.as_ref())
                    {
                        Some(Why::MaxOutputTokens) => IncompleteReason::Length,
                        Some(Why::ContentFilter) => IncompleteReason::ContentFilter,
                        Some(other) => IncompleteReason::Other(other.as_str().to_owned()),
                        None => IncompleteReason::Other(String::new()),
                    };
                    return Err(ParseError::Incomplete {
                        reason,
                        partial: answer(self).and_then(text_of),
                    });
                }
                Some(other) => {
                    return Err(ParseError::NotCompleted {
                        status: other.as_str().to_owned(),
                        message: None,
                    });
                }
            }
            let Some(message) = answer(self) else {
                return Err(ParseError::NoContent {
                    finish_reason: None,
                });
            };
            for part in &message.content {
                if let OutputMessageContent::Refusal(r) = part {
                    return Err(ParseError::Refusal {
                        refusal: r.refusal.clone(),
                    });
                }
            }
            match text_of(message) {
                Some(text) => from_text(&text),
                None => Err(ParseError::NoContent {
                    finish_reason: None,
                }),
            }
        }
    }
}
