//! One wiremock test per operation (and per body kind), for `oai`'s test
//! suite: the call goes through the facade and the test checks the method,
//! path, query, headers and body on the wire, and decodes the answer.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::emit::HEADER;
use super::facade;
use super::model::Model;
use super::names::snake;
use super::ops::{BodyKind, Location, Op};
use super::samples::Sampler;
use super::spec::Node;
use crate::Result;

/// `text` as a raw string literal.
pub(super) fn raw(text: &str) -> String {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
}

fn type_of(model: &Model<'_>, wire: &str) -> Result<String> {
    model
        .components
        .get(wire)
        .map(|n| format!("oai_types::{n}"))
        .ok_or_else(|| format!("no type for {wire}"))
}

/// The test file `oai/tests/generated/mod.rs`, and how many tests it holds.
pub fn generate(model: &Model<'_>, ops: &[Op]) -> Result<(String, usize)> {
    let sampler = Sampler::new(model.spec());
    let mut out = format!(
        "{HEADER}//! One test per operation: the call on the wire and the decoded answer.\n#![allow(deprecated, unused_imports, unused_mut, clippy::all)]\n\nuse serde_json::Value;\nuse futures_util::StreamExt;\nuse wiremock::matchers::{{body_json, body_partial_json, body_string, body_string_contains, header, header_regex, method, path, query_param, query_param_is_missing}};\nuse wiremock::{{Mock, MockServer, ResponseTemplate}};\n\nuse super::support;\n\n"
    );
    let mut names = BTreeSet::new();
    let mut count = 0;
    for op in ops {
        let bodies: Vec<Option<&super::ops::Body>> = if op.bodies.is_empty() {
            vec![None]
        } else {
            op.bodies.iter().map(Some).collect()
        };
        for body in bodies {
            let suffix = body.map_or("", |b| b.suffix);
            let mut name = format!("{}{suffix}", snake(&op.id.replace('-', "_")));
            while !names.insert(name.clone()) {
                name.push('_');
            }
            let mut t = String::new();
            let _ = writeln!(t, "#[tokio::test]\nasync fn {name}() {{");
            let _ = writeln!(t, "let server = MockServer::start().await;");
            // Path.
            let mut wire_path = format!("/v1{}", op.path);
            let mut args = Vec::new();
            for p in op.path_params() {
                let value = format!("{}-1", p.field);
                wire_path = wire_path.replace(&format!("{{{}}}", p.wire), &value);
                args.push(format!("{value:?}"));
            }
            let mut mock = format!(
                "Mock::given(method({:?})).and(path({wire_path:?}))",
                op.method.to_uppercase()
            );
            if op.beta {
                mock.push_str(".and(query_param(\"beta\", \"true\"))");
            }
            // Parameters.
            if let Some(ps) = &op.params_schema {
                let sample = sampler.component(ps);
                let _ = writeln!(
                    t,
                    "let params: {} = serde_json::from_str({}).unwrap();",
                    type_of(model, ps)?,
                    raw(&sample.to_json())
                );
                args.push("params".into());
                for (k, v) in sample.map() {
                    let Some(p) = op.other_params().find(|p| p.wire == *k) else {
                        continue;
                    };
                    // The call sets `stream` itself (true streamed, never
                    // true plain): each form's test checks it.
                    if k == "stream" && op.answer.stream.is_some() {
                        continue;
                    }
                    let text = match v {
                        Node::Str(s) => s.clone(),
                        Node::Int(i) => i.to_string(),
                        Node::Bool(b) => b.to_string(),
                        _ => continue,
                    };
                    let m = match p.location {
                        Location::Header => "header",
                        _ => "query_param",
                    };
                    let _ = write!(mock, ".and({m}({k:?}, {text:?}))");
                }
            }
            // Body.
            let mut body_match = String::new();
            let mut stream_match = if op.method == "get" {
                ".and(query_param(\"stream\", \"true\"))".to_owned()
            } else {
                String::new()
            };
            if let Some(b) = body {
                match &b.kind {
                    BodyKind::Json => {
                        let schema = b.schema.as_deref().ok_or("json body without schema")?;
                        let sample = sampler.component(schema);
                        let _ = writeln!(
                            t,
                            "let request_json: Value = serde_json::from_str({}).unwrap();",
                            raw(&sample.to_json())
                        );
                        let _ = writeln!(
                            t,
                            "let request: {} = serde_json::from_value(request_json.clone()).unwrap();",
                            type_of(model, schema)?
                        );
                        mock.push_str(".and(header(\"content-type\", \"application/json\"))");
                        let _ = writeln!(t, "let mut sent_json = request_json.clone();");
                        body_match = ".and(body_json(&sent_json))".into();
                        // What the facade fills in when the request leaves it out.
                        for d in super::knowledge::get()
                            .body_defaults
                            .iter()
                            .filter(|d| d.operation == op.id)
                        {
                            let (field, json) = (&d.field, &d.json);
                            let _ = writeln!(
                                t,
                                "if sent_json.get({field:?}).is_none() {{ sent_json[{field:?}] = serde_json::from_str({}).unwrap(); }}",
                                raw(json)
                            );
                        }
                        // A plain call never asks for a stream.
                        if op.answer.stream.is_some() {
                            let _ = writeln!(
                                t,
                                "if sent_json.get(\"stream\") == Some(&Value::Bool(true)) {{ sent_json[\"stream\"] = Value::Bool(false); }}"
                            );
                        }
                        stream_match = if facade::has_field(model, schema, "stream_format") {
                            ".and(body_partial_json(serde_json::json!({\"stream_format\": \"sse\"})))".into()
                        } else {
                            ".and(body_partial_json(serde_json::json!({\"stream\": true})))".into()
                        };
                        args.push("request".into());
                    }
                    BodyKind::Multipart => {
                        let schema = b.schema.as_deref().ok_or("multipart body without schema")?;
                        let sample = sampler.component(schema);
                        let _ = writeln!(
                            t,
                            "let request: {} = serde_json::from_str({}).unwrap();",
                            type_of(model, schema)?,
                            raw(&sample.to_json())
                        );
                        mock.push_str(
                            ".and(header_regex(\"content-type\", \"^multipart/form-data; boundary=\"))",
                        );
                        for (k, _) in sample.map() {
                            let _ = write!(mock, ".and(body_string_contains(\"name=\\\"{k}\"))");
                        }
                        stream_match = ".and(body_string_contains(\"name=\\\"stream\\\"\"))".into();
                        args.push("request".into());
                    }
                    BodyKind::Raw(ct) => {
                        let _ = write!(mock, ".and(header(\"content-type\", {ct:?}))");
                        body_match = ".and(body_string(\"v=0\"))".into();
                        args.push("\"v=0\"".into());
                    }
                }
            }
            let setup = t.clone();
            // Every form of the call takes options: each test sends a header
            // of its own through them and the mock asks for it on the wire.
            let call_of = |method: &str, test: &str| {
                format!(
                    "support::client(&server).{}().{method}({}).options(oai::RequestOptions::new().header(\"x-oai-call\", {test:?}))",
                    op.resource.join("()."),
                    args.join(", ")
                )
            };
            let mark = |test: &str| format!(".and(header(\"x-oai-call\", {test:?}))");
            let cfg = format!("#[cfg(feature = {:?})]\n", op.area);
            if let Some(ev) = &op.answer.stream {
                out.push_str(&cfg);
                out.push_str(&stream_test(
                    &sampler,
                    model,
                    op,
                    ev,
                    &name,
                    &setup,
                    &format!("{mock}{stream_match}{}", mark(&format!("{name}_stream"))),
                    &format!(
                        "{}.stream()",
                        call_of(&format!("{}{suffix}", op.name), &format!("{name}_stream"))
                    ),
                )?);
                count += 1;
            }
            if op.paginated
                && let Some(j) = &op.answer.json
                && facade::item_type(model, j).is_some()
            {
                out.push_str(&cfg);
                out.push_str(&pages_test(
                    &sampler,
                    j,
                    &name,
                    &setup,
                    &format!("{mock}{}", mark(&format!("{name}_pages"))),
                    &format!(
                        "{}.pages()",
                        call_of(&format!("{}{suffix}", op.name), &format!("{name}_pages"))
                    ),
                ));
                count += 1;
            }
            mock.push_str(&body_match);
            mock.push_str(&mark(&name));
            // Answer.
            let status = if op.answer.json.is_some() || !op.answer.binary.is_empty() {
                200
            } else {
                204
            };
            let check;
            if let Some(j) = &op.answer.json {
                let sample = sampler.component(j);
                let _ = writeln!(
                    t,
                    "let answer: Value = serde_json::from_str({}).unwrap();",
                    raw(&sample.to_json())
                );
                let _ = writeln!(
                    t,
                    "{mock}.respond_with(ResponseTemplate::new({status}).set_body_json(&answer)).expect(1).mount(&server).await;"
                );
                check = "support::same_json(&got, &answer);";
            } else if !op.answer.binary.is_empty() {
                let _ = writeln!(
                    t,
                    "{mock}.respond_with(ResponseTemplate::new({status}).set_body_bytes(b\"\\x00binary\".to_vec())).expect(1).mount(&server).await;"
                );
                check = "assert_eq!(&got[..], b\"\\x00binary\");";
            } else {
                let _ = writeln!(
                    t,
                    "{mock}.respond_with(ResponseTemplate::new({status})).expect(1).mount(&server).await;"
                );
                check = "let () = got;";
            }
            let call = call_of(&format!("{}{suffix}", op.name), &name);
            let _ = writeln!(t, "let got = {call}.await.unwrap();\n{check}\n}}\n");
            out.push_str(&cfg);
            out.push_str(&t);
            count += 1;
        }
    }
    Ok((out, count))
}

/// The sample of the member of the event union `union` whose `type` is `name`.
fn event_sample(sampler: &Sampler<'_>, spec: &Node, union: &str, name: &str) -> Option<Node> {
    let schema = spec.at("components").at("schemas").at(union);
    let members = schema
        .at("oneOf")
        .seq()
        .iter()
        .chain(schema.at("anyOf").seq());
    for m in members {
        let Some(wire) = m.at("$ref").str().and_then(super::spec::ref_name) else {
            continue;
        };
        let ty = spec
            .at("components")
            .at("schemas")
            .at(wire)
            .at("properties")
            .at("type");
        let values: Vec<&str> = ty
            .at("enum")
            .seq()
            .iter()
            .filter_map(Node::str)
            .chain(ty.at("const").str())
            .collect();
        if values == [name] {
            return Some(sampler.component(wire));
        }
    }
    None
}

/// A test of the streamed form: two events on the wire, decoded in order, and
/// the stream ends where the operation's stream ends (`[DONE]`, or its terminal
/// event, after which nothing more is read).
#[allow(clippy::too_many_arguments)]
fn stream_test(
    sampler: &Sampler<'_>,
    model: &Model<'_>,
    op: &Op,
    events: &str,
    name: &str,
    setup: &str,
    mock: &str,
    call: &str,
) -> Result<String> {
    let first = sampler.component(events);
    let (last, tail) = match op.terminal_events.first() {
        Some(terminal) => (
            event_sample(sampler, model.spec(), events, terminal)
                .ok_or_else(|| format!("{}: no event schema for {terminal}", op.id))?,
            // Bytes after the terminal event are never read.
            "data: {{\\\"unterminated",
        ),
        None => (first.clone(), "data: [DONE]\\n\\n"),
    };
    let mut t = setup.replacen(
        &format!("async fn {name}()"),
        &format!("async fn {name}_stream()"),
        1,
    );
    let _ = writeln!(
        t,
        "let first: Value = serde_json::from_str({}).unwrap();\nlet last: Value = serde_json::from_str({}).unwrap();",
        raw(&first.to_json()),
        raw(&last.to_json())
    );
    let _ = writeln!(
        t,
        "let body = format!(\"data: {{first}}\\n\\ndata: {{last}}\\n\\n{tail}\");"
    );
    let _ = writeln!(
        t,
        "{mock}.respond_with(ResponseTemplate::new(200).insert_header(\"content-type\", \"text/event-stream\").set_body_string(body)).expect(1).mount(&server).await;"
    );
    let _ = writeln!(
        t,
        "let mut stream = {call}.await.unwrap();\nlet mut got = Vec::new();\nwhile let Some(event) = stream.next().await {{\ngot.push(event.unwrap());\n}}\nassert_eq!(got.len(), 2);\nsupport::same_json(&got[0], &first);\nsupport::same_json(&got[1], &last);\n}}\n"
    );
    Ok(t)
}

/// A test of the pages: two pages joined by the `after` cursor.
fn pages_test(
    sampler: &Sampler<'_>,
    list: &str,
    name: &str,
    setup: &str,
    mock: &str,
    call: &str,
) -> String {
    let sample = sampler.component(list);
    let mut t = setup.replacen(
        &format!("async fn {name}()"),
        &format!("async fn {name}_pages()"),
        1,
    );
    let _ = writeln!(
        t,
        "let last: Value = serde_json::from_str({}).unwrap();\nlet mut first = last.clone();\nfirst[\"has_more\"] = Value::Bool(true);\nfirst[\"last_id\"] = Value::from(\"cursor-1\");\nif let Some(m) = first.as_object_mut() {{ m.remove(\"next_page\"); }}\nlet mut last = last;\nlast[\"has_more\"] = Value::Bool(false);",
        raw(&sample.to_json())
    );
    let _ = writeln!(
        t,
        "{mock}.and(query_param(\"after\", \"cursor-1\")).respond_with(ResponseTemplate::new(200).set_body_json(&last)).expect(1).mount(&server).await;"
    );
    let _ = writeln!(
        t,
        "{mock}.and(query_param_is_missing(\"after\")).respond_with(ResponseTemplate::new(200).set_body_json(&first)).expect(1).mount(&server).await;"
    );
    let _ = writeln!(
        t,
        "let items = {call}.collect_all().await.unwrap();\nlet mut sent = first[\"data\"].as_array().unwrap().clone();\nsent.extend(last[\"data\"].as_array().unwrap().iter().cloned());\nassert_eq!(items.len(), sent.len());\nfor (item, json) in items.iter().zip(&sent) {{\nsupport::same_json(item, json);\n}}\n}}\n"
    );
    t
}
