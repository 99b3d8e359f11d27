//! `cargo xtask tools`: the cargo subcommands the gates use, pinned to exact
//! versions and installed with `cargo install --locked` when missing or different.

use crate::{Result, capture, cargo, exec};

/// A cargo subcommand installed from crates.io.
#[derive(Debug)]
pub struct Tool {
    /// The crate to install.
    pub krate: &'static str,
    /// The subcommand it adds to cargo.
    pub subcommand: &'static str,
    /// The exact version the project uses.
    pub version: &'static str,
}

pub const CARGO_AUDIT: Tool = Tool {
    krate: "cargo-audit",
    subcommand: "audit",
    version: "0.22.2",
};
pub const CARGO_DENY: Tool = Tool {
    krate: "cargo-deny",
    subcommand: "deny",
    version: "0.20.2",
};
pub const CARGO_FUZZ: Tool = Tool {
    krate: "cargo-fuzz",
    subcommand: "fuzz",
    version: "0.13.2",
};

pub const ALL: [&Tool; 3] = [&CARGO_AUDIT, &CARGO_DENY, &CARGO_FUZZ];

/// Installs every pinned tool that is missing or at another version.
pub fn ensure_all() -> Result {
    ALL.into_iter().try_for_each(ensure)
}

/// Installs `tool` unless `cargo <subcommand> --version` already reports the
/// pinned version.
pub fn ensure(tool: &Tool) -> Result {
    let found = installed_version(tool);
    if found.as_deref() == Some(tool.version) {
        return Ok(());
    }
    match &found {
        Some(v) => println!(
            "{} {v} found, the project pins {}",
            tool.krate, tool.version
        ),
        None => println!("{} not found, installing {}", tool.krate, tool.version),
    }
    exec(&mut cargo([
        "install",
        "--locked",
        &format!("{}@{}", tool.krate, tool.version),
    ]))?;
    match installed_version(tool) {
        Some(v) if v == tool.version => Ok(()),
        other => Err(format!(
            "installed {}@{} but `cargo {} --version` reports {}; is another copy earlier on PATH?",
            tool.krate,
            tool.version,
            tool.subcommand,
            other.as_deref().unwrap_or("nothing")
        )),
    }
}

fn installed_version(tool: &Tool) -> Option<String> {
    let out = capture(&mut cargo([tool.subcommand, "--version"])).ok()?;
    parse_version(&out).map(str::to_owned)
}

/// The version in a `--version` line such as `cargo-deny 0.20.2` (cargo-audit
/// 0.22 prints `cargo-audit-audit 0.22.2`): the last word of the first line.
pub fn parse_version(output: &str) -> Option<&str> {
    let word = output.lines().next()?.split_whitespace().next_back()?;
    let word = word.strip_prefix('v').unwrap_or(word);
    let numeric = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    (word.split('.').count() == 3 && word.split('.').all(numeric)).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn parses_tool_version_lines() {
        assert_eq!(parse_version("cargo-audit-audit 0.22.2\n"), Some("0.22.2"));
        assert_eq!(parse_version("cargo-deny 0.20.2"), Some("0.20.2"));
        assert_eq!(
            parse_version("cargo-fuzz 0.13.2\nextra 9.9.9"),
            Some("0.13.2")
        );
        assert_eq!(parse_version("tool v1.2.3"), Some("1.2.3"));
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("error: no such command: `deny`"), None);
        assert_eq!(parse_version("cargo-deny 0.20"), None);
        assert_eq!(parse_version("cargo-deny 0.20.2.1"), None);
        assert_eq!(parse_version("cargo-deny 0.20.2-rc.1"), None);
    }
}
