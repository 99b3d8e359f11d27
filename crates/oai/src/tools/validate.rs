//! Validation of the arguments a model proposes for a tool call against the
//! tool's JSON schema.
//!
//! A schema is compiled once ([`CompiledSchema::compile`]), when the tool is
//! registered, and refused if it uses anything this validator could not
//! enforce: a schema that compiles is checked in full by
//! [`CompiledSchema::validate`]. Keywords have their JSON Schema draft 2020-12
//! meaning; the vocabulary is the one of strict function schemas, of what
//! `schemars` derives and of common hand-written schemas: `type`, `enum`,
//! `const`, `properties`, `required`, `additionalProperties`,
//! `patternProperties`, `propertyNames`, `minProperties`, `maxProperties`,
//! `items`, `prefixItems`, `contains`, `minContains`, `maxContains`,
//! `minItems`, `maxItems`, `uniqueItems`, `minLength`, `maxLength`, `pattern`,
//! `format`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
//! `multipleOf`, `allOf`, `anyOf`, `oneOf`, `not`, `$ref` (JSON pointers into
//! the schema, recursive ones included; never fetched), `$defs`, the older
//! `definitions`, tuple `items` with `additionalItems` and boolean exclusive
//! bounds, OpenAPI 3.0's `nullable`, and the usual annotations.
//!
//! - `pattern` and `patternProperties` are ECMA-262 regular expressions read
//!   with the `u` flag (see the `ecma` module below); what the linear-time engine cannot run
//!   exactly (look-around, back-references, `\p{..}`) is refused.
//! - `format` is an assertion: `date-time`, `date`, `time`, `duration`,
//!   `email` (RFC 5321), `ipv4`, `ipv6`, `uuid`, `regex`, and the number
//!   formats of OpenAPI (`int32`, `int64`, `float`, `double`) and schemars
//!   (`int8` ... `uint64`, `int`, `uint`). Any other format (`uri`,
//!   `hostname`, `idn-email`, a custom name) is refused, not ignored.
//! - `nullable: true` adds `null` to `type` (OpenAPI 3.0.3): without `type` it
//!   does nothing, and every other keyword, `enum` and `const` included, still
//!   applies to `null`.
//! - `$schema` must name a standard draft: a custom meta-schema may change
//!   the vocabulary.
//!
//! `tests/json_schema_suite.rs` runs the official JSON Schema Test Suite
//! (draft 2020-12) on this validator: every case of an accepted keyword or
//! format passes, every case using something refused is refused at compile
//! time. The figures are in `src/tools/README.md`.
//!
//! Validation never panics and is bounded on hostile values: nesting beyond
//! [`CompiledSchema::MAX_DEPTH`] levels is a violation, and so is a value that
//! takes more than a fixed amount of work to check.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use regex_lite::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

/// Index of a compiled schema node.
type NodeId = usize;

/// Schema nodes a compiled schema may hold (bounds memory for huge schemas).
const MAX_NODES: usize = 100_000;
/// Schema nodes visited by one validation before it gives up (bounds the time
/// for values that make combinators backtrack a lot).
const MAX_STEPS: usize = 1_000_000;
/// Characters of a value (from the instance or the schema) quoted in a message.
const MAX_QUOTE: usize = 60;
/// Nesting depth of values compared for `enum`, `const` and `uniqueItems`.
const MAX_EQ_DEPTH: usize = 256;
/// Compiled size limit of one `pattern` (bytes of regex program).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Nesting limit of one `pattern`.
const REGEX_NEST_LIMIT: u32 = 100;
/// `$ref` hops followed when guessing which branch of a combinator was meant.
const MAX_TYPE_HOPS: usize = 8;

// Type bits.
const T_NULL: u8 = 1;
const T_BOOLEAN: u8 = 1 << 1;
const T_OBJECT: u8 = 1 << 2;
const T_ARRAY: u8 = 1 << 3;
const T_NUMBER: u8 = 1 << 4;
const T_INTEGER: u8 = 1 << 5;
const T_STRING: u8 = 1 << 6;
const T_ALL: u8 = T_NULL | T_BOOLEAN | T_OBJECT | T_ARRAY | T_NUMBER | T_INTEGER | T_STRING;
/// Type names in the order messages list them.
const TYPE_NAMES: [(u8, &str); 7] = [
    (T_OBJECT, "object"),
    (T_ARRAY, "array"),
    (T_STRING, "string"),
    (T_INTEGER, "integer"),
    (T_NUMBER, "number"),
    (T_BOOLEAN, "boolean"),
    (T_NULL, "null"),
];

/// Keywords that only annotate: accepted and ignored.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "example",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The standard meta-schemas: a schema naming another one may use a
/// vocabulary of its own, and is refused. Whatever the draft named, keywords
/// are read with their draft 2020-12 meaning (the older forms of `items`,
/// `additionalItems`, `definitions` and boolean exclusive bounds with theirs).
const META_SCHEMAS: &[&str] = &[
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-07/schema",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-06/schema",
    "http://json-schema.org/draft-04/schema#",
    "http://json-schema.org/draft-04/schema",
];

/// Keywords known from some draft or from OpenAPI that this validator does not
/// enforce: a schema using them is refused rather than half checked.
const UNSUPPORTED: &[&str] = &[
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
    "$anchor",
    "$vocabulary",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "discriminator",
];

/// A JSON schema checked once, at registration, then used for every call.
///
/// ```
/// use oai::tools::CompiledSchema;
/// use serde_json::json;
///
/// let schema = CompiledSchema::compile(&json!({
///     "type": "object",
///     "properties": {
///         "city": {"type": "string", "minLength": 1},
///         "days": {"type": "integer", "minimum": 1, "maximum": 16},
///     },
///     "required": ["city", "days"],
///     "additionalProperties": false,
/// }))?;
///
/// assert!(schema.is_valid(&json!({"city": "Paris", "days": 3})));
///
/// let violations = schema.validate(&json!({"city": "Paris", "days": "3"}));
/// assert_eq!(violations[0].path(), "/days");
/// assert_eq!(violations[0].to_string(), "at /days: expected integer, got string");
/// # Ok::<(), oai::tools::SchemaCompileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    nodes: Arc<[Node]>,
}

/// One violation of a schema by a value: where, and what is wrong.
///
/// The message is short plain text meant to be sent back to the model; it
/// quotes at most about 60 characters of any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    path: String,
    message: String,
}

impl SchemaViolation {
    /// The JSON pointer of the offending part of the value: `""` for the
    /// value itself, `/items/3/name` for a nested one.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, such as `expected integer, got string` or
    /// ``missing required property `city` ``.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "at the root: {}", self.message)
        } else {
            write!(f, "at {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SchemaViolation {}

/// A schema that [`CompiledSchema::compile`] refuses: where in the schema, and
/// why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaCompileError {
    path: String,
    message: String,
}

impl SchemaCompileError {
    fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// The JSON pointer of the offending part of the schema, usually the
    /// keyword itself (`/properties/age/minimum`); `""` for the whole schema.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why the schema is refused, naming the keyword.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SchemaCompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "invalid schema at the root: {}", self.message)
        } else {
            write!(f, "invalid schema at {}: {}", self.path, self.message)
        }
    }
}

impl From<SchemaCompileError> for crate::Error {
    /// A schema the validator cannot enforce is the user's invalid input.
    fn from(e: SchemaCompileError) -> Self {
        crate::Error::helper(crate::ErrorKind::InvalidInput, e)
    }
}

impl std::error::Error for SchemaCompileError {}

impl CompiledSchema {
    /// The most violations [`validate`](Self::validate) reports; it stops
    /// looking after that many.
    pub const MAX_VIOLATIONS: usize = 32;

    /// The deepest nesting checked, of schemas (`$ref`s and combinators
    /// included) and therefore of values; deeper is a violation.
    pub const MAX_DEPTH: usize = 128;

    /// Checks `schema` and prepares it for validation.
    ///
    /// ```
    /// use oai::tools::CompiledSchema;
    /// use serde_json::json;
    ///
    /// let err = CompiledSchema::compile(&json!({
    ///     "type": "object",
    ///     "properties": {"when": {"type": "string", "if": {"minLength": 3}}},
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.path(), "/properties/when/if");
    /// assert_eq!(err.message(), "unsupported keyword `if`");
    /// ```
    ///
    /// # Errors
    /// A [`SchemaCompileError`] naming the place in the schema (a JSON pointer)
    /// and the reason, for anything this validator could not fully enforce: an
    /// unknown or unsupported keyword, a format it does not check, a `$ref`
    /// that does not resolve inside the schema, a custom `$schema`, a
    /// `pattern` that is not an ECMA-262 regular expression (or uses a
    /// feature, such as look-around or Unicode property escapes, the regex
    /// engine lacks), a keyword whose value has the wrong type, a schema
    /// nested more than [`MAX_DEPTH`](Self::MAX_DEPTH) levels.
    pub fn compile(schema: &Value) -> Result<Self, SchemaCompileError> {
        let mut compiler = Compiler {
            root: schema,
            nodes: vec![Node::Nothing],
            by_pointer: HashMap::from([(String::new(), 0)]),
            pending: vec![(0, String::new())],
        };
        while let Some((id, pointer)) = compiler.pending.pop() {
            let target = resolve(schema, &pointer).ok_or_else(|| {
                SchemaCompileError::new(&pointer, "internal error: lost a schema location")
            })?;
            let node = compiler.node(target, &pointer, 0)?;
            if let Some(slot) = compiler.nodes.get_mut(id) {
                *slot = node;
            }
        }
        Ok(Self {
            nodes: compiler.nodes.into(),
        })
    }

    /// Every violation of the schema by `value`, in document order (empty
    /// when `value` is valid), at most [`MAX_VIOLATIONS`](Self::MAX_VIOLATIONS).
    ///
    /// A failed `anyOf` or `oneOf` gives one violation for the combinator,
    /// except when only one alternative accepts the value's type: then that
    /// alternative's violations are given, as they say what to fix.
    pub fn validate(&self, value: &Value) -> Vec<SchemaViolation> {
        self.run(value, Self::MAX_VIOLATIONS)
    }

    /// Whether `value` is valid: the same as `validate(value).is_empty()`, but
    /// stops at the first violation.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.run(value, 1).is_empty()
    }

    fn run(&self, value: &Value, limit: usize) -> Vec<SchemaViolation> {
        let mut run = Run::new(&self.nodes, limit);
        run.check(0, value, 0);
        run.finish()
    }
}

// ---------------------------------------------------------------------------
// Compiled form.

/// A compiled schema node.
#[derive(Debug)]
enum Node {
    /// `true`, `{}` or only annotations.
    Any,
    /// `false`.
    Nothing,
    /// A schema with keywords.
    Keywords(Box<Keywords>),
}

/// The formats asserted: the string formats of JSON Schema whose every case
/// of the JSON Schema Test Suite passes, and the number formats of OpenAPI
/// 3.0. Any other format is refused at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DateTime,
    Date,
    Time,
    Email,
    Ipv4,
    Ipv6,
    Uuid,
    Duration,
    Regex,
    /// An integer within the bounds (OpenAPI `int32`, `int64`; the names
    /// schemars gives Rust's integer types).
    Integer(&'static str, i128, i128),
    Float,
    Double,
}

/// The format names [`Format::from_name`] knows, for messages.
const FORMAT_NAMES: &str = "date-time, date, time, duration, email, ipv4, ipv6, uuid, regex, \
     int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint, float, double";

impl Format {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "date-time" => Self::DateTime,
            "date" => Self::Date,
            "time" => Self::Time,
            "email" => Self::Email,
            "ipv4" => Self::Ipv4,
            "ipv6" => Self::Ipv6,
            "uuid" => Self::Uuid,
            "duration" => Self::Duration,
            "regex" => Self::Regex,
            "int8" => Self::Integer("int8", i8::MIN.into(), i8::MAX.into()),
            "int16" => Self::Integer("int16", i16::MIN.into(), i16::MAX.into()),
            "int32" => Self::Integer("int32", i32::MIN.into(), i32::MAX.into()),
            "int64" => Self::Integer("int64", i64::MIN.into(), i64::MAX.into()),
            "int" => Self::Integer("int", i64::MIN.into(), i64::MAX.into()),
            "uint8" => Self::Integer("uint8", 0, u8::MAX.into()),
            "uint16" => Self::Integer("uint16", 0, u16::MAX.into()),
            "uint32" => Self::Integer("uint32", 0, u32::MAX.into()),
            "uint64" => Self::Integer("uint64", 0, u64::MAX.into()),
            "uint" => Self::Integer("uint", 0, u64::MAX.into()),
            "float" => Self::Float,
            "double" => Self::Double,
            _ => return None,
        })
    }

    fn describe(self) -> String {
        let text = match self {
            Self::DateTime => "date-time (RFC 3339, such as 2024-05-01T13:45:00Z)",
            Self::Date => "date (YYYY-MM-DD)",
            Self::Time => "time (RFC 3339, such as 13:45:00Z)",
            Self::Email => "email address",
            Self::Ipv4 => "IPv4 address",
            Self::Ipv6 => "IPv6 address",
            Self::Uuid => "UUID",
            Self::Duration => "duration (ISO 8601, such as P3DT4H)",
            Self::Regex => "regular expression (ECMA-262)",
            Self::Integer(name, lo, hi) => return format!("{name} (an integer from {lo} to {hi})"),
            Self::Float => "float (a number within the range of a 32-bit float)",
            Self::Double => "double",
        };
        text.to_owned()
    }

    /// Whether the string `s` is valid; number formats take every string.
    fn check(self, s: &str) -> bool {
        match self {
            Self::DateTime => is_date_time(s),
            Self::Date => is_date(s.as_bytes()),
            Self::Time => is_time(s.as_bytes()),
            Self::Email => is_email(s),
            Self::Ipv4 => s.parse::<Ipv4Addr>().is_ok(),
            Self::Ipv6 => s.parse::<Ipv6Addr>().is_ok(),
            Self::Uuid => is_uuid(s),
            Self::Duration => is_duration(s),
            Self::Regex => ecma::is_valid(s),
            Self::Integer(..) | Self::Float | Self::Double => true,
        }
    }

    /// Whether the number `n` is valid; string formats take every number.
    fn check_number(self, n: Num) -> bool {
        match self {
            Self::Integer(_, lo, hi) => n.as_int().is_some_and(|i| (lo..=hi).contains(&i)),
            Self::Float => n.as_f64().abs() <= f64::from(f32::MAX),
            _ => true,
        }
    }
}

/// The keywords of one schema object.
#[derive(Debug, Default)]
struct Keywords {
    nullable: bool,
    types: Option<u8>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    reference: Option<NodeId>,

    properties: HashMap<String, NodeId>,
    required: Vec<String>,
    additional: Option<NodeId>,
    pattern_properties: Vec<(Regex, NodeId)>,
    property_names: Option<NodeId>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,

    prefix_items: Vec<NodeId>,
    items: Option<NodeId>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    contains: Option<NodeId>,
    min_contains: Option<u64>,
    max_contains: Option<u64>,

    min_length: Option<u64>,
    max_length: Option<u64>,
    /// The compiled pattern and the pattern as written (for messages).
    pattern: Option<(Regex, String)>,
    format: Option<Format>,

    /// The bound and whether it is exclusive (draft 4 boolean form).
    minimum: Option<(Number, bool)>,
    maximum: Option<(Number, bool)>,
    exclusive_minimum: Option<Number>,
    exclusive_maximum: Option<Number>,
    multiple_of: Option<Number>,

    all_of: Vec<NodeId>,
    any_of: Vec<NodeId>,
    one_of: Vec<NodeId>,
    not: Option<NodeId>,
}

// ---------------------------------------------------------------------------
// Compilation.

struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    /// Nodes of `$ref` targets (and definitions), by normalized JSON pointer.
    by_pointer: HashMap<String, NodeId>,
    /// Reference targets allocated but not compiled yet.
    pending: Vec<(NodeId, String)>,
}

type CompileResult<T> = Result<T, SchemaCompileError>;

fn child(path: &str, token: &str) -> String {
    let mut out = String::with_capacity(path.len() + token.len() + 1);
    out.push_str(path);
    out.push('/');
    push_escaped(&mut out, token);
    out
}

fn push_escaped(out: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

impl Compiler<'_> {
    fn alloc(&mut self, path: &str) -> CompileResult<NodeId> {
        if self.nodes.len() >= MAX_NODES {
            return Err(SchemaCompileError::new(
                path,
                format!("the schema is too large (more than {MAX_NODES} subschemas)"),
            ));
        }
        self.nodes.push(Node::Nothing);
        Ok(self.nodes.len() - 1)
    }

    /// Compiles a subschema into a new node.
    fn sub(&mut self, schema: &Value, path: &str, depth: usize) -> CompileResult<NodeId> {
        let id = self.alloc(path)?;
        let node = self.node(schema, path, depth + 1)?;
        if let Some(slot) = self.nodes.get_mut(id) {
            *slot = node;
        }
        Ok(id)
    }

    /// The node of a reference target, compiled later (so recursion ends).
    fn target(&mut self, pointer: String, path: &str, shown: &str) -> CompileResult<NodeId> {
        if let Some(&id) = self.by_pointer.get(&pointer) {
            return Ok(id);
        }
        match resolve(self.root, &pointer) {
            Some(Value::Object(_) | Value::Bool(_)) => {}
            Some(_) => {
                return Err(SchemaCompileError::new(
                    path,
                    format!("`$ref` {} does not point to a schema", quote_str(shown)),
                ));
            }
            None => {
                return Err(SchemaCompileError::new(
                    path,
                    format!(
                        "`$ref` {} does not resolve inside this schema",
                        quote_str(shown)
                    ),
                ));
            }
        }
        let id = self.alloc(path)?;
        self.by_pointer.insert(pointer.clone(), id);
        self.pending.push((id, pointer));
        Ok(id)
    }

    fn node(&mut self, schema: &Value, path: &str, depth: usize) -> CompileResult<Node> {
        // This recursion runs once per level of the schema (up to
        // `MAX_DEPTH`), also on small thread stacks and in debug builds: the
        // keywords that do not recurse are read out of line, in
        // `plain_keyword`, to keep this frame small.
        if depth > CompiledSchema::MAX_DEPTH {
            return Err(too_deep(path));
        }
        let obj = match schema {
            Value::Bool(true) => return Ok(Node::Any),
            Value::Bool(false) => return Ok(Node::Nothing),
            Value::Object(obj) => obj,
            other => return Err(not_a_schema(path, "a schema", other)),
        };
        let mut k = Box::<Keywords>::default();
        let mut any = false;
        // Keywords read together after the loop.
        let mut items_raw = None;
        let mut prefix_raw = None;
        let mut additional_items_raw = None;
        let mut flags = ExclusiveFlags::default();
        for (key, value) in obj {
            let at = child(path, key);
            let at = at.as_str();
            match key.as_str() {
                "$ref" => {
                    let (pointer, shown) = ref_target(value, at)?;
                    k.reference = Some(self.target(pointer, at, shown)?);
                }
                "$defs" | "definitions" => {
                    let Value::Object(defs) = value else {
                        return Err(wrong(at, key, "an object of schemas"));
                    };
                    for (name, def) in defs {
                        let def_path = child(at, name);
                        if !matches!(def, Value::Object(_) | Value::Bool(_)) {
                            return Err(not_a_schema(&def_path, "a definition", def));
                        }
                        self.target(def_path.clone(), &def_path, &format!("#{def_path}"))?;
                    }
                    continue;
                }
                "properties" => {
                    let Value::Object(props) = value else {
                        return Err(wrong(at, key, "an object of schemas"));
                    };
                    for (name, sub) in props {
                        let id = self.sub(sub, &child(at, name), depth)?;
                        k.properties.insert(name.clone(), id);
                    }
                }
                "additionalProperties" => k.additional = Some(self.sub(value, at, depth)?),
                "patternProperties" => {
                    let Value::Object(patterns) = value else {
                        return Err(wrong(at, key, "an object of schemas"));
                    };
                    for (pattern, sub) in patterns {
                        let sub_path = child(at, pattern);
                        let re = regex(pattern, &sub_path)?;
                        let id = self.sub(sub, &sub_path, depth)?;
                        k.pattern_properties.push((re, id));
                    }
                }
                "propertyNames" => k.property_names = Some(self.sub(value, at, depth)?),
                "items" => items_raw = Some(value),
                "prefixItems" => prefix_raw = Some(value),
                "additionalItems" => additional_items_raw = Some(value),
                "contains" => k.contains = Some(self.sub(value, at, depth)?),
                "allOf" => k.all_of = self.list(value, at, key, depth)?,
                "anyOf" => k.any_of = self.list(value, at, key, depth)?,
                "oneOf" => k.one_of = self.list(value, at, key, depth)?,
                "not" => k.not = Some(self.sub(value, at, depth)?),
                _ => {
                    if !plain_keyword(&mut k, &mut flags, key, value, at, path)? {
                        continue;
                    }
                }
            }
            any = true;
        }

        // Arrays: `prefixItems` + `items`, or the old tuple `items` + `additionalItems`.
        match (prefix_raw, items_raw) {
            (Some(_), Some(Value::Array(_))) => {
                return Err(SchemaCompileError::new(
                    &child(path, "items"),
                    "`items` cannot be an array beside `prefixItems`",
                ));
            }
            (None, Some(Value::Array(tuple))) => {
                let at = child(path, "items");
                for (i, sub) in tuple.iter().enumerate() {
                    k.prefix_items
                        .push(self.sub(sub, &child(&at, &i.to_string()), depth)?);
                }
                if let Some(rest) = additional_items_raw.take() {
                    k.items = Some(self.sub(rest, &child(path, "additionalItems"), depth)?);
                }
            }
            (prefix, items) => {
                if let Some(prefix) = prefix {
                    let at = child(path, "prefixItems");
                    k.prefix_items = self.list(prefix, &at, "prefixItems", depth)?;
                }
                if let Some(items) = items {
                    k.items = Some(self.sub(items, &child(path, "items"), depth)?);
                }
            }
        }
        if let Some(rest) = additional_items_raw {
            // Without `items` in its array form, `additionalItems` does
            // nothing (drafts 4 to 2019-09); it must still be a schema.
            self.sub(rest, &child(path, "additionalItems"), depth)?;
        }
        finish_keywords(&mut k, flags)?;
        if !any {
            return Ok(Node::Any);
        }
        Ok(Node::Keywords(k))
    }

    fn list(
        &mut self,
        value: &Value,
        at: &str,
        key: &str,
        depth: usize,
    ) -> CompileResult<Vec<NodeId>> {
        let Value::Array(subs) = value else {
            return Err(wrong(at, key, "an array of schemas"));
        };
        if subs.is_empty() && key != "prefixItems" {
            return Err(wrong(at, key, "a non-empty array of schemas"));
        }
        subs.iter()
            .enumerate()
            .map(|(i, sub)| self.sub(sub, &child(at, &i.to_string()), depth))
            .collect()
    }
}

/// The draft 4 boolean forms of `exclusiveMinimum` and `exclusiveMaximum`,
/// with where they were, applied once `minimum` and `maximum` are known.
#[derive(Debug, Default)]
struct ExclusiveFlags {
    min: Option<(bool, String)>,
    max: Option<(bool, String)>,
}

#[inline(never)]
fn too_deep(path: &str) -> SchemaCompileError {
    SchemaCompileError::new(
        path,
        format!(
            "the schema is nested too deeply (more than {} levels)",
            CompiledSchema::MAX_DEPTH
        ),
    )
}

#[inline(never)]
fn not_a_schema(path: &str, what: &str, value: &Value) -> SchemaCompileError {
    SchemaCompileError::new(
        path,
        format!(
            "{what} must be {}, not {}",
            if what == "a schema" {
                "an object or a boolean"
            } else {
                "a schema (an object or a boolean)"
            },
            kind_of(value)
        ),
    )
}

/// The normalized pointer of a `$ref` value, and the value as written.
#[inline(never)]
fn ref_target<'a>(value: &'a Value, at: &str) -> CompileResult<(String, &'a str)> {
    let Value::String(r) = value else {
        return Err(wrong(at, "$ref", "a string"));
    };
    let pointer = ref_pointer(r).map_err(|why| {
        SchemaCompileError::new(
            at,
            format!("`$ref` {} is not supported: {why}", quote_str(r)),
        )
    })?;
    Ok((pointer, r))
}

/// A keyword that has no subschema: read into `k`. Whether it constrains
/// values (`false` for annotations and identifiers).
#[inline(never)]
fn plain_keyword(
    k: &mut Keywords,
    flags: &mut ExclusiveFlags,
    key: &str,
    value: &Value,
    at: &str,
    path: &str,
) -> CompileResult<bool> {
    match key {
        "type" => k.types = Some(types(value, at)?),
        "enum" => {
            let Value::Array(values) = value else {
                return Err(wrong(at, key, "an array"));
            };
            shallow(value, at, key)?;
            k.enumeration = Some(values.clone());
        }
        "const" => {
            shallow(value, at, key)?;
            k.constant = Some(value.clone());
        }
        "nullable" => {
            let Value::Bool(b) = value else {
                return Err(wrong(at, key, "a boolean"));
            };
            k.nullable = *b;
        }
        "$schema" => {
            meta_schema(value, at)?;
            return Ok(false);
        }
        "$id" => {
            if !path.is_empty() {
                return Err(SchemaCompileError::new(
                    at,
                    "`$id` is only supported at the root (it changes what `$ref`s resolve against)",
                ));
            }
            return Ok(false);
        }
        "required" => {
            let Value::Array(names) = value else {
                return Err(wrong(at, key, "an array of strings"));
            };
            for name in names {
                let Value::String(name) = name else {
                    return Err(wrong(at, key, "an array of strings"));
                };
                if !k.required.contains(name) {
                    k.required.push(name.clone());
                }
            }
        }
        "minProperties" => k.min_properties = Some(count(value, at, key)?),
        "maxProperties" => k.max_properties = Some(count(value, at, key)?),
        "minItems" => k.min_items = Some(count(value, at, key)?),
        "maxItems" => k.max_items = Some(count(value, at, key)?),
        "uniqueItems" => {
            let Value::Bool(b) = value else {
                return Err(wrong(at, key, "a boolean"));
            };
            k.unique_items = *b;
        }
        "minContains" => k.min_contains = Some(count(value, at, key)?),
        "maxContains" => k.max_contains = Some(count(value, at, key)?),
        "minLength" => k.min_length = Some(count(value, at, key)?),
        "maxLength" => k.max_length = Some(count(value, at, key)?),
        "pattern" => {
            let Value::String(p) = value else {
                return Err(wrong(at, key, "a string"));
            };
            k.pattern = Some((regex(p, at)?, p.clone()));
        }
        "format" => k.format = Some(format(value, at)?),
        "minimum" => k.minimum = Some((number(value, at, key)?, false)),
        "maximum" => k.maximum = Some((number(value, at, key)?, false)),
        "exclusiveMinimum" => match value {
            Value::Bool(b) => flags.min = Some((*b, at.to_owned())),
            _ => k.exclusive_minimum = Some(number(value, at, key)?),
        },
        "exclusiveMaximum" => match value {
            Value::Bool(b) => flags.max = Some((*b, at.to_owned())),
            _ => k.exclusive_maximum = Some(number(value, at, key)?),
        },
        "multipleOf" => {
            let n = number(value, at, key)?;
            if Num::of(&n).is_none_or(|n| n.sign() != Ordering::Greater) {
                return Err(wrong(at, key, "a number greater than 0"));
            }
            k.multiple_of = Some(n);
        }
        other if ANNOTATIONS.contains(&other) => return Ok(false),
        other if UNSUPPORTED.contains(&other) => {
            return Err(SchemaCompileError::new(
                at,
                format!("unsupported keyword `{}`", quote_plain(other)),
            ));
        }
        other => {
            return Err(SchemaCompileError::new(
                at,
                format!("unknown keyword `{}`", quote_plain(other)),
            ));
        }
    }
    Ok(true)
}

/// What is settled once every keyword of a schema object is read.
#[inline(never)]
fn finish_keywords(k: &mut Keywords, flags: ExclusiveFlags) -> CompileResult<()> {
    // Draft 4: a boolean `exclusiveMinimum` makes `minimum` exclusive.
    for (flag, bound, name) in [
        (flags.min, &mut k.minimum, "minimum"),
        (flags.max, &mut k.maximum, "maximum"),
    ] {
        if let Some((exclusive, at)) = flag {
            match bound {
                Some((_, excl)) => *excl = exclusive,
                None if exclusive => {
                    return Err(SchemaCompileError::new(
                        &at,
                        format!("a boolean exclusive bound needs `{name}` beside it"),
                    ));
                }
                None => {}
            }
        }
    }
    // OpenAPI 3.0 `nullable: true` adds `null` to the allowed types; it does
    // nothing without `type`, and every other keyword (`enum`, `const`,
    // `allOf`, ...) still applies to `null`.
    if k.nullable
        && let Some(types) = k.types.as_mut()
    {
        *types |= T_NULL;
    }
    Ok(())
}

// The keywords below are read out of line: `Compiler::node` recurses once per
// level of the schema, so its stack frame is kept small.

/// A `$schema`: one of the standard meta-schemas.
#[inline(never)]
fn meta_schema(value: &Value, at: &str) -> CompileResult<()> {
    let Value::String(uri) = value else {
        return Err(wrong(at, "$schema", "a string"));
    };
    if META_SCHEMAS.contains(&uri.as_str()) {
        return Ok(());
    }
    Err(SchemaCompileError::new(
        at,
        format!(
            "unsupported meta-schema {} (only the standard drafts' are read)",
            quote_str(uri)
        ),
    ))
}

/// A `format`: asserted, so one that is not checked is refused (a compiled
/// schema is checked in full).
#[inline(never)]
fn format(value: &Value, at: &str) -> CompileResult<Format> {
    let Value::String(name) = value else {
        return Err(wrong(at, "format", "a string"));
    };
    Format::from_name(name).ok_or_else(|| {
        SchemaCompileError::new(
            at,
            format!(
                "unsupported format {} (the formats checked are {FORMAT_NAMES})",
                quote_str(name)
            ),
        )
    })
}

fn wrong(at: &str, key: &str, expected: &str) -> SchemaCompileError {
    SchemaCompileError::new(at, format!("`{}` must be {expected}", quote_plain(key)))
}

/// Refuses `enum` and `const` values nested deeper than the comparisons go
/// (they are cloned, compared and quoted recursively).
fn shallow(value: &Value, at: &str, key: &str) -> CompileResult<()> {
    let mut stack = vec![(value, 0_usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > CompiledSchema::MAX_DEPTH {
            return Err(SchemaCompileError::new(
                at,
                format!(
                    "the `{key}` value is nested too deeply (more than {} levels)",
                    CompiledSchema::MAX_DEPTH
                ),
            ));
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

fn types(value: &Value, at: &str) -> CompileResult<u8> {
    let one = |name: &Value| -> CompileResult<u8> {
        let Value::String(name) = name else {
            return Err(wrong(at, "type", "a type name or an array of type names"));
        };
        TYPE_NAMES
            .iter()
            .find(|(_, n)| n == name)
            .map(|(bit, _)| *bit)
            .ok_or_else(|| {
                SchemaCompileError::new(
                    at,
                    format!(
                        "unknown type {} (expected null, boolean, object, array, number, integer or string)",
                        quote_str(name)
                    ),
                )
            })
    };
    match value {
        Value::Array(names) => names.iter().try_fold(0, |acc, n| Ok(acc | one(n)?)),
        other => one(other),
    }
}

fn count(value: &Value, at: &str, key: &str) -> CompileResult<u64> {
    let n = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 18_446_744_073_709_551_616.0)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    n.ok_or_else(|| wrong(at, key, "a non-negative integer"))
}

fn number(value: &Value, at: &str, key: &str) -> CompileResult<Number> {
    match value {
        Value::Number(n) if Num::of(n).is_some() => Ok(n.clone()),
        _ => Err(wrong(at, key, "a number")),
    }
}

/// An ECMA-262 `pattern` (see the `ecma` module below) compiled for the linear-time engine.
fn regex(pattern: &str, at: &str) -> CompileResult<Regex> {
    let translated = ecma::translate(pattern).map_err(|e| match e {
        ecma::PatternError::Invalid(why) => SchemaCompileError::new(
            at,
            format!(
                "invalid regex {}: {}",
                quote_str(pattern),
                truncate(&why, 120)
            ),
        ),
        ecma::PatternError::Unsupported(feature) => SchemaCompileError::new(
            at,
            format!(
                "regex {} uses {feature}, which is not supported by the regex engine",
                quote_str(pattern)
            ),
        ),
    })?;
    RegexBuilder::new(&translated)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|_| {
            SchemaCompileError::new(
                at,
                format!(
                    "regex {} is too large or too deeply nested, which is not supported by the regex engine",
                    quote_str(pattern)
                ),
            )
        })
}

/// The normalized JSON pointer of a local `$ref` (`#`, `#/$defs/A`,
/// `#/definitions/A`, any `#/json/pointer`, percent-encoded or not).
fn ref_pointer(r: &str) -> Result<String, &'static str> {
    let Some(fragment) = r.strip_prefix('#') else {
        return Err("only references inside the schema (starting with `#`) are supported");
    };
    let fragment = percent_decode(fragment).ok_or("bad percent-encoding")?;
    if fragment.is_empty() {
        return Ok(String::new());
    }
    let Some(rest) = fragment.strip_prefix('/') else {
        return Err("anchors are not supported, only JSON pointers (`#/...`)");
    };
    let mut pointer = String::with_capacity(fragment.len());
    for token in rest.split('/') {
        pointer.push('/');
        push_escaped(
            &mut pointer,
            &unescape_token(token).ok_or("bad `~` escape")?,
        );
    }
    Ok(pointer)
}

fn unescape_token(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value at a normalized JSON pointer.
fn resolve<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut current = root;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescape_token(token)?;
        current = match current {
            Value::Object(map) => map.get(&token)?,
            Value::Array(list) => {
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                list.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

// ---------------------------------------------------------------------------
// ECMA-262 patterns.

/// Patterns are ECMA-262 regular expressions, as JSON Schema says, read with
/// the `u` flag's syntax and meaning (which is what the JSON Schema Test
/// Suite checks): the pattern and the string are sequences of code points,
/// `\d` is `[0-9]`, `\w` is `[A-Za-z0-9_]`, `\b` is the boundary of `\w`, `\s`
/// is the ECMA-262 white space and line terminators (Unicode spaces
/// included), `.` is any code point but a line terminator, `^` and `$` are
/// the ends of the string. [`ecma::translate`] rewrites such a pattern into
/// the syntax of the linear-time engine (regex-lite) with every class spelled
/// out as code point ranges, so that no class keeps the engine's (ASCII-only)
/// meaning; what the engine cannot run (look-around, back-references, Unicode
/// property escapes) is refused, never approximated.
mod ecma {
    use std::fmt::Write as _;

    /// Why a pattern cannot be used.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum PatternError {
        /// Not an ECMA-262 (`u` flag) regular expression.
        Invalid(String),
        /// A valid pattern using a feature the engine lacks (named).
        Unsupported(&'static str),
    }

    /// Deepest nesting of groups and classes.
    const MAX_NEST: usize = 100;
    const MAX_CHAR: u32 = 0x10_FFFF;

    /// ECMA-262 `WhiteSpace` and `LineTerminator` (`\s`): tab, LF, VT, FF,
    /// CR, space, the Unicode `Space_Separator` characters, LS, PS and the
    /// byte order mark.
    const SPACE: &[(u32, u32)] = &[
        (0x09, 0x0D),
        (0x20, 0x20),
        (0xA0, 0xA0),
        (0x1680, 0x1680),
        (0x2000, 0x200A),
        (0x2028, 0x2029),
        (0x202F, 0x202F),
        (0x205F, 0x205F),
        (0x3000, 0x3000),
        (0xFEFF, 0xFEFF),
    ];
    const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
    const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];
    /// `LineTerminator`: what `.` does not match.
    const LINE_TERMINATOR: &[(u32, u32)] = &[(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)];
    /// The characters ECMA-262 lets a `u`-flag pattern escape to mean
    /// themselves.
    const SYNTAX: &str = "^$\\.*+?()[]{}|/";

    /// A set of code points as sorted, disjoint ranges.
    #[derive(Debug, Clone, Default)]
    struct Set(Vec<(u32, u32)>);

    impl Set {
        fn of(ranges: &[(u32, u32)]) -> Self {
            Self(ranges.to_vec())
        }

        fn add(&mut self, other: &Set) {
            self.0.extend_from_slice(&other.0);
        }

        fn normalize(&mut self) {
            self.0.sort_unstable();
            let mut out: Vec<(u32, u32)> = Vec::with_capacity(self.0.len());
            for &(lo, hi) in &self.0 {
                match out.last_mut() {
                    Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                    _ => out.push((lo, hi)),
                }
            }
            self.0 = out;
        }

        fn complement(&self) -> Self {
            let mut sorted = self.clone();
            sorted.normalize();
            let mut out = Vec::new();
            let mut next = 0_u32;
            for &(lo, hi) in &sorted.0 {
                if lo > next {
                    out.push((next, lo - 1));
                }
                next = hi.saturating_add(1);
            }
            if next <= MAX_CHAR {
                out.push((next, MAX_CHAR));
            }
            Self(out)
        }

        /// The set as a regex-lite class, surrogates left out (they are not
        /// characters of a Rust string).
        fn emit(&self, out: &mut String) {
            let mut set = self.clone();
            set.normalize();
            let mut parts = String::new();
            for &(lo, hi) in &set.0 {
                for (lo, hi) in [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)] {
                    if lo > hi {
                        continue;
                    }
                    if lo == hi {
                        let _ = write!(parts, "\\x{{{lo:X}}}");
                    } else {
                        let _ = write!(parts, "\\x{{{lo:X}}}-\\x{{{hi:X}}}");
                    }
                }
            }
            if parts.is_empty() {
                // Matches nothing (ECMA-262 `[]`).
                out.push_str("[^\\x{0}-\\x{10FFFF}]");
            } else {
                out.push('[');
                out.push_str(&parts);
                out.push(']');
            }
        }
    }

    /// One item of a class: a character or a set (`\d`, ...).
    enum ClassAtom {
        Char(u32),
        Set(Set),
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
        out: String,
        /// Accept `\` before any ASCII punctuation as that character (not
        /// only before syntax characters): the meaning is the same in every
        /// reading of ECMA-262, so patterns written by hand keep working.
        lenient: bool,
        unsupported: Option<&'static str>,
        groups: usize,
        names: Vec<String>,
        named_refs: Vec<String>,
        max_backref: usize,
    }

    /// `pattern` in regex-lite syntax, to be searched (not anchored).
    pub(super) fn translate(pattern: &str) -> Result<String, PatternError> {
        parse(pattern, true)
    }

    /// Whether `s` is an ECMA-262 regular expression (`u` flag), whether or
    /// not the engine could run it.
    pub(super) fn is_valid(s: &str) -> bool {
        !matches!(parse(s, false), Err(PatternError::Invalid(_)))
    }

    fn parse(pattern: &str, lenient: bool) -> Result<String, PatternError> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            out: String::with_capacity(pattern.len() * 2),
            lenient,
            unsupported: None,
            groups: 0,
            names: Vec::new(),
            named_refs: Vec::new(),
            max_backref: 0,
        };
        p.disjunction(0)?;
        if let Some(c) = p.peek() {
            return Err(PatternError::Invalid(format!("unexpected `{c}`")));
        }
        if p.max_backref > p.groups {
            return Err(PatternError::Invalid(format!(
                "back-reference \\{} to a group that does not exist",
                p.max_backref
            )));
        }
        if let Some(name) = p.named_refs.iter().find(|n| !p.names.contains(n)) {
            return Err(PatternError::Invalid(format!(
                "back-reference to a group `{name}` that does not exist"
            )));
        }
        match p.unsupported {
            Some(feature) => Err(PatternError::Unsupported(feature)),
            None => Ok(p.out),
        }
    }

    fn invalid<T>(why: impl Into<String>) -> Result<T, PatternError> {
        Err(PatternError::Invalid(why.into()))
    }

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }

        fn peek_at(&self, ahead: usize) -> Option<char> {
            self.chars.get(self.pos + ahead).copied()
        }

        fn next(&mut self) -> Option<char> {
            let c = self.peek();
            if c.is_some() {
                self.pos += 1;
            }
            c
        }

        fn eat(&mut self, c: char) -> bool {
            if self.peek() == Some(c) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn unsupported(&mut self, feature: &'static str) {
            self.unsupported.get_or_insert(feature);
        }

        fn disjunction(&mut self, depth: usize) -> Result<(), PatternError> {
            if depth > MAX_NEST {
                return invalid("groups nested too deeply");
            }
            loop {
                self.alternative(depth)?;
                if self.eat('|') {
                    self.out.push('|');
                } else {
                    return Ok(());
                }
            }
        }

        fn alternative(&mut self, depth: usize) -> Result<(), PatternError> {
            while let Some(c) = self.peek() {
                if c == '|' || c == ')' {
                    return Ok(());
                }
                self.term(depth)?;
            }
            Ok(())
        }

        fn term(&mut self, depth: usize) -> Result<(), PatternError> {
            let Some(c) = self.next() else {
                return Ok(());
            };
            let quantifiable = match c {
                '^' => {
                    self.out.push('^');
                    false
                }
                '$' => {
                    self.out.push('$');
                    false
                }
                '\\' if matches!(self.peek(), Some('b' | 'B')) => {
                    let b = self.next().unwrap_or('b');
                    self.out.push('\\');
                    self.out.push(b);
                    false
                }
                '(' => self.group(depth)?,
                '.' => {
                    Set::of(LINE_TERMINATOR).complement().emit(&mut self.out);
                    true
                }
                '[' => {
                    let set = self.class(depth)?;
                    set.emit(&mut self.out);
                    true
                }
                '\\' => {
                    self.atom_escape()?;
                    true
                }
                '*' | '+' | '?' | '{' => return invalid(format!("nothing to repeat before `{c}`")),
                ')' | ']' | '}' => return invalid(format!("unmatched `{c}`")),
                c => {
                    push_char(&mut self.out, u32::from(c));
                    true
                }
            };
            if self.quantifier()? && !quantifiable {
                return invalid("an assertion cannot be repeated");
            }
            Ok(())
        }

        /// A group after its `(`. Returns whether it can be repeated.
        fn group(&mut self, depth: usize) -> Result<bool, PatternError> {
            let mut quantifiable = true;
            if self.eat('?') {
                match self.next() {
                    Some(':') => {}
                    Some('=' | '!') => {
                        self.unsupported("look-ahead");
                        quantifiable = false;
                    }
                    Some('<') if matches!(self.peek(), Some('=' | '!')) => {
                        self.pos += 1;
                        self.unsupported("look-behind");
                        quantifiable = false;
                    }
                    Some('<') => {
                        let name = self.group_name()?;
                        if self.names.contains(&name) {
                            return invalid(format!("duplicate group name `{name}`"));
                        }
                        self.names.push(name);
                        self.groups += 1;
                    }
                    _ => return invalid("unknown group syntax after `(?`"),
                }
            } else {
                self.groups += 1;
            }
            self.out.push_str("(?:");
            self.disjunction(depth + 1)?;
            if !self.eat(')') {
                return invalid("unclosed group");
            }
            self.out.push(')');
            Ok(quantifiable)
        }

        /// A group name up to and including its `>`.
        fn group_name(&mut self) -> Result<String, PatternError> {
            let mut name = String::new();
            loop {
                match self.next() {
                    Some('>') if !name.is_empty() => return Ok(name),
                    Some(c)
                        if c == '_'
                            || c == '$'
                            || c.is_alphabetic()
                            || (!name.is_empty() && c.is_alphanumeric()) =>
                    {
                        name.push(c);
                    }
                    _ => return invalid("bad group name"),
                }
            }
        }

        /// An optional quantifier; whether there was one.
        fn quantifier(&mut self) -> Result<bool, PatternError> {
            match self.peek() {
                Some(c @ ('*' | '+' | '?')) => {
                    self.pos += 1;
                    self.out.push(c);
                }
                Some('{') => {
                    self.pos += 1;
                    let min = self.number()?.ok_or(PatternError::Invalid(
                        "`{` must start a quantifier such as {2} or {1,3}".to_owned(),
                    ))?;
                    let comma = self.eat(',');
                    let max = if comma { self.number()? } else { Some(min) };
                    if !self.eat('}') {
                        return invalid("unclosed quantifier `{`");
                    }
                    if max.is_some_and(|max| max < min) {
                        return invalid("quantifier bounds out of order");
                    }
                    let _ = match (comma, max) {
                        (false, _) => write!(self.out, "{{{min}}}"),
                        (true, Some(max)) => write!(self.out, "{{{min},{max}}}"),
                        (true, None) => write!(self.out, "{{{min},}}"),
                    };
                }
                _ => return Ok(false),
            }
            if self.eat('?') {
                self.out.push('?');
            }
            Ok(true)
        }

        /// Decimal digits, if any; bounds beyond the engine's are unsupported.
        fn number(&mut self) -> Result<Option<u32>, PatternError> {
            let start = self.pos;
            let mut n: u32 = 0;
            let mut big = false;
            while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                self.pos += 1;
                match n.checked_mul(10).and_then(|n| n.checked_add(d)) {
                    Some(v) => n = v,
                    None => big = true,
                }
            }
            if self.pos == start {
                return Ok(None);
            }
            if big {
                self.unsupported("a repetition count this large");
                n = 0;
            }
            Ok(Some(n))
        }

        /// An escape outside a class, after its `\` (`\b` and `\B` are
        /// handled as assertions before).
        fn atom_escape(&mut self) -> Result<(), PatternError> {
            match self.peek() {
                Some(c @ ('d' | 'D' | 'w' | 'W' | 's' | 'S')) => {
                    self.pos += 1;
                    class_escape(c).emit(&mut self.out);
                }
                Some('1'..='9') => {
                    let n = self.number()?.unwrap_or(0) as usize;
                    self.max_backref = self.max_backref.max(n);
                    self.unsupported("back-references");
                }
                Some('k') => {
                    self.pos += 1;
                    if !self.eat('<') {
                        return invalid("`\\k` must be followed by `<name>`");
                    }
                    let name = self.group_name()?;
                    self.named_refs.push(name);
                    self.unsupported("back-references");
                }
                Some('p' | 'P') => {
                    self.pos += 1;
                    self.property_escape()?;
                }
                _ => {
                    let c = self.character_escape(false)?;
                    push_char(&mut self.out, c);
                }
            }
            Ok(())
        }

        /// `{Name}` or `{Name=Value}` after `\p` or `\P`: valid, and refused.
        fn property_escape(&mut self) -> Result<(), PatternError> {
            if !self.eat('{') {
                return invalid("`\\p` must be followed by `{property}`");
            }
            let mut any = false;
            loop {
                match self.next() {
                    Some('}') if any => break,
                    Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '=' => any = true,
                    _ => return invalid("bad Unicode property escape"),
                }
            }
            self.unsupported("Unicode property escapes (\\p{...})");
            Ok(())
        }

        /// A character escape after its `\`: the code point it stands for.
        fn character_escape(&mut self, in_class: bool) -> Result<u32, PatternError> {
            let Some(c) = self.next() else {
                return invalid("`\\` at the end of the pattern");
            };
            Ok(match c {
                't' => 0x09,
                'n' => 0x0A,
                'v' => 0x0B,
                'f' => 0x0C,
                'r' => 0x0D,
                'c' => match self.next() {
                    Some(l) if l.is_ascii_alphabetic() => u32::from(l) % 32,
                    _ => return invalid("`\\c` must be followed by a letter"),
                },
                '0' => {
                    if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        return invalid("octal escapes are not allowed");
                    }
                    0
                }
                'x' => self.hex(2)?,
                'u' => self.unicode_escape()?,
                '-' if in_class => 0x2D,
                c if SYNTAX.contains(c) => u32::from(c),
                c if self.lenient && c.is_ascii_punctuation() => u32::from(c),
                c => return invalid(format!("unknown escape `\\{c}`")),
            })
        }

        fn hex(&mut self, n: usize) -> Result<u32, PatternError> {
            let mut v = 0;
            for _ in 0..n {
                match self.next().and_then(|c| c.to_digit(16)) {
                    Some(d) => v = v * 16 + d,
                    None => return invalid("bad hexadecimal escape"),
                }
            }
            Ok(v)
        }

        /// `\uXXXX` (a surrogate pair of two such is one code point) or
        /// `\u{X...}`, after the `u`.
        fn unicode_escape(&mut self) -> Result<u32, PatternError> {
            if self.eat('{') {
                let mut v: u32 = 0;
                let mut any = false;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(16)) {
                    self.pos += 1;
                    any = true;
                    v = v.saturating_mul(16).saturating_add(d);
                }
                if !any || !self.eat('}') || v > MAX_CHAR {
                    return invalid("bad `\\u{...}` escape");
                }
                return self.scalar(v);
            }
            let high = self.hex(4)?;
            if (0xD800..0xDC00).contains(&high)
                && self.peek() == Some('\\')
                && self.peek_at(1) == Some('u')
            {
                let save = self.pos;
                self.pos += 2;
                if let Ok(low) = self.hex(4)
                    && (0xDC00..0xE000).contains(&low)
                {
                    return Ok(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00));
                }
                self.pos = save;
            }
            self.scalar(high)
        }

        fn scalar(&mut self, v: u32) -> Result<u32, PatternError> {
            if (0xD800..0xE000).contains(&v) {
                // Valid, but no string the validator sees holds one.
                self.unsupported("lone surrogate escapes");
            }
            Ok(v)
        }

        /// A class after its `[`.
        fn class(&mut self, depth: usize) -> Result<Set, PatternError> {
            if depth > MAX_NEST {
                return invalid("nested too deeply");
            }
            let negated = self.eat('^');
            let mut set = Set::default();
            loop {
                match self.peek() {
                    None => return invalid("unclosed character class"),
                    Some(']') => {
                        self.pos += 1;
                        break;
                    }
                    Some(_) => {}
                }
                let first = self.class_atom()?;
                if self.peek() == Some('-') && !matches!(self.peek_at(1), Some(']') | None) {
                    self.pos += 1;
                    let last = self.class_atom()?;
                    match (first, last) {
                        (ClassAtom::Char(lo), ClassAtom::Char(hi)) if lo <= hi => {
                            set.0.push((lo, hi));
                        }
                        (ClassAtom::Char(_), ClassAtom::Char(_)) => {
                            return invalid("class range out of order");
                        }
                        _ => return invalid("a class escape cannot bound a range"),
                    }
                } else {
                    match first {
                        ClassAtom::Char(c) => set.0.push((c, c)),
                        ClassAtom::Set(s) => set.add(&s),
                    }
                }
            }
            set.normalize();
            Ok(if negated { set.complement() } else { set })
        }

        fn class_atom(&mut self) -> Result<ClassAtom, PatternError> {
            let Some(c) = self.next() else {
                return invalid("unclosed character class");
            };
            if c != '\\' {
                return Ok(ClassAtom::Char(u32::from(c)));
            }
            Ok(match self.peek() {
                Some(c @ ('d' | 'D' | 'w' | 'W' | 's' | 'S')) => {
                    self.pos += 1;
                    ClassAtom::Set(class_escape(c))
                }
                Some('b') => {
                    self.pos += 1;
                    ClassAtom::Char(0x08)
                }
                Some('p' | 'P') => {
                    self.pos += 1;
                    self.property_escape()?;
                    ClassAtom::Set(Set::default())
                }
                _ => ClassAtom::Char(self.character_escape(true)?),
            })
        }
    }

    fn class_escape(c: char) -> Set {
        let set = match c.to_ascii_lowercase() {
            'd' => Set::of(DIGIT),
            'w' => Set::of(WORD),
            _ => Set::of(SPACE),
        };
        if c.is_ascii_uppercase() {
            set.complement()
        } else {
            set
        }
    }

    /// One code point as a regex-lite literal.
    fn push_char(out: &mut String, c: u32) {
        match char::from_u32(c) {
            Some(ch) if ch.is_ascii_alphanumeric() => out.push(ch),
            _ => {
                let _ = write!(out, "\\x{{{c:X}}}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Numbers.

/// A JSON number, compared exactly.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

/// 2^127, the first float above every `i128`.
const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

impl Num {
    fn of(n: &Number) -> Option<Self> {
        if let Some(u) = n.as_u64() {
            Some(Self::Int(i128::from(u)))
        } else if let Some(i) = n.as_i64() {
            Some(Self::Int(i128::from(i)))
        } else {
            n.as_f64().filter(|f| f.is_finite()).map(Self::Float)
        }
    }

    fn is_integer(self) -> bool {
        match self {
            Self::Int(_) => true,
            Self::Float(f) => f.fract() == 0.0,
        }
    }

    fn sign(self) -> Ordering {
        self.cmp(Self::Int(0))
    }

    /// Exact comparison (no rounding of large integers to floats).
    fn cmp(self, other: Self) -> Ordering {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a.cmp(&b),
            (Self::Int(a), Self::Float(b)) => cmp_int_float(a, b),
            (Self::Float(a), Self::Int(b)) => cmp_int_float(b, a).reverse(),
            (Self::Float(a), Self::Float(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        }
    }

    /// The value as an `i128` when it is an integer in range.
    fn as_int(self) -> Option<i128> {
        match self {
            Self::Int(i) => Some(i),
            Self::Float(f) if f.fract() == 0.0 && f.abs() < TWO_POW_127 => Some(f as i128),
            Self::Float(_) => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::Float(f) => f,
        }
    }

    /// Whether `self` is a multiple of `divisor` (> 0): exact for integers,
    /// within the rounding error of the division for other numbers.
    fn is_multiple_of(self, divisor: Self) -> bool {
        if let (Some(a), Some(b)) = (self.as_int(), divisor.as_int()) {
            return b != 0 && a % b == 0;
        }
        let (a, b) = (self.as_f64(), divisor.as_f64());
        let q = a / b;
        if !q.is_finite() {
            // The quotient overflows (1e308 / 0.5): the remainder, which is
            // exact for floats, decides.
            return a % b == 0.0;
        }
        let tolerance = q.abs().max(1.0) * 8.0 * f64::EPSILON;
        (q - q.round()).abs() <= tolerance
    }
}

/// `i` compared with the finite float `f`, exactly.
fn cmp_int_float(i: i128, f: f64) -> Ordering {
    if f >= TWO_POW_127 {
        return Ordering::Less;
    }
    if f < -TWO_POW_127 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // Exact: `whole` is an integer within the range of i128.
    let t = whole as i128;
    match i.cmp(&t) {
        Ordering::Equal => 0.0_f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal),
        other => other,
    }
}

fn num_eq(a: &Number, b: &Number) -> bool {
    match (Num::of(a), Num::of(b)) {
        (Some(x), Some(y)) => x.cmp(y) == Ordering::Equal,
        _ => a == b,
    }
}

/// JSON equality, numbers compared by value (`1 == 1.0`).
fn json_eq(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_EQ_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y, depth + 1))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w, depth + 1)))
        }
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------
// Validation.

/// A step of the path into the value.
#[derive(Debug, Clone, Copy)]
enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

struct Run<'s, 'v> {
    nodes: &'s [Node],
    out: Vec<SchemaViolation>,
    limit: usize,
    path: Vec<Seg<'v>>,
    /// `$ref` targets entered and the value they were entered with: entering
    /// the same pair again is a loop that would never end.
    refs: Vec<(NodeId, &'v Value)>,
    steps: usize,
    /// Inside [`Run::passes`]: violations are only counted, not located.
    quiet: bool,
    /// Set when the work budget ran out: everything stops.
    aborted: Option<SchemaViolation>,
}

impl<'s, 'v> Run<'s, 'v> {
    fn new(nodes: &'s [Node], limit: usize) -> Self {
        Self {
            nodes,
            out: Vec::new(),
            limit,
            path: Vec::new(),
            refs: Vec::new(),
            steps: 0,
            quiet: false,
            aborted: None,
        }
    }

    fn finish(mut self) -> Vec<SchemaViolation> {
        if let Some(v) = self.aborted.take() {
            if self.out.len() >= self.limit {
                self.out.pop();
            }
            self.out.push(v);
        }
        self.out
    }

    fn done(&self) -> bool {
        self.aborted.is_some() || self.out.len() >= self.limit
    }

    fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    out.push('/');
                    push_escaped(&mut out, k);
                }
                Seg::Index(i) => {
                    out.push('/');
                    out.push_str(&i.to_string());
                }
            }
        }
        out
    }

    fn report(&mut self, message: String) {
        if self.aborted.is_none() && self.out.len() < self.limit {
            let path = if self.quiet {
                String::new()
            } else {
                self.pointer()
            };
            self.out.push(SchemaViolation { path, message });
        }
    }

    fn node(&self, id: NodeId) -> &'s Node {
        self.nodes.get(id).unwrap_or(&Node::Any)
    }

    fn descend(&mut self, seg: Seg<'v>, id: NodeId, value: &'v Value, depth: usize) {
        self.path.push(seg);
        self.check(id, value, depth + 1);
        self.path.pop();
    }

    /// Whether `value` satisfies node `id`, without reporting anything.
    fn passes(&mut self, id: NodeId, value: &'v Value, depth: usize) -> bool {
        let out = std::mem::take(&mut self.out);
        let limit = std::mem::replace(&mut self.limit, 1);
        let quiet = std::mem::replace(&mut self.quiet, true);
        self.check(id, value, depth + 1);
        let ok = self.out.is_empty() && self.aborted.is_none();
        self.out = out;
        self.limit = limit;
        self.quiet = quiet;
        ok
    }

    fn check(&mut self, id: NodeId, value: &'v Value, depth: usize) {
        if self.done() {
            return;
        }
        self.steps += 1;
        if self.steps > MAX_STEPS {
            // Reported for the whole value: where the budget ran out says little.
            self.aborted = Some(SchemaViolation {
                path: String::new(),
                message:
                    "validation stopped: the value takes too much work to check against this schema"
                        .to_owned(),
            });
            return;
        }
        if depth > CompiledSchema::MAX_DEPTH {
            self.report(format!(
                "nested too deeply (more than {} levels)",
                CompiledSchema::MAX_DEPTH
            ));
            return;
        }
        match self.node(id) {
            Node::Any => {}
            Node::Nothing => self.report("no value is allowed here".to_owned()),
            Node::Keywords(k) => self.keywords(k, value, depth),
        }
    }

    fn keywords(&mut self, k: &'s Keywords, value: &'v Value, depth: usize) {
        if let Some(types) = k.types {
            let actual = type_bits(value);
            if types & actual == 0 {
                self.report(format!(
                    "expected {}, got {}",
                    type_list(types),
                    type_name(value)
                ));
                return;
            }
        }
        if let Some(target) = k.reference {
            if self
                .refs
                .iter()
                .any(|&(n, v)| n == target && std::ptr::eq(v, value))
            {
                self.report(
                    "the schema's `$ref`s loop without ever checking this value".to_owned(),
                );
                return;
            }
            self.refs.push((target, value));
            self.check(target, value, depth + 1);
            self.refs.pop();
        }
        if let Some(values) = &k.enumeration
            && !values.iter().any(|v| json_eq(v, value, 0))
        {
            self.report(format!("expected one of {}", quote_values(values)));
        }
        if let Some(constant) = &k.constant
            && !json_eq(constant, value, 0)
        {
            self.report(format!("expected {}", quote_value(constant)));
        }
        match value {
            Value::Object(map) => self.object(k, map, depth),
            Value::Array(list) => self.array(k, list, depth),
            Value::String(s) => self.string(k, s),
            Value::Number(n) => self.number(k, n),
            Value::Null | Value::Bool(_) => {}
        }
        for &id in &k.all_of {
            self.check(id, value, depth + 1);
        }
        if !k.any_of.is_empty() && !self.done() {
            self.alternatives(&k.any_of, false, value, depth);
        }
        if !k.one_of.is_empty() && !self.done() {
            self.alternatives(&k.one_of, true, value, depth);
        }
        if let Some(id) = k.not
            && !self.done()
            && self.passes(id, value, depth)
        {
            self.report("matches the schema under `not`".to_owned());
        }
    }

    /// `anyOf` (`exactly_one` false) or `oneOf`. An alternative that cannot
    /// take the value's type fails without being tried; when only one is
    /// left, the combinator is that alternative and its own violations are
    /// reported (they say what to fix, as for an `Option<Struct>`). Otherwise
    /// a failure is one violation for the combinator.
    fn alternatives(
        &mut self,
        alternatives: &'s [NodeId],
        exactly_one: bool,
        value: &'v Value,
        depth: usize,
    ) {
        let actual = type_bits(value);
        let nodes = self.nodes;
        let fitting: Vec<(usize, NodeId)> = alternatives
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, id)| type_mask(nodes, id, 0) & actual != 0)
            .collect();
        if let [(_, only)] = fitting.as_slice() {
            self.check(*only, value, depth + 1);
            return;
        }
        let mut matched = Vec::new();
        for &(i, id) in &fitting {
            if self.passes(id, value, depth) {
                matched.push(i);
                if !exactly_one || matched.len() == 2 {
                    break;
                }
            }
        }
        let name = if exactly_one { "oneOf" } else { "anyOf" };
        match matched.as_slice() {
            [] => {
                let n = alternatives.len();
                self.report(if n == 1 {
                    format!("does not match the `{name}` alternative")
                } else {
                    format!("matches none of the {n} `{name}` alternatives")
                });
            }
            [_] => {}
            [first, second, ..] => self.report(format!(
                "matches more than one `oneOf` alternative (#{first} and #{second}), exactly one must match"
            )),
        }
    }

    fn object(&mut self, k: &'s Keywords, map: &'v Map<String, Value>, depth: usize) {
        for name in &k.required {
            if !map.contains_key(name) {
                self.report(format!("missing required property `{}`", quote_plain(name)));
            }
        }
        let len = map.len() as u64;
        if let Some(min) = k.min_properties.filter(|&m| len < m) {
            self.report(format!("expected at least {min} properties, got {len}"));
        }
        if let Some(max) = k.max_properties.filter(|&m| len > m) {
            self.report(format!("expected at most {max} properties, got {len}"));
        }
        for (key, item) in map {
            if self.done() {
                return;
            }
            if let Some(id) = k.property_names {
                self.property_name(id, key, depth);
            }
            let mut known = false;
            if let Some(&id) = k.properties.get(key) {
                known = true;
                self.descend(Seg::Key(key), id, item, depth);
            }
            for (re, id) in &k.pattern_properties {
                if re.is_match(key) {
                    known = true;
                    self.descend(Seg::Key(key), *id, item, depth);
                }
            }
            if !known && let Some(id) = k.additional {
                if matches!(self.node(id), Node::Nothing) {
                    self.report(format!("unexpected property `{}`", quote_plain(key)));
                } else {
                    self.descend(Seg::Key(key), id, item, depth);
                }
            }
        }
    }

    fn property_name(&mut self, id: NodeId, key: &str, depth: usize) {
        let name = Value::String(key.to_owned());
        let mut sub = Run::new(self.nodes, 1);
        sub.steps = self.steps;
        sub.check(id, &name, depth + 1);
        self.steps = sub.steps;
        let aborted = sub.aborted.is_some();
        let first = sub.finish().into_iter().next();
        if aborted {
            self.aborted = first;
        } else if let Some(v) = first {
            self.report(format!(
                "property name `{}` is not allowed: {}",
                quote_plain(key),
                v.message
            ));
        }
    }

    fn array(&mut self, k: &'s Keywords, list: &'v [Value], depth: usize) {
        let len = list.len() as u64;
        if let Some(min) = k.min_items.filter(|&m| len < m) {
            self.report(format!("expected at least {min} items, got {len}"));
        }
        if let Some(max) = k.max_items.filter(|&m| len > m) {
            self.report(format!("expected at most {max} items, got {len}"));
        }
        for (i, item) in list.iter().enumerate() {
            if self.done() {
                return;
            }
            let schema = k.prefix_items.get(i).copied().or(k.items);
            if let Some(id) = schema {
                self.descend(Seg::Index(i), id, item, depth);
            }
        }
        if k.unique_items {
            'outer: for (i, a) in list.iter().enumerate() {
                for (j, b) in list.iter().enumerate().skip(i + 1) {
                    self.steps += 1;
                    if self.steps > MAX_STEPS {
                        // Reported by the next check.
                        break 'outer;
                    }
                    if json_eq(a, b, 0) {
                        self.report(format!("items {i} and {j} are equal, items must be unique"));
                        break 'outer;
                    }
                }
            }
        }
        if let Some(id) = k.contains {
            let min = k.min_contains.unwrap_or(1);
            let mut found: u64 = 0;
            for item in list {
                if self.done() {
                    return;
                }
                if self.passes(id, item, depth) {
                    found += 1;
                }
            }
            if found < min {
                if min == 1 {
                    self.report("no item matches the `contains` schema".to_owned());
                } else {
                    self.report(format!(
                        "expected at least {min} items matching `contains`, got {found}"
                    ));
                }
            }
            if let Some(max) = k.max_contains.filter(|&m| found > m) {
                self.report(format!(
                    "expected at most {max} items matching `contains`, got {found}"
                ));
            }
        }
    }

    fn string(&mut self, k: &'s Keywords, s: &str) {
        if k.min_length.is_some() || k.max_length.is_some() {
            let len = s.chars().count() as u64;
            if let Some(min) = k.min_length.filter(|&m| len < m) {
                self.report(format!("expected at least {min} characters, got {len}"));
            }
            if let Some(max) = k.max_length.filter(|&m| len > m) {
                self.report(format!("expected at most {max} characters, got {len}"));
            }
        }
        if let Some((re, source)) = &k.pattern
            && !re.is_match(s)
        {
            self.report(format!("does not match the pattern {}", quote_str(source)));
        }
        if let Some(format) = k.format
            && !format.check(s)
        {
            self.report(format!("not a valid {}", format.describe()));
        }
    }

    fn number(&mut self, k: &'s Keywords, n: &Number) {
        let Some(x) = Num::of(n) else {
            self.report("number out of range".to_owned());
            return;
        };
        let bound = |b: &Number| Num::of(b).map(|b| x.cmp(b));
        if let Some((min, exclusive)) = &k.minimum {
            match bound(min) {
                Some(Ordering::Less) => self.report(format!("must be >= {min}")),
                Some(Ordering::Equal) if *exclusive => self.report(format!("must be > {min}")),
                _ => {}
            }
        }
        if let Some(min) = &k.exclusive_minimum
            && bound(min).is_some_and(|o| o != Ordering::Greater)
        {
            self.report(format!("must be > {min}"));
        }
        if let Some((max, exclusive)) = &k.maximum {
            match bound(max) {
                Some(Ordering::Greater) => self.report(format!("must be <= {max}")),
                Some(Ordering::Equal) if *exclusive => self.report(format!("must be < {max}")),
                _ => {}
            }
        }
        if let Some(max) = &k.exclusive_maximum
            && bound(max).is_some_and(|o| o != Ordering::Less)
        {
            self.report(format!("must be < {max}"));
        }
        if let Some(divisor) = &k.multiple_of
            && Num::of(divisor).is_some_and(|d| !x.is_multiple_of(d))
        {
            self.report(format!("must be a multiple of {divisor}"));
        }
        if let Some(format) = k.format
            && !format.check_number(x)
        {
            self.report(format!("not a valid {}", format.describe()));
        }
    }
}

/// The types a node can accept, as far as can be told without a value
/// (`T_ALL` when unknown).
fn type_mask(nodes: &[Node], id: NodeId, hops: usize) -> u8 {
    let Some(Node::Keywords(k)) = nodes.get(id) else {
        return match nodes.get(id) {
            Some(Node::Nothing) => 0,
            _ => T_ALL,
        };
    };
    let mut mask = T_ALL;
    if let Some(types) = k.types {
        // An integer value is also a number.
        mask &= if types & T_NUMBER != 0 {
            types | T_INTEGER
        } else {
            types
        };
    }
    if let Some(values) = k.enumeration.as_ref() {
        mask &= values.iter().fold(0, |acc, v| acc | type_bits(v));
    }
    if let Some(c) = &k.constant {
        mask &= type_bits(c);
    }
    if let Some(target) = k.reference
        && hops < MAX_TYPE_HOPS
    {
        mask &= type_mask(nodes, target, hops + 1);
    }
    mask
}

/// The type bits a value matches (an integer is also a number).
fn type_bits(value: &Value) -> u8 {
    match value {
        Value::Null => T_NULL,
        Value::Bool(_) => T_BOOLEAN,
        Value::Object(_) => T_OBJECT,
        Value::Array(_) => T_ARRAY,
        Value::String(_) => T_STRING,
        Value::Number(n) => {
            if Num::of(n).is_some_and(Num::is_integer) {
                T_NUMBER | T_INTEGER
            } else {
                T_NUMBER
            }
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(n) => {
            if Num::of(n).is_some_and(Num::is_integer) {
                "integer"
            } else {
                "number"
            }
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
    }
}

/// `string or null`, `object, array or null`.
fn type_list(types: u8) -> String {
    let names: Vec<&str> = TYPE_NAMES
        .iter()
        .filter(|(bit, _)| types & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    match names.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

// ---------------------------------------------------------------------------
// Quoting (bounded, plain text).

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", s.get(..end).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// A name inside backticks, shortened.
fn quote_plain(s: &str) -> String {
    truncate(s, MAX_QUOTE)
}

/// A string in JSON quotes, shortened.
fn quote_str(s: &str) -> String {
    Value::String(truncate(s, MAX_QUOTE)).to_string()
}

/// A JSON value as compact text, shortened.
fn quote_value(v: &Value) -> String {
    truncate(&v.to_string(), MAX_QUOTE)
}

/// The values of an `enum`, as many as fit.
fn quote_values(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        let text = v.to_string();
        if i > 0 && out.chars().count() + text.chars().count() > MAX_QUOTE {
            out.push_str(&format!(", ... ({} values)", values.len()));
            return out;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&truncate(&text, MAX_QUOTE));
    }
    if values.is_empty() {
        out.push_str("(no value)");
    }
    out
}

// ---------------------------------------------------------------------------
// Formats.

/// Exactly `n` ASCII digits at the start of `b`, as a number.
fn digits(b: &[u8], n: usize) -> Option<u32> {
    let part = b.get(..n)?;
    part.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// `YYYY-MM-DD` with a day that exists.
fn is_date(b: &[u8]) -> bool {
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (
        digits(b, 4),
        b.get(5..).and_then(|r| digits(r, 2)),
        b.get(8..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339 `full-time`: `HH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`; a leap second
/// only at 23:59:60 UTC.
fn is_time(b: &[u8]) -> bool {
    if b.get(2) != Some(&b':') || b.get(5) != Some(&b':') {
        return false;
    }
    let (Some(h), Some(m), Some(s)) = (
        digits(b, 2),
        b.get(3..).and_then(|r| digits(r, 2)),
        b.get(6..).and_then(|r| digits(r, 2)),
    ) else {
        return false;
    };
    if h > 23 || m > 59 || s > 60 {
        return false;
    }
    let mut rest = b.get(8..).unwrap_or_default();
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = frac.get(n..).unwrap_or_default();
    }
    let offset_minutes: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let (Some(oh), Some(om)) = (digits(&[*oh1, *oh2], 2), digits(&[*om1, *om2], 2)) else {
                return false;
            };
            if oh > 23 || om > 59 {
                return false;
            }
            let minutes = i64::from(oh * 60 + om);
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return false,
    };
    if s == 60 {
        let utc = (i64::from(h * 60 + m) - offset_minutes).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

/// RFC 3339 `date-time`.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b.get(10), Some(b'T' | b't'))
        && b.get(..10).is_some_and(is_date)
        && b.get(11..).is_some_and(is_time)
}

/// RFC 5321 `Mailbox` (what JSON Schema's `email` means): a local part of at
/// most 64 octets, either dot-separated atoms of `atext` or a quoted string
/// of printable ASCII (backslash pairs included), then `@`, then a host name
/// ([`is_hostname`]) or an address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
/// ASCII only: internationalized addresses are the `idn-email` format.
fn is_email(s: &str) -> bool {
    let Some(at) = s.rfind('@') else {
        return false;
    };
    let (Some(local), Some(domain)) = (s.get(..at), s.get(at + 1..)) else {
        return false;
    };
    local.len() <= 64 && is_local_part(local) && is_mail_domain(domain)
}

fn is_local_part(local: &str) -> bool {
    if let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        let mut bytes = inner.bytes();
        while let Some(c) = bytes.next() {
            match c {
                b'\\' => {
                    if !matches!(bytes.next(), Some(32..=126)) {
                        return false;
                    }
                }
                32 | 33 | 35..=91 | 93..=126 => {}
                _ => return false,
            }
        }
        return true;
    }
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c))
        })
}

fn is_mail_domain(domain: &str) -> bool {
    let Some(literal) = domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return is_hostname(domain);
    };
    match literal.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => literal
            .get(5..)
            .is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok()),
        _ => literal.parse::<Ipv4Addr>().is_ok(),
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The domain of an `email` (RFC 5321 `Domain`), an RFC 1123 host name in
/// its ASCII form: dot-separated labels of 1 to 63 letters, digits and
/// hyphens, not starting or ending with a hyphen; 253 characters at most.
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

/// ISO 8601 duration: `PnW`, or `P[nY][nM][nD][T[nH][nM][nS]]` with at least
/// one part, and at least one after a `T`.
fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    if let Some(weeks) = rest.strip_suffix('W') {
        return !weeks.is_empty() && weeks.bytes().all(|c| c.is_ascii_digit());
    }
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let Some(date_parts) = duration_parts(date, b"YMD") else {
        return false;
    };
    match time {
        None => date_parts > 0,
        Some(time) => duration_parts(time, b"HMS").is_some_and(|n| n > 0),
    }
}

/// The number of `<digits><unit>` parts of `s`, units in the order given
/// and without gaps.
fn duration_parts(s: &str, units: &[u8]) -> Option<usize> {
    let mut b = s.as_bytes();
    let mut next_unit = 0;
    let mut parts = 0;
    while !b.is_empty() {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let unit = *b.get(n)?;
        let pos = units.iter().position(|&u| u == unit)?;
        // RFC 3339 appendix A: a part may only be followed by the next unit
        // (`P1Y2M`, not `P1Y2D`; `PT1H2M`, not `PT1H2S`).
        if pos < next_unit || (parts > 0 && pos != next_unit) {
            return None;
        }
        next_unit = pos + 1;
        parts += 1;
        b = b.get(n + 1..)?;
    }
    Some(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(schema: Value) -> CompiledSchema {
        match CompiledSchema::compile(&schema) {
            Ok(c) => c,
            Err(e) => panic!("{schema} should compile: {e}"),
        }
    }

    /// The violations as (path, message) pairs, checking `is_valid` agrees.
    fn check(schema: &CompiledSchema, value: Value) -> Vec<(String, String)> {
        let violations = schema.validate(&value);
        assert_eq!(
            schema.is_valid(&value),
            violations.is_empty(),
            "is_valid disagrees with validate for {value}"
        );
        violations
            .into_iter()
            .map(|v| (v.path().to_owned(), v.message().to_owned()))
            .collect()
    }

    fn ok(schema: &CompiledSchema, value: Value) {
        let violations = check(schema, value.clone());
        assert!(
            violations.is_empty(),
            "{value} should be valid: {violations:?}"
        );
    }

    /// The only violation of `value`.
    fn one(schema: &CompiledSchema, value: Value) -> (String, String) {
        let mut violations = check(schema, value.clone());
        assert_eq!(violations.len(), 1, "{value}: {violations:?}");
        violations.remove(0)
    }

    fn refused(schema: Value) -> SchemaCompileError {
        match CompiledSchema::compile(&schema) {
            Ok(_) => panic!("{schema} should be refused"),
            Err(e) => e,
        }
    }

    fn pair(path: &str, message: &str) -> (String, String) {
        (path.to_owned(), message.to_owned())
    }

    // --- type, enum, const ------------------------------------------------

    #[test]
    fn type_integer_accepts_whole_numbers_only() {
        let s = compile(json!({"type": "integer"}));
        ok(&s, json!(1));
        ok(&s, json!(-5));
        ok(&s, json!(1.0));
        ok(&s, json!(u64::MAX));
        assert_eq!(
            one(&s, json!(1.5)),
            pair("", "expected integer, got number")
        );
        assert_eq!(
            one(&s, json!("1")),
            pair("", "expected integer, got string")
        );
        assert_eq!(one(&s, json!(null)), pair("", "expected integer, got null"));
    }

    #[test]
    fn type_number_accepts_integers() {
        let s = compile(json!({"type": "number"}));
        ok(&s, json!(3));
        ok(&s, json!(3.25));
        assert_eq!(
            one(&s, json!(true)),
            pair("", "expected number, got boolean")
        );
    }

    #[test]
    fn type_each_name() {
        for (name, good, bad) in [
            ("null", json!(null), json!(0)),
            ("boolean", json!(false), json!("false")),
            ("object", json!({}), json!([])),
            ("array", json!([]), json!({})),
            ("string", json!(""), json!(null)),
        ] {
            let s = compile(json!({"type": name}));
            ok(&s, good);
            let (path, message) = one(&s, bad);
            assert_eq!(path, "");
            assert!(
                message.starts_with(&format!("expected {name}, got ")),
                "{message}"
            );
        }
    }

    #[test]
    fn type_array_form() {
        let s = compile(json!({"type": ["string", "null"]}));
        ok(&s, json!("a"));
        ok(&s, json!(null));
        assert_eq!(
            one(&s, json!(3)),
            pair("", "expected string or null, got integer")
        );
        let s = compile(json!({"type": ["object", "array", "null"]}));
        assert_eq!(
            one(&s, json!(true)),
            pair("", "expected object, array or null, got boolean")
        );
    }

    #[test]
    fn enum_compares_numbers_by_value() {
        let s = compile(json!({"enum": ["a", "b", 1, {"k": [2]}]}));
        ok(&s, json!("a"));
        ok(&s, json!(1.0));
        ok(&s, json!({"k": [2.0]}));
        let (path, message) = one(&s, json!("c"));
        assert_eq!(path, "");
        assert!(
            message.starts_with(r#"expected one of "a", "b", 1"#),
            "{message}"
        );
        assert!(!check(&s, json!(2)).is_empty());
    }

    #[test]
    fn enum_message_is_bounded() {
        let values: Vec<Value> = (0..200)
            .map(|i| json!(format!("value-number-{i}")))
            .collect();
        let s = compile(json!({"enum": values}));
        let (_, message) = one(&s, json!("nope"));
        assert!(message.len() < 120, "{message}");
        assert!(message.ends_with("(200 values)"), "{message}");
    }

    #[test]
    fn const_uses_json_equality() {
        let s = compile(json!({"const": {"a": [1, 2], "b": null}}));
        ok(&s, json!({"b": null, "a": [1.0, 2]}));
        assert_eq!(
            one(&s, json!({"a": [1, 3], "b": null})),
            pair("", r#"expected {"a":[1,2],"b":null}"#)
        );
        assert!(!check(&s, json!({"a": [1, 2]})).is_empty());
        let s = compile(json!({"const": 0}));
        ok(&s, json!(0.0));
        ok(&s, json!(-0.0));
        assert!(!check(&s, json!(false)).is_empty());
    }

    // --- objects ----------------------------------------------------------

    fn address_schema() -> CompiledSchema {
        compile(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "address": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "zip": {"type": "string"},
                    },
                    "required": ["city"],
                    "additionalProperties": false,
                },
            },
            "required": ["name", "address"],
            "additionalProperties": false,
        }))
    }

    #[test]
    fn properties_and_required() {
        let s = address_schema();
        ok(&s, json!({"name": "A", "address": {"city": "Paris"}}));
        ok(
            &s,
            json!({"name": "A", "address": {"city": "Paris", "zip": "75001"}}),
        );
        assert_eq!(
            one(&s, json!({"name": "A", "address": {"zip": "75001"}})),
            pair("/address", "missing required property `city`")
        );
        assert_eq!(
            one(&s, json!({"name": "A", "address": {"city": 75}})),
            pair("/address/city", "expected string, got integer")
        );
        assert_eq!(
            check(&s, json!({})),
            vec![
                pair("", "missing required property `name`"),
                pair("", "missing required property `address`"),
            ]
        );
    }

    #[test]
    fn additional_properties_false_and_schema() {
        let s = address_schema();
        assert_eq!(
            one(
                &s,
                json!({"name": "A", "address": {"city": "P"}, "extra": 1})
            ),
            pair("", "unexpected property `extra`")
        );
        let s = compile(json!({
            "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "integer"},
        }));
        ok(&s, json!({"a": "x", "b": 1, "c": 2}));
        assert_eq!(
            one(&s, json!({"a": "x", "b": "1"})),
            pair("/b", "expected integer, got string")
        );
    }

    #[test]
    fn additional_properties_applies_only_to_undeclared_names() {
        let s = compile(json!({
            "properties": {"a": {}},
            "patternProperties": {"^x-": {"type": "string"}},
            "additionalProperties": false,
        }));
        ok(&s, json!({"a": 1, "x-trace": "t"}));
        assert_eq!(
            one(&s, json!({"x-trace": 5})),
            pair("/x-trace", "expected string, got integer")
        );
        assert_eq!(
            one(&s, json!({"b": 1})),
            pair("", "unexpected property `b`")
        );
    }

    #[test]
    fn pattern_properties_search_unanchored() {
        let s = compile(json!({"patternProperties": {"id": {"type": "integer"}}}));
        ok(&s, json!({"user_id": 3, "other": "x"}));
        assert_eq!(
            one(&s, json!({"idx": "3"})),
            pair("/idx", "expected integer, got string")
        );
    }

    #[test]
    fn property_names() {
        let s = compile(json!({"propertyNames": {"maxLength": 3, "pattern": "^[a-z]+$"}}));
        ok(&s, json!({"abc": 1, "x": 2}));
        assert_eq!(
            one(&s, json!({"abcd": 1})),
            pair(
                "",
                "property name `abcd` is not allowed: expected at most 3 characters, got 4"
            )
        );
        let (path, message) = one(&s, json!({"A": 1}));
        assert_eq!(path, "");
        assert!(message.contains("does not match the pattern"), "{message}");
    }

    #[test]
    fn min_and_max_properties() {
        let s = compile(json!({"minProperties": 1, "maxProperties": 2}));
        ok(&s, json!({"a": 1}));
        ok(&s, json!({"a": 1, "b": 2}));
        assert_eq!(
            one(&s, json!({})),
            pair("", "expected at least 1 properties, got 0")
        );
        assert_eq!(
            one(&s, json!({"a": 1, "b": 2, "c": 3})),
            pair("", "expected at most 2 properties, got 3")
        );
        // Applies to objects only.
        ok(&s, json!("not an object"));
    }

    #[test]
    fn pointer_escapes_keys() {
        let s = compile(json!({"additionalProperties": {"type": "string"}}));
        assert_eq!(
            one(&s, json!({"a/b~c": 1})),
            pair("/a~1b~0c", "expected string, got integer")
        );
    }

    #[test]
    fn long_names_are_shortened_in_messages() {
        let s = compile(json!({"type": "object", "additionalProperties": false}));
        let key = "k".repeat(5_000);
        let (_, message) = one(&s, json!({ key: 1 }));
        assert!(message.len() < 100, "{} chars", message.len());
        assert!(message.starts_with("unexpected property `kkk"), "{message}");
    }

    // --- arrays -----------------------------------------------------------

    #[test]
    fn items_paths() {
        let s = compile(json!({
            "type": "object",
            "properties": {"items": {"type": "array", "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            }}},
        }));
        ok(&s, json!({"items": [{"name": "a"}, {"name": "b"}]}));
        let bad = json!({"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": 4}]});
        assert_eq!(
            one(&s, bad),
            pair("/items/3/name", "expected string, got integer")
        );
    }

    #[test]
    fn tuple_items_old_form() {
        let s = compile(json!({
            "items": [{"type": "string"}, {"type": "integer"}],
            "additionalItems": false,
        }));
        ok(&s, json!(["a", 1]));
        ok(&s, json!(["a"]));
        assert_eq!(
            one(&s, json!([1, 1])),
            pair("/0", "expected string, got integer")
        );
        assert_eq!(
            one(&s, json!(["a", 1, null])),
            pair("/2", "no value is allowed here")
        );
        // Without additionalItems the rest is free.
        let s = compile(json!({"items": [{"type": "string"}]}));
        ok(&s, json!(["a", 1, null]));
    }

    #[test]
    fn prefix_items_with_items() {
        let s = compile(json!({
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": {"type": "boolean"},
        }));
        ok(&s, json!(["a", 1, true, false]));
        assert_eq!(
            one(&s, json!(["a", 1, true, 0])),
            pair("/3", "expected boolean, got integer")
        );
        assert_eq!(
            one(&s, json!(["a", "1"])),
            pair("/1", "expected integer, got string")
        );
    }

    #[test]
    fn min_and_max_items() {
        let s = compile(json!({"type": "array", "minItems": 2, "maxItems": 3}));
        ok(&s, json!([1, 2]));
        ok(&s, json!([1, 2, 3]));
        assert_eq!(
            one(&s, json!([1])),
            pair("", "expected at least 2 items, got 1")
        );
        assert_eq!(
            one(&s, json!([1, 2, 3, 4])),
            pair("", "expected at most 3 items, got 4")
        );
    }

    #[test]
    fn unique_items() {
        let s = compile(json!({"uniqueItems": true}));
        ok(&s, json!([1, "1", [1], {"a": 1}, true]));
        assert_eq!(
            one(&s, json!([1, 2, 1.0])),
            pair("", "items 0 and 2 are equal, items must be unique")
        );
        assert!(!check(&s, json!([{"a": [1]}, {"a": [1.0]}])).is_empty());
        let s = compile(json!({"uniqueItems": false}));
        ok(&s, json!([1, 1]));
    }

    #[test]
    fn contains_and_bounds() {
        let s = compile(json!({"contains": {"type": "integer", "minimum": 10}}));
        ok(&s, json!(["a", 12]));
        assert_eq!(
            one(&s, json!(["a", 9])),
            pair("", "no item matches the `contains` schema")
        );
        assert_eq!(
            one(&s, json!([])),
            pair("", "no item matches the `contains` schema")
        );
        let s = compile(json!({"contains": {"const": 1}, "minContains": 2, "maxContains": 3}));
        ok(&s, json!([1, 1, 2]));
        assert_eq!(
            one(&s, json!([1, 2])),
            pair("", "expected at least 2 items matching `contains`, got 1")
        );
        assert_eq!(
            one(&s, json!([1, 1, 1, 1])),
            pair("", "expected at most 3 items matching `contains`, got 4")
        );
        let s = compile(json!({"contains": {"const": 1}, "minContains": 0}));
        ok(&s, json!([]));
    }

    // --- strings ----------------------------------------------------------

    #[test]
    fn length_counts_unicode_scalar_values() {
        let s = compile(json!({"type": "string", "minLength": 2, "maxLength": 4}));
        ok(&s, json!("héé"));
        ok(&s, json!("🦀🦀🦀🦀"));
        assert_eq!(
            one(&s, json!("é")),
            pair("", "expected at least 2 characters, got 1")
        );
        assert_eq!(
            one(&s, json!("🦀🦀🦀🦀🦀")),
            pair("", "expected at most 4 characters, got 5")
        );
    }

    #[test]
    fn pattern_is_an_unanchored_search() {
        let s = compile(json!({"pattern": "b+"}));
        ok(&s, json!("abbc"));
        assert_eq!(
            one(&s, json!("ac")),
            pair("", r#"does not match the pattern "b+""#)
        );
        let s = compile(json!({"pattern": "^[A-Z]{2}-\\d{3}$"}));
        ok(&s, json!("AB-123"));
        assert!(!check(&s, json!("xAB-123")).is_empty());
        // Patterns apply to strings only.
        ok(&s, json!(5));
    }

    #[test]
    fn formats() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "date-time",
                &[
                    "2024-05-01T13:45:00Z",
                    "2024-05-01t13:45:00.123+02:00",
                    "2016-12-31T23:59:60Z",
                    "2016-12-31T15:59:60-08:00",
                    "2024-02-29T00:00:00-00:00",
                ],
                &[
                    "2024-05-01 13:45:00Z",
                    "2024-05-01T13:45:00",
                    "2023-02-29T00:00:00Z",
                    "2024-05-01T24:00:00Z",
                    "2024-05-01T12:00:60Z",
                    "2024-05-01T13:45:00.Z",
                    "2024-05-01T13:45:00+0200",
                    "2024-5-1T13:45:00Z",
                    "",
                ],
            ),
            (
                "date",
                &["2024-02-29", "2000-02-29", "1999-12-31"],
                &[
                    "1900-02-29",
                    "2024-04-31",
                    "2024-13-01",
                    "2024-00-10",
                    "24-01-01",
                    "2024-01-01T",
                ],
            ),
            (
                "time",
                &["13:45:00Z", "00:00:00.5+05:30", "23:59:60Z"],
                &[
                    "13:45:00",
                    "13:45Z",
                    "25:00:00Z",
                    "13:45:00+24:00",
                    "12:00:60Z",
                ],
            ),
            (
                "email",
                &["a@b.c", "first.last+tag@example.com"],
                &[
                    "ab.c",
                    "a@b@c",
                    "@b.c",
                    "a@",
                    "a b@c.d",
                    // Finding 7 of issue 15: this was accepted.
                    "x@y;rm\0",
                    "x@y;rm",
                    "a..b@c.d",
                    ".a@c.d",
                    "a@[300.1.1.1]",
                    "a@-b.c",
                ],
            ),
            (
                "ipv4",
                &["192.168.0.1", "0.0.0.0"],
                &["256.1.1.1", "1.2.3", "01.2.3.4", "::1"],
            ),
            (
                "ipv6",
                &["::1", "2001:db8::8a2e:370:7334", "::ffff:1.2.3.4"],
                &["1.2.3.4", ":::", "g::1"],
            ),
            (
                "uuid",
                &[
                    "123e4567-e89b-12d3-a456-426614174000",
                    "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
                ],
                &[
                    "123e4567e89b12d3a456426614174000",
                    "123e4567-e89b-12d3-a456-42661417400g",
                    "",
                ],
            ),
            (
                "regex",
                &[
                    "^[a-z]+$",
                    "(?<year>\\d{4})",
                    "(?<=a)b",
                    "[]",
                    "\\cA",
                    "\\u{1F600}",
                ],
                &["(", "\\a", "(?i)abc", "(?P<n>x)", "a{2,1}", "[z-a]", "\\1"],
            ),
            (
                "duration",
                &["P3D", "PT4H", "P1Y2M3DT4H5M6S", "P2W", "PT0S", "P1M"],
                &[
                    "P", "PT", "P1DT", "3D", "P1H", "PT1D", "P1D2Y", "P1.5D", "P1W2D", "P-1D",
                    "P1Y2D", "PT1H2S",
                ],
            ),
        ];
        for (format, good, bad) in cases {
            let s = compile(json!({"type": "string", "format": format}));
            for g in *good {
                assert!(s.is_valid(&json!(g)), "{g:?} should be a valid {format}");
            }
            for b in *bad {
                let (path, message) = one(&s, json!(b));
                assert_eq!(path, "");
                assert!(
                    message.starts_with("not a valid "),
                    "{format} {b:?}: {message}"
                );
            }
        }
    }

    #[test]
    fn email_follows_rfc_5321() {
        let s = compile(json!({"type": "string", "format": "email"}));
        for good in [
            "\"joe bloggs\"@example.com",
            "\"a@b\"@example.com",
            "\"a\\\"b\"@example.com",
            "joe@[127.0.0.1]",
            "joe@[IPv6:::1]",
            "te~st!#$%&'*+-/=?^_`{|}~@example.com",
        ] {
            assert!(s.is_valid(&json!(good)), "{good:?} should be an email");
        }
        let local = "a".repeat(65);
        for bad in [
            format!("{local}@example.com"),
            "\"a\nb\"@example.com".to_owned(),
            "\"unclosed@example.com".to_owned(),
            "jo\u{e9}@example.com".to_owned(),
            "a@[IPv6:1.2.3.4]".to_owned(),
        ] {
            assert!(!s.is_valid(&json!(bad)), "{bad:?} should not be an email");
        }
    }

    #[test]
    fn unsupported_formats_are_refused() {
        // Finding 7 of issue 15: these compiled and were never checked.
        for format in [
            "uri",
            "uri-reference",
            "iri",
            "iri-reference",
            "hostname",
            "idn-email",
            "json-pointer",
            "my-custom-format",
        ] {
            let e = refused(json!({"type": "string", "format": format}));
            assert_eq!(e.path(), "/format");
            assert!(
                e.message()
                    .starts_with(&format!("unsupported format \"{format}\"")),
                "{e}"
            );
        }
    }

    #[test]
    fn number_formats() {
        let s = compile(json!({"type": "integer", "format": "int32"}));
        ok(&s, json!(-2_147_483_648_i64));
        ok(&s, json!(2_147_483_647));
        assert_eq!(
            one(&s, json!(2_147_483_648_i64)),
            pair(
                "",
                "not a valid int32 (an integer from -2147483648 to 2147483647)"
            )
        );
        let s = compile(json!({"format": "int64"}));
        ok(&s, json!(i64::MIN));
        ok(&s, json!("strings are not numbers"));
        assert!(!s.is_valid(&json!(u64::MAX)));
        assert!(!s.is_valid(&json!(1.5)));
        let s = compile(json!({"type": "number", "format": "float"}));
        ok(&s, json!(3.4e38));
        assert!(!s.is_valid(&json!(3.5e38)));
        let s = compile(json!({"type": "integer", "format": "uint32"}));
        ok(&s, json!(4_294_967_295_u64));
        assert!(!s.is_valid(&json!(-1)));
        assert!(!s.is_valid(&json!(4_294_967_296_u64)));
        let s = compile(json!({"type": "number", "format": "double"}));
        ok(&s, json!(1.7e308));
    }

    // --- numbers ----------------------------------------------------------

    #[test]
    fn minimum_and_maximum() {
        let s = compile(json!({"minimum": 1, "maximum": 10.5}));
        ok(&s, json!(1));
        ok(&s, json!(1.0));
        ok(&s, json!(10.5));
        assert_eq!(one(&s, json!(0.99)), pair("", "must be >= 1"));
        assert_eq!(one(&s, json!(11)), pair("", "must be <= 10.5"));
        // Non-numbers are not concerned.
        ok(&s, json!("0"));
    }

    #[test]
    fn exclusive_bounds_number_form() {
        let s = compile(json!({"exclusiveMinimum": 0, "exclusiveMaximum": 1}));
        ok(&s, json!(0.5));
        assert_eq!(one(&s, json!(0)), pair("", "must be > 0"));
        assert_eq!(one(&s, json!(1.0)), pair("", "must be < 1"));
    }

    #[test]
    fn exclusive_bounds_draft4_boolean_form() {
        let s = compile(json!({
            "minimum": 0, "exclusiveMinimum": true,
            "maximum": 5, "exclusiveMaximum": false,
        }));
        ok(&s, json!(5));
        ok(&s, json!(0.1));
        assert_eq!(one(&s, json!(0)), pair("", "must be > 0"));
        assert_eq!(one(&s, json!(5.01)), pair("", "must be <= 5"));
        let s = compile(json!({"maximum": 5, "exclusiveMaximum": true}));
        assert_eq!(one(&s, json!(5)), pair("", "must be < 5"));
    }

    #[test]
    fn bounds_compare_large_integers_exactly() {
        // 2^53 + 1 rounds to 2^53 as a float.
        let s = compile(json!({"maximum": 9_007_199_254_740_992_u64}));
        ok(&s, json!(9_007_199_254_740_992_u64));
        assert!(!s.is_valid(&json!(9_007_199_254_740_993_u64)));
        let s = compile(json!({"minimum": i64::MIN, "maximum": u64::MAX}));
        ok(&s, json!(i64::MIN));
        ok(&s, json!(u64::MAX));
        assert!(!s.is_valid(&json!(1.9e19)));
        assert!(!s.is_valid(&json!(-1e19)));
        let s = compile(json!({"exclusiveMaximum": 1e300}));
        ok(&s, json!(u64::MAX));
    }

    #[test]
    fn multiple_of() {
        let s = compile(json!({"multipleOf": 3}));
        ok(&s, json!(0));
        ok(&s, json!(-9));
        ok(&s, json!(9.0));
        ok(&s, json!(9_223_372_036_854_775_806_i64));
        assert_eq!(one(&s, json!(10)), pair("", "must be a multiple of 3"));
        assert!(!s.is_valid(&json!(9_223_372_036_854_775_807_i64)));
        assert!(!s.is_valid(&json!(4.5)));

        let s = compile(json!({"multipleOf": 0.1}));
        ok(&s, json!(0.3));
        ok(&s, json!(12.7));
        ok(&s, json!(5));
        assert!(!s.is_valid(&json!(0.35)));
        let s = compile(json!({"multipleOf": 0.01}));
        ok(&s, json!(19.99));
        ok(&s, json!(1234567.89));
        assert!(!s.is_valid(&json!(19.995)));
        let s = compile(json!({"multipleOf": 1.5}));
        ok(&s, json!(4.5));
        assert!(!s.is_valid(&json!(4)));
        // A quotient that overflows is not a multiple.
        let s = compile(json!({"multipleOf": 0.123456789}));
        assert!(!s.is_valid(&json!(1e308)));
        // ... unless the exact remainder is zero (the suite's float overflow case).
        let s = compile(json!({"type": "integer", "multipleOf": 0.5}));
        ok(&s, json!(1e308));
    }

    // --- combinators ------------------------------------------------------

    #[test]
    fn any_of_reports_one_violation() {
        let s = compile(json!({"anyOf": [
            {"type": "string", "maxLength": 2},
            {"type": "integer"},
            {"type": "string", "pattern": "^x"},
        ]}));
        ok(&s, json!("ab"));
        ok(&s, json!(7));
        ok(&s, json!("xyzzy"));
        assert_eq!(
            one(&s, json!("abc")),
            pair("", "matches none of the 3 `anyOf` alternatives")
        );
        assert_eq!(
            one(&s, json!(1.5)),
            pair("", "matches none of the 3 `anyOf` alternatives")
        );
    }

    #[test]
    fn any_of_with_one_fitting_type_reports_that_alternative() {
        // What `Option<Struct>` gives.
        let s = compile(json!({
            "type": "object",
            "properties": {"billing": {"anyOf": [
                {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                {"type": "null"},
            ]}},
        }));
        ok(&s, json!({"billing": null}));
        ok(&s, json!({"billing": {"city": "Oslo"}}));
        assert_eq!(
            one(&s, json!({"billing": {"city": 1}})),
            pair("/billing/city", "expected string, got integer")
        );
        assert_eq!(
            one(&s, json!({"billing": "Oslo"})),
            pair("/billing", "matches none of the 2 `anyOf` alternatives")
        );
    }

    #[test]
    fn one_of_exactly_one() {
        let s = compile(json!({"oneOf": [{"type": "integer"}, {"minimum": 10}]}));
        ok(&s, json!(3));
        ok(&s, json!(10.5));
        assert_eq!(
            one(&s, json!(12)),
            pair(
                "",
                "matches more than one `oneOf` alternative (#0 and #1), exactly one must match"
            )
        );
        // Only the second alternative takes a non-integer: its violation says what to fix.
        assert_eq!(one(&s, json!(2.5)), pair("", "must be >= 10"));
        let s = compile(json!({"oneOf": [
            {"type": "integer", "maximum": 0},
            {"type": "number", "minimum": 10},
        ]}));
        ok(&s, json!(-1));
        ok(&s, json!(10.5));
        assert_eq!(
            one(&s, json!(5)),
            pair("", "matches none of the 2 `oneOf` alternatives")
        );
    }

    #[test]
    fn all_of_reports_each_part() {
        let s = compile(json!({"allOf": [
            {"type": "object", "required": ["a"]},
            {"required": ["b"]},
        ]}));
        ok(&s, json!({"a": 1, "b": 2}));
        assert_eq!(
            check(&s, json!({})),
            vec![
                pair("", "missing required property `a`"),
                pair("", "missing required property `b`"),
            ]
        );
    }

    #[test]
    fn not_keyword() {
        let s = compile(json!({"not": {"type": "string"}}));
        ok(&s, json!(1));
        assert_eq!(
            one(&s, json!("s")),
            pair("", "matches the schema under `not`")
        );
    }

    #[test]
    fn boolean_schemas() {
        let any = compile(json!(true));
        ok(&any, json!({"x": [1, null]}));
        let none = compile(json!(false));
        assert_eq!(one(&none, json!(1)), pair("", "no value is allowed here"));
        let s = compile(json!({"properties": {"gone": false}}));
        ok(&s, json!({"other": 1}));
        assert_eq!(
            one(&s, json!({"gone": 1})),
            pair("/gone", "no value is allowed here")
        );
        ok(&compile(json!({})), json!(null));
    }

    #[test]
    fn nullable_adds_null_to_the_type_only() {
        // Finding 7 of issue 15: `nullable` used to skip every other keyword.
        let s = compile(json!({"nullable": true, "const": "x"}));
        assert_eq!(one(&s, json!(null)), pair("", "expected \"x\""));
        ok(&s, json!("x"));
        let s = compile(json!({"type": "string", "nullable": true, "enum": ["a", "b"]}));
        assert!(!s.is_valid(&json!(null)));
        ok(&s, json!("a"));
        let s = compile(json!({"type": "string", "nullable": true, "enum": ["a", null]}));
        ok(&s, json!(null));
        let s = compile(json!({"type": "object", "nullable": true, "not": {"type": "null"}}));
        assert!(!s.is_valid(&json!(null)));
        let s = compile(json!({
            "nullable": true,
            "allOf": [{"type": "object"}],
        }));
        assert!(!s.is_valid(&json!(null)));
        // Without `type`, `nullable` changes nothing.
        let s = compile(json!({"nullable": true, "minLength": 2}));
        ok(&s, json!(null));
        assert!(!s.is_valid(&json!("a")));
        let s = compile(json!({"type": ["integer"], "nullable": true, "minimum": 3}));
        ok(&s, json!(null));
        assert_eq!(one(&s, json!(2)), pair("", "must be >= 3"));
        assert_eq!(
            one(&s, json!("3")),
            pair("", "expected integer or null, got string")
        );
    }

    #[test]
    fn nullable_accepts_null() {
        let s = compile(json!({"type": "string", "nullable": true, "minLength": 2}));
        ok(&s, json!(null));
        ok(&s, json!("ab"));
        assert!(!s.is_valid(&json!(1)));
        let s = compile(json!({"type": "string", "nullable": false}));
        assert_eq!(one(&s, json!(null)), pair("", "expected string, got null"));
    }

    #[test]
    fn annotations_are_accepted() {
        let s = compile(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.com/tool",
            "$comment": "c",
            "title": "t",
            "description": "d",
            "default": 1,
            "examples": [1],
            "example": 1,
            "deprecated": false,
            "readOnly": false,
            "writeOnly": false,
            "type": "integer",
        }));
        ok(&s, json!(5));
        assert!(!s.is_valid(&json!("5")));
    }

    // --- $ref -------------------------------------------------------------

    #[test]
    fn refs_to_defs_and_definitions() {
        let s = compile(json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/Pos"},
                "b": {"$ref": "#/definitions/Name"},
                "c": {"$ref": "#/$defs/a~1b"},
                "d": {"$ref": "#/$defs/with%20space"},
                "e": {"$ref": "#/properties/a"},
            },
            "$defs": {
                "Pos": {"type": "integer", "minimum": 1},
                "a/b": {"const": "slash"},
                "with space": {"type": "boolean"},
            },
            "definitions": {"Name": {"type": "string"}},
        }));
        ok(
            &s,
            json!({"a": 1, "b": "x", "c": "slash", "d": true, "e": 2}),
        );
        assert_eq!(one(&s, json!({"a": 0})), pair("/a", "must be >= 1"));
        assert_eq!(
            one(&s, json!({"b": 0})),
            pair("/b", "expected string, got integer")
        );
        assert_eq!(
            one(&s, json!({"c": "x"})),
            pair("/c", r#"expected "slash""#)
        );
        assert_eq!(
            one(&s, json!({"d": 1})),
            pair("/d", "expected boolean, got integer")
        );
        assert_eq!(one(&s, json!({"e": -1})), pair("/e", "must be >= 1"));
    }

    #[test]
    fn recursive_refs() {
        let s = compile(json!({
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#"}},
            },
            "required": ["label", "children"],
            "additionalProperties": false,
        }));
        ok(
            &s,
            json!({"label": "root", "children": [
                {"label": "a", "children": []},
                {"label": "b", "children": [{"label": "c", "children": []}]},
            ]}),
        );
        assert_eq!(
            one(
                &s,
                json!({"label": "root", "children": [
                    {"label": "a", "children": []},
                    {"label": "b", "children": [{"label": 3, "children": []}]},
                ]})
            ),
            pair(
                "/children/1/children/0/label",
                "expected string, got integer"
            )
        );
    }

    #[test]
    fn a_ref_to_itself_terminates() {
        let s = compile(json!({"$ref": "#"}));
        let (path, message) = one(&s, json!({"a": 1}));
        assert_eq!(path, "");
        assert!(message.contains("loop"), "{message}");
        // Mutual references without progress, through definitions.
        let s = compile(json!({
            "$ref": "#/$defs/a",
            "$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
        }));
        assert!(!s.is_valid(&json!(1)));
    }

    #[test]
    fn ref_siblings_apply_too() {
        let s = compile(json!({
            "properties": {"n": {"$ref": "#/$defs/Int", "maximum": 5, "description": "n"}},
            "$defs": {"Int": {"type": "integer"}},
        }));
        ok(&s, json!({"n": 5}));
        assert_eq!(one(&s, json!({"n": 6})), pair("/n", "must be <= 5"));
        assert_eq!(
            one(&s, json!({"n": 1.5})),
            pair("/n", "expected integer, got number")
        );
    }

    // --- bounds -----------------------------------------------------------

    fn nested_arrays(depth: usize) -> Value {
        let mut v = json!("leaf");
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        v
    }

    #[test]
    fn deep_values_hit_the_depth_bound() {
        let s = compile(json!({"type": ["array", "string"], "items": {"$ref": "#"}}));
        ok(&s, nested_arrays(10));
        // (Deeper values overflow serde_json's own recursive clone and drop.)
        let deep = nested_arrays(1_000);
        let violations = s.validate(&deep);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].message().contains("nested too deeply"),
            "{violations:?}"
        );
        assert!(!s.is_valid(&deep));
        // A schema without recursion does not look at the depth it does not reach.
        ok(&compile(json!({"type": "array"})), deep);
    }

    #[test]
    fn deep_values_fit_in_a_small_stack() {
        // What `Option<Box<Self>>` fields give, on a value deeper than the bound.
        let s = compile(json!({"anyOf": [
            {"type": "array", "items": {"$ref": "#"}},
            {"type": "object", "additionalProperties": {"$ref": "#"}},
            {"type": "null"},
        ]}));
        let deep = nested_arrays(1_000);
        let value = deep.clone();
        let handle = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || (s.validate(&value), s.is_valid(&value)))
            .unwrap();
        let (violations, valid) = handle.join().unwrap();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].message().contains("nested too deeply"));
        assert!(!valid);
    }

    #[test]
    fn deep_const_values_are_refused() {
        let e = refused(json!({"const": nested_arrays(500)}));
        assert_eq!(e.path(), "/const");
        assert!(e.message().contains("nested too deeply"), "{e}");
        let e = refused(json!({"enum": [1, nested_arrays(500)]}));
        assert_eq!(e.path(), "/enum");
        let s = compile(json!({"const": nested_arrays(100)}));
        ok(&s, nested_arrays(100));
        assert!(!s.is_valid(&nested_arrays(101)));
    }

    #[test]
    fn deep_schemas_are_refused() {
        let mut schema = json!({"type": "string"});
        for _ in 0..1_000 {
            schema = json!({"items": schema});
        }
        let err = refused(schema);
        assert!(err.message().contains("nested too deeply"), "{err}");
        assert!(err.path().starts_with("/items/items/"), "{}", err.path());
    }

    #[test]
    fn backtracking_is_bounded() {
        // Two alternatives that both fail at the bottom: 2^depth paths without a budget.
        let s = compile(json!({
            "$defs": {"n": {"anyOf": [
                {"type": "array", "items": {"$ref": "#/$defs/n"}},
                {"type": "array", "items": {"$ref": "#/$defs/n"}, "minItems": 1},
            ]}},
            "$ref": "#/$defs/n",
        }));
        let mut v = json!(1);
        for _ in 0..38 {
            v = Value::Array(vec![v]);
        }
        let violations = s.validate(&v);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].path(), "");
        assert!(
            violations[0].message().contains("too much work"),
            "{violations:?}"
        );
        assert!(!s.is_valid(&v));
        // A shallower value of the same shape is checked in full.
        let mut v = json!(1);
        for _ in 0..8 {
            v = Value::Array(vec![v]);
        }
        assert_eq!(
            one(&s, v),
            pair("", "matches none of the 2 `anyOf` alternatives")
        );
    }

    #[test]
    fn at_most_max_violations() {
        let s = compile(json!({"type": "array", "items": {"type": "string"}}));
        let v = Value::Array((0..100).map(|i| json!(i)).collect());
        let violations = s.validate(&v);
        assert_eq!(violations.len(), CompiledSchema::MAX_VIOLATIONS);
        assert_eq!(violations[0].path(), "/0");
        assert_eq!(violations[31].path(), "/31");
        assert!(!s.is_valid(&v));
    }

    #[test]
    fn display() {
        let s = address_schema();
        let v = s.validate(&json!({"name": 1, "address": {"city": "x"}}));
        assert_eq!(v[0].to_string(), "at /name: expected string, got integer");
        let v = s.validate(&json!([]));
        assert_eq!(v[0].to_string(), "at the root: expected object, got array");
        let e = refused(json!({"properties": {"a": {"minimum": "1"}}}));
        assert_eq!(
            e.to_string(),
            "invalid schema at /properties/a/minimum: `minimum` must be a number"
        );
        assert_eq!(
            refused(json!(1)).to_string(),
            "invalid schema at the root: a schema must be an object or a boolean, not a number"
        );
    }

    // --- refusals ---------------------------------------------------------

    #[test]
    fn refuses_unknown_and_unsupported_keywords() {
        let e = refused(json!({"properties": {"a": {"type": "string", "maxlength": 3}}}));
        assert_eq!(
            (e.path(), e.message()),
            ("/properties/a/maxlength", "unknown keyword `maxlength`")
        );
        for keyword in [
            "if",
            "then",
            "else",
            "unevaluatedProperties",
            "dependentRequired",
            "$dynamicRef",
        ] {
            let e = refused(json!({"items": {keyword: {}}}));
            assert_eq!(e.path(), format!("/items/{keyword}"));
            assert_eq!(e.message(), format!("unsupported keyword `{keyword}`"));
        }
    }

    #[test]
    fn refuses_bad_refs() {
        let e = refused(json!({"properties": {"a": {"$ref": "#/$defs/Missing"}}, "$defs": {}}));
        assert_eq!(e.path(), "/properties/a/$ref");
        assert_eq!(
            e.message(),
            r##"`$ref` "#/$defs/Missing" does not resolve inside this schema"##
        );
        let e = refused(json!({"$ref": "https://example.com/schema.json"}));
        assert_eq!(e.path(), "/$ref");
        assert!(
            e.message().contains("only references inside the schema"),
            "{e}"
        );
        let e = refused(json!({"$ref": "#anchor"}));
        assert!(e.message().contains("anchors are not supported"), "{e}");
        let e = refused(json!({"$ref": "#/$defs/a~2"}));
        assert!(e.message().contains("bad `~` escape"), "{e}");
        let e = refused(
            json!({"$ref": "#/properties/a/type", "properties": {"a": {"type": "string"}}}),
        );
        assert!(e.message().contains("does not point to a schema"), "{e}");
        let e = refused(json!({"$ref": 5}));
        assert_eq!(e.message(), "`$ref` must be a string");
        // A referenced schema is checked as well.
        let e = refused(json!({"$ref": "#/$defs/A", "$defs": {"A": {"type": "nope"}}}));
        assert_eq!(e.path(), "/$defs/A/type");
    }

    #[test]
    fn refuses_bad_regexes() {
        let e = refused(json!({"pattern": "(unclosed"}));
        assert_eq!(e.path(), "/pattern");
        assert!(
            e.message().starts_with(r#"invalid regex "(unclosed": "#),
            "{e}"
        );
        // Look-around is not supported by the engine: refused, not ignored.
        let e = refused(json!({"patternProperties": {"^(?!x)": {}}}));
        assert_eq!(e.path(), "/patternProperties/^(?!x)");
        assert_eq!(
            e.message(),
            r#"regex "^(?!x)" uses look-ahead, which is not supported by the regex engine"#
        );
        for (pattern, feature) in [
            ("(?<=a)b", "look-behind"),
            ("(a)\\1", "back-references"),
            ("(?<n>a)\\k<n>", "back-references"),
            ("\\p{Letter}", "Unicode property escapes"),
            ("[\\P{L}]", "Unicode property escapes"),
            ("\\uD800", "lone surrogate escapes"),
        ] {
            let e = refused(json!({"pattern": pattern}));
            assert!(
                e.message().contains(feature)
                    && e.message().ends_with("not supported by the regex engine"),
                "{pattern}: {e}"
            );
        }
        // Not ECMA-262 (`u` flag) syntax, though other engines take them.
        for pattern in [
            "(?i)a",
            "(?P<n>a)",
            "(?#c)",
            "\\a",
            "\\Z",
            "a{,3}",
            "{",
            "a**",
            "[\\d-z]",
            "\\c1",
            "\\x4",
            "\\01",
            "\\1",
            "\\k<n>",
            "(?<n>a)(?<n>b)",
            "^*",
        ] {
            let e = refused(json!({"pattern": pattern}));
            assert!(e.message().starts_with("invalid regex "), "{pattern}: {e}");
        }
    }

    #[test]
    fn pattern_classes_follow_ecma_262() {
        // Finding 7 of issue 15: `\s` was ASCII-only. In ECMA-262 it is the
        // white space and line terminators, Unicode spaces included, while
        // `\d` and `\w` are ASCII (also with the `u` flag).
        let space = compile(json!({"pattern": "^\\s$"}));
        let not_space = compile(json!({"pattern": "^\\S$"}));
        for c in [
            '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{a0}', '\u{1680}', '\u{2000}', '\u{200a}',
            '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
        ] {
            assert!(space.is_valid(&json!(c.to_string())), "{c:?} is \\s");
            assert!(
                !not_space.is_valid(&json!(c.to_string())),
                "{c:?} is not \\S"
            );
        }
        for c in ['a', '\u{1}', '\u{85}', '\u{180e}', '\u{200b}', '\u{2013}'] {
            assert!(!space.is_valid(&json!(c.to_string())), "{c:?} is not \\s");
            assert!(not_space.is_valid(&json!(c.to_string())), "{c:?} is \\S");
        }
        let digit = compile(json!({"pattern": "^\\d+$"}));
        ok(&digit, json!("0123456789"));
        assert!(!digit.is_valid(&json!("\u{660}")));
        assert!(!digit.is_valid(&json!("\u{ff11}")));
        let word = compile(json!({"pattern": "^\\w+$"}));
        ok(&word, json!("aZ_09"));
        assert!(!word.is_valid(&json!("\u{e9}")));
        let non_word = compile(json!({"pattern": "^\\W$"}));
        ok(&non_word, json!("\u{e9}"));
        // Classes combine escapes; negated classes take everything else.
        let s = compile(json!({"pattern": "^[\\s\\d-]+$"}));
        ok(&s, json!("1 2-3\u{3000}"));
        assert!(!s.is_valid(&json!("1a")));
        let s = compile(json!({"pattern": "^[^\\s]+$"}));
        ok(&s, json!("\u{e9}\u{1F600}"));
        assert!(!s.is_valid(&json!("a\u{a0}b")));
        // `.` is any code point but a line terminator.
        let dot = compile(json!({"pattern": "^.$"}));
        ok(&dot, json!("\u{1F600}"));
        ok(&dot, json!("\u{85}"));
        for c in ['\n', '\r', '\u{2028}', '\u{2029}'] {
            assert!(!dot.is_valid(&json!(c.to_string())), "{c:?}");
        }
        // `$` is the end of the string only; `\b` is the boundary of `\w`.
        assert!(!compile(json!({"pattern": "^a$"})).is_valid(&json!("a\n")));
        let boundary = compile(json!({"pattern": "\\bcole"}));
        ok(&boundary, json!("l'cole"));
        // `é` is not a word character: there is a boundary before `c`.
        ok(&boundary, json!("\u{e9}cole"));
        assert!(!boundary.is_valid(&json!("xcole")));
    }

    #[test]
    fn pattern_escapes_follow_ecma_262() {
        for (pattern, good, bad) in [
            ("^\\cC$", "\u{3}", "cC"),
            ("^\\cc$", "\u{3}", "\\cc"),
            ("^\\t$", "\t", "\\t"),
            ("^\\x41\\u0042\\u{43}$", "ABC", "x41"),
            ("^\\uD83D\\uDC32$", "\u{1F432}", "\u{1F409}"),
            ("^\\0$", "\u{0}", "0"),
            ("^[\\b]$", "\u{8}", "b"),
            ("^\\/\\.\\*$", "/.*", "/a*"),
            ("^\\-\\_\\@$", "-_@", "a_@"),
            ("^a[]?$", "a", "ab"),
            ("^[^]$", "\n", ""),
            ("^(?:ab|c){2}$", "abc", "abcab"),
            ("^(?<year>\\d{4})-\\d{2,}$", "2024-123", "2024-1"),
            ("^a{2,3}?$", "aaa", "aaaa"),
            ("^[a-]+$", "a-a", "b"),
            ("^[--/]+$", "-./", ","),
            ("^\\u{1F600}+$", "\u{1F600}\u{1F600}", "\u{1F601}"),
        ] {
            let s = compile(json!({"pattern": pattern}));
            assert!(s.is_valid(&json!(good)), "{pattern} should match {good:?}");
            assert!(
                !s.is_valid(&json!(bad)),
                "{pattern} should not match {bad:?}"
            );
        }
        // `[]` matches nothing, not even the empty string.
        let s = compile(json!({"pattern": "[]"}));
        assert!(!s.is_valid(&json!("")));
        assert!(!s.is_valid(&json!("\u{10FFFF}")));
        // The message quotes the pattern as written.
        let s = compile(json!({"pattern": "^\\d$"}));
        assert_eq!(
            one(&s, json!("x")),
            pair("", r#"does not match the pattern "^\\d$""#)
        );
    }

    #[test]
    fn meta_schemas() {
        for uri in [
            "https://json-schema.org/draft/2020-12/schema",
            "http://json-schema.org/draft-07/schema#",
            "http://json-schema.org/draft-04/schema#",
        ] {
            compile(json!({"$schema": uri, "type": "string"}));
        }
        let e = refused(json!({"$schema": "http://localhost:1234/format-assertion-false.json"}));
        assert_eq!(e.path(), "/$schema");
        assert!(e.message().starts_with("unsupported meta-schema "), "{e}");
    }

    #[test]
    fn additional_items_without_a_tuple_does_nothing() {
        let s = compile(json!({"items": {"type": "integer"}, "additionalItems": false}));
        ok(&s, json!([1, 2, 3]));
        let s = compile(json!({"additionalItems": false}));
        ok(&s, json!([1, "a"]));
        let e = refused(json!({"additionalItems": 3}));
        assert_eq!(e.path(), "/additionalItems");
    }

    #[test]
    fn refuses_bad_types_and_wrong_typed_values() {
        let e = refused(json!({"type": "nope"}));
        assert_eq!(e.path(), "/type");
        assert!(e.message().starts_with(r#"unknown type "nope""#), "{e}");
        assert_eq!(refused(json!({"type": ["string", 1]})).path(), "/type");
        for (schema, path, message) in [
            (
                json!({"minimum": "5"}),
                "/minimum",
                "`minimum` must be a number",
            ),
            (
                json!({"maxLength": -1}),
                "/maxLength",
                "`maxLength` must be a non-negative integer",
            ),
            (
                json!({"minItems": 1.5}),
                "/minItems",
                "`minItems` must be a non-negative integer",
            ),
            (
                json!({"required": "a"}),
                "/required",
                "`required` must be an array of strings",
            ),
            (
                json!({"required": [1]}),
                "/required",
                "`required` must be an array of strings",
            ),
            (json!({"enum": "a"}), "/enum", "`enum` must be an array"),
            (
                json!({"uniqueItems": 1}),
                "/uniqueItems",
                "`uniqueItems` must be a boolean",
            ),
            (
                json!({"multipleOf": 0}),
                "/multipleOf",
                "`multipleOf` must be a number greater than 0",
            ),
            (
                json!({"anyOf": []}),
                "/anyOf",
                "`anyOf` must be a non-empty array of schemas",
            ),
            (
                json!({"allOf": {}}),
                "/allOf",
                "`allOf` must be an array of schemas",
            ),
            (
                json!({"properties": []}),
                "/properties",
                "`properties` must be an object of schemas",
            ),
            (
                json!({"nullable": "yes"}),
                "/nullable",
                "`nullable` must be a boolean",
            ),
            (json!({"format": 1}), "/format", "`format` must be a string"),
            (
                json!({"properties": {"a": 1}}),
                "/properties/a",
                "a schema must be an object or a boolean, not a number",
            ),
            (
                json!({"$defs": {"A": "x"}}),
                "/$defs/A",
                "a definition must be a schema (an object or a boolean), not a string",
            ),
            (
                json!({"exclusiveMinimum": true}),
                "/exclusiveMinimum",
                "a boolean exclusive bound needs `minimum` beside it",
            ),
            (
                json!({"prefixItems": [{}], "items": [{}]}),
                "/items",
                "`items` cannot be an array beside `prefixItems`",
            ),
            (
                json!({"items": {"$id": "x"}}),
                "/items/$id",
                "`$id` is only supported at the root (it changes what `$ref`s resolve against)",
            ),
        ] {
            let e = refused(schema.clone());
            assert_eq!((e.path(), e.message()), (path, message), "{schema}");
        }
    }

    // --- strict schemas of Rust types --------------------------------------

    mod derived {
        use super::*;
        use crate::structured::{JsonSchema, strict_schema_for};
        use serde::Serialize;

        #[derive(Serialize, JsonSchema)]
        struct Address {
            street: String,
            zip: Option<String>,
        }

        #[derive(Serialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        enum Priority {
            Low,
            High,
        }

        #[derive(Serialize, JsonSchema)]
        enum Shape {
            Circle { radius: f64 },
            Square { side: f64 },
        }

        #[derive(Serialize, JsonSchema)]
        struct Order {
            id: u32,
            address: Address,
            billing: Option<Address>,
            tags: Vec<String>,
            priority: Priority,
            shape: Shape,
            quantity: i64,
        }

        #[derive(Serialize, JsonSchema)]
        struct Tree {
            label: String,
            children: Vec<Tree>,
            parent: Option<Box<Tree>>,
        }

        fn order() -> Order {
            Order {
                id: 7,
                address: Address {
                    street: "1 Main St".into(),
                    zip: None,
                },
                billing: Some(Address {
                    street: "2 Side St".into(),
                    zip: Some("12345".into()),
                }),
                tags: vec!["a".into(), "b".into()],
                priority: Priority::High,
                shape: Shape::Circle { radius: 1.5 },
                quantity: -3,
            }
        }

        fn tree() -> Tree {
            let leaf = |l: &str| Tree {
                label: l.into(),
                children: vec![],
                parent: None,
            };
            Tree {
                label: "root".into(),
                children: vec![
                    leaf("a"),
                    Tree {
                        label: "b".into(),
                        children: vec![leaf("c")],
                        parent: Some(Box::new(leaf("up"))),
                    },
                ],
                parent: None,
            }
        }

        fn schema_of<T: JsonSchema>() -> CompiledSchema {
            compile(strict_schema_for::<T>().unwrap())
        }

        #[test]
        fn derived_values_validate() {
            let s = schema_of::<Order>();
            ok(&s, serde_json::to_value(order()).unwrap());
            let mut o = order();
            o.billing = None;
            o.shape = Shape::Square { side: 2.0 };
            o.priority = Priority::Low;
            o.tags.clear();
            ok(&s, serde_json::to_value(o).unwrap());
            let s = schema_of::<Tree>();
            ok(&s, serde_json::to_value(tree()).unwrap());
        }

        #[test]
        fn mutated_values_do_not() {
            let s = schema_of::<Order>();
            let good = serde_json::to_value(order()).unwrap();

            let mut v = good.clone();
            v["id"] = json!("7");
            assert_eq!(one(&s, v), pair("/id", "expected integer, got string"));

            let mut v = good.clone();
            v["id"] = json!(-1);
            assert_eq!(one(&s, v), pair("/id", "must be >= 0"));

            let mut v = good.clone();
            v["address"].as_object_mut().unwrap().remove("zip");
            assert_eq!(
                one(&s, v),
                pair("/address", "missing required property `zip`")
            );

            let mut v = good.clone();
            v["extra"] = json!(1);
            assert_eq!(one(&s, v), pair("", "unexpected property `extra`"));

            let mut v = good.clone();
            v["billing"]["street"] = json!(null);
            assert_eq!(
                one(&s, v),
                pair("/billing/street", "expected string, got null")
            );

            let mut v = good.clone();
            v["tags"][1] = json!(2);
            assert_eq!(one(&s, v), pair("/tags/1", "expected string, got integer"));

            let mut v = good.clone();
            v["priority"] = json!("urgent");
            assert_eq!(
                one(&s, v),
                pair("/priority", r#"expected one of "low", "high""#)
            );

            let mut v = good.clone();
            v["shape"] = json!({"Triangle": {"side": 1}});
            assert_eq!(
                one(&s, v),
                pair("/shape", "matches none of the 2 `anyOf` alternatives")
            );

            let mut v = good.clone();
            v["quantity"] = json!(1.5);
            assert_eq!(
                one(&s, v),
                pair("/quantity", "expected integer, got number")
            );

            let s = schema_of::<Tree>();
            let mut v = serde_json::to_value(tree()).unwrap();
            v["children"][1]["parent"]["children"] =
                json!([{"label": "x", "children": [], "parent": null, "more": 1}]);
            assert_eq!(
                one(&s, v),
                pair(
                    "/children/1/parent/children/0",
                    "unexpected property `more`"
                )
            );
        }
    }

    // --- properties -------------------------------------------------------

    mod props {
        use super::*;
        use proptest::prelude::*;
        use proptest::strategy::Union;

        fn arb_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                (-1e6f64..1e6).prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "[a-z0-9 @.:/~-]{0,12}".prop_map(Value::String),
                any::<String>().prop_map(Value::String),
                Just(json!("2024-05-01T13:45:00Z")),
                Just(json!("123e4567-e89b-12d3-a456-426614174000")),
            ];
            leaf.prop_recursive(5, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec(("[a-z]{1,6}", inner), 0..6)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        /// Schemas that use every supported keyword.
        fn fixed_schemas() -> Vec<CompiledSchema> {
            let mut schemas = vec![
                address_schema(),
                compile(json!(true)),
                compile(json!(false)),
                compile(json!({"$ref": "#"})),
                compile(json!({"type": ["array", "string"], "items": {"$ref": "#"}})),
                compile(json!({"anyOf": [
                    {"type": "array", "items": {"$ref": "#"}},
                    {"type": "object", "additionalProperties": {"$ref": "#"}},
                    {"type": ["string", "number", "boolean", "null"]},
                ]})),
                compile(json!({
                    "oneOf": [{"type": "integer"}, {"minimum": 10}, {"const": "x"}],
                    "not": {"enum": [1, 2, 3]},
                })),
                compile(json!({
                    "type": "array",
                    "prefixItems": [{"type": "string", "format": "date-time"}, {"format": "uuid"}],
                    "items": {"type": "number", "multipleOf": 0.5, "exclusiveMaximum": 100},
                    "uniqueItems": true,
                    "contains": {"type": "string"},
                    "maxContains": 2,
                    "minItems": 1,
                })),
                compile(json!({
                    "type": "object",
                    "patternProperties": {"^[a-c]": {"type": "string", "pattern": "[0-9]", "maxLength": 5}},
                    "propertyNames": {"minLength": 2},
                    "additionalProperties": {"allOf": [{"type": "integer"}, {"maximum": 0}]},
                    "minProperties": 1,
                    "maxProperties": 3,
                })),
                compile(json!({
                    "type": "string",
                    "anyOf": [
                        {"format": "email"}, {"format": "ipv4"}, {"format": "ipv6"},
                        {"format": "regex"}, {"format": "duration"}, {"format": "date"},
                        {"format": "time"},
                    ],
                })),
            ];
            schemas.push(compile(json!({
                "type": "object",
                "properties": {
                    "tree": {"$ref": "#/$defs/Tree"},
                    "n": {"type": "integer", "minimum": -5, "maximum": 5, "nullable": true},
                },
                "$defs": {"Tree": {
                    "type": "object",
                    "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
                    "required": ["kids"],
                    "additionalProperties": false,
                }},
            })));
            schemas
        }

        /// The shape of a generated schema, from which conforming values are made.
        #[derive(Debug, Clone)]
        enum Spec {
            Null,
            Bool,
            Int {
                min: i64,
                max: i64,
            },
            Num {
                min: f64,
                max: f64,
            },
            Multiple(i64),
            Str {
                min: usize,
                max: usize,
            },
            Enum(Vec<String>),
            DateTime,
            Uuid,
            Arr {
                item: Box<Spec>,
                min: usize,
                max: usize,
            },
            Obj(Vec<(String, Spec, bool)>),
            AnyOf(Vec<Spec>),
        }

        fn arb_spec() -> impl Strategy<Value = Spec> {
            let leaf = prop_oneof![
                Just(Spec::Null),
                Just(Spec::Bool),
                (-1_000i64..1_000, 0i64..1_000).prop_map(|(min, span)| Spec::Int {
                    min,
                    max: min + span
                }),
                (-100.0f64..100.0, 0.0f64..100.0).prop_map(|(min, span)| Spec::Num {
                    min,
                    max: min + span
                }),
                (1i64..20).prop_map(Spec::Multiple),
                (0usize..5, 0usize..5).prop_map(|(min, span)| Spec::Str {
                    min,
                    max: min + span
                }),
                prop::collection::btree_set("[a-z]{1,8}", 1..5)
                    .prop_map(|s| Spec::Enum(s.into_iter().collect())),
                Just(Spec::DateTime),
                Just(Spec::Uuid),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    (inner.clone(), 0usize..3, 0usize..3).prop_map(|(item, min, span)| Spec::Arr {
                        item: Box::new(item),
                        min,
                        max: min + span,
                    }),
                    prop::collection::btree_map("[a-z]{1,6}", (inner.clone(), any::<bool>()), 0..5)
                        .prop_map(|m| Spec::Obj(
                            m.into_iter().map(|(k, (s, r))| (k, s, r)).collect()
                        )),
                    prop::collection::vec(inner, 1..4).prop_map(Spec::AnyOf),
                ]
            })
        }

        impl Spec {
            fn schema(&self) -> Value {
                match self {
                    Spec::Null => json!({"type": "null"}),
                    Spec::Bool => json!({"type": "boolean"}),
                    Spec::Int { min, max } => {
                        json!({"type": "integer", "minimum": min, "maximum": max})
                    }
                    Spec::Num { min, max } => {
                        json!({"type": "number", "minimum": min, "maximum": max})
                    }
                    Spec::Multiple(k) => json!({"type": "integer", "multipleOf": k}),
                    Spec::Str { min, max } => {
                        json!({"type": "string", "minLength": min, "maxLength": max})
                    }
                    Spec::Enum(values) => json!({"type": "string", "enum": values}),
                    Spec::DateTime => json!({"type": "string", "format": "date-time"}),
                    Spec::Uuid => json!({"type": "string", "format": "uuid"}),
                    Spec::Arr { item, min, max } => json!({
                        "type": "array", "items": item.schema(), "minItems": min, "maxItems": max,
                    }),
                    Spec::Obj(props) => {
                        let properties: Map<String, Value> = props
                            .iter()
                            .map(|(k, s, _)| (k.clone(), s.schema()))
                            .collect();
                        let required: Vec<&String> = props
                            .iter()
                            .filter(|(_, _, r)| *r)
                            .map(|(k, _, _)| k)
                            .collect();
                        json!({
                            "type": "object",
                            "properties": properties,
                            "required": required,
                            "additionalProperties": false,
                        })
                    }
                    Spec::AnyOf(specs) => {
                        json!({"anyOf": specs.iter().map(Spec::schema).collect::<Vec<_>>()})
                    }
                }
            }

            fn values(&self) -> BoxedStrategy<Value> {
                match self {
                    Spec::Null => Just(Value::Null).boxed(),
                    Spec::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
                    Spec::Int { min, max } => (*min..=*max).prop_map(Value::from).boxed(),
                    Spec::Num { min, max } => (*min..=*max).prop_map(Value::from).boxed(),
                    Spec::Multiple(k) => {
                        let k = *k;
                        (-1_000i64..1_000).prop_map(move |n| json!(n * k)).boxed()
                    }
                    Spec::Str { min, max } => prop::collection::vec(any::<char>(), *min..=*max)
                        .prop_map(|c| Value::String(c.into_iter().collect()))
                        .boxed(),
                    Spec::Enum(values) => prop::sample::select(values.clone())
                        .prop_map(Value::String)
                        .boxed(),
                    Spec::DateTime => (
                        0u32..10_000,
                        1u32..=12,
                        1u32..=28,
                        0u32..24,
                        0u32..60,
                        0u32..60,
                    )
                        .prop_map(|(y, mo, d, h, mi, s)| {
                            json!(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
                        })
                        .boxed(),
                    Spec::Uuid => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9A-F]{4}-[0-9a-f]{12}"
                        .prop_map(Value::String)
                        .boxed(),
                    Spec::Arr { item, min, max } => {
                        prop::collection::vec(item.values(), *min..=*max)
                            .prop_map(Value::Array)
                            .boxed()
                    }
                    Spec::Obj(props) => {
                        let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = props
                            .iter()
                            .map(|(k, s, required)| {
                                let k = k.clone();
                                let present = if *required {
                                    Just(true).boxed()
                                } else {
                                    any::<bool>().boxed()
                                };
                                (s.values(), present)
                                    .prop_map(move |(v, present)| present.then(|| (k.clone(), v)))
                                    .boxed()
                            })
                            .collect();
                        fields
                            .prop_map(|f| Value::Object(f.into_iter().flatten().collect()))
                            .boxed()
                    }
                    Spec::AnyOf(specs) => Union::new(specs.iter().map(Spec::values)).boxed(),
                }
            }
        }

        fn arb_schema_and_value() -> impl Strategy<Value = (Spec, Value, Value)> {
            arb_spec().prop_flat_map(|spec| {
                let schema = spec.schema();
                (Just(spec.clone()), Just(schema), spec.values())
            })
        }

        fn names(names: &[&'static str]) -> BoxedStrategy<String> {
            prop::sample::select(names.to_vec())
                .prop_map(str::to_owned)
                .boxed()
        }

        /// A keyword with a value usually of the right type, sometimes not.
        fn arb_keyword(schema: BoxedStrategy<Value>) -> BoxedStrategy<(String, Value)> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-3i64..20).prop_map(Value::from),
                (-3.0f64..20.0).prop_map(Value::from),
                "[a-c]{0,2}".prop_map(Value::String),
            ]
            .boxed();
            let number = prop_oneof![
                (-5i64..20).prop_map(Value::from),
                (-5.0f64..20.0).prop_map(Value::from),
                Just(json!(0.5)),
            ];
            let type_name = names(&[
                "string", "integer", "number", "object", "array", "null", "boolean",
            ]);
            prop_oneof![
                4 => (Just("type".to_owned()), type_name.clone().prop_map(Value::String)),
                2 => (Just("type".to_owned()), prop::collection::vec(type_name, 1..3).prop_map(|t| json!(t))),
                2 => (Just("enum".to_owned()), prop::collection::vec(leaf.clone(), 1..4).prop_map(Value::Array)),
                2 => (Just("const".to_owned()), leaf.clone()),
                4 => (
                    names(&["properties", "patternProperties", "$defs", "definitions"]),
                    prop::collection::btree_map("[a-c]", schema.clone(), 0..3)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ),
                2 => (
                    Just("required".to_owned()),
                    prop::collection::vec("[a-c]", 0..3).prop_map(|r| json!(r)),
                ),
                4 => (
                    names(&["additionalProperties", "propertyNames", "items", "contains", "not"]),
                    schema.clone(),
                ),
                4 => (
                    names(&["anyOf", "oneOf", "allOf", "prefixItems", "items"]),
                    prop::collection::vec(schema.clone(), 1..3).prop_map(Value::Array),
                ),
                4 => (
                    names(&[
                        "minProperties", "maxProperties", "minItems", "maxItems", "minContains",
                        "maxContains", "minLength", "maxLength",
                    ]),
                    (0u64..6).prop_map(Value::from),
                ),
                3 => (
                    names(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
                    number,
                ),
                1 => (Just("multipleOf".to_owned()), prop_oneof![Just(json!(0.5)), (1u64..5).prop_map(Value::from)]),
                2 => (
                    names(&["uniqueItems", "nullable", "deprecated"]),
                    any::<bool>().prop_map(Value::Bool),
                ),
                3 => (
                    Just("$ref".to_owned()),
                    names(&[
                        "#", "#/$defs/a", "#/$defs/b", "#/definitions/a", "#/properties/a",
                        "#/items", "#/anyOf/0", "#/$defs/%61",
                    ])
                    .prop_map(Value::String),
                ),
                2 => (
                    Just("pattern".to_owned()),
                    names(&["^a+$", "b", "[0-9]{2}", ""]).prop_map(Value::String),
                ),
                2 => (
                    Just("format".to_owned()),
                    names(&["date-time", "date", "time", "email", "ipv4", "ipv6", "uuid", "hostname", "duration", "other"])
                        .prop_map(Value::String),
                ),
                1 => (names(&["title", "description", "$comment"]), leaf.clone()),
                // Mistakes: refused keywords, wrong types, bad references and regexes.
                1 => prop_oneof![
                    (names(&["if", "bogus", "additionalItems", "exclusiveMinimum"]), leaf.clone()),
                    (Just("$ref".to_owned()), names(&["http://x", "#x", "#/$defs/a~2", "#/nope"]).prop_map(Value::String)),
                    (Just("pattern".to_owned()), names(&["(", "(?=a)", "\\p{L}"]).prop_map(Value::String)),
                    (Just("type".to_owned()), Just(json!("nope"))),
                    (Just("anyOf".to_owned()), Just(json!([]))),
                    (Just("items".to_owned()), prop::collection::vec(schema, 0..3).prop_map(Value::Array)),
                    ("[a-zA-Z$]{1,12}", leaf),
                ],
            ]
            .boxed()
        }

        /// Schemas, mostly well-formed, using every keyword, with random mistakes.
        fn arb_schemaish() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(json!({})),
                Just(json!(true)),
                Just(json!(false)),
                Just(json!(1)),
                Just(json!({"type": "string"})),
                Just(json!({"$ref": "#"})),
            ];
            leaf.prop_recursive(4, 48, 5, |inner| {
                prop::collection::vec(arb_keyword(inner.boxed()), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
            })
        }

        fn consistent(schema: &CompiledSchema, value: &Value) -> Result<(), TestCaseError> {
            let violations = schema.validate(value);
            prop_assert_eq!(schema.is_valid(value), violations.is_empty());
            prop_assert!(violations.len() <= CompiledSchema::MAX_VIOLATIONS);
            for v in &violations {
                prop_assert!(v.message().chars().count() <= 200, "{}", v.message());
                prop_assert!(v.path().is_empty() || v.path().starts_with('/'));
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn validate_never_panics_and_agrees_with_is_valid(value in arb_json()) {
                for schema in fixed_schemas() {
                    consistent(&schema, &value)?;
                }
            }

            #[test]
            fn generated_values_conform_to_generated_schemas((spec, schema, value) in arb_schema_and_value()) {
                let compiled = CompiledSchema::compile(&schema)
                    .map_err(|e| TestCaseError::fail(format!("{schema}: {e}")))?;
                let violations = compiled.validate(&value);
                prop_assert!(violations.is_empty(), "{} against {}: {:?}", value, schema, violations);
                prop_assert!(compiled.is_valid(&value));
                // An extra property on a closed object is refused.
                if let (Spec::Obj(_), Value::Object(mut map)) = (spec, value) {
                    map.insert("extra_property".to_owned(), json!(1));
                    let violations = compiled.validate(&Value::Object(map));
                    prop_assert_eq!(violations.len(), 1);
                    prop_assert_eq!(violations[0].message(), "unexpected property `extra_property`");
                }
            }

            #[test]
            fn compile_never_panics(schema in arb_schemaish(), value in arb_json()) {
                match CompiledSchema::compile(&schema) {
                    Ok(compiled) => consistent(&compiled, &value)?,
                    Err(e) => {
                        prop_assert!(!e.message().is_empty());
                        prop_assert!(e.path().is_empty() || e.path().starts_with('/'));
                    }
                }
            }
        }
    }
}
