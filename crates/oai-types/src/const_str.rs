//! Unit types for the API's constant strings (`"type": "function"`,
//! `"object": "list"`, ...).

/// Declares a unit struct that stands for one constant wire string.
///
/// ```text
/// const_str!($Name = "wire");
/// ```
///
/// The struct is `Copy`, `Default` and zero-sized; it serializes as its string
/// and deserializes from that string. Under tolerant decoding (the default; see
/// `oai_types::tolerant`) any other string, or `null`, is accepted too, and
/// counted as a tolerance, so that an untagged union still prefers a variant
/// whose constants match; built with `--cfg oai_strict`, any other value is an
/// error.
///
/// ```
/// oai_types::const_str!(Function = "function");
///
/// assert_eq!(serde_json::to_string(&Function).unwrap(), r#""function""#);
/// let _: Function = serde_json::from_str(r#""function""#).unwrap();
/// // Azure sends `"object": ""`: accepted unless built with `--cfg oai_strict`.
/// assert_eq!(
///     serde_json::from_str::<Function>(r#""custom""#).is_ok(),
///     !cfg!(oai_strict)
/// );
/// assert!(serde_json::from_str::<Function>("1").is_err());
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
                $crate::const_str::expect_string(deserializer, $value).map(|()| $name)
            }
        }

        impl $crate::__private::Empty for $name {
            fn empty() -> Self {
                $name
            }
        }
    };
}

/// Reads one string and checks that it is `expected`.
#[doc(hidden)]
pub fn expect_string<'de, D: serde::Deserializer<'de>>(
    d: D,
    expected: &'static str,
) -> Result<(), D::Error> {
    struct Exact(&'static str);
    impl serde::de::Visitor<'_> for Exact {
        type Value = ();
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            write!(f, "the string {:?}", self.0)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
            if v == self.0 || crate::tolerant::other_constant() {
                Ok(())
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            if crate::tolerant::other_constant() {
                Ok(())
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Unit, &self))
            }
        }
    }
    d.deserialize_any(Exact(expected))
}
