//! The table the request-example tests of `oai-builders` use: which generated
//! type each operation's JSON request body is.

use std::fmt::Write;

use super::emit::HEADER;
use super::model::Model;
use super::ops::{BodyKind, Op};

/// `tests/generated/mod.rs` of `oai-builders`.
pub fn request_table(model: &Model<'_>, ops: &[Op]) -> String {
    let mut arms: Vec<(&str, &str)> = ops
        .iter()
        .filter_map(|op| {
            let body = op.bodies.iter().find(|b| b.kind == BodyKind::Json)?;
            let ty = model.components.get(body.schema.as_deref()?)?;
            Some((op.id.as_str(), ty.as_str()))
        })
        .collect();
    arms.sort_unstable();
    arms.dedup();
    let mut out = format!(
        "{HEADER}//! Operation id -> the generated type of its JSON request body.\n\n\
         /// Reads `value` as the JSON body of `operation_id` and validates it, or\n\
         /// `None` when the operation takes no JSON body.\n\
         pub fn check_request(operation_id: &str, value: serde_json::Value) -> Option<Result<(), String>> {{\n\
         Some(match operation_id {{\n"
    );
    for (id, ty) in &arms {
        let _ = writeln!(
            out,
            "{id:?} => super::read_and_validate::<oai_builders::types::{ty}>(value),"
        );
    }
    out.push_str("_ => return None,\n})\n}\n");
    out
}
