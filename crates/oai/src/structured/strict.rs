//! The strict form of a JSON schema: the subset the API accepts with
//! `strict: true`, or an error naming the field that cannot be expressed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// Nesting depth of objects the API accepts in a strict schema.
pub const MAX_NESTING_DEPTH: usize = 10;
/// Object properties the API accepts in a strict schema, all objects together.
pub const MAX_PROPERTIES: usize = 5_000;
/// `enum` values the API accepts in a strict schema, all enums together.
pub const MAX_ENUM_VALUES: usize = 1_000;
/// Characters of property names, definition names, `enum` and `const` string
/// values the API accepts in a strict schema, all together.
pub const MAX_TOTAL_STRING_LENGTH: usize = 120_000;
/// Characters of the string values of one `enum` with more than
/// [`LARGE_ENUM_VALUES`] values.
pub const MAX_LARGE_ENUM_STRING_LENGTH: usize = 15_000;
/// The number of values above which an `enum` counts as large (see
/// [`MAX_LARGE_ENUM_STRING_LENGTH`]).
pub const LARGE_ENUM_VALUES: usize = 250;

/// Schema levels (of any keyword) walked before giving up: bounds the stack
/// for hostile, programmatically built values.
const MAX_WALK_DEPTH: usize = 128;
/// Schema nodes produced before giving up: bounds the output when inlining
/// definitions that are used many times.
const MAX_NODES: usize = 200_000;
/// Definitions accepted (the recursion check is quadratic in their number).
const MAX_DEFS: usize = 5_000;

/// `format` values the API accepts on strings.
const FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Keywords kept as they are (after their values are checked where needed).
const KEPT: &[&str] = &[
    "description",
    "title",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

/// Keywords that constrain values in ways strict mode cannot express; dropping
/// them would let the model produce values the schema forbids.
const REJECTED: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "minProperties",
    "maxProperties",
    "additionalItems",
    "$dynamicRef",
    "$recursiveRef",
];

/// A schema that has no strict form, with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    path: String,
    kind: SchemaErrorKind,
}

/// What is wrong with a schema (see [`SchemaError::kind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaErrorKind {
    /// The root is not an object schema (the API requires one; wrap the value
    /// in a struct).
    RootNotObject,
    /// The schema accepts any JSON value (`true`, `{}`, `serde_json::Value`).
    AnyValue,
    /// The schema accepts no value at all (`false`).
    NoValue,
    /// An object with arbitrary keys (a map, `#[serde(flatten)]` of a map,
    /// `additionalProperties` other than `false`, `patternProperties`,
    /// `propertyNames`).
    Map,
    /// A fixed-length array of differently typed items (a tuple, `prefixItems`).
    Tuple,
    /// An array without an `items` schema.
    ArrayWithoutItems,
    /// A keyword strict mode cannot express.
    UnsupportedKeyword(String),
    /// Two keywords that strict mode cannot have together (`properties` beside
    /// `anyOf`, as a flattened enum gives; a keyword beside a recursive `$ref`).
    Combination {
        /// The keyword that cannot stay.
        keyword: String,
        /// The keyword it sits beside.
        beside: String,
    },
    /// `oneOf` branches that may overlap, so turning them into `anyOf` would
    /// change the meaning.
    OverlappingOneOf,
    /// A `$ref` that does not point into the root's `$defs` or `definitions`.
    UnresolvedRef(String),
    /// A malformed schema (the message says which keyword).
    Malformed(String),
    /// Objects nested deeper than [`MAX_NESTING_DEPTH`].
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More object properties than [`MAX_PROPERTIES`].
    TooManyProperties {
        /// The limit.
        limit: usize,
    },
    /// More `enum` values than [`MAX_ENUM_VALUES`].
    TooManyEnumValues {
        /// How many the schema has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More characters of names and values than [`MAX_TOTAL_STRING_LENGTH`],
    /// or a large enum over [`MAX_LARGE_ENUM_STRING_LENGTH`].
    TooMuchText {
        /// How many the schema (or the enum) has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The schema is too large or too deeply nested to process.
    TooLarge,
    /// A `json_schema` name that does not match `^[a-zA-Z0-9_-]{1,64}$`.
    InvalidName(String),
}

impl SchemaError {
    pub(crate) fn new(path: impl Into<String>, kind: SchemaErrorKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }

    /// The field path (`address.street`, `tags[]`, `shape.anyOf[1].radius`,
    /// `$defs.Node.children[]`); empty for the root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong.
    pub fn kind(&self) -> &SchemaErrorKind {
        &self.kind
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let SchemaErrorKind::InvalidName(name) = &self.kind {
            return write!(
                f,
                "invalid json_schema name {name:?}: it must match ^[a-zA-Z0-9_-]{{1,64}}$"
            );
        }
        if self.path.is_empty() {
            f.write_str("schema root: ")?;
        } else {
            write!(f, "field `{}`: ", self.path)?;
        }
        match &self.kind {
            SchemaErrorKind::RootNotObject => f.write_str(
                "the root of a strict schema must be an object (wrap the type in a struct)",
            ),
            SchemaErrorKind::AnyValue => f.write_str(
                "accepts any JSON value (such as serde_json::Value), which strict mode cannot express",
            ),
            SchemaErrorKind::NoValue => f.write_str("accepts no value (`false` schema)"),
            SchemaErrorKind::Map => f.write_str(
                "is an object with arbitrary keys (a map, or a flattened map), which strict mode cannot express; use a struct or a list of key/value pairs",
            ),
            SchemaErrorKind::Tuple => f.write_str(
                "is a tuple (`prefixItems`), which strict mode cannot express; use a struct",
            ),
            SchemaErrorKind::ArrayWithoutItems => {
                f.write_str("is an array without an `items` schema")
            }
            SchemaErrorKind::UnsupportedKeyword(k) => {
                write!(f, "uses `{k}`, which strict mode cannot express")
            }
            SchemaErrorKind::Combination { keyword, beside } => write!(
                f,
                "has `{keyword}` beside `{beside}`, which strict mode cannot express"
            ),
            SchemaErrorKind::OverlappingOneOf => f.write_str(
                "has `oneOf` branches that may overlap; strict mode only has `anyOf`",
            ),
            SchemaErrorKind::UnresolvedRef(r) => write!(
                f,
                "`$ref` {r:?} does not point into the root's `$defs` or `definitions`"
            ),
            SchemaErrorKind::Malformed(m) => write!(f, "malformed schema: {m}"),
            SchemaErrorKind::TooDeep { limit } => {
                write!(f, "objects are nested more than {limit} levels deep")
            }
            SchemaErrorKind::TooManyProperties { limit } => {
                write!(f, "the schema has more than {limit} object properties")
            }
            SchemaErrorKind::TooManyEnumValues { count, limit } => {
                write!(f, "the schema has {count} enum values (at most {limit})")
            }
            SchemaErrorKind::TooMuchText { count, limit } => write!(
                f,
                "names and enum/const values add up to {count} characters (at most {limit})"
            ),
            SchemaErrorKind::TooLarge => f.write_str("the schema is too large to process"),
            SchemaErrorKind::InvalidName(_) => Ok(()),
        }
    }
}

impl std::error::Error for SchemaError {}

impl From<SchemaError> for crate::Error {
    fn from(e: SchemaError) -> Self {
        crate::Error::helper(crate::ErrorKind::InvalidInput, e)
    }
}

/// Whether the `json_schema` name is valid: `^[a-zA-Z0-9_-]{1,64}$`.
pub(crate) fn check_name(name: &str) -> Result<(), SchemaError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(SchemaError::new(
            "",
            SchemaErrorKind::InvalidName(name.to_owned()),
        ))
    }
}

/// A valid `json_schema` name made from any text: characters outside
/// `[a-zA-Z0-9_-]` become `_`, at most 64 characters, `response` when empty.
pub fn sanitize_name(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if out.is_empty() {
        "response".to_owned()
    } else {
        out
    }
}

/// One step of a field path.
#[derive(Debug, Clone)]
enum Seg {
    Prop(String),
    Items,
    Branch(usize),
    Def(String),
}

fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Prop(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Seg::Items => out.push_str("[]"),
            Seg::Branch(i) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&format!("anyOf[{i}]"));
            }
            Seg::Def(name) => {
                out.push_str("$defs.");
                out.push_str(name);
            }
        }
    }
    out
}

/// Where a `$ref` points.
enum Target {
    Root,
    Def(String),
}

struct Walker<'a> {
    defs: &'a Map<String, Value>,
    /// Definitions that are recursive: kept in `$defs` and referenced.
    keep: BTreeSet<String>,
    /// `true` for schemas derived from Rust types: an optional property is made
    /// nullable only when the schema already accepts `null` (adding `null` to a
    /// `#[serde(default)] u32` would give values the type cannot read).
    derived: bool,
    path: Vec<Seg>,
    /// Nested calls of `walk` (inlining adds calls without adding to `path`).
    stack: usize,
    nodes: usize,
    properties: usize,
    enum_values: usize,
    chars: usize,
}

/// Makes `schema` strict (see [`make_strict`](super::make_strict)).
pub(crate) fn strict(schema: Value, derived: bool) -> Result<Value, SchemaError> {
    let Value::Object(mut root) = schema else {
        return Err(match schema {
            Value::Bool(true) => SchemaError::new("", SchemaErrorKind::AnyValue),
            _ => SchemaError::new("", SchemaErrorKind::RootNotObject),
        });
    };
    let defs = take_defs(&mut root)?;
    let keep = recursive_defs(&defs)?;
    // A root that is only a reference (`{"$ref": "#/$defs/T", "$defs": ...}`)
    // becomes the definition itself.
    if let Some(Value::String(r)) = root.get("$ref")
        && let Some(Target::Def(name)) = parse_ref(r)
        && let Some(Value::Object(body)) = defs.get(&name)
    {
        let mut merged = body.clone();
        for (k, v) in root {
            if k != "$ref" {
                merged.insert(k, v);
            }
        }
        root = merged;
    }
    let mut w = Walker {
        defs: &defs,
        keep,
        derived,
        path: Vec::new(),
        stack: 0,
        nodes: 0,
        properties: 0,
        enum_values: 0,
        chars: 0,
    };
    let mut out = match w.walk(&Value::Object(root), 0)? {
        Value::Object(m) => m,
        _ => return Err(SchemaError::new("", SchemaErrorKind::RootNotObject)),
    };
    let is_object =
        out.get("type").and_then(Value::as_str) == Some("object") && !out.contains_key("anyOf");
    if !is_object {
        return Err(SchemaError::new("", SchemaErrorKind::RootNotObject));
    }
    if !w.keep.is_empty() {
        let mut kept = Map::new();
        let names: Vec<String> = w.keep.iter().cloned().collect();
        for name in names {
            let Some(def) = defs.get(&name) else {
                continue;
            };
            w.chars += name.chars().count();
            w.path = vec![Seg::Def(name.clone())];
            let strict_def = w.walk(def, 0)?;
            kept.insert(name, strict_def);
        }
        out.insert("$defs".to_owned(), Value::Object(kept));
    }
    if w.chars > MAX_TOTAL_STRING_LENGTH {
        return Err(SchemaError::new(
            "",
            SchemaErrorKind::TooMuchText {
                count: w.chars,
                limit: MAX_TOTAL_STRING_LENGTH,
            },
        ));
    }
    Ok(Value::Object(out))
}

/// Removes `$defs` and `definitions` from the root and returns them merged.
fn take_defs(root: &mut Map<String, Value>) -> Result<Map<String, Value>, SchemaError> {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        match root.remove(key) {
            None => {}
            Some(Value::Object(m)) => {
                for (name, schema) in m {
                    if defs.insert(name.clone(), schema).is_some() {
                        return Err(SchemaError::new(
                            "",
                            SchemaErrorKind::Malformed(format!(
                                "definition {name:?} is in both `$defs` and `definitions`"
                            )),
                        ));
                    }
                }
            }
            Some(_) => {
                return Err(SchemaError::new(
                    "",
                    SchemaErrorKind::Malformed(format!("`{key}` must be an object")),
                ));
            }
        }
    }
    Ok(defs)
}

/// Decodes one JSON-pointer token (`~1` is `/`, `~0` is `~`) and the
/// percent-encoding a URI fragment may carry.
fn pointer_token(token: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(token.len());
    let raw = token.as_bytes();
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hex = token.get(i + 1..i + 3)?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(b);
            i += 1;
        }
    }
    let decoded = String::from_utf8(bytes).ok()?;
    Some(decoded.replace("~1", "/").replace("~0", "~"))
}

fn parse_ref(r: &str) -> Option<Target> {
    if r == "#" {
        return Some(Target::Root);
    }
    let rest = r
        .strip_prefix("#/$defs/")
        .or_else(|| r.strip_prefix("#/definitions/"))?;
    if rest.contains('/') {
        return None;
    }
    pointer_token(rest).map(Target::Def)
}

/// The reference written for a kept definition.
fn def_ref(name: &str) -> String {
    let mut out = String::from("#/$defs/");
    for c in name.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            '%' => out.push_str("%25"),
            _ => out.push(c),
        }
    }
    out
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>, depth: usize) -> Result<(), SchemaError> {
    if depth > MAX_WALK_DEPTH {
        return Err(SchemaError::new("", SchemaErrorKind::TooLarge));
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && let Some(Target::Def(name)) = parse_ref(r)
            {
                out.insert(name);
            }
            for child in m.values() {
                collect_refs(child, out, depth + 1)?;
            }
        }
        Value::Array(items) => {
            for child in items {
                collect_refs(child, out, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The definitions that can reach themselves through `$ref`s.
fn recursive_defs(defs: &Map<String, Value>) -> Result<BTreeSet<String>, SchemaError> {
    if defs.len() > MAX_DEFS {
        return Err(SchemaError::new("", SchemaErrorKind::TooLarge));
    }
    let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, schema) in defs {
        let mut refs = BTreeSet::new();
        collect_refs(schema, &mut refs, 0)?;
        edges.insert(name.as_str(), refs);
    }
    let mut keep = BTreeSet::new();
    for start in defs.keys() {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = edges
            .get(start.as_str())
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default();
        while let Some(next) = stack.pop() {
            if next == start {
                keep.insert(start.clone());
                break;
            }
            if seen.insert(next)
                && let Some(more) = edges.get(next)
            {
                stack.extend(more.iter().map(String::as_str));
            }
        }
    }
    Ok(keep)
}

fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "description"
            | "title"
            | "default"
            | "examples"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
            | "$comment"
            | "$schema"
            | "$id"
    )
}

/// The JSON types a schema allows, when it says so plainly.
fn types_of(m: &Map<String, Value>) -> Option<BTreeSet<String>> {
    if m.contains_key("anyOf") || m.contains_key("$ref") {
        return None;
    }
    let from_type: Option<BTreeSet<String>> = match m.get("type") {
        Some(Value::String(t)) => Some(BTreeSet::from([t.clone()])),
        Some(Value::Array(ts)) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    };
    let values = values_of(m).map(|vs| vs.iter().map(json_type).collect::<BTreeSet<String>>());
    match (from_type, values) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (a, b) => a.or(b),
    }
}

fn json_type(v: &Value) -> String {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
    .to_owned()
}

/// The values a schema allows, when it lists them (`enum`, `const`).
fn values_of(m: &Map<String, Value>) -> Option<Vec<Value>> {
    if let Some(c) = m.get("const") {
        return Some(vec![c.clone()]);
    }
    match m.get("enum") {
        Some(Value::Array(vs)) => Some(vs.clone()),
        _ => None,
    }
}

fn types_overlap(a: &BTreeSet<String>, b: &BTreeSet<String>) -> bool {
    let number_like = |s: &BTreeSet<String>| s.contains("number") || s.contains("integer");
    a.intersection(b).next().is_some() || (number_like(a) && number_like(b))
}

/// Whether no value can match both schemas (checked on strict schemas, where
/// every property is required and no other property is allowed).
fn disjoint(a: &Value, b: &Value) -> bool {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return false;
    };
    if let (Some(ta), Some(tb)) = (types_of(a), types_of(b))
        && !types_overlap(&ta, &tb)
    {
        return true;
    }
    if let (Some(va), Some(vb)) = (values_of(a), values_of(b))
        && !va.iter().any(|v| vb.contains(v))
    {
        return true;
    }
    let (Some(Value::Object(pa)), Some(Value::Object(pb))) =
        (a.get("properties"), b.get("properties"))
    else {
        return false;
    };
    let closed =
        |m: &Map<String, Value>| m.get("additionalProperties") == Some(&Value::Bool(false));
    let required = |m: &Map<String, Value>| -> BTreeSet<String> {
        match m.get("required") {
            Some(Value::Array(r)) => r
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => BTreeSet::new(),
        }
    };
    let (ra, rb) = (required(a), required(b));
    // A key one side requires and the other side does not allow.
    if (closed(b) && ra.iter().any(|k| !pb.contains_key(k)))
        || (closed(a) && rb.iter().any(|k| !pa.contains_key(k)))
    {
        return true;
    }
    // A key both require, with disjoint value sets (a tag).
    ra.intersection(&rb).any(|k| match (pa.get(k), pb.get(k)) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            matches!((values_of(x), values_of(y)), (Some(vx), Some(vy)) if !vx.iter().any(|v| vy.contains(v)))
        }
        _ => false,
    })
}

/// Whether a (strict) schema accepts `null`.
fn accepts_null(v: &Value) -> bool {
    let Value::Object(m) = v else {
        return false;
    };
    if let Some(Value::Array(branches)) = m.get("anyOf") {
        return branches.iter().any(accepts_null);
    }
    if m.contains_key("$ref") {
        return false;
    }
    let type_ok = match m.get("type") {
        None => true,
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        Some(_) => false,
    };
    type_ok && values_of(m).is_none_or(|vs| vs.contains(&Value::Null))
}

/// The same schema, also accepting `null`.
fn nullable(v: Value) -> Value {
    if accepts_null(&v) {
        return v;
    }
    let Value::Object(mut m) = v else {
        return v;
    };
    let null = || serde_json::json!({"type": "null"});
    if m.contains_key("$ref") {
        return serde_json::json!({"anyOf": [Value::Object(m), (null())]});
    }
    if let Some(Value::Array(branches)) = m.get_mut("anyOf") {
        branches.push(null());
        return Value::Object(m);
    }
    match m.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            m.insert("type".to_owned(), serde_json::json!([t, "null"]));
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| t == "null") => {
            ts.push(Value::from("null"));
        }
        _ => {}
    }
    if let Some(c) = m.remove("const") {
        m.insert("enum".to_owned(), Value::Array(vec![c, Value::Null]));
    } else if let Some(Value::Array(vs)) = m.get_mut("enum")
        && !vs.contains(&Value::Null)
    {
        vs.push(Value::Null);
    }
    Value::Object(m)
}

impl Walker<'_> {
    fn err(&self, kind: SchemaErrorKind) -> SchemaError {
        SchemaError::new(render(&self.path), kind)
    }

    fn malformed(&self, msg: impl Into<String>) -> SchemaError {
        self.err(SchemaErrorKind::Malformed(msg.into()))
    }

    fn walk_at(&mut self, seg: Seg, v: &Value, depth: usize) -> Result<Value, SchemaError> {
        self.path.push(seg);
        let out = self.walk(v, depth);
        self.path.pop();
        out
    }

    /// `depth` counts the objects around this schema.
    fn walk(&mut self, v: &Value, depth: usize) -> Result<Value, SchemaError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES || self.stack >= MAX_WALK_DEPTH {
            return Err(self.err(SchemaErrorKind::TooLarge));
        }
        self.stack += 1;
        let out = self.walk_inner(v, depth);
        self.stack -= 1;
        out
    }

    fn walk_inner(&mut self, v: &Value, depth: usize) -> Result<Value, SchemaError> {
        let m = match v {
            Value::Object(m) => m,
            Value::Bool(true) => return Err(self.err(SchemaErrorKind::AnyValue)),
            Value::Bool(false) => return Err(self.err(SchemaErrorKind::NoValue)),
            _ => return Err(self.malformed("a schema must be an object or a boolean")),
        };
        if let Some(r) = m.get("$ref") {
            return self.reference(r, m, depth);
        }
        if let Some(all) = m.get("allOf") {
            let merged = self.merge_all_of(all, m)?;
            return self.walk(&Value::Object(merged), depth);
        }
        for key in REJECTED {
            if m.contains_key(*key) {
                return Err(self.err(SchemaErrorKind::UnsupportedKeyword((*key).to_owned())));
            }
        }
        if m.contains_key("prefixItems") || matches!(m.get("items"), Some(Value::Array(_))) {
            return Err(self.err(SchemaErrorKind::Tuple));
        }
        if m.contains_key("patternProperties") || m.contains_key("propertyNames") {
            return Err(self.err(SchemaErrorKind::Map));
        }
        match m.get("unevaluatedProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => return Err(self.err(SchemaErrorKind::Map)),
        }
        if m.contains_key("anyOf") || m.contains_key("oneOf") {
            return self.union(m, depth);
        }

        let mut out = Map::new();
        let types: Vec<String> = match m.get("type") {
            None => Vec::new(),
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => {
                let mut list = Vec::new();
                for t in ts {
                    let Some(t) = t.as_str() else {
                        return Err(self.malformed("`type` must list strings"));
                    };
                    list.push(t.to_owned());
                }
                list
            }
            Some(_) => return Err(self.malformed("`type` must be a string or a list")),
        };
        for t in &types {
            if !matches!(
                t.as_str(),
                "object" | "array" | "string" | "number" | "integer" | "boolean" | "null"
            ) {
                return Err(self.malformed(format!("unknown type {t:?}")));
            }
        }
        let implicit_object = types.is_empty() && m.contains_key("properties");
        let has_values = m.contains_key("enum") || m.contains_key("const");
        if types.is_empty() && !implicit_object && !has_values {
            return Err(self.err(SchemaErrorKind::AnyValue));
        }
        for key in KEPT {
            if let Some(value) = m.get(*key) {
                out.insert((*key).to_owned(), value.clone());
            }
        }
        if let Some(Value::String(f)) = m.get("format")
            && FORMATS.contains(&f.as_str())
        {
            out.insert("format".to_owned(), Value::String(f.clone()));
        }
        if let Some(t) = m.get("type") {
            out.insert("type".to_owned(), t.clone());
        }
        if implicit_object {
            out.insert("type".to_owned(), Value::from("object"));
        }
        if let Some(values) = m.get("enum") {
            self.check_enum(values)?;
            out.insert("enum".to_owned(), values.clone());
        }
        if let Some(c) = m.get("const") {
            if let Value::String(s) = c {
                self.chars += s.chars().count();
            }
            out.insert("const".to_owned(), c.clone());
        }
        if implicit_object || types.iter().any(|t| t == "object") {
            self.object(m, &mut out, depth)?;
        }
        if types.iter().any(|t| t == "array") {
            match m.get("items") {
                Some(items) => {
                    let items = self.walk_at(Seg::Items, items, depth)?;
                    out.insert("items".to_owned(), items);
                }
                None => return Err(self.err(SchemaErrorKind::ArrayWithoutItems)),
            }
        }
        Ok(Value::Object(out))
    }

    fn reference(
        &mut self,
        r: &Value,
        m: &Map<String, Value>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        let Some(r) = r.as_str() else {
            return Err(self.malformed("`$ref` must be a string"));
        };
        let Some(target) = parse_ref(r) else {
            return Err(self.err(SchemaErrorKind::UnresolvedRef(r.to_owned())));
        };
        let siblings: Vec<&String> = m.keys().filter(|k| *k != "$ref").collect();
        let kept = match &target {
            Target::Root => Some("#".to_owned()),
            Target::Def(name) if self.keep.contains(name) => Some(def_ref(name)),
            Target::Def(_) => None,
        };
        if let Some(kept) = kept {
            // A recursive reference stays a reference; annotations beside it
            // are dropped, anything else would change its meaning.
            if let Some(k) = siblings.iter().find(|k| !is_annotation(k)) {
                return Err(self.err(SchemaErrorKind::Combination {
                    keyword: (*k).clone(),
                    beside: "$ref".to_owned(),
                }));
            }
            return Ok(serde_json::json!({ "$ref": kept }));
        }
        let Target::Def(name) = target else {
            return Err(self.err(SchemaErrorKind::UnresolvedRef(r.to_owned())));
        };
        let Some(def) = self.defs.get(&name) else {
            return Err(self.err(SchemaErrorKind::UnresolvedRef(r.to_owned())));
        };
        if siblings.is_empty() {
            return self.walk(def, depth);
        }
        // Inline the definition, the keywords beside the `$ref` winning.
        let Value::Object(body) = def else {
            return self.walk(def, depth);
        };
        let mut merged = body.clone();
        for k in siblings {
            if let Some(v) = m.get(k) {
                merged.insert(k.clone(), v.clone());
            }
        }
        self.walk(&Value::Object(merged), depth)
    }

    fn merge_all_of(
        &self,
        all: &Value,
        m: &Map<String, Value>,
    ) -> Result<Map<String, Value>, SchemaError> {
        let Value::Array(parts) = all else {
            return Err(self.malformed("`allOf` must be a list"));
        };
        // One schema in `allOf` is that schema; more would need an
        // intersection, which strict mode does not have.
        let [Value::Object(only)] = parts.as_slice() else {
            return Err(self.err(SchemaErrorKind::UnsupportedKeyword("allOf".to_owned())));
        };
        let mut merged = only.clone();
        for (k, v) in m {
            if k == "allOf" {
                continue;
            }
            match merged.get(k) {
                Some(existing) if existing != v && !is_annotation(k) => {
                    return Err(self.err(SchemaErrorKind::Combination {
                        keyword: k.clone(),
                        beside: "allOf".to_owned(),
                    }));
                }
                _ => {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(merged)
    }

    fn union(&mut self, m: &Map<String, Value>, depth: usize) -> Result<Value, SchemaError> {
        let (key, branches) = match (m.get("anyOf"), m.get("oneOf")) {
            (Some(_), Some(_)) => {
                return Err(self.err(SchemaErrorKind::Combination {
                    keyword: "oneOf".to_owned(),
                    beside: "anyOf".to_owned(),
                }));
            }
            (Some(b), None) => ("anyOf", b),
            (None, Some(b)) => ("oneOf", b),
            (None, None) => return Err(self.malformed("expected `anyOf` or `oneOf`")),
        };
        let Value::Array(branches) = branches else {
            return Err(self.malformed(format!("`{key}` must be a list")));
        };
        if branches.is_empty() {
            return Err(self.malformed(format!("`{key}` must not be empty")));
        }
        for k in m.keys() {
            if k != key && !is_annotation(k) && k != "type" {
                // `properties` beside a union is a flattened enum; anything
                // else would have to be distributed into every branch.
                return Err(self.err(SchemaErrorKind::Combination {
                    keyword: k.clone(),
                    beside: key.to_owned(),
                }));
            }
        }
        let mut out_branches = Vec::with_capacity(branches.len());
        for (i, b) in branches.iter().enumerate() {
            out_branches.push(self.walk_at(Seg::Branch(i), b, depth)?);
        }
        if key == "oneOf" && !self.derived {
            for (i, a) in out_branches.iter().enumerate() {
                for b in out_branches.iter().skip(i + 1) {
                    if !disjoint(a, b) {
                        return Err(self.err(SchemaErrorKind::OverlappingOneOf));
                    }
                }
            }
        }
        let mut out = Map::new();
        for k in ["description", "title"] {
            if let Some(v) = m.get(k) {
                out.insert(k.to_owned(), v.clone());
            }
        }
        out.insert("anyOf".to_owned(), Value::Array(out_branches));
        Ok(Value::Object(out))
    }

    fn check_enum(&mut self, values: &Value) -> Result<(), SchemaError> {
        let Value::Array(values) = values else {
            return Err(self.malformed("`enum` must be a list"));
        };
        if values.is_empty() {
            return Err(self.malformed("`enum` must not be empty"));
        }
        self.enum_values += values.len();
        if self.enum_values > MAX_ENUM_VALUES {
            return Err(self.err(SchemaErrorKind::TooManyEnumValues {
                count: self.enum_values,
                limit: MAX_ENUM_VALUES,
            }));
        }
        let chars: usize = values
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.chars().count())
            .sum();
        if values.len() > LARGE_ENUM_VALUES && chars > MAX_LARGE_ENUM_STRING_LENGTH {
            return Err(self.err(SchemaErrorKind::TooMuchText {
                count: chars,
                limit: MAX_LARGE_ENUM_STRING_LENGTH,
            }));
        }
        self.chars += chars;
        Ok(())
    }

    fn object(
        &mut self,
        m: &Map<String, Value>,
        out: &mut Map<String, Value>,
        depth: usize,
    ) -> Result<(), SchemaError> {
        let depth = depth + 1;
        if depth > MAX_NESTING_DEPTH {
            return Err(self.err(SchemaErrorKind::TooDeep {
                limit: MAX_NESTING_DEPTH,
            }));
        }
        match m.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => return Err(self.err(SchemaErrorKind::Map)),
        }
        let empty = Map::new();
        let props = match m.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(self.malformed("`properties` must be an object")),
        };
        let required: BTreeSet<&str> = match m.get("required") {
            None => BTreeSet::new(),
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            Some(_) => return Err(self.malformed("`required` must be a list")),
        };
        self.properties += props.len();
        if self.properties > MAX_PROPERTIES {
            return Err(self.err(SchemaErrorKind::TooManyProperties {
                limit: MAX_PROPERTIES,
            }));
        }
        let mut out_props = Map::new();
        let mut names = Vec::with_capacity(props.len());
        for (name, schema) in props {
            self.chars += name.chars().count();
            let mut strict = self.walk_at(Seg::Prop(name.clone()), schema, depth)?;
            if !required.contains(name.as_str()) && !self.derived {
                strict = nullable(strict);
            }
            out_props.insert(name.clone(), strict);
            names.push(Value::String(name.clone()));
        }
        out.insert("properties".to_owned(), Value::Object(out_props));
        out.insert("required".to_owned(), Value::Array(names));
        out.insert("additionalProperties".to_owned(), Value::Bool(false));
        Ok(())
    }
}
