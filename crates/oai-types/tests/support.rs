//! The support macros used from another crate: round trips, forward
//! compatibility, error messages, non-`serde_json` deserializers, properties.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::convert::Infallible;
use std::str::FromStr;

use proptest::prelude::*;
use serde::de::IntoDeserializer;
use serde::de::value::{
    BorrowedStrDeserializer, Error as ValueError, MapDeserializer, StrDeserializer,
    StringDeserializer,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

oai_types::string_enum! {
    /// Reasoning effort.
    #[doc = "Wire name `reasoning_effort`."]
    pub enum ReasoningEffort {
        /// `"low"`
        Low = "low",
        /// `"medium"`
        #[doc(alias = "mid")]
        Medium = "medium",
        /// `"high"`
        High = "high",
    }
}

oai_types::string_enum! {
    /// The `role` of a message, as a one-value enum (what the tag field of a
    /// variant struct usually is).
    pub enum SystemRole {
        /// `"system"`
        System = "system",
    }
}

/// A system message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemMessage {
    /// The tag.
    pub role: SystemRole,
    /// The text.
    pub content: String,
}

/// A user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessage {
    /// The tag.
    pub role: String,
    /// The text.
    pub content: MessageContent,
    /// An optional name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A tool message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolMessage {
    /// The tag.
    pub role: String,
    /// The text.
    pub content: String,
    /// The call answered.
    pub tool_call_id: String,
}

oai_types::tagged_union! {
    /// A chat message.
    #[doc = "Wire name `chat_message`."]
    pub enum ChatMessage tag "role" {
        /// `"system"`
        System(SystemMessage) = "system",
        /// `"user"`
        #[doc(alias = "human")]
        User(UserMessage) = "user",
        /// `"tool"`
        Tool(ToolMessage) = "tool",
        /// `"developer"`: same type as `User`, so no `From`.
        Developer(UserMessage) = "developer" [from = false],
    }
}

/// A text part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPart {
    /// The tag.
    pub r#type: String,
    /// The text.
    pub text: String,
}

oai_types::untagged_union! {
    /// Message content.
    pub enum MessageContent {
        /// A plain string.
        Text(String),
        /// A list of parts.
        #[doc(alias = "list")]
        Parts(Vec<TextPart>),
        /// Never chosen by deserialization (`Text` comes first); no `From`.
        Shadow(String) [from = false],
    }
}

mod attributes {
    //! Attributes and doc comments on items and variants, other visibilities.
    #![allow(dead_code)]

    oai_types::string_enum! {
        /// Outer doc.
        #[derive(Default)]
        #[cfg_attr(test, doc = "Only in tests.")]
        pub(crate) enum Mode {
            /// Variant doc.
            #[default]
            Auto = "auto",
            /// Deprecated variant.
            #[deprecated(note = "use Auto")]
            #[doc(alias = "legacy")]
            Manual = "manual"
        }
    }

    /// Deprecated payload.
    #[deprecated]
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Old {
        /// Tag.
        pub kind: String,
    }

    oai_types::tagged_union! {
        /// Outer doc.
        #[must_use]
        pub(super) enum Event tag "kind" {
            /// Variant doc.
            #[deprecated]
            #[allow(deprecated)]
            Old(Old) = "old",
        }
    }

    oai_types::untagged_union! {
        #[doc = "Outer doc."]
        enum Private {
            #[doc = "Variant doc."]
            #[cfg_attr(test, doc = "Only in tests.")]
            Number(u64)
        }
    }

    #[test]
    fn attributes_are_forwarded() {
        assert_eq!(Mode::default(), Mode::Auto);
        #[allow(deprecated)]
        let manual = Mode::Manual;
        assert_eq!(manual.as_str(), "manual");
        let event: Event = serde_json::from_str(r#"{"kind":"old"}"#).unwrap();
        assert_eq!(event.tag(), Some("old"));
        let private: Private = serde_json::from_str("3").unwrap();
        assert_eq!(private, Private::Number(3));
    }
}

// ---- string_enum ---------------------------------------------------------

#[test]
fn string_enum_known_values_round_trip() {
    for (variant, wire) in [
        (ReasoningEffort::Low, "low"),
        (ReasoningEffort::Medium, "medium"),
        (ReasoningEffort::High, "high"),
    ] {
        let json = format!("\"{wire}\"");
        assert_eq!(serde_json::to_string(&variant).unwrap(), json);
        assert_eq!(
            serde_json::from_str::<ReasoningEffort>(&json).unwrap(),
            variant
        );
        assert_eq!(variant.as_str(), wire);
        assert_eq!(variant.to_string(), wire);
        assert_eq!(variant.as_ref(), wire);
        assert!(variant.is_known());
        assert_eq!(ReasoningEffort::from(wire), variant);
        assert_eq!(ReasoningEffort::from(wire.to_owned()), variant);
        assert_eq!(wire.parse::<ReasoningEffort>(), Ok(variant));
    }
    assert_eq!(ReasoningEffort::VALUES, ["low", "medium", "high"]);
}

#[test]
fn string_enum_unknown_value_is_kept() {
    let e: ReasoningEffort = serde_json::from_str(r#""extreme""#).unwrap();
    assert_eq!(e, ReasoningEffort::Unknown("extreme".to_owned()));
    assert!(!e.is_known());
    assert_eq!(e.as_str(), "extreme");
    assert_eq!(serde_json::to_string(&e).unwrap(), r#""extreme""#);
    // Escapes and case survive exactly.
    let odd = "Low \"quoted\" \u{e9}\n";
    let e: ReasoningEffort = serde_json::from_value(json!(odd)).unwrap();
    assert_eq!(e, ReasoningEffort::Unknown(odd.to_owned()));
    assert_eq!(serde_json::to_value(&e).unwrap(), json!(odd));
}

#[test]
fn string_enum_unknown_spelling_of_known_value_is_distinct_but_never_produced() {
    assert_ne!(ReasoningEffort::Unknown("low".into()), ReasoningEffort::Low);
    assert_eq!(ReasoningEffort::from("low"), ReasoningEffort::Low);
    assert_eq!(
        ReasoningEffort::from(String::from("low")),
        ReasoningEffort::Low
    );
}

#[test]
fn string_enum_non_string_is_an_error() {
    for input in ["1", "null", "true", "[]", "{}"] {
        let err = serde_json::from_str::<ReasoningEffort>(input).unwrap_err();
        assert!(
            err.to_string().contains("ReasoningEffort"),
            "{input}: {err}"
        );
    }
}

#[test]
fn string_enum_traits() {
    let parsed: Result<ReasoningEffort, Infallible> = ReasoningEffort::from_str("high");
    assert_eq!(parsed, Ok(ReasoningEffort::High));
    assert_eq!(format!("[{:>6}]", ReasoningEffort::Low), "[   low]");
    let set: HashSet<_> = [ReasoningEffort::Low, ReasoningEffort::from("low")].into();
    assert_eq!(set.len(), 1);
    let mut sorted = vec![ReasoningEffort::High, ReasoningEffort::Low];
    sorted.sort();
    assert_eq!(sorted, [ReasoningEffort::Low, ReasoningEffort::High]);
    assert!(format!("{:?}", ReasoningEffort::Medium).contains("Medium"));
}

#[test]
fn string_enum_from_serde_value_deserializers() {
    let from_str =
        ReasoningEffort::deserialize(StrDeserializer::<ValueError>::new("medium")).unwrap();
    assert_eq!(from_str, ReasoningEffort::Medium);
    let unknown = ReasoningEffort::deserialize(StrDeserializer::<ValueError>::new("x")).unwrap();
    assert_eq!(unknown, ReasoningEffort::Unknown("x".into()));
    let borrowed =
        ReasoningEffort::deserialize(BorrowedStrDeserializer::<ValueError>::new("high")).unwrap();
    assert_eq!(borrowed, ReasoningEffort::High);
    let owned = ReasoningEffort::deserialize(StringDeserializer::<ValueError>::new("y".to_owned()))
        .unwrap();
    assert_eq!(owned, ReasoningEffort::Unknown("y".into()));
    let number: Result<ReasoningEffort, ValueError> =
        ReasoningEffort::deserialize(5_u32.into_deserializer());
    assert!(number.is_err());
}

// ---- tagged_union --------------------------------------------------------

#[test]
fn tagged_union_known_variants_round_trip() {
    let cases = [
        json!({"role": "system", "content": "be brief"}),
        json!({"role": "user", "content": "hi", "name": "ann"}),
        json!({"role": "user", "content": [{"type": "text", "text": "hi"}]}),
        json!({"role": "tool", "content": "42", "tool_call_id": "call_1"}),
        json!({"role": "developer", "content": "dev"}),
    ];
    for input in cases {
        let tag = input["role"].as_str().unwrap().to_owned();
        let message: ChatMessage = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(message.tag(), Some(tag.as_str()));
        assert!(message.as_unknown().is_none());
        assert_eq!(serde_json::to_value(&message).unwrap(), input);
        let text = serde_json::to_string(&input).unwrap();
        assert_eq!(serde_json::from_str::<ChatMessage>(&text).unwrap(), message);
    }
    let system: ChatMessage = serde_json::from_str(r#"{"content":"x","role":"system"}"#).unwrap();
    assert_eq!(
        system,
        ChatMessage::System(SystemMessage {
            role: SystemRole::System,
            content: "x".into()
        })
    );
    let developer: ChatMessage =
        serde_json::from_str(r#"{"role":"developer","content":"x"}"#).unwrap();
    assert!(matches!(developer, ChatMessage::Developer(_)));
}

#[test]
fn tagged_union_from_inner() {
    let tool = ToolMessage {
        role: "tool".into(),
        content: "c".into(),
        tool_call_id: "t".into(),
    };
    let message = ChatMessage::from(tool.clone());
    assert_eq!(message, ChatMessage::Tool(tool));
    assert_eq!(message.tag(), Some("tool"));
    // `From<UserMessage>` is the `User` variant (`Developer` opted out).
    let user = UserMessage {
        role: "user".into(),
        content: MessageContent::Text("hi".into()),
        name: None,
    };
    assert!(matches!(ChatMessage::from(user), ChatMessage::User(_)));
}

#[test]
fn tagged_union_unknown_tag_keeps_raw_json() {
    let input = json!({
        "role": "critic",
        "content": {"nested": [1, 2.5, null, true]},
        "extra": "kept"
    });
    let message: ChatMessage = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(message, ChatMessage::Unknown(input.clone()));
    assert_eq!(message.tag(), Some("critic"));
    assert_eq!(message.as_unknown(), Some(&input));
    assert_eq!(serde_json::to_value(&message).unwrap(), input);
    let text = serde_json::to_string(&message).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), input);
    // Case matters: "System" is not "system".
    let upper: ChatMessage = serde_json::from_str(r#"{"role":"System"}"#).unwrap();
    assert_eq!(upper.tag(), Some("System"));
    assert!(upper.as_unknown().is_some());
}

#[test]
fn tagged_union_unknown_built_by_hand_without_tag() {
    let message = ChatMessage::Unknown(json!({"no": "role"}));
    assert_eq!(message.tag(), None);
    let message = ChatMessage::Unknown(json!({"role": 1}));
    assert_eq!(message.tag(), None);
}

#[test]
fn tagged_union_missing_tag_names_union_and_field() {
    let read = serde_json::from_str::<ChatMessage>(r#"{"content":"x"}"#);
    if cfg!(oai_strict) {
        let msg = read.unwrap_err().to_string();
        assert!(msg.contains("ChatMessage"), "{msg}");
        assert!(msg.contains("`role`"), "{msg}");
        assert!(msg.contains("missing"), "{msg}");
    } else {
        // Tolerant: the variant it fits exactly (none here), else kept whole.
        assert_eq!(read.unwrap().as_unknown(), Some(&json!({"content": "x"})));
    }
}

#[test]
fn tagged_union_non_string_tag_or_non_object_is_an_error() {
    let tag_errors: &[&str] = if cfg!(oai_strict) {
        &[
            r#"{"role":1}"#,
            r#"{"role":null}"#,
            r#"{"role":["system"]}"#,
        ]
    } else {
        // Tolerant: a `null` tag is an absent one (see above).
        &[r#"{"role":1}"#, r#"{"role":["system"]}"#]
    };
    for input in tag_errors {
        let msg = serde_json::from_str::<ChatMessage>(input)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("ChatMessage") && msg.contains("`role`"),
            "{input}: {msg}"
        );
        assert!(msg.contains("must be a string"), "{input}: {msg}");
    }
    for input in [r#""system""#, "[]", "3", "null"] {
        let msg = serde_json::from_str::<ChatMessage>(input)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("ChatMessage") && msg.contains("`role`"),
            "{input}: {msg}"
        );
    }
    // Syntax errors are still syntax errors.
    assert!(
        serde_json::from_str::<ChatMessage>(r#"{"role":"#)
            .unwrap_err()
            .is_eof()
    );
}

#[test]
fn tagged_union_wrong_body_for_known_tag_is_the_variant_error() {
    let err = serde_json::from_str::<ChatMessage>(r#"{"role":"tool","content":"x"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ChatMessage"), "{err}");
    assert!(err.contains(r#"`role` = "tool""#), "{err}");
    assert!(err.contains("missing field `tool_call_id`"), "{err}");

    let err = serde_json::from_value::<ChatMessage>(json!({"role": "system", "content": 7}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"`role` = "system""#) && err.contains("invalid type"),
        "{err}"
    );
}

#[test]
fn tagged_union_from_a_non_json_deserializer() {
    let pairs = [("role", "tool"), ("content", "42"), ("tool_call_id", "c")];
    let de = MapDeserializer::<_, ValueError>::new(pairs.into_iter());
    let message = ChatMessage::deserialize(de).unwrap();
    assert_eq!(
        message,
        ChatMessage::Tool(ToolMessage {
            role: "tool".into(),
            content: "42".into(),
            tool_call_id: "c".into()
        })
    );

    let pairs = [("role", "critic"), ("content", "x")];
    let de = MapDeserializer::<_, ValueError>::new(pairs.into_iter());
    let message = ChatMessage::deserialize(de).unwrap();
    assert_eq!(
        message.as_unknown(),
        Some(&json!({"role": "critic", "content": "x"}))
    );

    let pairs = [("content", "x")];
    let de = MapDeserializer::<_, ValueError>::new(pairs.into_iter());
    let read = ChatMessage::deserialize(de);
    if cfg!(oai_strict) {
        let err = read.unwrap_err().to_string();
        assert!(
            err.contains("ChatMessage") && err.contains("`role`"),
            "{err}"
        );
    } else {
        assert_eq!(read.unwrap().as_unknown(), Some(&json!({"content": "x"})));
    }
}

// ---- untagged_union ------------------------------------------------------

#[test]
fn untagged_union_tries_variants_in_order() {
    let text: MessageContent = serde_json::from_str(r#""hello""#).unwrap();
    assert_eq!(text, MessageContent::Text("hello".into()));

    let parts: MessageContent =
        serde_json::from_str(r#"[{"type":"text","text":"a"},{"type":"text","text":"b"}]"#).unwrap();
    assert!(matches!(&parts, MessageContent::Parts(p) if p.len() == 2));

    let empty: MessageContent = serde_json::from_str("[]").unwrap();
    assert_eq!(empty, MessageContent::Parts(vec![]));

    for input in [
        json!({"type": "text", "text": "a"}),
        json!([{"type": "text", "text": "a", "extra": 1}]),
        json!(12),
        json!(null),
    ] {
        let content: MessageContent = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(content, MessageContent::Unknown(input.clone()));
        assert_eq!(content.as_unknown(), Some(&input));
        assert_eq!(serde_json::to_value(&content).unwrap(), input);
    }
}

#[test]
fn untagged_union_round_trips_and_from() {
    for content in [
        MessageContent::from("hi".to_owned()),
        MessageContent::from(vec![TextPart {
            r#type: "text".into(),
            text: "x".into(),
        }]),
    ] {
        let text = serde_json::to_string(&content).unwrap();
        assert_eq!(
            serde_json::from_str::<MessageContent>(&text).unwrap(),
            content
        );
        assert!(content.as_unknown().is_none());
    }
    // A shadowed variant serializes like its type but reads back as the first match.
    let shadow = MessageContent::Shadow("s".into());
    assert_eq!(serde_json::to_string(&shadow).unwrap(), r#""s""#);
    assert_eq!(
        serde_json::from_str::<MessageContent>(r#""s""#).unwrap(),
        MessageContent::Text("s".into())
    );
}

#[test]
fn untagged_union_from_non_json_deserializers() {
    let text = MessageContent::deserialize(StrDeserializer::<ValueError>::new("x")).unwrap();
    assert_eq!(text, MessageContent::Text("x".into()));
    let number =
        MessageContent::deserialize(serde::de::value::I32Deserializer::<ValueError>::new(7))
            .unwrap();
    assert_eq!(number, MessageContent::Unknown(json!(7)));
}

#[test]
fn untagged_union_malformed_input_is_still_an_error() {
    assert!(serde_json::from_str::<MessageContent>(r#"["unterminated"#).is_err());
}

#[test]
fn nested_unions_round_trip() {
    let input = json!({"role": "user", "content": [{"type": "text", "text": "hi"}]});
    let message: ChatMessage = serde_json::from_value(input.clone()).unwrap();
    let ChatMessage::User(user) = &message else {
        panic!("{message:?}")
    };
    assert!(matches!(user.content, MessageContent::Parts(_)));
    assert_eq!(serde_json::to_value(&message).unwrap(), input);
}

// ---- properties ------------------------------------------------------------

fn tag_or_known() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["system", "user", "tool", "developer"]).prop_map(String::from),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn any_string_round_trips_through_a_string_enum(
        s in prop_oneof![
            prop::sample::select(ReasoningEffort::VALUES.to_vec()).prop_map(String::from),
            any::<String>(),
        ]
    ) {
        let json = serde_json::to_string(&s).unwrap();
        let e: ReasoningEffort = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(e.is_known(), ReasoningEffort::VALUES.contains(&s.as_str()));
        match &e {
            ReasoningEffort::Unknown(kept) => prop_assert_eq!(kept, &s),
            known => prop_assert_eq!(known.as_str(), s.as_str()),
        }
        prop_assert_eq!(&e, &ReasoningEffort::from(s.as_str()));
        prop_assert_eq!(&e, &ReasoningEffort::from(s.clone()));
        prop_assert_eq!(serde_json::to_string(&e).unwrap(), json);
        prop_assert_eq!(e.to_string(), s);
    }

    #[test]
    fn tag_of_a_deserialized_tagged_union_is_the_input_tag(tag in tag_or_known()) {
        // A body every known variant accepts.
        let input = json!({"role": tag, "content": "c", "tool_call_id": "t"});
        let message: ChatMessage = serde_json::from_value(input.clone()).unwrap();
        prop_assert_eq!(message.tag(), Some(tag.as_str()));
        let known = ["system", "user", "tool", "developer"].contains(&tag.as_str());
        prop_assert_eq!(message.as_unknown().is_none(), known);
        if !known {
            prop_assert_eq!(serde_json::to_value(&message).unwrap(), input);
        }
    }
}
