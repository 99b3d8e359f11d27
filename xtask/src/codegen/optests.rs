//! One wiremock test per operation (and per body kind), for `oai`'s test
//! suite: the call goes through the facade and the test checks the method,
//! path, query, headers and body on the wire, and decodes the answer.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::emit::HEADER;
use super::model::Model;
use super::names::snake;
use super::ops::{BodyKind, Location, Op};
use super::samples::Sampler;
use super::spec::Node;
use crate::Result;

fn raw(text: &str) -> String {
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
        "{HEADER}//! One test per operation: the call on the wire and the decoded answer.\n#![allow(deprecated, unused_imports, clippy::all)]\n\nuse serde_json::Value;\nuse wiremock::matchers::{{body_json, body_string, body_string_contains, header, header_regex, method, path, query_param}};\nuse wiremock::{{Mock, MockServer, ResponseTemplate}};\n\nuse super::support;\n\n"
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
                        mock.push_str(".and(header(\"content-type\", \"application/json\")).and(body_json(&request_json))");
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
                        args.push("request".into());
                    }
                    BodyKind::Raw(ct) => {
                        let _ = write!(
                            mock,
                            ".and(header(\"content-type\", {ct:?})).and(body_string(\"v=0\"))"
                        );
                        args.push("\"v=0\"".into());
                    }
                }
            }
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
            let call = format!(
                "support::client(&server).{}().{}{suffix}({})",
                op.resource.join("()."),
                op.name,
                args.join(", ")
            );
            let _ = writeln!(t, "let got = {call}.await.unwrap();\n{check}\n}}\n");
            let cfg = format!("#[cfg(feature = {:?})]\n", op.area);
            out.push_str(&cfg);
            out.push_str(&t);
            count += 1;
        }
    }
    Ok((out, count))
}
