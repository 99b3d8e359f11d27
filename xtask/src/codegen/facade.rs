//! The facade's resource handles and one method per operation, for `oai`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::emit::{HEADER, ty_text};
use super::knowledge;
use super::model::{Kind, Model, Ty};
use super::names::pascal;
use super::ops::{BodyKind, Location, Op};
use super::validate::unalias;
use crate::Result;

/// A handle: its path from the client, the operations on it, its children.
#[derive(Default)]
struct Node {
    ops: Vec<usize>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn areas(&self, ops: &[Op], out: &mut BTreeSet<&'static str>) {
        for i in &self.ops {
            out.insert(ops[*i].area);
        }
        for c in self.children.values() {
            c.areas(ops, out);
        }
    }
}

fn cfg(areas: &BTreeSet<&'static str>) -> String {
    let list: Vec<String> = areas.iter().map(|a| format!("feature = {a:?}")).collect();
    if list.len() == 1 {
        format!("#[cfg({})]", list[0])
    } else {
        format!("#[cfg(any({}))]", list.join(", "))
    }
}

fn handle_name(path: &[String]) -> String {
    path.iter().map(|s| pascal(s)).collect()
}

fn ty_of(model: &Model<'_>, wire: &str) -> Result<String> {
    model
        .components
        .get(wire)
        .map(|n| format!("oai_types::{n}"))
        .ok_or_else(|| format!("no type for schema {wire}"))
}

/// `oai_types::`-qualified text of a type.
pub(super) fn qualified(t: &Ty) -> String {
    match t {
        Ty::Named(n) => format!("oai_types::{n}"),
        Ty::Vec(i) => format!("Vec<{}>", qualified(i)),
        Ty::Map(i) => format!("std::collections::BTreeMap<String, {}>", qualified(i)),
        Ty::Const(n) => format!("oai_types::consts::{n}"),
        Ty::File => "oai_types::InputFile".into(),
        Ty::Extern(n) => format!("oai_types::{n}"),
        other => ty_text(other),
    }
}

/// The fields of the struct that component `wire` is (through aliases).
pub(super) fn struct_fields<'m>(
    model: &'m Model<'_>,
    wire: &str,
) -> Option<&'m [super::model::Field]> {
    let name = model.components.get(wire)?;
    let Ty::Named(n) = unalias(model, &Ty::Named(name.clone())) else {
        return None;
    };
    match model.types.get(&n).map(|t| &t.kind) {
        Some(Kind::Struct(fields)) => Some(fields),
        _ => None,
    }
}

/// The item type of a paginated answer's `data`.
pub(super) fn item_type(model: &Model<'_>, wire: &str) -> Option<String> {
    let f = struct_fields(model, wire)?
        .iter()
        .find(|f| f.wire == "data")?;
    match unalias(model, &f.ty) {
        Ty::Vec(i) => Some(qualified(&i)),
        _ => None,
    }
}

/// Whether the struct of schema `wire` has a field `field`.
pub(super) fn has_field(model: &Model<'_>, wire: &str, field: &str) -> bool {
    struct_fields(model, wire).is_some_and(|fs| fs.iter().any(|f| f.wire == field))
}

/// Whether the type has a `stream: Option<bool>` field.
pub(super) fn stream_field(model: &Model<'_>, wire: &str) -> bool {
    struct_fields(model, wire).is_some_and(|fs| {
        fs.iter()
            .any(|f| f.wire == "stream" && f.option && unalias(model, &f.ty) == Ty::Bool)
    })
}

/// Statements adding the fields of multipart body `request` to `form`.
fn form_code(model: &Model<'_>, wire: &str) -> Result<String> {
    let fields = struct_fields(model, wire)
        .ok_or_else(|| format!("multipart body {wire} is not a struct"))?;
    let mut s = String::new();
    for f in fields {
        let w = &f.wire;
        let (bind, val) = if f.option {
            (
                format!("if let Some(v) = &request.{} ", f.name),
                "v".to_owned(),
            )
        } else {
            (String::new(), format!("&request.{}", f.name))
        };
        let code = match unalias(model, &f.ty) {
            Ty::File => format!("form = support::file(form, {w:?}, {val});"),
            Ty::Vec(i) if *i == Ty::File => format!("form = support::files(form, {w:?}, {val});"),
            Ty::Named(u) => match model.types.get(&u).map(|t| &t.kind) {
                Some(Kind::Untagged(vs))
                    if vs.iter().any(|v| {
                        matches!(unalias(model, &v.ty), Ty::File)
                            || unalias(model, &v.ty) == Ty::Vec(Box::new(Ty::File))
                    }) =>
                {
                    let mut arms = String::new();
                    for v in vs {
                        let arm = match unalias(model, &v.ty) {
                            Ty::File => format!("support::file(form, {w:?}, x)"),
                            Ty::Vec(i) if *i == Ty::File => {
                                format!("support::files(form, {w:?}, x)")
                            }
                            _ => format!("support::form(form, {w:?}, x)?"),
                        };
                        let _ = writeln!(arms, "oai_types::{u}::{}(x) => {arm},", v.name);
                    }
                    format!(
                        "form = match {val} {{\n{arms}other => support::form(form, {w:?}, other)?,\n}};"
                    )
                }
                _ => format!("form = support::form(form, {w:?}, {val})?;"),
            },
            _ => format!("form = support::form(form, {w:?}, {val})?;"),
        };
        if bind.is_empty() {
            let _ = writeln!(s, "{code}");
        } else {
            let _ = writeln!(s, "{bind}{{ {code} }}");
        }
    }
    Ok(s)
}

struct Method {
    cfg: String,
    text: String,
}

/// Compiled examples for the main entry points: `(operation, streamed form?,
/// the example's lines)`. Each becomes a `no_run` doc test of that method.
const EXAMPLES: &[(&str, bool, &[&str])] = &[
    (
        "createChatCompletion",
        false,
        &[
            "use oai::builders::CreateChatCompletionRequestBuilder as Chat;",
            "use oai::types::ChatCompletionRequestMessage as Message;",
            "# async fn demo(client: oai::Client) -> oai::Result<()> {",
            "let request = Chat::new(Message::user(\"Hello\"), \"gpt-4o-mini\").temperature(0.2);",
            "let answer = client.chat().completions().create(request).await?;",
            "println!(\"{:?}\", answer.choices[0].message.content);",
            "# Ok(()) }",
        ],
    ),
    (
        "createChatCompletion",
        true,
        &[
            "use futures_util::StreamExt;",
            "use oai::builders::CreateChatCompletionRequestBuilder as Chat;",
            "use oai::types::ChatCompletionRequestMessage as Message;",
            "# async fn demo(client: oai::Client) -> oai::Result<()> {",
            "let request = Chat::new(Message::user(\"Hello\"), \"gpt-4o-mini\");",
            "let mut stream = client.chat().completions().create(request).stream().await?;",
            "while let Some(chunk) = stream.next().await {",
            "    for choice in chunk?.choices {",
            "        print!(\"{}\", choice.delta.content.unwrap_or_default());",
            "    }",
            "}",
            "# Ok(()) }",
        ],
    ),
    (
        "createResponse",
        false,
        &[
            "use oai::builders::CreateResponseBuilder;",
            "# async fn demo(client: oai::Client) -> oai::Result<()> {",
            "let request = CreateResponseBuilder::new().model(\"gpt-4o-mini\").input(\"Hello\");",
            "let response = client.responses().create(request).await?;",
            "println!(\"{:?} with {} output items\", response.status, response.output.len());",
            "# Ok(()) }",
        ],
    ),
    (
        "createResponse",
        true,
        &[
            "use futures_util::StreamExt;",
            "use oai::accumulate::{AccumulateExt, StreamEvent};",
            "use oai::builders::CreateResponseBuilder;",
            "# async fn demo(client: oai::Client) -> oai::Result<()> {",
            "let request = CreateResponseBuilder::new().model(\"gpt-4o-mini\").input(\"Hello\");",
            "let mut events = client.responses().create(request).stream().await?.accumulate();",
            "while let Some(event) = events.next().await {",
            "    print!(\"{}\", event?.text_delta().unwrap_or_default());",
            "}",
            "let response = events.into_final()?;",
            "# Ok(()) }",
        ],
    ),
    (
        "createEmbedding",
        false,
        &[
            "use oai::builders::CreateEmbeddingRequestBuilder;",
            "# async fn demo(client: oai::Client) -> oai::Result<()> {",
            "let request = CreateEmbeddingRequestBuilder::new(\"some text\", \"text-embedding-3-small\");",
            "let answer = client.embeddings().create(request).await?;",
            "let vector: Vec<f32> = answer.data[0].embedding.to_f32(); // base64 on the wire",
            "# Ok(()) }",
        ],
    ),
    (
        "createFile",
        false,
        &[
            "use oai::builders::CreateFileRequestBuilder;",
            "use oai::types::{CreateFileRequestPurpose, InputFile};",
            "# async fn demo(client: oai::Client) -> oai::Result<()> {",
            "let request = CreateFileRequestBuilder::new(",
            "    InputFile::from_path(\"data.jsonl\"),",
            "    CreateFileRequestPurpose::Batch,",
            ");",
            "let file = client.files().create(request).await?;",
            "println!(\"{} ({} bytes)\", file.id, file.bytes);",
            "# Ok(()) }",
        ],
    ),
    (
        "listModels",
        false,
        &[
            "# async fn demo(client: oai::Client) -> Result<(), oai::Error> {",
            "for model in client.models().list().await?.data {",
            "    println!(\"{}\", model.id);",
            "}",
            "# Ok(()) }",
        ],
    ),
];

/// The doc lines of the example of `op` (streamed or not), if it has one.
fn example_doc(op: &str, streamed: bool) -> String {
    EXAMPLES
        .iter()
        .filter(|(id, s, _)| *id == op && *s == streamed)
        .map(|(_, _, lines)| {
            let body: String = lines.iter().map(|l| format!("/// {l}\n")).collect();
            format!("///\n/// ```no_run\n{body}/// ```\n")
        })
        .collect()
}

fn methods_of(model: &Model<'_>, op: &Op) -> Result<Vec<Method>> {
    let mut out = Vec::new();
    let http = op.method.to_uppercase();
    let cfg = format!("#[cfg(feature = {:?})]", op.area);
    // Path.
    let mut args = Vec::new();
    let mut path_code = String::new();
    let mut path_unwrap = String::new();
    let mut fmt_path = String::new();
    let mut rest = op.path.as_str();
    while let Some(start) = rest.find('{') {
        fmt_path.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or("bad path")?;
        let wire = &rest[start + 1..end];
        let p = op
            .path_params()
            .find(|p| p.wire == wire)
            .ok_or_else(|| format!("{}: path parameter {wire} is not declared", op.id))?;
        args.push(format!("{}: &str", p.field));
        let _ = writeln!(
            path_code,
            "let {0} = support::segment({wire:?}, {0});",
            p.field
        );
        let _ = writeln!(path_unwrap, "let {0} = {0}?;", p.field);
        fmt_path.push_str(&format!("{{{}}}", p.field));
        rest = &rest[end + 1..];
    }
    fmt_path.push_str(rest);
    let path_expr = if path_code.is_empty() {
        format!("{fmt_path:?}")
    } else {
        format!("format!({fmt_path:?})")
    };
    // Parameters.
    let mut params_code = String::new();
    let params_ty = match &op.params_schema {
        Some(w) => Some(ty_of(model, w)?),
        None => None,
    };
    if let Some(t) = &params_ty {
        args.push(format!("params: {t}"));
        let _ = writeln!(params_code, "support::check(&params)?;");
        for p in op.other_params() {
            let func = match p.location {
                Location::Header => "header",
                _ => "query",
            };
            let _ = writeln!(
                params_code,
                "let rb = support::{func}(rb, {:?}, &params.{})?;",
                p.wire,
                rust_field(model, op, &p.wire)?
            );
        }
    }
    if op.beta {
        let _ = writeln!(params_code, "let rb = rb.query(\"beta\", \"true\");");
    }
    let mut doc = vec![format!("`{http} {}` (operation `{}`).", op.path, op.id)];
    if op.beta {
        doc[0] = format!("`{http} {}?beta=true` (operation `{}`).", op.path, op.id);
    }
    if let Some(url) = &op.reference {
        doc.push(String::new());
        doc.push(format!("[API reference]({url})."));
    }
    let deprecated = if op.deprecated {
        doc.push(String::new());
        doc.push("Deprecated in the API description.".into());
        "#[deprecated(note = \"deprecated in the OpenAI API description\")]\n"
    } else {
        ""
    };
    let bodies: Vec<Option<&super::ops::Body>> = if op.bodies.is_empty() {
        vec![None]
    } else {
        op.bodies.iter().map(Some).collect()
    };
    let answer = &op.answer;
    // The decoding is named by type, so that it is compiled only where a
    // call is awaited (a decoder held as a value would compile every answer
    // type's deserializer into this crate).
    let (answer_ty, decoder) = if let Some(j) = &answer.json {
        (ty_of(model, j)?, "call::Json")
    } else if !answer.binary.is_empty() {
        ("bytes::Bytes".to_owned(), "call::Raw")
    } else {
        ("()".to_owned(), "call::Empty")
    };
    let item = if op.paginated {
        answer.json.as_deref().and_then(|j| item_type(model, j))
    } else {
        None
    };
    let streams = match &answer.stream {
        Some(ev) => Some(ty_of(model, ev)?),
        None => None,
    };
    let form = match (&streams, &item) {
        (None, None) => "call::Plain".to_owned(),
        (Some(ev), None) => format!("call::Streams<{ev}>"),
        (None, Some(it)) => format!("call::Pages<{it}>"),
        (Some(_), Some(_)) => return Err(format!("{}: both streamed and paged", op.id)),
    };
    let ret = format!("{answer_ty}, {decoder}, {form}");
    // What the answer is, as the request's `Accept` (the transport says
    // `application/json` otherwise; a strict server answers 406 to a request
    // for speech or SDP that says so); the streamed form asks for events.
    let accept_code = match (accept_of(answer), &streams) {
        (Some(types), Some(_)) => format!(
            "let rb = rb.header(\"accept\", if stream {{ \"text/event-stream\" }} else {{ {types:?} }});\n"
        ),
        (Some(types), None) => format!("let rb = rb.header(\"accept\", {types:?});\n"),
        (None, Some(_)) => {
            "let rb = if stream { rb.header(\"accept\", \"text/event-stream\") } else { rb };\n"
                .to_owned()
        }
        (None, None) => String::new(),
    };
    for body in &bodies {
        let mut a = args.clone();
        let mut body_code = String::new();
        let mut take = String::new();
        let suffix = body.map_or("", |b| b.suffix);
        // How the streamed form asks for events: the request's own `stream`
        // field (set by the call, never left to the user: a plain call with
        // `stream: true` sends `false`), `stream_format: sse`, or a body field.
        let mut stream_flag: Option<&str> = None;
        let mut stream_format = false;
        if let Some(b) = body {
            stream_format = b
                .schema
                .as_deref()
                .is_some_and(|w| has_field(model, w, "stream_format"));
            match &b.kind {
                BodyKind::Json => {
                    let schema = b.schema.as_deref().ok_or("json body without schema")?;
                    a.push(format!("request: impl Into<{}>", ty_of(model, schema)?));
                    take.push_str("let request = request.into();\n");
                    for d in knowledge::get()
                        .body_defaults
                        .iter()
                        .filter(|d| d.operation == op.id)
                    {
                        let _ = writeln!(body_code, "let request = {}(request);", d.setter);
                    }
                    let _ = writeln!(
                        body_code,
                        "support::check(&request)?;\nlet rb = rb.json(&request);"
                    );
                    if stream_field(model, schema) {
                        stream_flag = Some("request");
                    }
                }
                BodyKind::Multipart => {
                    let schema = b.schema.as_deref().ok_or("multipart body without schema")?;
                    a.push(format!("request: impl Into<{}>", ty_of(model, schema)?));
                    take.push_str("let request = request.into();\n");
                    let fields = form_code(model, schema)?;
                    let _ = writeln!(
                        body_code,
                        "support::check(&request)?;\nlet mut form = oai_transport::MultipartForm::new();\n{fields}let rb = rb.multipart(form);"
                    );
                    if stream_field(model, schema) {
                        stream_flag = Some("request");
                    }
                }
                BodyKind::Raw(ct) => {
                    a.push("body: impl Into<bytes::Bytes>".into());
                    take.push_str("let body = body.into();\n");
                    let _ = writeln!(body_code, "let rb = rb.bytes({ct:?}, body);");
                }
            }
        }
        let mut early = String::new();
        let mut late = String::new();
        let mut ends = String::new();
        if streams.is_some() {
            if stream_flag.is_none() && op.method == "get" && params_ty.is_some() {
                stream_flag = Some("params");
            }
            if stream_format {
                late = "let rb = if stream { rb.options(RequestOptions::new().body_field(\"stream_format\", serde_json::Value::String(\"sse\".into()))) } else { rb };\n".to_owned();
            } else if let Some(v) = stream_flag {
                early = format!(
                    "let mut {v} = {v};\nif stream {{ {v}.stream = Some(true); }} else if {v}.stream == Some(true) {{ {v}.stream = Some(false); }}\n"
                );
            } else {
                // No typed `stream` field: ask through the body options.
                late = "let rb = if stream { rb.options(RequestOptions::new().body_field(\"stream\", serde_json::Value::Bool(true))) } else { rb };\n".to_owned();
            }
            ends = if op.terminal_events.is_empty() {
                ".ends_with(StreamOptions::default())".to_owned()
            } else {
                format!(
                    ".ends_with(StreamOptions::terminal_events(&{:?}))",
                    op.terminal_events
                )
            };
        }
        let stream_arg = if streams.is_some() { "stream" } else { "_" };
        let sig_args = a.join(", ");
        let docs: String = doc.iter().map(|l| format!("/// {l}\n")).collect();
        let mut forms = String::new();
        if streams.is_some() {
            forms.push_str("///\n/// `.stream()` gives the events as they arrive (the call sets the `stream` flag); the stream ends after its terminal event, and an early end is an error.\n");
        }
        if item.is_some() {
            forms.push_str("///\n/// `.pages()` gives every page and `.items()` every item, fetched lazily as the stream is read.\n");
        }
        let errors = "///\n/// # Errors\n/// An invalid request (when sent, before any I/O), or any [`crate::Error`] of the call.\n";
        let examples = format!(
            "{}{}",
            example_doc(&op.id, false),
            example_doc(&op.id, true)
        );
        out.push(Method {
            cfg: cfg.clone(),
            text: format!(
                "{docs}{forms}{examples}{errors}{deprecated}pub fn {}{suffix}(&self, {sig_args}) -> Call<{ret}> {{\n{path_code}{take}Call::new(self.client, move |client, {stream_arg}| {{\n{path_unwrap}{early}let rb = client.transport_request(Method::{http}, {path_expr});\n{accept_code}{params_code}{body_code}{late}Ok(rb)\n}}){ends}\n}}\n",
                op.name
            ),
        });
    }
    Ok(out)
}

/// The `Accept` of a call whose answer is not JSON: the media types the spec
/// gives its success answer (an answer the spec calls a JSON string, a file's
/// bytes, is asked for as `application/octet-stream`).
fn accept_of(answer: &super::ops::Answer) -> Option<String> {
    if answer.json.is_some() || answer.binary.is_empty() {
        return None;
    }
    let mut types: Vec<&str> = answer
        .binary
        .iter()
        .map(|t| {
            if t == "application/json" {
                "application/octet-stream"
            } else {
                t.as_str()
            }
        })
        .collect();
    types.dedup();
    Some(types.join(", "))
}

/// The Rust field name of parameter `wire` in the parameter struct.
fn rust_field(model: &Model<'_>, op: &Op, wire: &str) -> Result<String> {
    let schema = op.params_schema.as_deref().ok_or("no parameter struct")?;
    struct_fields(model, schema)
        .ok_or_else(|| format!("{}: parameter type is not a struct", op.id))?
        .iter()
        .find(|f| f.wire == wire)
        .map(|f| f.name.clone())
        .ok_or_else(|| format!("{}: no field for parameter {wire}", op.id))
}

fn emit_node(
    model: &Model<'_>,
    ops: &[Op],
    path: &[String],
    node: &Node,
    out: &mut String,
) -> Result {
    let name = handle_name(path);
    let mut areas = BTreeSet::new();
    node.areas(ops, &mut areas);
    let c = cfg(&areas);
    let shown = path.join("().");
    let _ = writeln!(
        out,
        "{c}\n/// The `{shown}` resource: `client.{shown}()`.\n#[derive(Debug, Clone, Copy)]\npub struct {name}<'c> {{\n    pub(crate) client: &'c Client,\n}}\n"
    );
    let mut body = String::new();
    for (child, n) in &node.children {
        let mut cp = path.to_vec();
        cp.push(child.clone());
        let mut ca = BTreeSet::new();
        n.areas(ops, &mut ca);
        let _ = writeln!(
            body,
            "{}\n/// The `{child}` resource under this one.\npub fn {child}(&self) -> {}<'c> {{\n{} {{ client: self.client }}\n}}\n",
            cfg(&ca),
            handle_name(&cp),
            handle_name(&cp)
        );
    }
    for i in &node.ops {
        for m in methods_of(model, &ops[*i])? {
            let _ = writeln!(body, "{}\n{}", m.cfg, m.text);
        }
    }
    let _ = writeln!(out, "{c}\nimpl<'c> {name}<'c> {{\n{body}}}\n");
    for (child, n) in &node.children {
        let mut cp = path.to_vec();
        cp.push(child.clone());
        emit_node(model, ops, &cp, n, out)?;
    }
    Ok(())
}

/// Areas whose name the facade already gives a helper module (`oai::realtime`
/// is the WebSocket client, `oai::webhooks` the verifier): their types stay
/// under `oai::types::<area>`.
const HELPER_MODULES: &[&str] = &["realtime", "webhooks"];

/// `oai/src/generated/areas.rs`: a module per area holding its types and its
/// builders (from the area modules of `oai-types` and `oai-builders` that
/// exist), and the short names of `xtask/knowledge.yaml`.
pub fn areas(types: &BTreeSet<String>, builders: &BTreeSet<String>) -> String {
    let mut out = format!(
        "{HEADER}//! One module per API area: its types, the builders of its requests, and short names for the common ones.\n\n"
    );
    for area in super::areas::AREAS {
        let module = super::areas::module(area);
        if HELPER_MODULES.contains(&module.as_str()) || !types.contains(&module) {
            continue;
        }
        let mut body = format!("pub use oai_types::{module}::*;\n");
        if builders.contains(&module) {
            let _ = writeln!(body, "pub use oai_builders::{module}::*;");
        }
        let mut shorts = Vec::new();
        for s in knowledge::get()
            .short_names
            .iter()
            .filter(|s| s.area == *area)
        {
            let _ = writeln!(
                body,
                "/// Short for [`{0}`].\npub use {1}::{0} as {2};",
                s.target, s.krate, s.name
            );
            shorts.push(format!("`{}`", s.name));
        }
        let shorts = if shorts.is_empty() {
            String::new()
        } else {
            format!(" Short names: {}.", shorts.join(", "))
        };
        let _ = writeln!(
            out,
            "/// The `{area}` area (feature `{area}`): its types (also in `oai::types`) and the builders of its requests (also in `oai::builders`).{shorts}\n#[cfg(feature = {area:?})]\npub mod {module} {{\n{body}}}\n"
        );
    }
    out
}

/// `(file name, text)` of `oai/src/generated/`.
pub fn generate(model: &Model<'_>, ops: &[Op]) -> Result<Vec<(String, String)>> {
    let mut root = Node::default();
    for (i, op) in ops.iter().enumerate() {
        let mut n = &mut root;
        for seg in &op.resource {
            n = n.children.entry(seg.clone()).or_default();
        }
        n.ops.push(i);
    }
    let mut out = format!(
        "{HEADER}//! One handle per resource and one method per operation of the API.\n#![allow(unused_imports, unused_mut, deprecated, clippy::all)]\n\nuse oai_transport::http::Method;\nuse oai_transport::{{RequestBuilder, RequestOptions, StreamOptions}};\n\nuse crate::call::{{self, Call}};\nuse crate::{{Client, Result}};\nuse crate::support;\n\npub mod areas;\n\n"
    );
    let mut accessors = String::new();
    for (top, n) in &root.children {
        let mut areas = BTreeSet::new();
        n.areas(ops, &mut areas);
        let name = handle_name(std::slice::from_ref(top));
        let _ = writeln!(
            accessors,
            "{}\n/// The `{top}` resource.\npub fn {top}(&self) -> {name}<'_> {{\n{name} {{ client: self }}\n}}\n",
            cfg(&areas)
        );
    }
    let _ = writeln!(out, "impl Client {{\n{accessors}}}\n");
    for (top, n) in &root.children {
        emit_node(model, ops, std::slice::from_ref(top), n, &mut out)?;
    }
    if !root.ops.is_empty() {
        return Err("an operation has no resource".into());
    }
    Ok(vec![("mod.rs".to_owned(), out)])
}
