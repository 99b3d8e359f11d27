//! The table the spec-example tests use: which generated type each
//! operation's JSON response is.

use std::fmt::Write;

use super::emit::HEADER;
use super::model::Model;
use super::spec::ref_name;

/// `tests/generated/mod.rs` of `oai-types`.
pub fn response_table(model: &Model<'_>) -> String {
    let mut arms = Vec::new();
    for (_, item) in model.spec().at("paths").map() {
        for (method, op) in item.map() {
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let Some(id) = op.at("operationId").str() else {
                continue;
            };
            let schema = op
                .at("responses")
                .map()
                .iter()
                .filter(|(code, _)| code.starts_with('2'))
                .find_map(|(_, r)| {
                    r.at("content")
                        .get("application/json")
                        .map(|c| c.at("schema"))
                });
            let Some(r) = schema.and_then(|s| s.at("$ref").str()).and_then(ref_name) else {
                continue;
            };
            if let Some(ty) = model.components.get(r) {
                arms.push((id.to_owned(), ty.clone()));
            }
        }
    }
    arms.sort();
    arms.dedup();
    let mut out = format!(
        "{HEADER}//! Operation id -> the generated type of its JSON response.\n\n\
         /// Round-trips `value` through the response type of `operation_id`, or\n\
         /// `None` when the operation has no typed JSON response.\n\
         pub fn check_response(operation_id: &str, value: serde_json::Value) -> Option<Result<(), String>> {{\n\
         Some(match operation_id {{\n"
    );
    for (id, ty) in &arms {
        let _ = writeln!(
            out,
            "{id:?} => super::round_trip::<oai_types::{ty}>(value),"
        );
    }
    out.push_str("_ => return None,\n})\n}\n");
    out
}
