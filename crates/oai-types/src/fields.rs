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
