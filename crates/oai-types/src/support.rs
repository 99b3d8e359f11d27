//! The declarative macros the generated types are written with, and the plain
//! generic helpers their expansions call.
//!
//! The generator invokes these macros about 1,500 times, so every expansion is
//! kept small: the work that does not depend on the concrete type (visitors,
//! tag lookup, error messages) lives here once, in ordinary generic functions
//! reached through `$crate::__private`, and an expansion is little more than
//! the enum, a few `match`es over its variants and one-line trait impls.
//!
//! All three macros make forward-compatible types: a value the API adds later
//! deserializes into an `Unknown` variant that keeps it as received, and
//! serializes back unchanged.

use core::fmt;
use core::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Error as _, Unexpected, Visitor};
use serde_json::Value;

/// Declares a string enum: a unit variant per known wire value, plus
/// `Unknown(String)` keeping any other value exactly as received.
///
/// # Syntax
///
/// ```text
/// string_enum! {
///     $(#[$attr])*                 // doc comments and attributes of the enum
///     $vis enum $Name {
///         $(
///             $(#[$attr])*         // doc comments and attributes of the variant
///             $Variant = "wire",   // a string literal
///         )+                       // at least one; trailing comma optional
///     }
/// }
/// ```
///
/// No variant may be named `Unknown`, and wire values must be distinct (a
/// duplicate is an `unreachable_patterns` warning).
///
/// # What it generates
///
/// - the enum, `#[non_exhaustive]`, deriving `Debug, Clone, PartialEq, Eq,
///   Hash, PartialOrd, Ord`, with the extra variant `Unknown(String)`;
/// - `as_str(&self) -> &str` (the wire value), `is_known(&self) -> bool`, and
///   `VALUES: &[&str]` (the known wire values, in declaration order);
/// - `Display` (the wire value; width and fill are honoured), `AsRef<str>`,
///   `FromStr` with `Err = Infallible`, `From<&str>`, `From<String>`;
/// - `Serialize` as the wire string, and `Deserialize` from a borrowed or owned
///   string: a known value always gives its variant, any other string gives
///   `Unknown`, anything that is not a string is an error.
///
/// `Default` is not generated: write an `impl Default` beside the invocation
/// (or forward `#[derive(Default)]` and mark a variant `#[default]`).
///
/// `Unknown("low".into())` is a different value from the variant whose wire
/// value is `"low"`; parsing or deserializing `"low"` always gives the variant.
///
/// # Example
///
/// ```
/// oai_types::string_enum! {
///     /// Wire name `reasoning_effort`.
///     pub enum ReasoningEffort {
///         /// `"low"`
///         Low = "low",
///         /// `"high"`
///         High = "high",
///     }
/// }
///
/// let effort: ReasoningEffort = serde_json::from_str(r#""high""#).unwrap();
/// assert_eq!(effort, ReasoningEffort::High);
/// assert_eq!(effort.as_str(), "high");
///
/// let newer: ReasoningEffort = serde_json::from_str(r#""extreme""#).unwrap();
/// assert_eq!(newer, ReasoningEffort::Unknown("extreme".to_owned()));
/// assert!(!newer.is_known());
/// assert_eq!(serde_json::to_string(&newer).unwrap(), r#""extreme""#);
/// assert_eq!(ReasoningEffort::VALUES, ["low", "high"]);
/// ```
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[allow(deprecated)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, kept exactly as received.
            Unknown(::std::string::String),
        }

        #[allow(deprecated)]
        impl $name {
            /// The known wire values, in declaration order.
            pub const VALUES: &[&str] = &[$($wire),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(value) => value,
                }
            }

            /// Whether this is one of the known values (not `Unknown`).
            pub fn is_known(&self) -> bool {
                !::core::matches!(self, Self::Unknown(_))
            }
        }

        #[allow(deprecated)]
        impl $crate::__private::StringEnum for $name {
            const NAME: &'static str = ::core::stringify!($name);
            fn known(value: &str) -> ::core::option::Option<Self> {
                match value {
                    $( $wire => ::core::option::Option::Some(Self::$variant), )+
                    _ => ::core::option::Option::None,
                }
            }
            fn unknown(value: ::std::string::String) -> Self {
                Self::Unknown(value)
            }
        }

        impl $crate::__private::Empty for $name {
            fn empty() -> Self {
                Self::Unknown(::std::string::String::new())
            }
        }

        impl ::core::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                $crate::__private::string_enum_from_str(value)
            }
        }

        impl ::core::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                $crate::__private::string_enum_from_string(value)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = ::core::convert::Infallible;
            fn from_str(value: &str) -> ::core::result::Result<Self, Self::Err> {
                ::core::result::Result::Ok($crate::__private::string_enum_from_str(value))
            }
        }

        impl ::core::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::__private::deserialize_string_enum(deserializer)
            }
        }
    };
}

/// Declares a union whose variants are told apart by a string property (the
/// tag, e.g. `"type"`), plus `Unknown(serde_json::Value)` keeping the raw JSON
/// of a tag this version of the crate does not know.
///
/// # Syntax
///
/// ```text
/// tagged_union! {
///     $(#[$attr])*                        // doc comments and attributes of the enum
///     $vis enum $Name tag "tag_field" {
///         $(
///             $(#[$attr])*                // doc comments and attributes of the variant
///             $Variant($Type) = "wire"    // the tag value of this variant
///                 $(| "other")*           // optional: more tag values of this variant
///                 $([tag = field])?       // with those: the field of `$Type` holding the tag
///                 $([from = false])?      // optional: no `From<$Type>` for this variant
///                 $([boxed = true])?      // optional: the variant holds `Box<$Type>`
///             ,
///         )+                              // at least one; trailing comma optional
///     }
/// }
/// ```
///
/// The variant types are ordinary serde structs that contain the tag field
/// themselves, so serializing a variant writes the tag. They must implement
/// `Serialize`, `DeserializeOwned`, `Debug`, `Clone` and `PartialEq`, and must
/// not contain `Box<serde_json::value::RawValue>` (the body may be buffered
/// as a `serde_json::Value`). No variant may be named `Unknown`; each wire value
/// belongs to one variant (a duplicate is an `unreachable_patterns` warning).
///
/// A variant may have several tag values (`"a" | "b"`, as when the spec gives
/// its tag property an `enum` of several values). Its type then names the field
/// that holds the tag, `[tag = field]`, a string enum (anything with
/// `as_str(&self) -> &str`), which `tag()` reads.
///
/// `From<$Type>` is generated for every variant, so two variants of one union
/// must not wrap the same type unless all but one of them are marked
/// `[from = false]` (`[from = true]` is accepted and is the default).
///
/// # What it generates
///
/// - the enum, `#[non_exhaustive]`, deriving `Debug, Clone, PartialEq`, with
///   the extra variant `Unknown(serde_json::Value)`;
/// - `tag(&self) -> Option<&str>`: the wire tag of a known variant; for
///   `Unknown`, the tag field of the kept JSON if it is a string;
/// - `as_unknown(&self) -> Option<&serde_json::Value>`;
/// - `From<$Type>` per variant (see above);
/// - `Serialize`: the inner value, or the kept JSON for `Unknown`;
/// - `Deserialize`, tag-first: when the object's first key is the tag field
///   and its value a string, a known tag deserializes its variant straight
///   from the rest of the input (the tag handed to it again first; no
///   intermediate value), and an unknown one gives `Unknown` with the whole
///   object. Otherwise (tag later in the object, or not an object) the input
///   is read into a `serde_json::Value`, which must be an object with a string
///   tag field (else an error naming the union and the tag field), and the
///   variant is deserialized from that value. Either way a mismatch is an
///   error naming the union and the tag value. Under tolerant decoding (see `oai_types::tolerant`; not
///   with `--cfg oai_strict`) an object whose tag field is absent or `null` is
///   accepted too: it becomes the first variant it decodes to exactly (with no
///   tolerance rule used), else `Unknown`.
///
/// # Example
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// pub struct Text { pub r#type: String, pub text: String }
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// pub struct Image { pub r#type: String, pub url: String }
///
/// oai_types::tagged_union! {
///     /// Wire name `content_part`.
///     pub enum Part tag "type" {
///         /// `"text"`
///         Text(Text) = "text",
///         /// `"image"`
///         Image(Image) = "image",
///     }
/// }
///
/// let part: Part = serde_json::from_str(r#"{"type":"text","text":"hi"}"#).unwrap();
/// assert_eq!(part.tag(), Some("text"));
/// assert!(matches!(part, Part::Text(Text { ref text, .. }) if text == "hi"));
///
/// let newer: Part = serde_json::from_str(r#"{"type":"audio","data":"..."}"#).unwrap();
/// assert_eq!(newer.tag(), Some("audio"));
/// assert!(newer.as_unknown().is_some());
/// assert_eq!(
///     serde_json::to_value(&newer).unwrap(),
///     serde_json::json!({"type": "audio", "data": "..."}),
/// );
/// ```
#[macro_export]
macro_rules! tagged_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident tag $tag:literal {
            $(
                $(#[$vmeta:meta])*
                $variant:ident ( $ty:ty ) = $wire:literal $(| $alt:literal)*
                    $([tag = $field:ident])? $([from = $from:tt])? $([boxed = $boxed:tt])?
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        #[allow(deprecated, clippy::large_enum_variant)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant($crate::__boxed_ty!($ty $(, $boxed)?)), )+
            /// A variant this version of the crate does not know: the whole JSON
            /// object, kept as received.
            Unknown($crate::__private::serde_json::Value),
        }

        #[allow(deprecated)]
        impl $name {
            /// The wire tag: that of the variant, or for `Unknown` the tag field
            /// of the kept JSON if it is a string.
            pub fn tag(&self) -> ::core::option::Option<&str> {
                match self {
                    $( Self::$variant(_inner) => ::core::option::Option::Some(
                        $crate::__variant_tag!(_inner, $wire $(, $field)?)
                    ), )+
                    Self::Unknown(value) => $crate::__private::unknown_tag(value, $tag),
                }
            }

            /// The raw JSON kept by `Unknown`, if this is that variant.
            pub fn as_unknown(&self) -> ::core::option::Option<&$crate::__private::serde_json::Value> {
                match self {
                    Self::Unknown(value) => ::core::option::Option::Some(value),
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl $crate::__private::Empty for $name {
            fn empty() -> Self {
                Self::Unknown($crate::__private::serde_json::Value::Null)
            }
        }

        $(
            // `[from = false]` makes this `cfg(all(false))`, removing the impl.
            #[cfg(all($($from)?))]
            #[allow(deprecated)]
            impl ::core::convert::From<$ty> for $name {
                fn from(inner: $ty) -> Self {
                    Self::$variant($crate::__boxed_val!(inner $(, $boxed)?))
                }
            }
        )+

        #[allow(deprecated)]
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                match self {
                    $( Self::$variant(inner) => $crate::__private::serde::Serialize::serialize(inner, serializer), )+
                    Self::Unknown(value) => $crate::__private::serde::Serialize::serialize(value, serializer),
                }
            }
        }

        #[allow(deprecated)]
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::__private::deserialize_tagged(deserializer)
            }
        }

        #[allow(deprecated)]
        impl<'de> $crate::__private::TagFirst<'de> for $name {
            const CX: $crate::__private::Tagged =
                $crate::__private::Tagged { union: ::core::stringify!($name), field: $tag };

            fn variant<A: $crate::__private::serde::de::MapAccess<'de>>(
                map: $crate::__private::WithTag<'de, A>,
            ) -> ::core::result::Result<::core::result::Result<Self, $crate::__private::WithTag<'de, A>>, A::Error> {
                match map.tag() {
                    $( $wire $(| $alt)* => <Self as $crate::__private::TagFirst<'de>>::CX
                        .variant_from::<$ty, A>(map)
                        .map(|inner| ::core::result::Result::Ok(
                            Self::$variant($crate::__boxed_val!(inner $(, $boxed)?))
                        )), )+
                    _ => ::core::result::Result::Ok(::core::result::Result::Err(map)),
                }
            }

            fn from_value<E: $crate::__private::serde::de::Error>(
                value: $crate::__private::serde_json::Value,
            ) -> ::core::result::Result<Self, E> {
                const CX: $crate::__private::Tagged =
                    $crate::__private::Tagged { union: ::core::stringify!($name), field: $tag };
                let value = CX.check(value)?;
                match CX.tag_of(&value) {
                    $( $wire $(| $alt)* => $crate::__variant_tag!(
                        @read CX, value, Self::$variant, $wire $(, $field)?
                    ), )+
                    _ => {
                        if CX.lacks_tag(&value) {
                            $(
                                if let ::core::option::Option::Some(inner) = $crate::__private::try_exact_variant(&value) {
                                    return ::core::result::Result::Ok(Self::$variant(inner));
                                }
                            )+
                        }
                        ::core::result::Result::Ok(Self::Unknown(value))
                    }
                }
            }
        }
    };
}

/// A variant's payload type: `Box<$ty>` when the variant is marked
/// `[boxed = true]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __boxed_ty {
    ($ty:ty) => { $ty };
    ($ty:ty, true) => { ::std::boxed::Box<$ty> };
    ($ty:ty, false) => { $ty };
}

/// A variant's payload value, boxed when the variant is.
#[doc(hidden)]
#[macro_export]
macro_rules! __boxed_val {
    ($v:expr) => {
        $v
    };
    ($v:expr, true) => {
        ::std::boxed::Box::new($v)
    };
    ($v:expr, false) => {
        $v
    };
}

/// The pieces of [`tagged_union!`] that differ for a variant with several tag
/// values: its `tag()` (read from the field holding it) and the tag named by
/// its deserialization errors.
#[doc(hidden)]
#[macro_export]
macro_rules! __variant_tag {
    ($inner:ident, $wire:literal) => {
        $wire
    };
    ($inner:ident, $wire:literal, $field:ident) => {
        $inner.$field.as_str()
    };
    (@read $cx:ident, $value:ident, $variant:path, $wire:literal) => {
        $cx.variant($value, $wire).map($variant)
    };
    (@read $cx:ident, $value:ident, $variant:path, $wire:literal, $field:ident) => {{
        let wire = ::std::string::ToString::to_string($cx.tag_of(&$value));
        $cx.variant($value, &wire).map($variant)
    }};
}

/// Declares a union without a discriminator: the variants are tried in
/// declaration order, plus `Unknown(serde_json::Value)` keeping JSON that no
/// variant accepts.
///
/// # Syntax
///
/// ```text
/// untagged_union! {
///     $(#[$attr])*                  // doc comments and attributes of the enum
///     $vis enum $Name {
///         $(
///             $(#[$attr])*          // doc comments and attributes of the variant
///             $Variant($Type)
///                 $([from = false])?  // optional: no `From<$Type>` for this variant
///             ,
///         )+                        // at least one; trailing comma optional
///     }
/// }
/// ```
///
/// The variant types must implement `Serialize`, `Deserialize`, `Debug`,
/// `Clone` and `PartialEq`, and must not contain
/// `Box<serde_json::value::RawValue>`. No variant may be named `Unknown`. The
/// first variant that deserializes wins, so put the more specific types first
/// (a struct whose fields are all optional accepts every object).
///
/// `From<$Type>` is generated for every variant, so two variants must not wrap
/// the same type unless all but one are marked `[from = false]`.
///
/// # What it generates
///
/// - the enum, `#[non_exhaustive]`, deriving `Debug, Clone, PartialEq`, with
///   the extra variant `Unknown(serde_json::Value)`;
/// - `as_unknown(&self) -> Option<&serde_json::Value>`;
/// - `From<$Type>` per variant (see above);
/// - `Serialize`: the inner value, or the kept JSON for `Unknown`;
/// - `Deserialize`, from any deserializer: the input is read into a
///   `serde_json::Value`, each variant is tried on a borrow of it in order,
///   first accepting only a variant that decodes without any tolerance rule
///   (see `oai_types::tolerant`), then (unless built with `--cfg oai_strict`)
///   the one that decodes with the fewest tolerance rules (the first of them
///   on a tie; an object goes to a struct variant only when it carries one of
///   that struct's field names); when none does the result is `Unknown` with
///   the value. It fails only when the input itself is not valid data.
///
/// # Example
///
/// ```
/// oai_types::untagged_union! {
///     /// Wire name `content`.
///     pub enum Content {
///         /// A plain string.
///         Text(String),
///         /// A list of strings.
///         Lines(Vec<String>),
///     }
/// }
///
/// let text: Content = serde_json::from_str(r#""hi""#).unwrap();
/// assert_eq!(text, Content::Text("hi".to_owned()));
/// let lines: Content = serde_json::from_str(r#"["a","b"]"#).unwrap();
/// assert_eq!(lines, Content::from(vec!["a".to_owned(), "b".to_owned()]));
/// let other: Content = serde_json::from_str(r#"{"a":1}"#).unwrap();
/// assert_eq!(other.as_unknown(), Some(&serde_json::json!({"a": 1})));
/// ```
#[macro_export]
macro_rules! untagged_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident ( $ty:ty ) $([from = $from:tt])?
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        #[allow(deprecated, clippy::large_enum_variant)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
            /// JSON that no variant accepts, kept as received.
            Unknown($crate::__private::serde_json::Value),
        }

        impl $name {
            /// The raw JSON kept by `Unknown`, if this is that variant.
            pub fn as_unknown(&self) -> ::core::option::Option<&$crate::__private::serde_json::Value> {
                match self {
                    Self::Unknown(value) => ::core::option::Option::Some(value),
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl $crate::__private::Empty for $name {
            fn empty() -> Self {
                Self::Unknown($crate::__private::serde_json::Value::Null)
            }
        }

        $(
            // `[from = false]` makes this `cfg(all(false))`, removing the impl.
            #[cfg(all($($from)?))]
            #[allow(deprecated)]
            impl ::core::convert::From<$ty> for $name {
                fn from(inner: $ty) -> Self {
                    Self::$variant(inner)
                }
            }
        )+

        #[allow(deprecated)]
        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                match self {
                    $( Self::$variant(inner) => $crate::__private::serde::Serialize::serialize(inner, serializer), )+
                    Self::Unknown(value) => $crate::__private::serde::Serialize::serialize(value, serializer),
                }
            }
        }

        #[allow(deprecated)]
        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let value = $crate::__private::read_value(deserializer)?;
                $(
                    if let ::core::option::Option::Some(inner) = $crate::__private::try_exact_variant(&value) {
                        return ::core::result::Result::Ok(Self::$variant(inner));
                    }
                )+
                if $crate::__private::TOLERANT {
                    // The variant that needs the fewest tolerance rules; the
                    // first of them on a tie.
                    let mut best: ::core::option::Option<(Self, u64)> = ::core::option::Option::None;
                    $(
                        if let ::core::option::Option::Some((inner, used)) = $crate::__private::try_tolerant_variant(&value) {
                            if best.as_ref().is_none_or(|(_, least)| used < *least) {
                                best = ::core::option::Option::Some((Self::$variant(inner), used));
                            }
                        }
                    )+
                    if let ::core::option::Option::Some((chosen, used)) = best {
                        $crate::__private::set_tolerated($crate::__private::tolerated().wrapping_add(used));
                        return ::core::result::Result::Ok(chosen);
                    }
                }
                ::core::result::Result::Ok(Self::Unknown(value))
            }
        }
    };
}

/// What the expansion of [`string_enum!`] implements so that the shared
/// helpers below can build it.
#[doc(hidden)]
pub trait StringEnum: Sized {
    /// The Rust name of the enum, for error messages.
    const NAME: &'static str;
    /// The variant of a known wire value.
    fn known(value: &str) -> Option<Self>;
    /// The `Unknown` variant.
    fn unknown(value: String) -> Self;
}

/// The variant for `value`: a known one, or `Unknown` with a copy.
#[doc(hidden)]
pub fn string_enum_from_str<T: StringEnum>(value: &str) -> T {
    T::known(value).unwrap_or_else(|| T::unknown(value.to_owned()))
}

/// The variant for `value`: a known one, or `Unknown` reusing the allocation.
#[doc(hidden)]
pub fn string_enum_from_string<T: StringEnum>(value: String) -> T {
    match T::known(&value) {
        Some(known) => known,
        None => T::unknown(value),
    }
}

/// `Deserialize` for a string enum: a borrowed or owned string, nothing else.
#[doc(hidden)]
pub fn deserialize_string_enum<'de, T: StringEnum, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_str(StringEnumVisitor(PhantomData))
}

struct StringEnumVisitor<T>(PhantomData<T>);

impl<T: StringEnum> Visitor<'_> for StringEnumVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string ({})", T::NAME)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        Ok(string_enum_from_str(value))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<T, E> {
        Ok(string_enum_from_string(value))
    }
}

/// Reads any input into a `serde_json::Value`.
#[doc(hidden)]
pub fn read_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Value::deserialize(deserializer)
}

/// The tag field of the JSON kept by an unknown variant, if it is a string.
#[doc(hidden)]
pub fn unknown_tag<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

/// The names a tagged union's `Deserialize` works with.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Tagged {
    /// The Rust name of the union.
    pub union: &'static str,
    /// The wire name of the tag field.
    pub field: &'static str,
}

impl Tagged {
    /// Reads the input into a `serde_json::Value` that is an object with a
    /// string tag field; anything else is an error naming the union and field.
    pub fn read<'de, D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.check(Value::deserialize(deserializer)?)
    }

    /// [`Tagged::read`] for a value already read.
    pub fn check<E: de::Error>(self, value: Value) -> Result<Value, E> {
        match &value {
            Value::Object(map) => match map.get(self.field) {
                Some(Value::String(_)) => Ok(value),
                None | Some(Value::Null) if crate::tolerant::TOLERANT => Ok(value),
                Some(other) => Err(E::custom(format_args!(
                    "invalid `{}`: tag field `{}` must be a string, found {}",
                    self.union,
                    self.field,
                    unexpected(other)
                ))),
                None => Err(E::custom(format_args!(
                    "invalid `{}`: missing tag field `{}`",
                    self.union, self.field
                ))),
            },
            other => Err(E::custom(format_args!(
                "invalid `{}`: expected an object with a string tag field `{}`, found {}",
                self.union,
                self.field,
                unexpected(other)
            ))),
        }
    }

    /// Whether a value accepted by [`Tagged::read`] has no tag (tolerant
    /// decoding only: Mistral sends tool calls without `type`). Such a value
    /// becomes the first variant it fits exactly, else `Unknown`.
    pub fn lacks_tag(self, value: &Value) -> bool {
        crate::tolerant::TOLERANT && value.get(self.field).is_none_or(Value::is_null)
    }

    /// The tag of a value accepted by [`Tagged::read`] (`""` for any other).
    pub fn tag_of(self, value: &Value) -> &str {
        unknown_tag(value, self.field).unwrap_or_default()
    }

    /// Deserializes the variant tagged `wire` from the (owned) value; a
    /// mismatch names the union and the tag value before serde's message.
    pub fn variant<T: DeserializeOwned, E: de::Error>(
        self,
        value: Value,
        wire: &str,
    ) -> Result<T, E> {
        // Through `&Value`, the deserializer untagged unions use too: each
        // type is compiled for one `Value` deserializer, not two.
        T::deserialize(&value).map_err(|error| {
            E::custom(format_args!(
                "invalid `{}` with `{}` = {:?}: {}",
                self.union, self.field, wire, error
            ))
        })
    }

    /// As [`Tagged::variant`], straight from the input (see
    /// [`deserialize_tagged`]).
    pub fn variant_from<'de, T: Deserialize<'de>, A: de::MapAccess<'de>>(
        self,
        map: WithTag<'de, A>,
    ) -> Result<T, A::Error> {
        // Borrowed from the input: kept for the error at no cost.
        let wire = map.tag.clone();
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map_err(|error| {
            A::Error::custom(format_args!(
                "invalid `{}` with `{}` = {:?}: {}",
                self.union, self.field, wire, error
            ))
        })
    }
}

/// A tagged union's two ways in, for [`deserialize_tagged`]: the variant its
/// tag names, decoded straight from the input when the tag comes first, and
/// the whole object read into a value otherwise.
#[doc(hidden)]
pub trait TagFirst<'de>: Sized {
    /// The union's names.
    const CX: Tagged;

    /// Decodes the variant that `map`'s tag names from `map` (which yields
    /// the tag again first); hands `map` back when the tag names none.
    ///
    /// # Errors
    /// The input does not fit the variant.
    #[allow(clippy::type_complexity)]
    fn variant<A: de::MapAccess<'de>>(
        map: WithTag<'de, A>,
    ) -> Result<Result<Self, WithTag<'de, A>>, A::Error>;

    /// Decodes from the whole object (or whatever other JSON came).
    ///
    /// # Errors
    /// Not an object with a string tag, or a known tag whose variant does
    /// not fit.
    fn from_value<E: de::Error>(value: Value) -> Result<Self, E>;
}

/// Deserializes a tagged union tag-first: when the first key of the object
/// is the tag (as every OpenAI event and most items send it), the variant
/// is decoded from the rest of the input directly, with no intermediate
/// value; otherwise the object is read into a `serde_json::Value` first.
#[doc(hidden)]
pub fn deserialize_tagged<'de, T: TagFirst<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_any(TaggedVisitor::<T>(PhantomData))
}

struct TaggedVisitor<T>(PhantomData<fn() -> T>);

impl<'de, T: TagFirst<'de>> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an object with a string tag field `{}` (`{}`)",
            T::CX.field,
            T::CX.union
        )
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let field = T::CX.field;
        let Some(key) = map.next_key::<crate::tolerant::Key<'de>>()? else {
            return T::from_value(Value::Object(serde_json::Map::new()));
        };
        let mut object = serde_json::Map::new();
        if key.as_str() == field {
            match map.next_value_seed(TagSeed)? {
                TagRead::Text(tag) => {
                    let with = WithTag {
                        field,
                        tag,
                        state: 0,
                        rest: map,
                    };
                    return match T::variant(with)? {
                        Ok(variant) => Ok(variant),
                        // A tag of no variant: `Unknown`, the object kept.
                        Err(with) => T::from_value(Value::deserialize(
                            de::value::MapAccessDeserializer::new(with),
                        )?),
                    };
                }
                TagRead::Other(value) => {
                    object.insert(field.to_owned(), value);
                }
            }
        } else {
            let value = map.next_value::<Value>()?;
            object.insert(key.as_str().to_owned(), value);
        }
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Value>()?;
            object.insert(key, value);
        }
        T::from_value(Value::Object(object))
    }

    // Anything but an object goes the value's way, which names the union
    // in its error.
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::from_value(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::from_value(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_value(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::from_value(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_value(Value::from(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        T::from_value(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        T::from_value(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::from_value(Value::deserialize(d)?)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::from_value(Value::deserialize(de::value::SeqAccessDeserializer::new(
            seq,
        ))?)
    }
}

/// The value of a tag field: its text (borrowed from the input when it can
/// be), or, when it is not a string, the JSON it is.
enum TagRead<'de> {
    Text(std::borrow::Cow<'de, str>),
    Other(Value),
}

struct TagSeed;

impl<'de> de::DeserializeSeed<'de> for TagSeed {
    type Value = TagRead<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TagRead<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TagSeed {
    type Value = TagRead<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tag")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Text(std::borrow::Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Text(std::borrow::Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Text(std::borrow::Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Other(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Other(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Other(Value::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Other(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<TagRead<'de>, E> {
        Ok(TagRead::Other(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<TagRead<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<TagRead<'de>, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(TagRead::Other)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<TagRead<'de>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(TagRead::Other)
    }
}

/// The rest of an object whose tag was read first, with the tag put back in
/// front: what a variant type, which holds its tag, decodes from.
#[doc(hidden)]
#[derive(Debug)]
pub struct WithTag<'de, A> {
    field: &'static str,
    tag: std::borrow::Cow<'de, str>,
    /// 0: the tag's key is next, 1: its value, 2: the rest of the object.
    state: u8,
    rest: A,
}

impl<A> WithTag<'_, A> {
    /// The tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for WithTag<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if self.state == 0 {
            self.state = 1;
            let key = de::value::BorrowedStrDeserializer::<A::Error>::new(self.field);
            return seed.deserialize(key).map(Some);
        }
        self.rest.next_key_seed(seed)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        if self.state == 1 {
            self.state = 2;
            let tag = std::mem::take(&mut self.tag);
            return seed.deserialize(TagDeserializer::<A::Error>(tag, PhantomData));
        }
        self.rest.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        let ahead = match self.state {
            0 => 1,
            _ => 0,
        };
        self.rest.size_hint().map(|n| n + ahead)
    }
}

/// The tag's text handed to the variant: a string to every type that reads
/// one, and present (`Some`) to an optional field, as a JSON string is.
struct TagDeserializer<'de, E>(std::borrow::Cow<'de, str>, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for TagDeserializer<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            std::borrow::Cow::Borrowed(tag) => visitor.visit_borrowed_str(tag),
            std::borrow::Cow::Owned(tag) => visitor.visit_string(tag),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Unexpected::Signed(i)
            } else {
                Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

#[cfg(test)]
mod tests {
    //! Expansions inside this crate, so that clippy and rustc lint them as
    //! local code (as they will be in `generated/`), including the edge cases
    //! of one variant and deprecated items. (Not every generated method is
    //! called here; in `generated/` they are public API.)
    #![allow(dead_code)]

    use serde::{Deserialize, Serialize};

    crate::string_enum! {
        /// One value.
        pub enum Single {
            /// `"only"`
            Only = "only",
        }
    }

    crate::string_enum! {
        /// With a deprecated value.
        #[derive(Default)]
        pub(crate) enum Several {
            /// `"a"`
            #[default]
            A = "a",
            /// `"b"`
            #[deprecated]
            B = "b",
        }
    }

    /// A tagged struct.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Body {
        /// The tag.
        pub kind: String,
    }

    /// A deprecated tagged struct.
    #[deprecated]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Old {
        /// The tag.
        pub kind: String,
    }

    crate::tagged_union! {
        /// One variant.
        pub enum OneTagged tag "kind" {
            /// `"body"`
            Body(Body) = "body",
        }
    }

    crate::tagged_union! {
        /// Two variants of one type, and a deprecated one.
        pub enum Tagged tag "kind" {
            /// `"body"`
            Body(Body) = "body",
            /// `"alias"`
            Alias(Body) = "alias" [from = false],
            /// `"old"`
            #[deprecated]
            #[allow(deprecated)]
            Old(Old) = "old" [from = true],
        }
    }

    crate::string_enum! {
        /// The tag values of `Versioned`.
        pub enum VersionedKind {
            /// `"v"`
            V = "v",
            /// `"v_2"`
            V2 = "v_2",
        }
    }

    /// A struct two tag values select.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Versioned {
        /// The tag.
        pub kind: VersionedKind,
        /// A required field.
        pub n: u32,
    }

    crate::tagged_union! {
        /// A variant with several tag values.
        pub enum Multi tag "kind" {
            /// `"body"`
            Body(Body) = "body",
            /// `"v"` or `"v_2"`
            Versioned(Versioned) = "v" | "v_2" [tag = kind] [from = true],
        }
    }

    crate::untagged_union! {
        /// One variant.
        pub enum OneUntagged {
            /// A string.
            Text(String),
        }
    }

    crate::untagged_union! {
        /// Two variants of one type.
        pub enum Untagged {
            /// A string.
            Text(String),
            /// Never chosen when deserializing.
            Shadowed(String) [from = false],
            /// A number.
            #[deprecated]
            Number(u64),
        }
    }

    #[test]
    fn local_expansions_work() {
        assert_eq!(Single::from("only"), Single::Only);
        assert_eq!(Several::default(), Several::A);
        #[allow(deprecated)]
        let b = Several::B;
        assert_eq!(b.as_str(), "b");
        let t: Tagged = serde_json::from_str(r#"{"kind":"alias"}"#).unwrap();
        assert_eq!(t.tag(), Some("alias"));
        assert_eq!(
            Tagged::from(Body {
                kind: "body".into()
            })
            .tag(),
            Some("body")
        );
        let o: OneTagged = serde_json::from_str(r#"{"kind":"x"}"#).unwrap();
        assert!(o.as_unknown().is_some());
        let u: OneUntagged = serde_json::from_str("1").unwrap();
        assert!(u.as_unknown().is_some());
        let n: Untagged = serde_json::from_str("1").unwrap();
        assert_eq!(n, Untagged::from(1_u64));
        assert_eq!(Untagged::from("x".to_owned()), Untagged::Text("x".into()));
    }

    #[test]
    fn several_tag_values_select_one_variant() {
        for tag in ["v", "v_2"] {
            let m: Multi =
                serde_json::from_value(serde_json::json!({"kind": tag, "n": 1})).unwrap();
            assert!(matches!(m, Multi::Versioned(Versioned { n: 1, .. })));
            assert_eq!(m.tag(), Some(tag));
        }
        let b: Multi = serde_json::from_str(r#"{"kind":"body"}"#).unwrap();
        assert_eq!(b.tag(), Some("body"));
        let newer: Multi = serde_json::from_str(r#"{"kind":"v_3","n":1}"#).unwrap();
        assert_eq!(newer.tag(), Some("v_3"));
        assert!(newer.as_unknown().is_some());
        // The error names the tag that was read, not the variant's first one.
        let err = serde_json::from_str::<Multi>(r#"{"kind":"v_2"}"#).unwrap_err();
        assert!(err.to_string().contains(r#"`kind` = "v_2""#), "{err}");
    }
}
