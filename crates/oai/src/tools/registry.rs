//! The registry: the only tools a model can reach, with their schemas, their
//! handlers and their review policy.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::validate::{CompiledSchema, SchemaCompileError, SchemaViolation};
use crate::structured::SchemaError;

/// The longest tool name the API accepts.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// A boxed, sendable future (what an erased handler returns).
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a handler gives back: the text sent to the model, or the text of an
/// error sent to the model as a tool error.
pub(crate) type HandlerResult = Result<String, String>;

/// A handler with its argument type erased. It takes arguments that already
/// passed the tool's schema.
pub(crate) trait ErasedHandler: Send + Sync {
    /// Reads the arguments into the handler's type and runs the handler, all
    /// inside the returned future (so the runner's task catches a panic in
    /// either). The outer `Err` says the arguments did not fit the type; the
    /// handler was not called then.
    fn call(self: Arc<Self>, arguments: Value) -> BoxFuture<Result<HandlerResult, String>>;
}

/// Whether a tool's calls run as soon as the model asks, or wait for the
/// application's approval (see [`ToolRunner`](super::ToolRunner) review).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Runs without review (unless the runner reviews every call).
    #[default]
    Auto,
    /// Every call stops the run for review first.
    Review,
}

/// Why a tool could not be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// The name does not match `^[a-zA-Z0-9_-]{1,64}$`.
    InvalidName(String),
    /// A tool of that name is registered already.
    Duplicate(String),
    /// The parameter type has no strict JSON schema (the error names the field).
    Schema {
        /// The tool.
        tool: String,
        /// What is wrong with the type's schema.
        error: SchemaError,
    },
    /// The hand-written schema cannot be enforced (the error names the keyword).
    Unenforceable {
        /// The tool.
        tool: String,
        /// What the validator refused.
        error: SchemaCompileError,
    },
    /// The parameters schema is not an object schema (the API requires one).
    NotAnObject(String),
    /// [`ToolRegistry::set_policy`] named a tool that is not registered.
    Unknown(String),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName(name) => write!(
                f,
                "tool name `{}` does not match ^[a-zA-Z0-9_-]{{1,64}}$",
                shorten(name, 80)
            ),
            Self::Duplicate(name) => write!(f, "a tool named `{name}` is registered already"),
            Self::Schema { tool, error } => {
                write!(
                    f,
                    "the parameters of tool `{tool}` have no strict schema: {error}"
                )
            }
            Self::Unenforceable { tool, error } => write!(
                f,
                "the parameters schema of tool `{tool}` cannot be enforced: {error}"
            ),
            Self::NotAnObject(tool) => write!(
                f,
                "the parameters schema of tool `{tool}` must be an object schema"
            ),
            Self::Unknown(tool) => write!(f, "no tool named `{tool}` is registered"),
        }
    }
}

impl From<RegisterError> for crate::Error {
    /// A tool that cannot be registered is the user's invalid input.
    fn from(e: RegisterError) -> Self {
        crate::Error::helper(crate::ErrorKind::InvalidInput, e)
    }
}

impl std::error::Error for RegisterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Schema { error, .. } => Some(error),
            Self::Unenforceable { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Whether `name` is a tool name the API accepts: `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOOL_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One registered tool.
#[derive(Clone)]
pub(crate) struct RegisteredTool {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) parameters: Value,
    pub(crate) strict: bool,
    pub(crate) schema: CompiledSchema,
    pub(crate) policy: Policy,
    pub(crate) handler: Arc<dyn ErasedHandler>,
}

impl fmt::Debug for RegisteredTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredTool")
            .field("name", &self.name)
            .field("strict", &self.strict)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The tools a model may call: a name, a description, a parameters schema and
/// an async handler each. Nothing else is reachable: a call to any other name
/// is answered to the model as an error, and a handler only ever receives
/// arguments that passed its schema.
///
/// ```
/// use oai::structured::JsonSchema;
/// use oai::tools::ToolRegistry;
/// use serde::Deserialize;
///
/// /// Arguments of `get_weather`.
/// #[derive(Deserialize, JsonSchema)]
/// struct City {
///     /// The city's name.
///     name: String,
/// }
///
/// let mut tools = ToolRegistry::new();
/// tools.register("get_weather", "Current weather of a city", |city: City| async move {
///     Ok::<_, std::io::Error>(format!("sunny in {}", city.name))
/// })?;
/// assert_eq!(tools.names().collect::<Vec<_>>(), ["get_weather"]);
/// # Ok::<(), oai::tools::RegisterError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, RegisteredTool>,
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` as the tool `name`, with `P`'s strict JSON schema
    /// (see [`strict_schema_for`](crate::structured::strict_schema_for)) as
    /// its parameters and `strict: true`.
    ///
    /// The handler gets the arguments as a `P`. What it returns is sent to the
    /// model: a string as it is, any other value as JSON; an `Err` is sent as
    /// a tool error with its `Display` text.
    ///
    /// # Errors
    /// A name that does not match `^[a-zA-Z0-9_-]{1,64}$`, a name taken, or a
    /// `P` without a strict schema (the error names the field).
    pub fn register<P, F, Fut, O, E>(
        &mut self,
        name: &str,
        description: &str,
        handler: F,
    ) -> Result<&mut Self, RegisterError>
    where
        P: schemars::JsonSchema + DeserializeOwned + Send + 'static,
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Serialize + 'static,
        E: fmt::Display + 'static,
    {
        check_name(name, &self.tools)?;
        let parameters =
            crate::structured::strict_schema_for::<P>().map_err(|error| RegisterError::Schema {
                tool: name.to_owned(),
                error,
            })?;
        self.insert(
            name,
            description,
            parameters,
            true,
            Arc::new(Typed::<P, F> {
                handler,
                _args: std::marker::PhantomData,
            }),
        )
    }

    /// Registers `handler` as the tool `name` with a hand-written parameters
    /// schema. `strict` is sent to the API as the tool's `strict` flag (a
    /// strict schema must follow the API's strict subset; see
    /// [`make_strict`](crate::structured::make_strict)).
    ///
    /// The runner enforces the schema itself whatever `strict` says, so the
    /// schema may only use keywords the validator can check (`type`, `enum`,
    /// `const`, `properties`, `required`, `additionalProperties`, `items`,
    /// string, number and array bounds, `pattern`, `format`, `anyOf`, `oneOf`,
    /// `allOf`, `not`, local `$ref`s); any other keyword is refused here rather
    /// than ignored later.
    ///
    /// ```
    /// use oai::tools::ToolRegistry;
    /// use serde_json::{json, Value};
    ///
    /// let mut tools = ToolRegistry::new();
    /// let schema = json!({
    ///     "type": "object",
    ///     "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    ///     "required": ["a", "b"],
    ///     "additionalProperties": false,
    /// });
    /// tools.register_json("add", "Adds two integers", schema, true, |args: Value| async move {
    ///     let sum = args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0);
    ///     Ok::<_, String>(sum)
    /// })?;
    /// # Ok::<(), oai::tools::RegisterError>(())
    /// ```
    ///
    /// # Errors
    /// A bad or taken name, a schema that is not an object schema, or one
    /// with a keyword the validator cannot enforce.
    pub fn register_json<F, Fut, O, E>(
        &mut self,
        name: &str,
        description: &str,
        parameters: Value,
        strict: bool,
        handler: F,
    ) -> Result<&mut Self, RegisterError>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Serialize + 'static,
        E: fmt::Display + 'static,
    {
        check_name(name, &self.tools)?;
        self.insert(
            name,
            description,
            parameters,
            strict,
            Arc::new(Typed::<Value, F> {
                handler,
                _args: std::marker::PhantomData,
            }),
        )
    }

    /// Sets the review policy of the tool `name` (all tools start at
    /// [`Policy::Auto`]).
    ///
    /// # Errors
    /// [`RegisterError::Unknown`] when no such tool is registered.
    pub fn set_policy(&mut self, name: &str, policy: Policy) -> Result<&mut Self, RegisterError> {
        match self.tools.get_mut(name) {
            Some(tool) => {
                tool.policy = policy;
                Ok(self)
            }
            None => Err(RegisterError::Unknown(name.to_owned())),
        }
    }

    /// The registered names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    /// How many tools are registered.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The parameters schema of `name`, as sent to the API.
    pub fn parameters(&self, name: &str) -> Option<&Value> {
        self.tools.get(name).map(|t| &t.parameters)
    }

    /// The review policy of `name`.
    pub fn policy(&self, name: &str) -> Option<Policy> {
        self.tools.get(name).map(|t| t.policy)
    }

    /// Checks `arguments` (the JSON text a model wrote) against the tool
    /// `name`, exactly as the runner does before any handler runs.
    pub fn check(&self, name: &str, arguments: &str) -> Validation {
        let Some(tool) = self.tools.get(name) else {
            return Validation::UnknownTool;
        };
        match parse_arguments(arguments) {
            Err(reason) => Validation::MalformedJson(reason),
            Ok(value) => validate_value(tool, value),
        }
    }

    /// The request's `tools` with the registry's function tools in place of
    /// its own: other kinds (hosted, custom) are kept; a function tool the
    /// registry lacks is refused, since nothing could answer its calls.
    /// `function_name` tells a function tool (and its name) from the others.
    #[cfg_attr(not(any(feature = "chat", feature = "responses")), allow(dead_code))]
    pub(crate) fn merge_tools<T>(
        &self,
        requested: Option<Vec<T>>,
        function_name: impl Fn(&T) -> Option<&str>,
        registered: impl IntoIterator<Item = T>,
    ) -> crate::Result<Option<Vec<T>>> {
        let mut tools = Vec::new();
        for tool in requested.unwrap_or_default() {
            match function_name(&tool) {
                Some(name) if self.get(name).is_none() => {
                    return Err(crate::Error::invalid_input(format!(
                        "the request has a function tool `{name}` that is not in the registry"
                    )));
                }
                // Replaced by the registry's own description of it.
                Some(_) => {}
                None => tools.push(tool),
            }
        }
        tools.extend(registered);
        Ok((!tools.is_empty()).then_some(tools))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&RegisteredTool> {
        self.tools.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &RegisteredTool> {
        self.tools.values()
    }

    /// The chat completions `tools` entries, one function tool per registered tool.
    #[cfg(feature = "chat")]
    pub fn chat_tools(&self) -> Vec<oai_types::ChatCompletionTool> {
        self.iter()
            .map(|t| oai_types::ChatCompletionTool {
                extra: Default::default(),
                r#type: Default::default(),
                function: oai_types::FunctionObject {
                    extra: Default::default(),
                    description: t.description.clone(),
                    name: t.name.clone(),
                    parameters: Some(t.parameters.clone()),
                    strict: Some(t.strict),
                },
            })
            .collect()
    }

    /// The realtime session's `tools` entries (for `session.update`), one
    /// function tool per registered tool.
    #[cfg(feature = "realtime-ws")]
    pub fn realtime_tools(&self) -> Vec<oai_types::RealtimeSessionCreateRequestGAToolsItem> {
        self.iter()
            .map(|t| {
                oai_types::RealtimeFunctionTool {
                    extra: Default::default(),
                    r#type: Default::default(),
                    name: Some(t.name.clone()),
                    description: t.description.clone(),
                    parameters: Some(t.parameters.clone()),
                }
                .into()
            })
            .collect()
    }

    /// The Responses API `tools` entries, one function tool per registered tool.
    #[cfg(feature = "responses")]
    pub fn response_tools(&self) -> Vec<oai_types::FunctionTool> {
        self.iter()
            .map(|t| oai_types::FunctionTool {
                extra: Default::default(),
                r#type: Default::default(),
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: match &t.parameters {
                    Value::Object(map) => {
                        Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    }
                    _ => None,
                },
                output_schema: None,
                strict: Some(t.strict),
                defer_loading: None,
                allowed_callers: None,
            })
            .collect()
    }

    fn insert(
        &mut self,
        name: &str,
        description: &str,
        parameters: Value,
        strict: bool,
        handler: Arc<dyn ErasedHandler>,
    ) -> Result<&mut Self, RegisterError> {
        let is_object = parameters.get("type").and_then(Value::as_str) == Some("object")
            || parameters.get("properties").is_some();
        if !is_object {
            return Err(RegisterError::NotAnObject(name.to_owned()));
        }
        let schema =
            CompiledSchema::compile(&parameters).map_err(|error| RegisterError::Unenforceable {
                tool: name.to_owned(),
                error,
            })?;
        self.tools.insert(
            name.to_owned(),
            RegisteredTool {
                name: name.to_owned(),
                description: (!description.is_empty()).then(|| description.to_owned()),
                parameters,
                strict,
                schema,
                policy: Policy::Auto,
                handler,
            },
        );
        Ok(self)
    }
}

fn check_name(name: &str, tools: &BTreeMap<String, RegisteredTool>) -> Result<(), RegisterError> {
    if !is_valid_tool_name(name) {
        return Err(RegisterError::InvalidName(name.to_owned()));
    }
    if tools.contains_key(name) {
        return Err(RegisterError::Duplicate(name.to_owned()));
    }
    Ok(())
}

/// The outcome of checking a proposed call, before anything runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Validation {
    /// The arguments parsed and passed the schema; these are them.
    Valid(Value),
    /// No tool of that name is registered.
    UnknownTool,
    /// The arguments are not a JSON object (the reason says why).
    MalformedJson(String),
    /// The arguments are JSON but break the schema.
    Invalid(Vec<SchemaViolation>),
}

impl Validation {
    /// Whether the call may run.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid(_))
    }

    /// The text sent to the model for a call that may not run.
    pub(crate) fn error_text(&self, name: &str) -> Option<String> {
        match self {
            Self::Valid(_) => None,
            Self::UnknownTool => Some(format!(
                "error: there is no tool named `{}`",
                shorten(name, 80)
            )),
            Self::MalformedJson(reason) => Some(format!(
                "error: the arguments are not a JSON object: {reason}"
            )),
            Self::Invalid(violations) => {
                let mut text = String::from("error: the arguments do not match the schema:");
                for v in violations {
                    text.push_str("\n- ");
                    text.push_str(&v.to_string());
                }
                Some(text)
            }
        }
    }
}

/// The arguments text as a JSON object. Models write `""` for a tool without
/// parameters; that reads as `{}`.
pub(crate) fn parse_arguments(arguments: &str) -> Result<Value, String> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(other) => Err(format!("expected an object, got {}", kind_of(&other))),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn validate_value(tool: &RegisteredTool, value: Value) -> Validation {
    let violations = tool.schema.validate(&value);
    if violations.is_empty() {
        Validation::Valid(value)
    } else {
        Validation::Invalid(violations)
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A typed handler: reads `P` from the checked arguments, then calls `F`.
struct Typed<P, F> {
    handler: F,
    _args: std::marker::PhantomData<fn() -> P>,
}

impl<P, F, Fut, O, E> ErasedHandler for Typed<P, F>
where
    P: DeserializeOwned + Send + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    O: Serialize + 'static,
    E: fmt::Display + 'static,
{
    fn call(self: Arc<Self>, arguments: Value) -> BoxFuture<Result<HandlerResult, String>> {
        Box::pin(async move {
            let args = serde_json::from_value::<P>(arguments).map_err(|e| e.to_string())?;
            Ok(match (self.handler)(args).await {
                Ok(output) => output_text(&output),
                Err(e) => Err(e.to_string()),
            })
        })
    }
}

/// A handler's output as the text sent to the model: a string as it is, any
/// other value as JSON.
fn output_text<O: Serialize>(output: &O) -> HandlerResult {
    match serde_json::to_value(output) {
        Ok(Value::String(text)) => Ok(text),
        Ok(value) => Ok(value.to_string()),
        Err(e) => Err(format!(
            "the tool's output could not be written as JSON: {e}"
        )),
    }
}
