//! Structured outputs from Rust types: the JSON schema of a type, in the strict
//! form the API requires with `strict: true`, sent as a response format, and
//! the model's answer read back as the type.
//!
//! The schema comes from [`schemars`] (`#[derive(JsonSchema)]`, with
//! `#[derive(Deserialize)]` for the reading side). The strict form has every
//! object closed (`additionalProperties: false`) with every property required
//! (an `Option<T>` field stays nullable), references inlined except where a
//! type is recursive, and `oneOf` written as `anyOf`. Types strict mode cannot
//! express (maps, `serde_json::Value`, tuples, a root that is not a struct) are
//! refused with a [`SchemaError`] naming the field.
//!
//! ```no_run
//! use oai::builders::CreateChatCompletionRequestBuilder as Chat;
//! use oai::structured::{JsonSchema, ParseExt};
//! use oai::types::ChatCompletionRequestMessage as Message;
//! use serde::Deserialize;
//!
//! /// An event found in a text.
//! #[derive(Debug, Deserialize, JsonSchema)]
//! struct Event {
//!     name: String,
//!     date: String,
//!     participants: Vec<String>,
//!     /// Where it happens, when the text says.
//!     place: Option<String>,
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = oai::Client::from_env()?;
//! let request = Chat::new(Message::user("Alice and Bob meet at the fair on Friday."), "gpt-4o-mini")
//!     .response_format(oai::structured::response_format::<Event>()?)
//!     .build()?;
//! let answer = client.chat().completions().create(request).await?;
//! let event: Event = answer.parse()?; // a refusal or a cut answer is a ParseError
//! println!("{event:?}");
//! # Ok(()) }
//! ```
//!
//! The same with the Responses API: `.text(`[`text_param`]`::<T>()?)` on the
//! request, `response.parse::<T>()` on the answer.

use serde_json::Value;

mod parse;
mod strict;

pub use parse::{IncompleteReason, ParseError, ParseExt};
pub use strict::{
    LARGE_ENUM_VALUES, MAX_ENUM_VALUES, MAX_LARGE_ENUM_STRING_LENGTH, MAX_NESTING_DEPTH,
    MAX_PROPERTIES, MAX_TOTAL_STRING_LENGTH, SchemaError, SchemaErrorKind, sanitize_name,
};

/// The [`schemars`] crate, re-exported (for `#[schemars(crate = "oai::structured::schemars")]`
/// when the application does not depend on it directly).
pub use schemars;
/// The derive macro and trait of [`schemars`], re-exported.
pub use schemars::JsonSchema;

/// The strict JSON schema of `T`, ready for a `strict: true` response format or
/// a strict function tool's parameters.
///
/// An optional property (`Option<T>`, `#[serde(default)]`) becomes required; it
/// accepts `null` only when the type already does (an `Option`), so every value
/// the schema allows reads back as `T`. An enum's `oneOf` becomes `anyOf`
/// (serde reads the first variant that matches). The root keeps the type's
/// name as `title` and its doc comment as `description`.
///
/// ```
/// use oai::structured::{strict_schema_for, JsonSchema};
///
/// #[derive(JsonSchema)]
/// struct Step { explanation: String, output: Option<String> }
///
/// let schema = strict_schema_for::<Step>()?;
/// assert_eq!(schema["additionalProperties"], false);
/// assert_eq!(schema["required"], serde_json::json!(["explanation", "output"]));
/// # Ok::<(), oai::structured::SchemaError>(())
/// ```
///
/// # Errors
/// A [`SchemaError`] naming the field strict mode cannot express (see the
/// [module docs](self)), or a limit of the API that the schema goes over.
pub fn strict_schema_for<T: schemars::JsonSchema + ?Sized>() -> Result<Value, SchemaError> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = false;
        })
        .into_generator();
    let schema = generator.into_root_schema_for::<T>().to_value();
    strict::strict(schema, true)
}

/// `schema` (any JSON schema, written by hand or by another generator) in the
/// strict form, with the same checks as [`strict_schema_for`].
///
/// An optional property becomes required and nullable (`null` is added to
/// its type), and `oneOf` becomes `anyOf` only when its branches cannot
/// overlap. Annotations strict mode does not take (`$schema`, `default`,
/// `examples`, `format`s other than the API's) are dropped; keywords that
/// constrain values and that strict mode cannot express are refused. The
/// result is a fixed point: `make_strict(make_strict(s)?)? == make_strict(s)?`.
///
/// ```
/// use serde_json::json;
///
/// let schema = oai::structured::make_strict(json!({
///     "type": "object",
///     "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
///     "required": ["city"],
/// }))?;
/// assert_eq!(schema["properties"]["zip"]["type"], json!(["string", "null"]));
/// assert_eq!(schema["required"], json!(["city", "zip"]));
/// # Ok::<(), oai::structured::SchemaError>(())
/// ```
///
/// # Errors
/// A [`SchemaError`] naming the field strict mode cannot express.
pub fn make_strict(schema: Value) -> Result<Value, SchemaError> {
    strict::strict(schema, false)
}

/// The `json_schema` name made from `T`'s schema name ([`sanitize_name`]).
pub fn schema_name_for<T: schemars::JsonSchema + ?Sized>() -> String {
    sanitize_name(&T::schema_name())
}

/// A strict `json_schema` response format: a name, an optional description and
/// a strict schema. It converts into the chat completions `response_format`
/// and the Responses API `text.format` (and `text`), so it can be passed to
/// the builders' setters directly.
///
/// ```
/// use oai::structured::{JsonSchema, JsonSchemaFormat};
///
/// #[derive(JsonSchema)]
/// struct Answer { value: i64 }
///
/// let format = JsonSchemaFormat::for_type::<Answer>()?
///     .with_name("final_answer")?
///     .with_description("The final answer only");
/// assert_eq!(format.name(), "final_answer");
/// # Ok::<(), oai::structured::SchemaError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchemaFormat {
    name: String,
    description: Option<String>,
    schema: Value,
}

impl JsonSchemaFormat {
    /// The format of `T`: its strict schema ([`strict_schema_for`]), named
    /// after the type ([`schema_name_for`]).
    ///
    /// # Errors
    /// A [`SchemaError`] naming the field strict mode cannot express.
    pub fn for_type<T: schemars::JsonSchema + ?Sized>() -> Result<Self, SchemaError> {
        Ok(Self {
            name: schema_name_for::<T>(),
            description: None,
            schema: strict_schema_for::<T>()?,
        })
    }

    /// A format from any JSON schema, made strict with [`make_strict`].
    ///
    /// # Errors
    /// The name does not match `^[a-zA-Z0-9_-]{1,64}$`, or a [`SchemaError`]
    /// from [`make_strict`].
    pub fn from_schema(name: impl Into<String>, schema: Value) -> Result<Self, SchemaError> {
        let name = name.into();
        strict::check_name(&name)?;
        Ok(Self {
            name,
            description: None,
            schema: make_strict(schema)?,
        })
    }

    /// The same format under another name.
    ///
    /// # Errors
    /// The name does not match `^[a-zA-Z0-9_-]{1,64}$`.
    pub fn with_name(mut self, name: impl Into<String>) -> Result<Self, SchemaError> {
        let name = name.into();
        strict::check_name(&name)?;
        self.name = name;
        Ok(self)
    }

    /// The same format with a description (sent beside the schema).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The strict schema.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// The strict schema, taken out.
    pub fn into_schema(self) -> Value {
        self.schema
    }
}

#[cfg(feature = "chat")]
impl From<JsonSchemaFormat> for oai_types::ResponseFormatJsonSchema {
    fn from(f: JsonSchemaFormat) -> Self {
        Self {
            extra: Default::default(),
            r#type: Default::default(),
            json_schema: oai_types::ResponseFormatJsonSchemaJsonSchema {
                extra: Default::default(),
                description: f.description,
                name: f.name,
                schema: Some(f.schema),
                strict: Some(true),
            },
        }
    }
}

#[cfg(feature = "chat")]
impl From<JsonSchemaFormat> for oai_types::CreateChatCompletionRequestResponseFormat {
    fn from(f: JsonSchemaFormat) -> Self {
        Self::JsonSchema(f.into())
    }
}

#[cfg(feature = "responses")]
impl From<JsonSchemaFormat> for oai_types::TextResponseFormatJsonSchema {
    fn from(f: JsonSchemaFormat) -> Self {
        Self {
            extra: Default::default(),
            r#type: Default::default(),
            description: f.description,
            name: f.name,
            schema: f.schema,
            strict: Some(true),
        }
    }
}

#[cfg(feature = "responses")]
impl From<JsonSchemaFormat> for oai_types::TextResponseFormatConfiguration {
    fn from(f: JsonSchemaFormat) -> Self {
        Self::JsonSchema(f.into())
    }
}

#[cfg(feature = "responses")]
impl From<JsonSchemaFormat> for oai_types::ResponseTextParam {
    fn from(f: JsonSchemaFormat) -> Self {
        Self {
            extra: Default::default(),
            format: Some(f.into()),
            verbosity: None,
        }
    }
}

/// The chat completions `response_format` for `T`: a strict `json_schema`
/// format named after the type (see [`JsonSchemaFormat`] to rename it).
///
/// # Errors
/// A [`SchemaError`] naming the field strict mode cannot express.
#[cfg(feature = "chat")]
pub fn response_format<T: schemars::JsonSchema + ?Sized>()
-> Result<oai_types::CreateChatCompletionRequestResponseFormat, SchemaError> {
    Ok(JsonSchemaFormat::for_type::<T>()?.into())
}

/// The Responses API `text.format` for `T`: a strict `json_schema` format
/// named after the type. [`text_param`] wraps it in the `text` parameter the
/// request builder takes.
///
/// # Errors
/// A [`SchemaError`] naming the field strict mode cannot express.
#[cfg(feature = "responses")]
pub fn text_format<T: schemars::JsonSchema + ?Sized>()
-> Result<oai_types::TextResponseFormatConfiguration, SchemaError> {
    Ok(JsonSchemaFormat::for_type::<T>()?.into())
}

/// The Responses API `text` parameter for `T`: its `format` is
/// [`text_format`]`::<T>()`.
///
/// ```no_run
/// use oai::builders::CreateResponseBuilder;
/// use oai::structured::{JsonSchema, ParseExt};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, JsonSchema)]
/// struct Verdict { positive: bool, reason: String }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = oai::Client::from_env()?;
/// let request = CreateResponseBuilder::new()
///     .model("gpt-4o-mini")
///     .input("Is 'what a lovely day' positive?")
///     .text(oai::structured::text_param::<Verdict>()?)
///     .build()?;
/// let verdict: Verdict = client.responses().create(request).await?.parse()?;
/// println!("{verdict:?}");
/// # Ok(()) }
/// ```
///
/// # Errors
/// A [`SchemaError`] naming the field strict mode cannot express.
#[cfg(feature = "responses")]
pub fn text_param<T: schemars::JsonSchema + ?Sized>()
-> Result<oai_types::ResponseTextParam, SchemaError> {
    Ok(JsonSchemaFormat::for_type::<T>()?.into())
}
