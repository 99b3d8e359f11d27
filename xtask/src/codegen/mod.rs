//! `cargo xtask codegen [--spec PATH] [--check]`: generates the typed API from
//! the OpenAPI document into the `generated/` folders, formatted with rustfmt.
//! With `--check`, writes nothing and fails when the committed files differ.

pub mod areas;
mod builders;
pub mod coverage;
mod emit;
mod facade;
mod fixtures;
mod fuzztable;
mod knowledge;
mod model;
mod names;
pub mod ops;
mod optests;
mod reqtable;
#[cfg(test)]
mod rules;
mod samples;
mod secrets;
pub mod spec;
mod validate;
mod wire;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Result, project_root};

/// The spec read when `--spec` is not given: `$OAI_OPENAPI_SPEC`, else
/// `../shared/openapi/openapi.yaml` beside the workspace root.
pub fn default_spec() -> PathBuf {
    match std::env::var_os("OAI_OPENAPI_SPEC") {
        Some(p) => PathBuf::from(p),
        None => project_root()
            .join("..")
            .join("shared")
            .join("openapi")
            .join("openapi.yaml"),
    }
}

pub struct Args {
    pub spec: PathBuf,
    pub check: bool,
}

impl Args {
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut spec = None;
        let mut check = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--check" => check = true,
                "--spec" => spec = Some(PathBuf::from(it.next().ok_or("--spec needs a path")?)),
                other => match other.strip_prefix("--spec=") {
                    Some(p) => spec = Some(PathBuf::from(p)),
                    None => return Err(format!("unknown codegen option `{other}`")),
                },
            }
        }
        Ok(Self {
            spec: spec.unwrap_or_else(default_spec),
            check,
        })
    }
}

pub fn run(args: &Args) -> Result {
    let outputs = generate(&args.spec)?;
    let mut stale = Vec::new();
    for (dir, files) in &outputs {
        stale.extend(sync_dir(dir, files, args.check)?);
    }
    if args.check {
        if stale.is_empty() {
            println!("generated code is up to date");
            Ok(())
        } else {
            Err(format!(
                "generated code is stale; run `cargo xtask codegen`:\n  {}",
                stale.join("\n  ")
            ))
        }
    } else {
        println!(
            "generated {} files ({} changed)",
            outputs.iter().map(|(_, f)| f.len()).sum::<usize>(),
            stale.len()
        );
        Ok(())
    }
}

/// Generated files of one directory: `(file name, contents)`.
type Files = Vec<(String, Vec<u8>)>;

/// Every generated file, source formatted: `(directory, files)`.
pub fn generate(spec_path: &Path) -> Result<Vec<(PathBuf, Files)>> {
    let spec = spec::load(spec_path)?;
    let (spec, ops) = ops::prepare(&spec)?;
    if std::env::var_os("OAI_CODEGEN_DUMP_OPS").is_some() {
        for o in &ops {
            eprintln!(
                "{:<45} {:<7} {:<60} client.{}().{}{}",
                o.id,
                o.method,
                o.path,
                o.resource.join("()."),
                o.name,
                if o.paginated { "  [paged]" } else { "" }
            );
        }
    }
    let mut m = model::Model::new(&spec);
    let secret_fields = secrets::locate(m.spec(), &knowledge::secret_fields())?;
    m.secret_nodes = secret_fields
        .iter()
        .filter_map(|c| c.last().copied())
        .collect();
    m.build();
    let secret_tys = secrets::check(&m, &knowledge::secret_fields())?;
    emit::assign_areas(&mut m);
    if !m.renamed.is_empty() {
        eprintln!("codegen: {} inline names needed a number:", m.renamed.len());
        for r in &m.renamed {
            eprintln!("  {r}");
        }
    }
    let mut types_files = Vec::new();
    for (name, text) in emit::files(&m) {
        types_files.push((name, rustfmt(&text)?));
    }
    let (fuzz_table, fuzz_types) = fuzztable::table(&m, &ops)?;
    types_files.push(("fuzz_table.rs".to_owned(), rustfmt(&fuzz_table)?));
    let seeds = fuzztable::seeds(&m, &ops)?;
    if std::env::var_os("OAI_CODEGEN_DUMP_OPS").is_some() {
        eprintln!(
            "fuzz table: {fuzz_types} response types, {} seeds",
            seeds.len()
        );
    }
    let secret_table =
        secrets::test_table(&m, &knowledge::secret_fields(), &secret_fields, &secret_tys)?;
    let tests_files = vec![
        (
            "mod.rs".to_owned(),
            rustfmt(&fixtures::response_table(&m, &ops))?,
        ),
        ("secrets.rs".to_owned(), rustfmt(&secret_table)?),
    ];
    let checks = validate::generate(&m, &ops)?;
    let mut builders_files = Vec::new();
    for (name, text) in &checks.files {
        builders_files.push((name.clone(), rustfmt(text)?));
    }
    let mut facade_files = Vec::new();
    for (name, text) in facade::generate(&m, &ops)? {
        facade_files.push((name, rustfmt(&text)?));
    }
    let modules = |files: &[(String, String)]| -> std::collections::BTreeSet<String> {
        files
            .iter()
            .map(|(n, _)| n.trim_end_matches(".rs").to_owned())
            .collect()
    };
    facade_files.push((
        "areas.rs".to_owned(),
        rustfmt(&facade::areas(
            &modules(&types_files),
            &modules(&builders_files),
        ))?,
    ));
    let request_table = vec![(
        "mod.rs".to_owned(),
        rustfmt(&reqtable::request_table(&m, &ops))?,
    )];
    let (op_tests, _) = optests::generate(&m, &ops)?;
    let op_tests_files = vec![("mod.rs".to_owned(), rustfmt(&op_tests)?)];
    let wire_files = vec![("wire.rs".to_owned(), rustfmt(&wire::generate(&m, &ops)?)?)];
    let root = project_root();
    let sources = [
        (root.join("crates/oai/src/generated"), facade_files),
        (root.join("crates/oai/tests/generated"), op_tests_files),
        (root.join("crates/oai-types/src/generated"), types_files),
        (root.join("crates/oai-types/tests/generated"), tests_files),
        (
            root.join("crates/oai-builders/src/generated"),
            builders_files,
        ),
        (
            root.join("crates/oai-builders/tests/generated"),
            request_table.into_iter().chain(wire_files).collect(),
        ),
    ];
    // Every generated source names the document it came from.
    let version = format!(
        "// @generated by `cargo xtask codegen` from the OpenAPI document ({} {}). Do not edit.\n",
        spec.at("info").at("title").str().unwrap_or("untitled"),
        spec.at("info").at("version").str().unwrap_or("unversioned"),
    );
    let mut out: Vec<(PathBuf, Files)> = sources
        .into_iter()
        .map(|(dir, files)| {
            let files = files
                .into_iter()
                .map(|(n, t)| (n, t.replacen(emit::HEADER, &version, 1).into_bytes()))
                .collect();
            (dir, files)
        })
        .collect();
    out.push((root.join("fuzz/corpus/responses"), seeds));
    Ok(out)
}

/// Writes (or, in check mode, compares) `files` into `dir`, removing files no
/// longer generated. Returns the paths that differed.
fn sync_dir(dir: &Path, files: &[(String, Vec<u8>)], check: bool) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    if !check {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for (name, text) in files {
        let path = dir.join(name);
        let old = std::fs::read(&path).ok();
        if old.as_deref() != Some(text.as_slice()) {
            changed.push(path.display().to_string());
            if !check {
                std::fs::write(&path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !files.iter().any(|(n, _)| *n == name) {
                changed.push(format!("{} (no longer generated)", e.path().display()));
                if !check {
                    std::fs::remove_file(e.path())
                        .map_err(|err| format!("cannot remove {}: {err}", e.path().display()))?;
                }
            }
        }
    }
    Ok(changed)
}

fn rustfmt(text: &str) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("rustfmt has no stdin")?;
    let input = text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt failed: {e}"))?;
    writer
        .join()
        .map_err(|_| "rustfmt writer panicked".to_owned())?
        .map_err(|e| format!("rustfmt input: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let dump = std::env::temp_dir().join("oai-codegen-unformatted.rs");
        let _ = std::fs::write(&dump, text);
        return Err(format!(
            "rustfmt rejected generated code (saved to {}): {err}",
            dump.display()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("rustfmt output: {e}"))
}

#[cfg(test)]
mod tests {
    /// The committed generated code is what the generator produces today.
    #[test]
    fn generated_code_is_fresh() {
        let args = super::Args {
            spec: super::default_spec(),
            check: true,
        };
        if let Err(e) = super::run(&args) {
            panic!("{e}");
        }
    }
}
