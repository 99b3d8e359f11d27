//! The table the spec-example tests use: which generated type each
//! operation's JSON response is.

use std::fmt::Write;

use super::emit::HEADER;
use super::model::Model;
use super::ops::Op;

/// `tests/generated/mod.rs` of `oai-types`.
pub fn response_table(model: &Model<'_>, ops: &[Op]) -> String {
    let mut arms = Vec::new();
    for op in ops {
        let Some(wire) = &op.answer.json else {
            continue;
        };
        if let Some(ty) = model.components.get(wire) {
            arms.push((op.id.clone(), ty.clone()));
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
