//! `cargo xtask coverage [--spec PATH]`: what the committed crates cover of
//! the spec, per API area, read from the generated files themselves (an
//! operation counts when the facade has a method for it, a schema when
//! `oai-types` defines its type). Fails unless everything is covered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{areas, model, ops, spec, validate};
use crate::{Result, project_root};

fn read_dir_text(dir: &Path) -> Result<String> {
    let mut text = String::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.extension().is_some_and(|x| x == "rs") {
            text.push_str(
                &std::fs::read_to_string(&p)
                    .map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            );
        }
    }
    Ok(text)
}

/// Names defined by `pub struct|enum|type` (macro invocations included).
fn defined_types(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let l = line.trim_start();
        for kw in ["pub struct ", "pub enum ", "pub type "] {
            if let Some(rest) = l.strip_prefix(kw) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
    }
    out
}

pub fn run(spec_path: &Path) -> Result {
    let original = spec::load(spec_path)?;
    let (prepared, ops) = ops::prepare(&original)?;
    let mut m = model::Model::new(&prepared);
    m.build();
    super::emit::assign_areas(&mut m);
    let checks = validate::generate(&m, &ops)?;

    let root = project_root();
    let facade = read_dir_text(&root.join("crates/oai/src/generated"))?;
    let types = defined_types(&read_dir_text(
        &root.join("crates/oai-types/src/generated"),
    )?);

    // Operations per area.
    let mut op_rows: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut missing_ops = Vec::new();
    for op in &ops {
        let row = op_rows.entry(op.area).or_default();
        row.1 += 1;
        if facade.contains(&format!("(operation `{}`)", op.id)) {
            row.0 += 1;
        } else {
            missing_ops.push(op.id.clone());
        }
    }
    // Component schemas of the published spec, per area of their type.
    let mut schema_rows: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut missing_schemas = Vec::new();
    let components = original.at("components").at("schemas").map();
    for (wire, _) in components {
        let name = m.components.get(wire).cloned().unwrap_or_default();
        let area = match m.types.get(&name).map(|t| t.areas.clone()) {
            Some(a) if a.len() == 1 => a.into_iter().next().unwrap_or_default(),
            Some(a) if a.is_empty() => "(all areas)".to_owned(),
            Some(_) => "(several areas)".to_owned(),
            None => "(none)".to_owned(),
        };
        let row = schema_rows.entry(area).or_default();
        row.1 += 1;
        if types.contains(&name) {
            row.0 += 1;
        } else {
            missing_schemas.push(wire.clone());
        }
    }
    println!("{:<18} {:>12} {:>12}", "area", "operations", "schemas");
    let mut names: BTreeSet<String> = areas::AREAS.iter().map(|a| (*a).to_owned()).collect();
    names.extend(schema_rows.keys().cloned());
    for a in &names {
        let o = op_rows.get(a.as_str()).copied().unwrap_or_default();
        let s = schema_rows.get(a).copied().unwrap_or_default();
        println!(
            "{:<18} {:>12} {:>12}",
            a,
            format!("{}/{}", o.0, o.1),
            format!("{}/{}", s.0, s.1)
        );
    }
    let (oc, ot) = op_rows.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let (sc, st) = schema_rows
        .values()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "{:<18} {:>12} {:>12}",
        "total",
        format!("{oc}/{ot}"),
        format!("{sc}/{st}")
    );
    println!(
        "validation: {} request types, {} Validate impls, {} constraints enforced",
        checks.stats.roots, checks.stats.impls, checks.stats.constraints
    );
    if missing_ops.is_empty() && missing_schemas.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "not covered: operations {missing_ops:?}, schemas {missing_schemas:?}"
        ))
    }
}
