//! Tolerant decoding: what the generated types accept beyond the letter of
//! the schema, so that an answer a real server sent still decodes.
//!
//! Each generated struct's `Deserialize` (written by the generator) reads its
//! fields through the seeds of this module and settles absent fields with its
//! helpers (`required`, `or_absent`, `present`); the union macros use
//! `try_exact_variant` and `try_tolerant_variant`. Built with
//! `--cfg oai_strict`, the same code applies none of the rules and the types
//! decode exactly what the schema says (the spec-conformance tests run that
//! way). The rules, in one place:
//!
//! - a required field that is absent or `null` reads as its type's empty value
//!   ([`Empty`]): `0`, `false`, `""`, an empty list or map, `None`, a string
//!   enum's `Unknown("")`, a union's `Unknown(null)`, a struct of empty fields;
//! - an integer field accepts a number with no fractional part written as a
//!   float (`3.0`);
//! - a text field accepts an array of text parts (`[{"type":"text","text":..}]`
//!   or plain strings; the texts are joined);
//! - a constant field (`"object": "chat.completion"`) accepts any string
//!   (a union's tag still chooses its variant exactly).
//!
//! Every time one of these rules is used, a per-thread counter is bumped. An
//! untagged union uses it to prefer, among its variants, one that fits
//! exactly (see `try_exact_variant`), so tolerance never changes which variant
//! a schema-conforming value decodes to.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;

/// Whether this build decodes tolerantly (`false` under `--cfg oai_strict`).
pub const TOLERANT: bool = !cfg!(oai_strict);

thread_local! {
    static TOLERATED: Cell<u64> = const { Cell::new(0) };
}

/// How many times a tolerance rule was used on this thread so far.
#[doc(hidden)]
pub fn tolerated() -> u64 {
    TOLERATED.with(Cell::get)
}

/// Sets the counter back (after an attempt that was abandoned).
#[doc(hidden)]
pub fn set_tolerated(n: u64) {
    TOLERATED.with(|c| c.set(n));
}

fn bump() {
    TOLERATED.with(|c| c.set(c.get().wrapping_add(1)));
}

/// The value a required field takes when a server left it out or sent `null`.
///
/// Implemented by every generated type; not meant to be called directly.
#[doc(hidden)]
pub trait Empty {
    /// The wire names of a struct's fields (empty for every other type): an
    /// untagged union takes an object for this struct only when tolerance is
    /// needed *and* the object has at least one of these names
    /// (see [`try_tolerant_variant`]).
    const FIELDS: &'static [&'static str] = &[];

    /// The empty value.
    fn empty() -> Self;
}

macro_rules! empty_by_default {
    ($($t:ty),*) => {
        $(impl Empty for $t {
            fn empty() -> Self {
                <$t>::default()
            }
        })*
    };
}

empty_by_default!(
    bool,
    i64,
    u64,
    f64,
    String,
    Value,
    serde_json::Map<String, Value>
);

impl<T> Empty for Vec<T> {
    fn empty() -> Self {
        Vec::new()
    }
}

impl<T> Empty for Option<T> {
    fn empty() -> Self {
        None
    }
}

impl<T: Empty> Empty for Box<T> {
    const FIELDS: &'static [&'static str] = T::FIELDS;

    fn empty() -> Self {
        Box::new(T::empty())
    }
}

impl<K: Ord, V> Empty for std::collections::BTreeMap<K, V> {
    fn empty() -> Self {
        std::collections::BTreeMap::new()
    }
}

/// `default = ...` of a required field: it was absent.
fn absent<T: Empty>() -> T {
    bump();
    T::empty()
}

/// `deserialize_with = ...` of a required field of a generated type, a list or
/// a map: `null` reads as the empty value.
fn or_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Empty,
{
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(v),
        None => Ok(absent()),
    }
}

/// A signed or unsigned integer, from an integer or an integral float.
trait Int: Sized + Copy + Default {
    const WHAT: &'static str;
    fn from_i64(v: i64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
}

impl Int for i64 {
    const WHAT: &'static str = "an integer";
    fn from_i64(v: i64) -> Option<Self> {
        Some(v)
    }
    fn from_u64(v: u64) -> Option<Self> {
        i64::try_from(v).ok()
    }
    fn from_f64(v: f64) -> Option<Self> {
        // `as` saturates; the range check keeps only exact values.
        (v.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v))
            .then_some(v as i64)
    }
}

impl Int for u64 {
    const WHAT: &'static str = "a non-negative integer";
    fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok()
    }
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
    fn from_f64(v: f64) -> Option<Self> {
        (v.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&v)).then_some(v as u64)
    }
}

/// Reads an integer; `null` gives `None`.
struct IntVisitor<T>(PhantomData<T>);

impl<T: Int> Visitor<'_> for IntVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::WHAT)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::from_i64(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::from_u64(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        match T::from_f64(v) {
            Some(n) => {
                bump();
                Ok(Some(n))
            }
            None => Err(E::invalid_value(de::Unexpected::Float(v), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn int_or_null<'de, D: Deserializer<'de>, T: Int>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_any(IntVisitor(PhantomData))
}

/// A required signed integer: also from an integral float; `null` reads as 0.
fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(int_or_null(d)?.unwrap_or_else(absent))
}

/// An optional signed integer: also from an integral float.
fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    int_or_null(d)
}

/// A required unsigned integer: also from an integral float; `null` reads as 0.
fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(int_or_null(d)?.unwrap_or_else(absent))
}

/// An optional unsigned integer: also from an integral float.
fn opt_uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    int_or_null(d)
}

/// Reads a text: a string or an array of text parts; `null` gives `None`.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut text = String::new();
        while let Some(part) = seq.next_element::<TextPart>()? {
            if let Some(t) = part.0 {
                text.push_str(&t);
            }
        }
        bump();
        Ok(Some(text))
    }
}

/// One element of an array sent where a text was expected: a string, or an
/// object whose `text` is a string (`{"type": "text", "text": ...}`); other
/// parts (images, ...) carry no text and are skipped.
struct TextPart(Option<String>);

impl<'de> Deserialize<'de> for TextPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TextPart(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Object(mut m) => match m.remove("text") {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }))
    }
}

/// A required text: also from text parts; `null` reads as `""`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(d.deserialize_any(TextVisitor)?.unwrap_or_else(absent))
}

/// An optional text: also from text parts.
fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor)
}

/// A required float: `null` reads as 0.
fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or_else(absent))
}

/// A required boolean: `null` reads as `false`.
fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_else(absent))
}

// ---------------------------------------------------------------------------
// What each generated struct's `Deserialize` calls (written by the generator,
// `xtask/src/codegen/emit.rs`, `struct_deserialize`): it reads an object key by
// key, each known field through a seed below, every other key into the
// struct's `extra`, then settles the fields that were absent. One hand-made
// visitor per struct, instead of `derive(Deserialize)` with a
// `#[serde(flatten)]` map, keeps unknown keys without serde's buffering of
// flattened maps (which more than doubled the types' build time).

/// An object key, borrowed from the input when it can be.
#[doc(hidden)]
#[derive(Debug)]
pub struct Key<'de>(std::borrow::Cow<'de, str>);

impl Key<'_> {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Reads a field's value through `seed` into its slot; a field given twice
/// is an error (as with derived `Deserialize`). One call per field of a
/// generated `visit_map` (a `PhantomData<T>` seed reads a plain `T`): the
/// read and the check in one generic function keep each struct's own
/// deserializer small, which is most of this crate's compile time.
#[doc(hidden)]
#[inline]
pub fn field<'de, A, S>(
    map: &mut A,
    slot: &mut Option<S::Value>,
    seed: S,
    name: &'static str,
) -> Result<(), A::Error>
where
    A: de::MapAccess<'de>,
    S: de::DeserializeSeed<'de>,
{
    let value = map.next_value_seed(seed)?;
    put(slot, value, name)
}

/// Stores a field's value; a field given twice is an error (as with derived
/// `Deserialize`).
fn put<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// Keeps a key the struct does not name, with its value, in `extra`.
#[doc(hidden)]
pub fn keep<'de, A: de::MapAccess<'de>>(
    extra: &mut crate::Extra,
    key: Key<'de>,
    map: &mut A,
) -> Result<(), A::Error> {
    let value: Value = map.next_value()?;
    extra.insert(key.0.into_owned(), value);
    Ok(())
}

/// A required field at the end of the object: absent reads as empty when
/// tolerant (counted); under `--cfg oai_strict` it reads as empty too, and
/// the first such field's name goes to `missing`, which [`finish`] turns
/// into the error. (No early return per field: one `?` per struct instead of
/// one per required field keeps the generated deserializers small.)
#[doc(hidden)]
#[inline]
pub fn required<T: Empty>(
    slot: Option<T>,
    name: &'static str,
    missing: &mut Option<&'static str>,
) -> T {
    match slot {
        Some(v) => v,
        None if TOLERANT => absent(),
        None => {
            if missing.is_none() {
                *missing = Some(name);
            }
            T::empty()
        }
    }
}

/// The struct read, or the error naming the first required field that was
/// missing (under `--cfg oai_strict`; see [`required`]).
#[doc(hidden)]
#[inline]
pub fn finish<T, E: de::Error>(value: T, missing: Option<&'static str>) -> Result<T, E> {
    match missing {
        None => Ok(value),
        Some(name) => Err(E::missing_field(name)),
    }
}

/// A required field that may be absent even under `--cfg oai_strict` (a
/// nullable one, or one the generator tolerates always): absent reads as
/// empty, counted when tolerant.
#[doc(hidden)]
pub fn or_absent<T: Empty + Default>(slot: Option<T>) -> T {
    match slot {
        Some(v) => v,
        None if TOLERANT => absent(),
        None => T::default(),
    }
}

/// A required field that must be present in any build (a file).
#[doc(hidden)]
pub fn present<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

/// A field value read through one of the tolerant readers above when
/// tolerant, and as its type's own `Deserialize` under `--cfg oai_strict`.
macro_rules! seeds {
    ($($(#[$doc:meta])* $seed:ident => $reader:ident: $ty:ty;)+) => {
        $(
            $(#[$doc])*
            #[doc(hidden)]
            #[derive(Debug, Clone, Copy)]
            pub struct $seed;

            impl<'de> de::DeserializeSeed<'de> for $seed {
                type Value = $ty;
                fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$ty, D::Error> {
                    if TOLERANT {
                        $reader(d)
                    } else {
                        <$ty>::deserialize(d)
                    }
                }
            }
        )+
    };
}

seeds! {
    /// A required signed integer (`int`).
    IntSeed => int: i64;
    /// An optional signed integer (`opt_int`).
    OptIntSeed => opt_int: Option<i64>;
    /// A required unsigned integer (`uint`).
    UintSeed => uint: u64;
    /// An optional unsigned integer (`opt_uint`).
    OptUintSeed => opt_uint: Option<u64>;
    /// A required text (`text`).
    TextSeed => text: String;
    /// An optional text (`opt_text`).
    OptTextSeed => opt_text: Option<String>;
    /// A required float (`float`).
    FloatSeed => float: f64;
    /// A required boolean (`boolean`).
    BoolSeed => boolean: bool;
}

/// A required generated type, list or map (`or_empty`).
#[doc(hidden)]
#[derive(Debug)]
pub struct OrEmptySeed<T>(PhantomData<T>);

impl<T> OrEmptySeed<T> {
    /// The seed.
    pub const NEW: Self = Self(PhantomData);
}

impl<'de, T: Deserialize<'de> + Empty> de::DeserializeSeed<'de> for OrEmptySeed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        if TOLERANT {
            or_empty(d)
        } else {
            T::deserialize(d)
        }
    }
}

/// A constant string that is not the expected one: accepted (counted) when
/// tolerant.
pub(crate) fn other_constant() -> bool {
    if TOLERANT {
        bump();
    }
    TOLERANT
}

/// One variant of an untagged union, accepted only when it decodes without
/// any tolerance rule (the first pass over the variants).
#[doc(hidden)]
pub fn try_exact_variant<'a, T: Deserialize<'a>>(value: &'a Value) -> Option<T> {
    let before = tolerated();
    match T::deserialize(value) {
        Ok(v) if tolerated() == before => Some(v),
        _ => {
            set_tolerated(before);
            None
        }
    }
}

/// One variant of an untagged union, tolerance allowed (the second pass, when
/// no variant fits exactly), with the number of tolerance rules it needed.
/// The counter is left as it was: the union adds the count of the variant it
/// chooses (the one that needs the fewest rules).
///
/// An object is taken for a struct variant only when it carries at least one
/// of the struct's field names: every required field of a struct reads as
/// empty when absent, so without this rule the first struct variant would
/// take any object, and a shape the union does not know would be filed under
/// that variant instead of `Unknown`.
#[doc(hidden)]
pub fn try_tolerant_variant<'a, T: Deserialize<'a> + Empty>(value: &'a Value) -> Option<(T, u64)> {
    if let Value::Object(object) = value
        && !T::FIELDS.is_empty()
        && !T::FIELDS.iter().any(|name| object.contains_key(*name))
    {
        return None;
    }
    let before = tolerated();
    let read = T::deserialize(value);
    let used = tolerated().wrapping_sub(before);
    set_tolerated(before);
    read.ok().map(|v| (v, used))
}

#[cfg(all(test, not(oai_strict)))]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct S {
        #[serde(default = "absent", deserialize_with = "int")]
        n: i64,
        #[serde(default, deserialize_with = "opt_uint")]
        u: Option<u64>,
        #[serde(default = "absent", deserialize_with = "text")]
        t: String,
        #[serde(default, deserialize_with = "opt_text")]
        o: Option<String>,
        #[serde(default = "absent", deserialize_with = "or_empty")]
        v: Vec<u8>,
    }

    fn read(json: &str) -> (S, u64) {
        let before = tolerated();
        let s = match serde_json::from_str(json) {
            Ok(s) => s,
            Err(e) => panic!("{json}: {e}"),
        };
        (s, tolerated() - before)
    }

    #[test]
    fn exact_values_use_no_rule() {
        let (s, used) = read(r#"{"n":-3,"u":4,"t":"x","o":"y","v":[1]}"#);
        assert_eq!(used, 0);
        assert_eq!(
            s,
            S {
                n: -3,
                u: Some(4),
                t: "x".into(),
                o: Some("y".into()),
                v: vec![1]
            }
        );
    }

    #[test]
    fn absent_and_null_read_as_empty() {
        let (s, used) = read(r#"{"n":null,"t":null,"v":null}"#);
        assert_eq!(used, 3);
        assert_eq!((s.n, s.t.as_str(), s.v.len(), s.o), (0, "", 0, None));
        let (_, used) = read("{}");
        assert_eq!(used, 3);
    }

    #[test]
    fn integral_floats_and_text_parts() {
        let (s, used) = read(
            r#"{"n":12.0,"u":7.0,"t":[{"type":"text","text":"a"},{"type":"image_url"},"b"],"o":["c"]}"#,
        );
        assert_eq!(used, 5, "four rules and the absent list");
        assert_eq!((s.n, s.u, s.t.as_str()), (12, Some(7), "ab"));
        assert_eq!(s.o.as_deref(), Some("c"));
        // A number is not a text.
        assert!(serde_json::from_str::<S>(r#"{"t":5}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"n":1.5}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"u":-1}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"n":1e300}"#).is_err());
    }

    /// Three text fields, each read tolerantly.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
    struct Wide {
        #[serde(default = "absent", deserialize_with = "text")]
        a: String,
        #[serde(default = "absent", deserialize_with = "text")]
        b: String,
        #[serde(default = "absent", deserialize_with = "text")]
        c: String,
    }

    impl Empty for Wide {
        const FIELDS: &'static [&'static str] = &["a", "b", "c"];
        fn empty() -> Self {
            Self {
                a: String::new(),
                b: String::new(),
                c: String::new(),
            }
        }
    }

    /// Two text fields, one shared with `Wide`.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
    struct Narrow {
        #[serde(default = "absent", deserialize_with = "text")]
        c: String,
        #[serde(default = "absent", deserialize_with = "text")]
        d: String,
    }

    impl Empty for Narrow {
        const FIELDS: &'static [&'static str] = &["c", "d"];
        fn empty() -> Self {
            Self {
                c: String::new(),
                d: String::new(),
            }
        }
    }

    crate::untagged_union! {
        enum Either {
            Wide(Wide),
            Narrow(Narrow),
        }
    }

    fn either(json: &str) -> (Either, u64) {
        let before = tolerated();
        let value = match serde_json::from_str(json) {
            Ok(v) => v,
            Err(e) => panic!("{json}: {e}"),
        };
        (value, tolerated() - before)
    }

    #[test]
    fn an_untagged_union_takes_the_closest_variant_or_none() {
        // Exact fits first, in order.
        let (v, used) = either(r#"{"c":"x","d":"y"}"#);
        assert!(matches!(v, Either::Narrow(_)), "{v:?}");
        assert_eq!(used, 0);
        let (v, used) = either(r#"{"a":"1","b":"2","c":"3"}"#);
        assert!(matches!(v, Either::Wide(_)), "{v:?}");
        assert_eq!(used, 0);
        // Both need a rule: the one that needs fewer (Narrow lacks one field,
        // Wide two), whatever the order of the variants.
        let (v, used) = either(r#"{"c":"x"}"#);
        assert_eq!(
            v,
            Either::Narrow(Narrow {
                c: "x".into(),
                d: String::new()
            })
        );
        assert_eq!(used, 1, "only the chosen variant's rules count");
        // A tie goes to the first.
        let (v, _) = either(r#"{"a":"1","b":"2","d":"y"}"#);
        assert!(matches!(v, Either::Wide(_)), "{v:?}");
        let (v, _) = either(r#"{"a":"1","d":"y"}"#);
        assert!(matches!(v, Either::Narrow(_)), "{v:?}");
        // An object that names none of a struct's fields is not that struct,
        // even though every field of it may be absent.
        let (v, used) = either(r#"{"z":1}"#);
        assert_eq!(v.as_unknown(), Some(&serde_json::json!({"z": 1})));
        assert_eq!(used, 0);
        let (v, _) = either(r#"{"d":"y","z":1}"#);
        assert!(matches!(v, Either::Narrow(_)), "{v:?}");
    }
}
