//! Structured outputs: the strict schema of Rust types (its shape, what it
//! refuses, that it is a fixed point and accepts what serde writes), the
//! request bodies that carry it, and `parse::<T>()` of every kind of answer,
//! for chat completions and the Responses API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::structured::{
    IncompleteReason, JsonSchema, JsonSchemaFormat, ParseError, ParseExt, SchemaError,
    SchemaErrorKind, make_strict, strict_schema_for,
};
use oai::types::{ChatCompletionRequestMessage as Message, CreateChatCompletionResponse, Response};
use oai::{Client, Config};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

// ---------------------------------------------------------------- types

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Address {
    street: String,
    city: String,
    #[serde(rename = "zipCode")]
    zip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Role {
    Admin,
    User,
    Guest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind")]
enum Shape {
    Circle { radius: f64 },
    Rect { w: f64, h: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Event {
    Start,
    Named(String),
    Move { x: i32, y: i32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    A(String),
    B { n: i32 },
}

/// Someone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Person {
    /// Full name.
    name: String,
    age: u8,
    email: Option<String>,
    addresses: Vec<Address>,
    home: Option<Address>,
    #[serde(default)]
    visits: u32,
    role: Role,
    shape: Shape,
    value: Scalar,
    event: Event,
    adjacent: Adjacent,
    tags: Vec<Option<Role>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Node {
    value: i32,
    children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Tree {
    name: String,
    root: Node,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Expr {
    Num(f64),
    Add { left: Box<Expr>, right: Box<Expr> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Calc {
    expr: Expr,
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Wrapper<T> {
    inner: T,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct WithMap {
    name: String,
    scores: HashMap<String, i32>,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct WithValue {
    extra: Value,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct FlatMap {
    id: i32,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct Item {
    label: String,
    meta: BTreeMap<String, String>,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct Order {
    items: Vec<Item>,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct Nested {
    flat: FlatMap,
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct WithTuple {
    pair: (i32, String),
}

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct UnitStruct;

#[allow(dead_code)] // only the schema is used
#[derive(Deserialize, JsonSchema)]
struct FlatEnum {
    id: i32,
    #[serde(flatten)]
    shape: Shape,
}

// ---------------------------------------------------------------- helpers

/// Checks the rules of the strict form on every schema in `s`.
fn assert_strict_shape(root: &Value) {
    assert_eq!(root["type"], "object", "root: {root}");
    assert!(root.get("anyOf").is_none());
    fn walk(v: &Value, root: &Value, at: &str) {
        match v {
            Value::Object(m) => {
                for banned in ["oneOf", "allOf", "$schema", "default", "definitions"] {
                    assert!(!m.contains_key(banned), "{banned} at {at}: {v}");
                }
                if let Some(Value::String(r)) = m.get("$ref") {
                    assert_eq!(m.len(), 1, "$ref with siblings at {at}");
                    if r != "#" {
                        let name = r.strip_prefix("#/$defs/").expect("local ref");
                        assert!(root["$defs"].get(name).is_some(), "dangling {r}");
                    }
                }
                if m.get("type") == Some(&json!("object")) || m.get("properties").is_some() {
                    assert_eq!(m["additionalProperties"], false, "at {at}: {v}");
                    let keys: Vec<&String> = m["properties"].as_object().unwrap().keys().collect();
                    let required: Vec<&str> = m["required"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap())
                        .collect();
                    assert_eq!(keys, required, "required at {at}");
                }
                if m.get("type") == Some(&json!("array")) {
                    assert!(m.contains_key("items"), "items at {at}");
                }
                for (k, child) in m {
                    if k != "enum" && k != "const" {
                        walk(child, root, &format!("{at}/{k}"));
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, root, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }
    walk(root, root, "");
}

/// A validator for the strict subset (types, enum, const, anyOf, objects,
/// items, local `$ref`s, numeric bounds): enough to check that the schema
/// accepts what serde writes, and refuses what the type cannot read.
fn valid(schema: &Value, root: &Value, v: &Value) -> bool {
    let Value::Object(m) = schema else {
        return schema == &Value::Bool(true);
    };
    if let Some(Value::String(r)) = m.get("$ref") {
        let target = if r == "#" {
            root
        } else {
            &root["$defs"][r.strip_prefix("#/$defs/").unwrap()]
        };
        return valid(target, root, v);
    }
    if let Some(Value::Array(branches)) = m.get("anyOf") {
        return branches.iter().any(|b| valid(b, root, v));
    }
    if let Some(t) = m.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            _ => panic!("bad type"),
        };
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        if !ok {
            return false;
        }
    }
    if let Some(Value::Array(values)) = m.get("enum")
        && !values.contains(v)
    {
        return false;
    }
    if let Some(c) = m.get("const")
        && c != v
    {
        return false;
    }
    if let Some(n) = v.as_f64() {
        if m.get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|min| n < min)
        {
            return false;
        }
        if m.get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|max| n > max)
        {
            return false;
        }
    }
    if let (Some(Value::Object(props)), Value::Object(obj)) = (m.get("properties"), v) {
        let required = m["required"].as_array().unwrap();
        if required
            .iter()
            .any(|r| !obj.contains_key(r.as_str().unwrap()))
        {
            return false;
        }
        for (k, x) in obj {
            match props.get(k) {
                Some(s) => {
                    if !valid(s, root, x) {
                        return false;
                    }
                }
                None => return false,
            }
        }
    }
    if let (Some(items), Value::Array(xs)) = (m.get("items"), v) {
        return xs.iter().all(|x| valid(items, root, x));
    }
    true
}

fn err_of(r: Result<Value, SchemaError>) -> SchemaError {
    r.expect_err("the schema should be refused")
}

fn person() -> Person {
    Person {
        name: "Ada".into(),
        age: 36,
        email: None,
        addresses: vec![Address {
            street: "1 Main St".into(),
            city: "London".into(),
            zip: Some("N1".into()),
        }],
        home: None,
        visits: 3,
        role: Role::Admin,
        shape: Shape::Rect { w: 2.0, h: 3.5 },
        value: Scalar::Text("x".into()),
        event: Event::Move { x: 1, y: -2 },
        adjacent: Adjacent::B { n: 4 },
        tags: vec![Some(Role::User), None],
    }
}

// ---------------------------------------------------------------- schema shape

#[test]
fn nested_structs_options_renames_and_docs() {
    let s = strict_schema_for::<Person>().unwrap();
    assert_strict_shape(&s);
    // Docs are kept as descriptions.
    assert_eq!(s["description"], "Someone.");
    assert_eq!(s["properties"]["name"]["description"], "Full name.");
    // Every property is required, in the order of `properties`.
    let keys: Vec<&String> = s["properties"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 12);
    // Non-recursive references are inlined: no `$defs` at all.
    assert!(s.get("$defs").is_none(), "{s}");
    let address = &s["properties"]["addresses"]["items"];
    assert_eq!(address["description"], "A postal address.");
    assert_eq!(
        address["properties"]["zipCode"]["type"],
        json!(["string", "null"])
    );
    // Properties keep the order of the Rust fields (models write fields in
    // schema order), and `required` follows it.
    let order: Vec<&String> = address["properties"].as_object().unwrap().keys().collect();
    assert_eq!(order, ["street", "city", "zipCode"]);
    assert_eq!(
        address["required"],
        json!(["street", "city", "zipCode"]),
        "the renamed optional field is required"
    );
    // Option<T> stays nullable; Option<struct> is anyOf [struct, null].
    assert_eq!(s["properties"]["email"]["type"], json!(["string", "null"]));
    let home = s["properties"]["home"]["anyOf"].as_array().unwrap();
    assert_eq!(home.len(), 2);
    assert_eq!(home[1], json!({"type": "null"}));
    assert_eq!(home[0]["properties"]["street"]["type"], "string");
    // `#[serde(default)] u32` is required and not nullable: null would not read back.
    assert_eq!(s["properties"]["visits"]["type"], "integer");
    assert!(s["properties"]["visits"].get("default").is_none());
    // Integer formats the API does not take are dropped, bounds kept.
    assert!(s["properties"]["age"].get("format").is_none());
    assert_eq!(s["properties"]["age"]["maximum"], 255);
}

#[test]
fn enums_unit_tagged_untagged_adjacent() {
    let s = strict_schema_for::<Person>().unwrap();
    let p = &s["properties"];
    assert_eq!(
        p["role"],
        json!({"type": "string", "enum": ["Admin", "User", "Guest"]})
    );
    // Internally tagged: anyOf of objects with a const tag.
    let shape = p["shape"]["anyOf"].as_array().unwrap();
    assert_eq!(shape.len(), 2);
    assert_eq!(shape[0]["properties"]["kind"]["const"], "Circle");
    assert_eq!(shape[1]["properties"]["kind"]["const"], "Rect");
    // Untagged: anyOf of the variants.
    let value = p["value"]["anyOf"].as_array().unwrap();
    assert_eq!(value[0]["type"], "integer");
    assert_eq!(value[1]["type"], "string");
    // Externally tagged with data: anyOf, each object closed.
    let event = p["event"]["anyOf"].as_array().unwrap();
    assert_eq!(event.len(), 3);
    assert_eq!(event[2]["required"], json!(["Move"]));
    assert_eq!(
        event[2]["properties"]["Move"]["additionalProperties"],
        false
    );
    // Adjacently tagged.
    assert_eq!(p["adjacent"]["anyOf"].as_array().unwrap().len(), 2);
    // Option<unit enum> inside a Vec.
    let tag = &p["tags"]["items"];
    assert!(valid(tag, &s, &Value::Null), "{tag}");
    assert!(valid(tag, &s, &json!("User")));
    assert!(!valid(tag, &s, &json!("Nobody")));
}

#[test]
fn recursive_types_keep_defs_and_refs() {
    // Root recursion: a reference to the root.
    let node = strict_schema_for::<Node>().unwrap();
    assert_strict_shape(&node);
    assert_eq!(
        node["properties"]["children"]["items"],
        json!({"$ref": "#"})
    );
    // Recursion below the root: the definition is kept, with its own strict form.
    let tree = strict_schema_for::<Tree>().unwrap();
    assert_strict_shape(&tree);
    assert_eq!(tree["properties"]["root"], json!({"$ref": "#/$defs/Node"}));
    let def = &tree["$defs"]["Node"];
    assert_eq!(def["additionalProperties"], false);
    assert_eq!(
        def["properties"]["children"]["items"],
        json!({"$ref": "#/$defs/Node"})
    );
    // A recursive enum.
    let calc = strict_schema_for::<Calc>().unwrap();
    assert_strict_shape(&calc);
    assert_eq!(calc["properties"]["expr"], json!({"$ref": "#/$defs/Expr"}));
    assert!(calc["$defs"]["Expr"]["anyOf"].is_array());
    let value = serde_json::to_value(Calc {
        expr: Expr::Add {
            left: Box::new(Expr::Num(1.0)),
            right: Box::new(Expr::Add {
                left: Box::new(Expr::Num(2.0)),
                right: Box::new(Expr::Num(3.0)),
            }),
        },
        note: None,
    })
    .unwrap();
    assert!(valid(&calc, &calc, &value), "{value}");
}

#[test]
fn names_come_from_the_type_and_can_be_overridden() {
    let f = JsonSchemaFormat::for_type::<Person>().unwrap();
    assert_eq!(f.name(), "Person");
    let f = JsonSchemaFormat::for_type::<Wrapper<Vec<Address>>>().unwrap();
    assert!(
        f.name()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{}",
        f.name()
    );
    let f = f.with_name("my-answer_2").unwrap().with_description("d");
    assert_eq!((f.name(), f.description()), ("my-answer_2", Some("d")));
    for bad in ["", "has space", "dot.ted", &"x".repeat(65)] {
        let e = JsonSchemaFormat::for_type::<Person>()
            .unwrap()
            .with_name(bad)
            .unwrap_err();
        assert_eq!(e.kind(), &SchemaErrorKind::InvalidName(bad.to_owned()));
        assert!(e.to_string().contains("^[a-zA-Z0-9_-]{1,64}$"), "{e}");
    }
    assert_eq!(
        oai::structured::sanitize_name("Wrapper<Vec<T>>"),
        "Wrapper_Vec_T__"
    );
    assert_eq!(oai::structured::sanitize_name(""), "response");
    assert_eq!(oai::structured::sanitize_name(&"é".repeat(100)).len(), 64);
    assert!(JsonSchemaFormat::from_schema("a b", json!({"type": "object"})).is_err());
}

// ---------------------------------------------------------------- rejections

#[test]
fn maps_values_tuples_and_non_object_roots_are_refused_with_the_path() {
    let cases: Vec<(SchemaError, &str, SchemaErrorKind)> = vec![
        (
            err_of(strict_schema_for::<WithMap>()),
            "scores",
            SchemaErrorKind::Map,
        ),
        (
            err_of(strict_schema_for::<WithValue>()),
            "extra",
            SchemaErrorKind::AnyValue,
        ),
        (
            err_of(strict_schema_for::<FlatMap>()),
            "",
            SchemaErrorKind::Map,
        ),
        (
            err_of(strict_schema_for::<Nested>()),
            "flat",
            SchemaErrorKind::Map,
        ),
        (
            err_of(strict_schema_for::<Order>()),
            "items[].meta",
            SchemaErrorKind::Map,
        ),
        (
            err_of(strict_schema_for::<WithTuple>()),
            "pair",
            SchemaErrorKind::Tuple,
        ),
        (
            err_of(strict_schema_for::<Vec<Person>>()),
            "",
            SchemaErrorKind::RootNotObject,
        ),
        (
            err_of(strict_schema_for::<String>()),
            "",
            SchemaErrorKind::RootNotObject,
        ),
        (
            err_of(strict_schema_for::<Role>()),
            "",
            SchemaErrorKind::RootNotObject,
        ),
        (
            err_of(strict_schema_for::<Shape>()),
            "",
            SchemaErrorKind::RootNotObject,
        ),
        (
            err_of(strict_schema_for::<UnitStruct>()),
            "",
            SchemaErrorKind::RootNotObject,
        ),
        (
            err_of(strict_schema_for::<Value>()),
            "",
            SchemaErrorKind::AnyValue,
        ),
    ];
    for (e, path, kind) in cases {
        assert_eq!((e.path(), e.kind()), (path, &kind), "{e}");
        let text = e.to_string();
        if path.is_empty() {
            assert!(text.starts_with("schema root:"), "{text}");
        } else {
            assert!(text.contains(&format!("`{path}`")), "{text}");
        }
    }
}

#[test]
fn hand_written_schemas_are_refused_where_strict_mode_cannot_follow() {
    let obj = |prop: Value| json!({"type": "object", "properties": {"f": prop}});
    let cases = [
        (
            obj(json!({"type": "object", "additionalProperties": true})),
            SchemaErrorKind::Map,
        ),
        (
            obj(json!({"type": "object", "patternProperties": {"^x": {"type": "string"}}})),
            SchemaErrorKind::Map,
        ),
        (obj(json!({})), SchemaErrorKind::AnyValue),
        (
            obj(json!({"description": "anything"})),
            SchemaErrorKind::AnyValue,
        ),
        (obj(json!(false)), SchemaErrorKind::NoValue),
        (
            obj(json!({"type": "array"})),
            SchemaErrorKind::ArrayWithoutItems,
        ),
        (
            obj(json!({"type": "array", "items": [{"type": "string"}]})),
            SchemaErrorKind::Tuple,
        ),
        (
            obj(json!({"type": "string", "not": {"enum": ["x"]}})),
            SchemaErrorKind::UnsupportedKeyword("not".into()),
        ),
        (
            obj(json!({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]})),
            SchemaErrorKind::OverlappingOneOf,
        ),
        (
            obj(json!({"$ref": "https://example.com/s.json"})),
            SchemaErrorKind::UnresolvedRef("https://example.com/s.json".into()),
        ),
        (
            obj(json!({"$ref": "#/$defs/Missing"})),
            SchemaErrorKind::UnresolvedRef("#/$defs/Missing".into()),
        ),
        (
            obj(json!({"type": "strin"})),
            SchemaErrorKind::Malformed("unknown type \"strin\"".into()),
        ),
    ];
    for (schema, kind) in cases {
        let e = make_strict(schema.clone()).unwrap_err();
        assert_eq!((e.path(), e.kind()), ("f", &kind), "{schema}: {e}");
    }
    let e = make_strict(json!({"anyOf": [{"type": "object"}, {"type": "null"}]})).unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::RootNotObject);
    let e = make_strict(json!(true)).unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::AnyValue);
    let e = make_strict(json!({"type": "object", "properties": {"a": {"allOf": [
        {"type": "string"}, {"maxLength": 2}
    ]}}}))
    .unwrap_err();
    assert_eq!(
        e.kind(),
        &SchemaErrorKind::UnsupportedKeyword("allOf".into())
    );
    assert_eq!(e.path(), "a");
    // A schema error is an invalid-input `oai::Error` too.
    let err: oai::Error = e.into();
    assert!(err.is_invalid_input(), "{err}");
}

#[test]
fn the_api_limits_are_enforced() {
    // 11 nested objects.
    let mut s = json!({"type": "string"});
    for _ in 0..11 {
        s = json!({"type": "object", "properties": {"x": s}});
    }
    let e = make_strict(s).unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::TooDeep { limit: 10 });
    assert_eq!(e.path(), "x.x.x.x.x.x.x.x.x.x");
    // 10 are fine.
    let mut s = json!({"type": "string"});
    for _ in 0..10 {
        s = json!({"type": "object", "properties": {"x": s}});
    }
    assert!(make_strict(s).is_ok());
    // 5001 properties.
    let props: serde_json::Map<String, Value> = (0..5001)
        .map(|i| (format!("p{i}"), json!({"type": "integer"})))
        .collect();
    let e = make_strict(json!({"type": "object", "properties": props})).unwrap_err();
    assert_eq!(
        e.kind(),
        &SchemaErrorKind::TooManyProperties { limit: 5000 }
    );
    // 1001 enum values.
    let values: Vec<Value> = (0..1001).map(Value::from).collect();
    let e =
        make_strict(json!({"type": "object", "properties": {"e": {"enum": values}}})).unwrap_err();
    assert_eq!(
        e.kind(),
        &SchemaErrorKind::TooManyEnumValues {
            count: 1001,
            limit: 1000
        }
    );
    // A large enum with long values.
    let values: Vec<Value> = (0..300).map(|i| Value::from(format!("{i:0>60}"))).collect();
    let e =
        make_strict(json!({"type": "object", "properties": {"e": {"enum": values}}})).unwrap_err();
    assert_eq!(
        e.kind(),
        &SchemaErrorKind::TooMuchText {
            count: 18_000,
            limit: 15_000
        }
    );
    // A definition used many times is inlined, within a budget.
    let mut defs = serde_json::Map::new();
    defs.insert("D0".into(), json!({"type": "string"}));
    for i in 1..40 {
        let prev = format!("#/$defs/D{}", i - 1);
        defs.insert(
            format!("D{i}"),
            json!({"anyOf": [{"$ref": prev}, {"type": "array", "items": {"$ref": prev}}]}),
        );
    }
    let e = make_strict(
        json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/D39"}},
        "$defs": defs}),
    )
    .unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::TooLarge);
}

#[test]
fn hostile_schemas_end_in_an_error_not_a_stack_overflow() {
    // A chain of 2000 definitions, each inlined into the previous one.
    let mut defs = serde_json::Map::new();
    for i in 0..2000 {
        defs.insert(
            format!("D{i}"),
            json!({"$ref": format!("#/$defs/D{}", i + 1)}),
        );
    }
    defs.insert("D2000".into(), json!({"type": "string"}));
    let e = make_strict(
        json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/D0"}},
        "$defs": defs}),
    )
    .unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::TooLarge);
    // 200 nested arrays (deeper than serde_json's parser allows).
    let mut s = json!({"type": "string"});
    for _ in 0..200 {
        s = json!({"type": "array", "items": s});
    }
    let e = make_strict(json!({"type": "object", "properties": {"x": s}})).unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::TooLarge);
    assert!(e.path().starts_with("x[][]"), "{}", e.path());
    // 200 nested single-schema allOfs.
    let mut s = json!({"type": "string"});
    for _ in 0..200 {
        s = json!({"allOf": [s]});
    }
    let e = make_strict(json!({"type": "object", "properties": {"x": s}})).unwrap_err();
    assert_eq!(e.kind(), &SchemaErrorKind::TooLarge);
    // Below the bound, nesting is fine.
    let mut s = json!({"type": "string"});
    for _ in 0..100 {
        s = json!({"type": "array", "items": s});
    }
    assert!(make_strict(json!({"type": "object", "properties": {"x": s}})).is_ok());
}

// ---------------------------------------------------------------- make_strict

#[test]
fn hand_written_schemas_are_made_strict() {
    let s = make_strict(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Query",
        "type": "object",
        "properties": {
            "table": {"type": "string", "enum": ["orders", "users"]},
            "limit": {"type": "integer", "default": 10, "format": "int32", "minimum": 1},
            "kind": {"const": "select"},
            "when": {"type": "string", "format": "date-time"},
            "filter": {"allOf": [{"$ref": "#/definitions/Filter"}], "description": "A filter"},
            "value": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "tagged": {"oneOf": [
                {"type": "object", "properties": {"t": {"const": "a"}, "x": {"type": "string"}}, "required": ["t", "x"]},
                {"type": "object", "properties": {"t": {"const": "b"}, "x": {"type": "string"}}, "required": ["t", "x"]}
            ]}
        },
        "required": ["table"],
        "definitions": {
            "Filter": {"properties": {"column": {"type": "string"}, "op": {"enum": ["=", "<"]}}}
        }
    }))
    .unwrap();
    assert_strict_shape(&s);
    assert!(s.get("$schema").is_none() && s.get("definitions").is_none());
    assert_eq!(s["title"], "Query");
    let p = &s["properties"];
    assert_eq!(
        p["table"],
        json!({"type": "string", "enum": ["orders", "users"]})
    );
    assert_eq!(
        p["limit"],
        json!({"type": ["integer", "null"], "minimum": 1})
    );
    assert_eq!(p["kind"], json!({"enum": ["select", null]}));
    assert_eq!(
        p["when"],
        json!({"type": ["string", "null"], "format": "date-time"})
    );
    assert_eq!(p["filter"]["description"], "A filter");
    assert_eq!(p["filter"]["type"], json!(["object", "null"]));
    assert_eq!(
        p["filter"]["properties"]["op"],
        json!({"enum": ["=", "<", null]})
    );
    assert_eq!(
        p["value"]["anyOf"].as_array().unwrap().len(),
        3,
        "{}",
        p["value"]
    );
    assert_eq!(p["tagged"]["anyOf"].as_array().unwrap().len(), 3);
    assert!(valid(
        &s,
        &s,
        &json!({"table": "orders", "limit": null, "kind": null, "when": null,
        "filter": null, "value": 2.5, "tagged": {"t": "b", "x": "y"}})
    ));
    assert!(
        !valid(&s, &s, &json!({"table": "orders"})),
        "all properties are required"
    );
}

fn table() -> Vec<Value> {
    vec![
        strict_schema_for::<Person>().unwrap(),
        strict_schema_for::<Tree>().unwrap(),
        strict_schema_for::<Node>().unwrap(),
        strict_schema_for::<Calc>().unwrap(),
        strict_schema_for::<Wrapper<Vec<Option<Address>>>>().unwrap(),
        json!({"type": "object"}),
        json!({"type": "object", "properties": {"a": {"type": "string", "const": "x"}}}),
        json!({"properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {
            "A": {"type": "object", "properties": {"next": {"$ref": "#/$defs/A"}}}}}),
        json!({"$ref": "#/$defs/Root", "$defs": {"Root": {"type": "object",
            "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Root"}}}}}}),
        json!({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"enum": [1, 2]}]}}}),
    ]
}

#[test]
fn strict_is_a_fixed_point_over_a_table() {
    for schema in table() {
        let once = make_strict(schema.clone()).unwrap();
        assert_strict_shape(&once);
        let twice = make_strict(once.clone()).unwrap();
        assert_eq!(once, twice, "from {schema}");
    }
    // Deriving is already strict.
    let derived = strict_schema_for::<Person>().unwrap();
    assert_eq!(make_strict(derived.clone()).unwrap(), derived);
}

#[test]
fn the_validator_used_here_can_say_no() {
    let s = strict_schema_for::<Person>().unwrap();
    let good = serde_json::to_value(person()).unwrap();
    assert!(valid(&s, &s, &good));
    let mut extra = good.clone();
    extra["nickname"] = json!("A");
    assert!(!valid(&s, &s, &extra));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("email");
    assert!(!valid(&s, &s, &missing));
    let mut wrong = good.clone();
    wrong["age"] = json!(300);
    assert!(!valid(&s, &s, &wrong));
    // `visits` is `#[serde(default)] u32`: null is refused by the schema, as by serde.
    let mut null_visits = good;
    null_visits["visits"] = Value::Null;
    assert!(!valid(&s, &s, &null_visits));
    assert!(serde_json::from_value::<Person>(null_visits).is_err());
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "string"})),
        Just(json!({"type": "integer", "minimum": 0})),
        Just(json!({"type": "number", "format": "double"})),
        Just(json!({"type": "boolean", "default": false})),
        Just(json!({"type": ["string", "null"]})),
        Just(json!({"enum": ["a", "b"]})),
        Just(json!({"type": "string", "enum": ["x", "y", "z"]})),
        Just(json!({"const": "k"})),
        Just(json!({"type": "null"})),
    ]
}

fn schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::btree_map("[a-e]{1,3}", inner.clone(), 0..5).prop_flat_map(
                |props| {
                    let names: Vec<String> = props.keys().cloned().collect();
                    proptest::sample::subsequence(names.clone(), 0..=names.len()).prop_map(
                        move |required| json!({"type": "object", "properties": props, "required": required}),
                    )
                }
            ),
            inner.clone().prop_map(|items| json!({"type": "array", "items": items, "minItems": 1})),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|b| json!({"anyOf": b})),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(|b| json!({"oneOf": b})),
            inner.prop_map(|s| json!({"allOf": [s], "description": "d"})),
        ]
    })
}

proptest! {
    #[test]
    fn make_strict_is_idempotent(body in schema()) {
        let root = json!({"type": "object", "properties": {"root": body}, "required": []});
        if let Ok(once) = make_strict(root) {
            assert_strict_shape(&once);
            prop_assert_eq!(make_strict(once.clone()).unwrap(), once);
        }
    }

    #[test]
    fn the_strict_schema_accepts_what_serde_writes(
        name in ".{0,8}",
        age in any::<u8>(),
        email in proptest::option::of("[a-z]{1,5}"),
        zip in proptest::option::of("[0-9]{3}"),
        home in any::<bool>(),
        visits in any::<u32>(),
        role in 0..3u8,
        radius in -1e6..1e6f64,
        int in any::<i64>(),
        event in 0..3u8,
        tags in proptest::collection::vec(proptest::option::of(0..3u8), 0..4),
    ) {
        let roles = [Role::Admin, Role::User, Role::Guest];
        let address = Address { street: "s".into(), city: "c".into(), zip };
        let p = Person {
            name,
            age,
            email,
            addresses: vec![address.clone(); usize::from(age % 3)],
            home: home.then_some(address),
            visits,
            role: roles[usize::from(role)].clone(),
            shape: if radius > 0.0 { Shape::Circle { radius } } else { Shape::Rect { w: radius, h: 1.0 } },
            value: if int % 2 == 0 { Scalar::Int(int) } else { Scalar::Text(int.to_string()) },
            event: match event { 0 => Event::Start, 1 => Event::Named("n".into()), _ => Event::Move { x: 1, y: 2 } },
            adjacent: if age % 2 == 0 { Adjacent::A("a".into()) } else { Adjacent::B { n: i32::from(age) } },
            tags: tags.into_iter().map(|t| t.map(|i| roles[usize::from(i)].clone())).collect(),
        };
        let s = strict_schema_for::<Person>().unwrap();
        let value = serde_json::to_value(&p).unwrap();
        prop_assert!(valid(&s, &s, &value), "{}", value);
        prop_assert_eq!(serde_json::from_value::<Person>(value).unwrap(), p);
    }
}

// ---------------------------------------------------------------- chat completions

fn client(server: &MockServer) -> Client {
    Client::new(
        Config::builder()
            .api_key("sk-structured")
            .base_url(format!("{}/v1", server.uri()))
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn completion(content: Option<&str>, refusal: Option<&str>, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{
            "index": 0,
            "finish_reason": finish_reason,
            "logprobs": null,
            "message": {"role": "assistant", "content": content, "refusal": refusal}
        }]
    })
}

fn chat_answer(body: Value) -> CreateChatCompletionResponse {
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn chat_round_trip_sends_the_strict_schema_and_parses_the_answer() {
    let server = MockServer::start().await;
    let expected = person();
    let content = serde_json::to_string(&expected).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            Some(&content),
            None,
            "stop",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let request = Chat::new(Message::user("Who is Ada?"), "gpt-4o-mini")
        .response_format(oai::structured::response_format::<Person>().unwrap())
        .build()
        .unwrap();
    let answer = client(&server)
        .chat()
        .completions()
        .create(request)
        .await
        .unwrap();
    assert_eq!(answer.parse::<Person>().unwrap(), expected);
    assert_eq!(answer.choices[0].parse::<Person>().unwrap(), expected);

    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["response_format"],
        json!({
            "type": "json_schema",
            "json_schema": {
                "name": "Person",
                "strict": true,
                "schema": strict_schema_for::<Person>().unwrap(),
            }
        })
    );
}

#[test]
fn chat_answers_that_are_not_a_value_give_the_right_error() {
    // Refusal.
    let e = chat_answer(completion(None, Some("I can't help with that."), "stop"))
        .parse::<Person>()
        .unwrap_err();
    assert_eq!(e.refusal(), Some("I can't help with that."));
    assert!(
        e.to_string().contains("refused: I can't help with that."),
        "{e}"
    );
    // Not JSON for the type.
    let e = chat_answer(completion(Some("{\"name\": 3}"), None, "stop"))
        .parse::<Person>()
        .unwrap_err();
    assert!(
        matches!(&e, ParseError::InvalidJson { text, .. } if text == "{\"name\": 3}"),
        "{e:?}"
    );
    assert_eq!(e.raw_text(), Some("{\"name\": 3}"));
    assert!(std::error::Error::source(&e).is_some());
    // Cut by the token limit: the partial text is kept.
    let e = chat_answer(completion(Some("{\"name\": \"Ad"), None, "length"))
        .parse::<Person>()
        .unwrap_err();
    assert!(e.is_length(), "{e:?}");
    assert_eq!(e.raw_text(), Some("{\"name\": \"Ad"));
    assert!(e.to_string().contains("token limit"), "{e}");
    // Content filter.
    let e = chat_answer(completion(None, None, "content_filter"))
        .parse::<Person>()
        .unwrap_err();
    assert!(matches!(
        e,
        ParseError::Incomplete {
            reason: IncompleteReason::ContentFilter,
            partial: None
        }
    ));
    // A tool call instead of text.
    let e = chat_answer(completion(None, None, "tool_calls"))
        .parse::<Person>()
        .unwrap_err();
    assert!(
        matches!(&e, ParseError::NoContent { finish_reason: Some(r) } if r == "tool_calls"),
        "{e:?}"
    );
    // An empty refusal is no refusal.
    let answer = completion(Some(r#"{"value": 1, "children": []}"#), Some(""), "stop");
    assert_eq!(
        chat_answer(answer).parse::<Node>().unwrap(),
        Node {
            value: 1,
            children: vec![]
        }
    );
    // No choices.
    let mut body = completion(None, None, "stop");
    body["choices"] = json!([]);
    let e = chat_answer(body).parse::<Person>().unwrap_err();
    assert!(matches!(e, ParseError::NoChoice { index: 0 }));
}

// ---------------------------------------------------------------- Responses API

fn response(status: &str, output: Value, extra: Value) -> Value {
    let mut body = json!({
        "id": "resp_1",
        "object": "response",
        "created_at": 1.0,
        "status": status,
        "model": "gpt-4o-mini",
        "output": output,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "metadata": null,
        "temperature": null,
        "top_p": null,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": true
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn message(parts: Value, phase: Option<&str>) -> Value {
    let mut m = json!({
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": parts
    });
    if let Some(p) = phase {
        m["phase"] = json!(p);
    }
    m
}

fn text(t: &str) -> Value {
    json!({"type": "output_text", "text": t, "annotations": [], "logprobs": []})
}

fn responses_answer(body: Value) -> Response {
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn responses_round_trip_sends_the_strict_schema_and_parses_the_answer() {
    let server = MockServer::start().await;
    let expected = Tree {
        name: "t".into(),
        root: Node {
            value: 1,
            children: vec![Node {
                value: 2,
                children: vec![],
            }],
        },
    };
    let content = serde_json::to_string(&expected).unwrap();
    let output = json!([
        {"type": "reasoning", "id": "rs_1", "summary": []},
        message(json!([text("thinking aloud")]), Some("commentary")),
        message(json!([text(&content)]), Some("final_answer")),
    ]);
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(response(
            "completed",
            output,
            json!({}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let format = JsonSchemaFormat::for_type::<Tree>()
        .unwrap()
        .with_name("tree")
        .unwrap();
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Make a tree")
        .text(format)
        .build()
        .unwrap();
    let answer = client(&server).responses().create(request).await.unwrap();
    assert_eq!(answer.parse::<Tree>().unwrap(), expected);

    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["text"],
        json!({"format": {
            "type": "json_schema",
            "name": "tree",
            "strict": true,
            "schema": strict_schema_for::<Tree>().unwrap(),
        }})
    );
    // The one-call form makes the same format under the type's name.
    let param = oai::structured::text_param::<Tree>().unwrap();
    assert_eq!(
        serde_json::to_value(&param).unwrap()["format"]["name"],
        "Tree"
    );
    let format = oai::structured::text_format::<Tree>().unwrap();
    assert_eq!(
        serde_json::to_value(&format).unwrap(),
        serde_json::to_value(param.format.unwrap()).unwrap()
    );
}

#[test]
fn responses_answers_that_are_not_a_value_give_the_right_error() {
    let refusal = json!([{"type": "refusal", "refusal": "No."}]);
    let e = responses_answer(response(
        "completed",
        json!([message(refusal, None)]),
        json!({}),
    ))
    .parse::<Tree>()
    .unwrap_err();
    assert_eq!(e.refusal(), Some("No."));

    let e = responses_answer(response(
        "completed",
        json!([message(json!([text("[1, 2]")]), None)]),
        json!({}),
    ))
    .parse::<Tree>()
    .unwrap_err();
    assert_eq!(e.raw_text(), Some("[1, 2]"));

    let e = responses_answer(response(
        "incomplete",
        json!([message(json!([text("{\"na")]), None)]),
        json!({"incomplete_details": {"reason": "max_output_tokens"}}),
    ))
    .parse::<Tree>()
    .unwrap_err();
    assert!(e.is_length(), "{e:?}");
    assert_eq!(e.raw_text(), Some("{\"na"));

    let e = responses_answer(response(
        "incomplete",
        json!([]),
        json!({"incomplete_details": {"reason": "content_filter"}}),
    ))
    .parse::<Tree>()
    .unwrap_err();
    assert!(matches!(
        e,
        ParseError::Incomplete {
            reason: IncompleteReason::ContentFilter,
            partial: None
        }
    ));

    let e = responses_answer(response(
        "failed",
        json!([]),
        json!({"error": {"code": "server_error", "message": "boom"}}),
    ))
    .parse::<Tree>()
    .unwrap_err();
    assert!(
        matches!(&e, ParseError::NotCompleted { status, message: Some(m) } if status == "failed" && m == "boom"),
        "{e:?}"
    );
    assert!(e.to_string().contains("boom"));

    let e = responses_answer(response("in_progress", json!([]), json!({})))
        .parse::<Tree>()
        .unwrap_err();
    assert!(
        matches!(&e, ParseError::NotCompleted { status, message: None } if status == "in_progress")
    );

    let e = responses_answer(response("completed", json!([]), json!({})))
        .parse::<Tree>()
        .unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::NoContent {
                finish_reason: None
            }
        ),
        "{e:?}"
    );
}
