//! Operations of the spec: what each one sends and answers, and where it sits
//! in the facade's tree of resource handles.
//!
//! [`prepare`] also rewrites a copy of the spec so that every request body,
//! parameter set and JSON response has a component schema of its own
//! (synthetic components are marked `x-oai-synthetic`), which lets the type
//! model treat them like any other component.

use std::collections::{BTreeMap, BTreeSet};

use super::areas;
use super::knowledge;
use super::names::{pascal, snake};
use super::spec::{Node, ref_name};
use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Multipart,
    /// Raw bytes of this content type.
    Raw(String),
}

#[derive(Debug, Clone)]
pub struct Body {
    pub kind: BodyKind,
    /// Component (wire name) of the body, for JSON and multipart.
    pub schema: Option<String>,
    /// Method name suffix when the operation takes several kinds of body.
    pub suffix: &'static str,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub wire: String,
    /// Field name in the parameter struct (or argument name for path params).
    pub field: String,
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Component (wire name) of the JSON answer.
    pub json: Option<String>,
    /// Component (wire name) of the events of a `text/event-stream` answer.
    pub stream: Option<String>,
    /// Content types of a binary answer.
    pub binary: Vec<String>,
    /// The success answer has no body.
    pub empty: bool,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub id: String,
    pub method: String,
    /// The path template, without `?beta=true`.
    pub path: String,
    pub beta: bool,
    pub area: &'static str,
    pub deprecated: bool,
    pub params: Vec<Param>,
    /// Component (wire name) holding the query and header parameters.
    pub params_schema: Option<String>,
    pub bodies: Vec<Body>,
    pub answer: Answer,
    /// Handle path from the client, like `["vector_stores", "files"]`.
    pub resource: Vec<String>,
    /// Method name on the handle.
    pub name: String,
    /// Whether the answer is a cursor-paginated list.
    pub paginated: bool,
    /// Terminal events of the stream (empty: `[DONE]`).
    pub terminal_events: Vec<&'static str>,
    /// The API reference page (`x-oaiMeta` group and path), when the spec names one.
    pub reference: Option<String>,
}

impl Op {
    pub fn path_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.location == Location::Path)
    }
    pub fn other_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.location != Location::Path)
    }
}

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

fn set(map: &mut Node, key: &str, value: Node) {
    if let Node::Map(m) = map {
        if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            m.push((key.to_owned(), value));
        }
    }
}

fn get_mut<'n>(map: &'n mut Node, key: &str) -> Option<&'n mut Node> {
    match map {
        Node::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn reference(wire: &str) -> Node {
    Node::Map(vec![(
        "$ref".into(),
        Node::Str(format!("#/components/schemas/{wire}")),
    )])
}

/// The type name stem of an operation: `beta_createResponse` -> `CreateResponse`.
fn stem(id: &str) -> String {
    pascal(id.strip_prefix("beta_").unwrap_or(id))
}

/// Rewrites a copy of `spec` (synthetic components for inline bodies, answers
/// and parameters) and lists its operations.
pub fn prepare(spec: &Node) -> Result<(Node, Vec<Op>)> {
    let mut out = spec.clone();
    let mut synthetic: BTreeMap<String, Node> = BTreeMap::new();
    let existing: BTreeSet<String> = spec
        .at("components")
        .at("schemas")
        .map()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    // Adds a synthetic schema named `wire` (or `Beta<wire>` for a beta twin
    // that differs from its plain twin) and returns the name used.
    let add = |wire: String,
               beta: bool,
               schema: Node,
               synthetic: &mut BTreeMap<String, Node>|
     -> Result<String> {
        let mut schema = schema;
        set(&mut schema, "x-oai-synthetic", Node::Bool(true));
        let mut candidates = vec![wire.clone()];
        if beta {
            candidates.push(format!("Beta{wire}"));
        }
        for name in candidates {
            if existing.contains(&name) {
                return Err(format!(
                    "synthetic schema name {name} clashes with a component"
                ));
            }
            match synthetic.get(&name) {
                Some(prev) if prev.to_json() != schema.to_json() => continue,
                _ => {
                    synthetic.insert(name.clone(), schema);
                    return Ok(name);
                }
            }
        }
        Err(format!("two different synthetic schemas named {wire}"))
    };

    let mut ops = Vec::new();
    let paths: Vec<String> = spec
        .at("paths")
        .map()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    for (raw_path, item) in spec.at("paths").map() {
        for (method, op) in item.map() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let id = op
                .at("operationId")
                .str()
                .ok_or_else(|| format!("{method} {raw_path} has no operationId"))?
                .to_owned();
            let (path, beta) = match raw_path.strip_suffix("?beta=true") {
                Some(p) => (p.to_owned(), true),
                None => (raw_path.clone(), false),
            };
            let tags: Vec<&str> = op.at("tags").seq().iter().filter_map(Node::str).collect();
            let area = areas::of_operation(&tags, raw_path);
            let stem = stem(&id);

            // Parameters.
            let mut params = Vec::new();
            let mut props = Vec::new();
            let mut required = Vec::new();
            for p in item
                .at("parameters")
                .seq()
                .iter()
                .chain(op.at("parameters").seq())
            {
                let wire = p.at("name").str().unwrap_or_default().to_owned();
                let location = match p.at("in").str() {
                    Some("path") => Location::Path,
                    Some("query") => Location::Query,
                    Some("header") => Location::Header,
                    other => {
                        return Err(format!("{id}: parameter {wire} in {other:?}"));
                    }
                };
                let schema = p.at("schema");
                let req = p.at("required").bool() == Some(true) || location == Location::Path;
                let field = snake(wire.trim_end_matches("[]"));
                if location != Location::Path {
                    let mut s = schema.clone();
                    if let Some(d) = p.get("deprecated") {
                        set(&mut s, "deprecated", d.clone());
                    }
                    props.push((wire.clone(), s));
                    if req {
                        required.push(Node::Str(wire.clone()));
                    }
                }
                params.push(Param {
                    wire,
                    field,
                    location,
                });
            }
            let params_schema = if props.is_empty() {
                None
            } else {
                let mut schema = vec![
                    ("type".to_owned(), Node::Str("object".into())),
                    ("properties".to_owned(), Node::Map(props)),
                ];
                if !required.is_empty() {
                    schema.push(("required".into(), Node::Seq(required)));
                }
                Some(add(
                    format!("{stem}Params"),
                    beta,
                    Node::Map(schema),
                    &mut synthetic,
                )?)
            };

            // Bodies.
            let mut bodies = Vec::new();
            let content = op.at("requestBody").at("content").map();
            for (i, (ct, c)) in content.iter().enumerate() {
                let kind = match ct.as_str() {
                    "application/json" => BodyKind::Json,
                    "multipart/form-data" => BodyKind::Multipart,
                    other => BodyKind::Raw(other.to_owned()),
                };
                let schema = match (&kind, c.at("schema").at("$ref").str().and_then(ref_name)) {
                    (BodyKind::Raw(_), _) => None,
                    (_, Some(r)) => Some(r.to_owned()),
                    (_, None) => Some(add(
                        format!("{stem}Request"),
                        beta,
                        c.at("schema").clone(),
                        &mut synthetic,
                    )?),
                };
                let suffix = if i == 0 {
                    ""
                } else {
                    match kind {
                        BodyKind::Json => "_json",
                        BodyKind::Multipart => "_multipart",
                        BodyKind::Raw(_) => "_raw",
                    }
                };
                bodies.push(Body {
                    kind,
                    schema,
                    suffix,
                });
            }

            // Answer.
            let mut answer = Answer::default();
            let ok: Vec<&Node> = op
                .at("responses")
                .map()
                .iter()
                .filter(|(code, _)| code.starts_with('2'))
                .map(|(_, r)| r)
                .collect();
            for r in &ok {
                if r.at("content").map().is_empty() {
                    match knowledge::get()
                        .binary_answers
                        .iter()
                        .find(|b| b.operation == id)
                    {
                        Some(b) => answer.binary.push(b.media_type.clone()),
                        None => answer.empty = true,
                    }
                }
                for (ct, c) in r.at("content").map() {
                    let schema = c.at("schema");
                    let is_string = schema.at("type").str() == Some("string");
                    match ct.as_str() {
                        "application/json" if is_string => {
                            answer.binary.push(ct.clone());
                        }
                        "application/json" => {
                            answer.json = Some(match schema.at("$ref").str().and_then(ref_name) {
                                Some(r) => r.to_owned(),
                                None => add(
                                    format!("{stem}Response"),
                                    beta,
                                    schema.clone(),
                                    &mut synthetic,
                                )?,
                            });
                        }
                        "text/event-stream" => {
                            answer.stream = schema
                                .at("$ref")
                                .str()
                                .and_then(ref_name)
                                .map(str::to_owned);
                            if answer.stream.is_none() {
                                return Err(format!("{id}: inline event-stream schema"));
                            }
                        }
                        other => answer.binary.push(other.to_owned()),
                    }
                }
            }
            let terminal_events = knowledge::get()
                .terminal_events
                .iter()
                .find(|t| t.operation == id.strip_prefix("beta_").unwrap_or(&id))
                .map(|t| t.events.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let paginated = method == "get"
                && params.iter().any(|p| p.wire == "after" || p.wire == "page")
                && answer
                    .json
                    .as_ref()
                    .is_some_and(|r| has_data_array(spec, &synthetic, r));

            ops.push(Op {
                id,
                method: method.clone(),
                path,
                beta,
                area,
                deprecated: op.at("deprecated").bool() == Some(true),
                params,
                params_schema,
                bodies,
                answer,
                resource: Vec::new(),
                name: String::new(),
                paginated,
                terminal_events,
                // The reference's page is the `x-oaiMeta` path, else the
                // operation id, under the group.
                reference: op
                    .at("x-oaiMeta")
                    .at("group")
                    .str()
                    .filter(|g| !g.is_empty())
                    .map(|group| {
                        // Some `path`s run on into prose: the first word is the page.
                        let page = op
                            .at("x-oaiMeta")
                            .at("path")
                            .str()
                            .and_then(|p| p.split_whitespace().next())
                            .filter(|p| {
                                p.bytes().all(|b| {
                                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/')
                                })
                            })
                            .unwrap_or(op.at("operationId").str().unwrap_or_default());
                        format!("https://platform.openai.com/docs/api-reference/{group}/{page}")
                    }),
            });
        }
    }
    name_ops(spec, &synthetic, &paths, &mut ops)?;
    for s in &knowledge::get().streamed_like {
        let (id, like) = (s.operation.as_str(), s.like.as_str());
        for beta in [false, true] {
            let twin = |o: &&Op, name: &str| {
                o.beta == beta && o.id.strip_prefix("beta_").unwrap_or(&o.id) == name
            };
            let events = ops
                .iter()
                .find(|o| twin(o, like))
                .and_then(|o| o.answer.stream.clone());
            if let Some(op) = ops.iter_mut().find(|o| twin(&&**o, id))
                && op.answer.stream.is_none()
            {
                op.answer.stream =
                    Some(events.ok_or_else(|| format!("{like} has no event stream"))?);
            }
        }
    }

    // Write the synthetic components and point the operations at them.
    if let Some(schemas) = get_mut(&mut out, "components").and_then(|c| get_mut(c, "schemas")) {
        for (wire, schema) in &synthetic {
            set(schemas, wire, schema.clone());
        }
    }
    if let Some(paths) = get_mut(&mut out, "paths") {
        let Node::Map(items) = paths else {
            return Err("paths is not a map".into());
        };
        for (raw_path, item) in items.iter_mut() {
            let Node::Map(methods) = item else { continue };
            for (method, op_node) in methods.iter_mut() {
                let Some(op) = ops.iter().find(|o| {
                    o.method == *method
                        && (o.path == *raw_path
                            || (o.beta && format!("{}?beta=true", o.path) == *raw_path))
                }) else {
                    continue;
                };
                let mut refs = Vec::new();
                if let Some(p) = &op.params_schema {
                    refs.push(reference(p));
                }
                for b in &op.bodies {
                    if let Some(s) = &b.schema {
                        refs.push(reference(s));
                    }
                }
                if let Some(j) = &op.answer.json {
                    refs.push(reference(j));
                }
                // Where the area pass finds the synthetic schemas.
                set(op_node, "x-oai-uses", Node::Seq(refs));
            }
        }
    }
    Ok((out, ops))
}

fn has_data_array(spec: &Node, synthetic: &BTreeMap<String, Node>, wire: &str) -> bool {
    let s = synthetic
        .get(wire)
        .unwrap_or_else(|| spec.at("components").at("schemas").at(wire));
    s.at("properties").at("data").at("type").str() == Some("array")
}

/// Gives every operation its handle path and method name.
fn name_ops(
    spec: &Node,
    synthetic: &BTreeMap<String, Node>,
    paths: &[String],
    ops: &mut [Op],
) -> Result {
    let plain_paths: BTreeSet<String> = paths
        .iter()
        .map(|p| p.trim_end_matches("?beta=true").to_owned())
        .collect();
    let index: Vec<(String, String, bool)> = ops
        .iter()
        .map(|o| {
            (
                o.path.clone(),
                o.method.clone(),
                o.answer
                    .json
                    .as_ref()
                    .is_some_and(|r| has_data_array(spec, synthetic, r)),
            )
        })
        .collect();
    for op in ops.iter_mut() {
        let segs: Vec<&str> = op.path.trim_start_matches('/').split('/').collect();
        let is_param = |s: &str| s.starts_with('{');
        let mut resource: Vec<String> = Vec::new();
        if op.beta {
            resource.push("beta".into());
        }
        let mut rest: &[&str] = &segs;
        match segs.first() {
            Some(&"organization") => {
                resource.push("admin".into());
                rest = &segs[1..];
            }
            Some(&"projects") => resource.push("admin".into()),
            _ => {}
        }
        let literals: Vec<String> = rest
            .iter()
            .filter(|s| !is_param(s))
            .map(|s| snake(s))
            .collect();
        let last = rest.last().copied().unwrap_or("");
        let has_children = plain_paths
            .iter()
            .any(|p| p.starts_with(&format!("{}/", op.path)));
        let same_path = |m: &str| index.iter().find(|(p, mm, _)| *p == op.path && mm == m);
        let name;
        if is_param(last) {
            resource.extend(literals);
            name = match op.method.as_str() {
                "get" => "retrieve",
                "post" => "update",
                _ => "delete",
            }
            .to_owned();
        } else {
            let prev = rest.len().checked_sub(2).map(|i| rest[i]);
            let parent = op.path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let action = (op.method == "post"
                && !has_children
                && same_path("get").is_none()
                && (prev.is_some_and(is_param) || plain_paths.contains(parent)))
                || (op.method == "get" && last == "content");
            if action {
                resource.extend(literals[..literals.len().saturating_sub(1)].iter().cloned());
                name = snake(last);
            } else {
                resource.extend(literals);
                name = match op.method.as_str() {
                    "get"
                        if index
                            .iter()
                            .any(|(p, m, list)| *p == op.path && m == "get" && *list) =>
                    {
                        "list"
                    }
                    "get" => "retrieve",
                    "post" if same_path("get").is_some_and(|(_, _, list)| !list) => "update",
                    "post" => "create",
                    _ => "delete",
                }
                .to_owned();
            }
        }
        op.resource = resource;
        op.name = name;
        if let Some(o) = knowledge::get()
            .operation_names
            .iter()
            .find(|o| o.operation == op.id)
        {
            if !o.resource.is_empty() {
                op.resource = o.resource.clone();
            }
            op.name = o.method.clone();
        }
    }
    // Every (handle, method) must be unique.
    let mut seen: BTreeMap<(Vec<String>, String), String> = BTreeMap::new();
    let mut clashes = Vec::new();
    for op in ops.iter() {
        if let Some(other) = seen.insert((op.resource.clone(), op.name.clone()), op.id.clone()) {
            clashes.push(format!(
                "{} and {} are both {}.{}",
                other,
                op.id,
                op.resource.join("."),
                op.name
            ));
        }
    }
    if clashes.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "operation names clash (add to `operation_names` in xtask/knowledge.yaml):\n  {}",
            clashes.join("\n  ")
        ))
    }
}
