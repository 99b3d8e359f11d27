//! The generated structs' `Serialize`: a map of the named fields in their
//! declaration order (an optional field left out when `None`), then the
//! fields kept in `extra`, as `derive(Serialize)` with `#[serde(flatten)]`
//! writes them.
//!
//! The generator writes one plain call per field instead of a derive: a
//! derive's early return per field (`serialize_entry(..)?`) made most of the
//! type and borrow checking of this crate, as the read side's did before
//! (`tolerant::field`). The first error is kept and returned by
//! [`Fields::end`]; the fields after it are not written.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// A struct being written as a map (see the module docs).
#[doc(hidden)]
pub struct Fields<M: SerializeMap> {
    map: M,
    error: Option<M::Error>,
}

impl<M: SerializeMap> core::fmt::Debug for Fields<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fields")
            .field("failed", &self.error.is_some())
            .finish_non_exhaustive()
    }
}

/// Starts writing a struct as a map of unknown length (its `extra` fields
/// are counted only at the end).
///
/// # Errors
/// The serializer's own, starting a map.
#[doc(hidden)]
#[inline]
pub fn fields<S: Serializer>(serializer: S) -> Result<Fields<S::SerializeMap>, S::Error> {
    Ok(Fields {
        map: serializer.serialize_map(None)?,
        error: None,
    })
}

impl<M: SerializeMap> Fields<M> {
    /// Writes a field (nothing once an earlier one failed).
    #[inline]
    pub fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) {
        if self.error.is_none()
            && let Err(e) = self.map.serialize_entry(key, value)
        {
            self.error = Some(e);
        }
    }

    /// Writes an optional field when it is `Some` (as `skip_serializing_if =
    /// "Option::is_none"` does: the `Option` itself is written).
    #[inline]
    pub fn some<T: Serialize>(&mut self, key: &'static str, value: &Option<T>) {
        if value.is_some() {
            self.field(key, value);
        }
    }

    /// Writes the fields kept in `extra` and ends the map; the first error
    /// of any field is the result.
    ///
    /// # Errors
    /// The first error a field's value or the serializer gave.
    pub fn end(mut self, extra: &crate::Extra) -> Result<M::Ok, M::Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        for (key, value) in extra.iter() {
            self.map.serialize_entry(key, value)?;
        }
        self.map.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::cell::Cell;

    use serde::ser::Error as _;

    use super::*;

    /// A value whose serialization fails.
    struct Refused;

    impl Serialize for Refused {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("refused"))
        }
    }

    /// A value that counts how often it is written.
    struct Counted<'a>(&'a Cell<u32>);

    impl Serialize for Counted<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.set(self.0.get() + 1);
            s.serialize_u32(1)
        }
    }

    #[test]
    fn the_first_error_is_the_result_and_nothing_after_it_is_written() {
        let written = Cell::new(0);
        let mut map = fields(serde_json::value::Serializer).unwrap();
        map.field("a", &Counted(&written));
        map.field("b", &Refused);
        map.field("c", &Counted(&written));
        map.some("d", &Some(Counted(&written)));
        let err = map.end(&crate::Extra::new()).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(written.get(), 1);
    }

    #[test]
    fn none_is_left_out_and_extra_comes_last() {
        let written = Cell::new(0);
        let mut extra = crate::Extra::new();
        // (In `extra`'s own order: sorted, or as received when serde_json
        // keeps the order.)
        extra.insert("a".to_owned(), serde_json::json!([1]));
        extra.insert("z".to_owned(), serde_json::json!(null));
        let mut out = Vec::new();
        let mut json = serde_json::Serializer::new(&mut out);
        let mut map = fields(&mut json).unwrap();
        map.field("m", &Counted(&written));
        map.some("n", &None::<u32>);
        map.some("o", &Some(2));
        map.field("p", &None::<u32>);
        map.end(&extra).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"m":1,"o":2,"p":null,"a":[1],"z":null}"#
        );
    }
}
