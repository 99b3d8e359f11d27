//! Empty: this crate exists to build async-openai for a compile-time figure.
pub use async_openai as _yardstick;
