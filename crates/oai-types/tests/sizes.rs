//! The in-memory size of the types a stream yields per event: large and
//! seldom-present parts are boxed by the generator (`box_large` in
//! `xtask/src/codegen/model.rs`), so an event is not the size of the
//! largest thing it could carry. Every value of a stream is moved a few
//! times between the decoder and the consumer: these sizes are copied.
#![cfg(all(feature = "chat", feature = "responses"))]

use oai_types::{
    CreateChatCompletionStreamResponse, Extra, ResponseStreamEvent, ResponseTextDeltaEvent,
};

#[test]
fn stream_events_stay_small() {
    // An empty `Extra` is one word.
    assert_eq!(size_of::<Extra>(), size_of::<usize>());
    // A chat chunk: `usage` and `moderation` (once per stream) are boxed.
    assert!(
        size_of::<CreateChatCompletionStreamResponse>() <= 192,
        "{}",
        size_of::<CreateChatCompletionStreamResponse>()
    );
    // A Responses event is about the size of a text delta, not of the
    // `Response` that `response.completed` carries (boxed).
    assert!(
        size_of::<ResponseStreamEvent>() <= 2 * size_of::<ResponseTextDeltaEvent>(),
        "{}",
        size_of::<ResponseStreamEvent>()
    );
    assert!(
        size_of::<ResponseStreamEvent>() <= 192,
        "{}",
        size_of::<ResponseStreamEvent>()
    );
}
