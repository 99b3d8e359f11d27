//! Unit types for the API's constant strings (`"type": "function"`,
//! `"object": "list"`, ...).

/// Declares a unit struct that stands for one constant wire string.
///
/// ```text
/// const_str!($Name = "wire");
/// ```
///
/// The struct is `Copy`, `Default` and zero-sized; it serializes as its string.
/// Deserializing accepts any string, so a struct holding one never fails to
/// decode: a union that picks its variant by this value has already checked it.
///
/// ```
/// oai_types::const_str!(Function = "function");
///
/// assert_eq!(serde_json::to_string(&Function).unwrap(), r#""function""#);
/// let _: Function = serde_json::from_str(r#""function""#).unwrap();
/// assert_eq!(Function::VALUE, "function");
/// ```
#[macro_export]
macro_rules! const_str {
    ($name:ident = $value:literal) => {
        #[doc = concat!("Always `\"", $value, "\"` on the wire.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name;

        impl $name {
            /// The wire value.
            pub const VALUE: &'static str = $value;
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str($value)
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str($value)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::const_str::accept_any_string(deserializer).map(|()| $name)
            }
        }
    };
}

/// Reads and discards one string.
#[doc(hidden)]
pub fn accept_any_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    struct AnyString;
    impl serde::de::Visitor<'_> for AnyString {
        type Value = ();
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
    }
    d.deserialize_str(AnyString)
}
