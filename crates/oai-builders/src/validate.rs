//! Checking a request against the constraints of the API description before it
//! is sent.
//!
//! Every request type of the API implements [`Validate`]; the implementations
//! are generated from the constraints of the OpenAPI document (lengths, bounds,
//! item counts, patterns, closed enums). A check never stops at the first
//! problem: [`ValidationError`] lists every violation with the path of the
//! field, such as `messages[2].content: must not be empty`.
//!
//! ```
//! use oai_builders::validate::{Path, Validate, Violations};
//!
//! struct Name(String);
//!
//! impl Validate for Name {
//!     fn check(&self, at: &Path<'_>, out: &mut Violations) {
//!         oai_builders::validate::str_len(&self.0, Some(1), Some(8), &at.field("name"), out);
//!     }
//! }
//!
//! let err = Name(String::new()).validate().unwrap_err();
//! assert_eq!(err.to_string(), "invalid request: name: must not be empty");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Nesting deeper than this is reported as a violation instead of being walked.
pub const MAX_DEPTH: usize = 128;

/// Where a value sits in a request, built on the stack while checking and only
/// rendered when a violation is found.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
    depth: usize,
}

#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Root,
    Field(&'static str),
    Index(usize),
    Key(&'a str),
}

impl Default for Path<'_> {
    fn default() -> Self {
        Self::root()
    }
}

impl<'a> Path<'a> {
    /// The request itself.
    pub const fn root() -> Self {
        Path {
            parent: None,
            step: Step::Root,
            depth: 0,
        }
    }

    /// A field of the value at this path.
    pub fn field(&'a self, name: &'static str) -> Path<'a> {
        self.child(Step::Field(name))
    }

    /// An item of the array at this path.
    pub fn index(&'a self, i: usize) -> Path<'a> {
        self.child(Step::Index(i))
    }

    /// A value of the map at this path.
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        self.child(Step::Key(key))
    }

    fn child(&'a self, step: Step<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            step,
            depth: self.depth + 1,
        }
    }

    /// How many steps below the root.
    pub fn depth(&self) -> usize {
        self.depth
    }

    fn render(&self, out: &mut String) {
        if let Some(p) = self.parent {
            p.render(out);
        }
        match self.step {
            Step::Root => {}
            Step::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Step::Key(k) => {
                out.push('[');
                out.push_str(&format!("{k:?}"));
                out.push(']');
            }
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.render(&mut s);
        if s.is_empty() {
            f.write_str("(request)")
        } else {
            f.write_str(&s)
        }
    }
}

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field path, like `messages[2].content`; `(request)` for the root.
    pub path: String,
    /// What is wrong, like `must not be empty`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The violations found so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation at `at`.
    pub fn push(&mut self, at: &Path<'_>, message: impl Into<String>) {
        self.0.push(Violation {
            path: at.to_string(),
            message: message.into(),
        });
    }

    /// Whether none was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Each violation, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }

    /// `Ok` when none was found.
    ///
    /// # Errors
    /// A [`ValidationError`] with every violation.
    pub fn into_result(self) -> Result<(), ValidationError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationError { violations: self.0 })
        }
    }
}

/// A request that breaks the constraints of the API; lists every violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    violations: Vec<Violation>,
}

impl ValidationError {
    /// One violation at `at`.
    pub fn single(at: &Path<'_>, message: impl Into<String>) -> Self {
        let mut out = Violations::new();
        out.push(at, message);
        Self { violations: out.0 }
    }

    /// Every violation, in the order found (at least one).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid request: ")?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// A value whose constraints can be checked.
pub trait Validate {
    /// Adds every violation found in `self` (located at `at`) to `out`.
    fn check(&self, at: &Path<'_>, out: &mut Violations);

    /// Checks the whole value.
    ///
    /// # Errors
    /// A [`ValidationError`] listing every violation.
    fn validate(&self) -> Result<(), ValidationError> {
        let mut out = Violations::new();
        self.check(&Path::root(), &mut out);
        out.into_result()
    }
}

/// `false` (and a violation) when `at` is nested too deep to be walked.
pub fn enter(at: &Path<'_>, out: &mut Violations) -> bool {
    if at.depth() > MAX_DEPTH {
        out.push(at, format!("nested deeper than {MAX_DEPTH} levels"));
        false
    } else {
        true
    }
}

impl<T: Validate + ?Sized> Validate for Box<T> {
    fn check(&self, at: &Path<'_>, out: &mut Violations) {
        (**self).check(at, out);
    }
}

impl<T: Validate> Validate for Option<T> {
    fn check(&self, at: &Path<'_>, out: &mut Violations) {
        if let Some(v) = self {
            v.check(at, out);
        }
    }
}

impl<T: Validate> Validate for [T] {
    fn check(&self, at: &Path<'_>, out: &mut Violations) {
        if !enter(at, out) {
            return;
        }
        for (i, v) in self.iter().enumerate() {
            v.check(&at.index(i), out);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn check(&self, at: &Path<'_>, out: &mut Violations) {
        self.as_slice().check(at, out);
    }
}

impl<T: Validate> Validate for BTreeMap<String, T> {
    fn check(&self, at: &Path<'_>, out: &mut Violations) {
        if !enter(at, out) {
            return;
        }
        for (k, v) in self {
            v.check(&at.key(k), out);
        }
    }
}

impl<T: Validate, S> Validate for HashMap<String, T, S> {
    fn check(&self, at: &Path<'_>, out: &mut Violations) {
        if !enter(at, out) {
            return;
        }
        for (k, v) in self {
            v.check(&at.key(k), out);
        }
    }
}

/// `n` of a thing, as `(singular, plural)`.
fn plural(n: u64, (one, many): (&str, &str)) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn count_check(
    n: usize,
    min: Option<u64>,
    max: Option<u64>,
    what: (&str, &str),
    at: &Path<'_>,
    out: &mut Violations,
) {
    let n = n as u64;
    if let Some(min) = min
        && n < min
    {
        if n == 0 && min == 1 {
            out.push(at, "must not be empty");
        } else {
            out.push(
                at,
                format!("must have at least {} (has {n})", plural(min, what)),
            );
        }
    }
    if let Some(max) = max
        && n > max
    {
        out.push(
            at,
            format!("must have at most {} (has {n})", plural(max, what)),
        );
    }
}

/// A string's length in characters (Unicode scalar values) within bounds.
pub fn str_len(s: &str, min: Option<u64>, max: Option<u64>, at: &Path<'_>, out: &mut Violations) {
    // Only count when a bound could be broken: a byte length below the
    // minimum, or above the maximum, is needed for that.
    let bytes = s.len() as u64;
    let may_be_short = min.is_some_and(|m| bytes < m.saturating_mul(4));
    let may_be_long = max.is_some_and(|m| bytes > m);
    if may_be_short || may_be_long {
        count_check(
            s.chars().count(),
            min,
            max,
            ("character", "characters"),
            at,
            out,
        );
    }
}

/// An array's length within bounds.
pub fn items(len: usize, min: Option<u64>, max: Option<u64>, at: &Path<'_>, out: &mut Violations) {
    count_check(len, min, max, ("item", "items"), at, out);
}

/// A map's number of entries within bounds.
pub fn entries(
    len: usize,
    min: Option<u64>,
    max: Option<u64>,
    at: &Path<'_>,
    out: &mut Violations,
) {
    count_check(len, min, max, ("entry", "entries"), at, out);
}

/// A bound of a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// No bound.
    None,
    /// The value may equal the bound.
    Inclusive(f64),
    /// The value must not equal the bound.
    Exclusive(f64),
}

fn num_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A number within bounds. `NaN` and infinities never are.
pub fn number(v: f64, min: Bound, max: Bound, at: &Path<'_>, out: &mut Violations) {
    if !v.is_finite() {
        out.push(at, format!("must be a finite number (is {v})"));
        return;
    }
    match min {
        Bound::Inclusive(m) if v < m => {
            out.push(
                at,
                format!("must be at least {} (is {})", num_text(m), num_text(v)),
            );
        }
        Bound::Exclusive(m) if v <= m => {
            out.push(
                at,
                format!("must be greater than {} (is {})", num_text(m), num_text(v)),
            );
        }
        _ => {}
    }
    match max {
        Bound::Inclusive(m) if v > m => {
            out.push(
                at,
                format!("must be at most {} (is {})", num_text(m), num_text(v)),
            );
        }
        Bound::Exclusive(m) if v >= m => {
            out.push(
                at,
                format!("must be less than {} (is {})", num_text(m), num_text(v)),
            );
        }
        _ => {}
    }
}

/// An integer within bounds (compared exactly, not through `f64`).
pub fn integer(v: i128, min: Bound, max: Bound, at: &Path<'_>, out: &mut Violations) {
    let below = |m: f64, strict: bool| {
        let m = m.ceil();
        let m = m as i128;
        if strict { v <= m } else { v < m }
    };
    let above = |m: f64, strict: bool| {
        let m = m.floor() as i128;
        if strict { v >= m } else { v > m }
    };
    match min {
        Bound::Inclusive(m) if below(m, false) => {
            out.push(at, format!("must be at least {} (is {v})", num_text(m)));
        }
        Bound::Exclusive(m) if below(m, true) => {
            out.push(at, format!("must be greater than {} (is {v})", num_text(m)));
        }
        _ => {}
    }
    match max {
        Bound::Inclusive(m) if above(m, false) => {
            out.push(at, format!("must be at most {} (is {v})", num_text(m)));
        }
        Bound::Exclusive(m) if above(m, true) => {
            out.push(at, format!("must be less than {} (is {v})", num_text(m)));
        }
        _ => {}
    }
}

/// Sets of fields of which one must be present (`exclusive`: exactly one):
/// `present[i]` says whether every field of set `names[i]` is there.
pub fn alternatives(
    present: &[bool],
    names: &[&str],
    exclusive: bool,
    at: &Path<'_>,
    out: &mut Violations,
) {
    let count = present.iter().filter(|p| **p).count();
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if count == 0 {
        out.push(at, format!("needs one of {list}"));
    } else if exclusive && count > 1 {
        out.push(at, format!("takes only one of {list}"));
    }
}

/// One element of a compiled pattern: a character set repeated `min..=max`
/// times (`max` of `u32::MAX` is unbounded).
#[derive(Debug, Clone, Copy)]
pub struct Piece {
    /// Inclusive ranges of allowed characters.
    pub set: &'static [(char, char)],
    /// Fewest repetitions.
    pub min: u32,
    /// Most repetitions.
    pub max: u32,
}

/// A regular expression of the simple kind the API uses, anchored at both
/// ends and compiled by the code generator into [`Piece`]s (no backtracking
/// engine, no dependency).
#[derive(Debug, Clone, Copy)]
pub struct Pattern {
    /// The expression as written in the API description.
    pub source: &'static str,
    /// Its pieces, in order.
    pub pieces: &'static [Piece],
}

impl Pattern {
    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        // `reach[j]`: the first `j` characters are matched by the pieces so far.
        let mut reach = vec![false; chars.len() + 1];
        reach[0] = true;
        for piece in self.pieces {
            let mut next = vec![false; chars.len() + 1];
            let mut any = false;
            for start in 0..=chars.len() {
                if !reach[start] {
                    continue;
                }
                let mut count: u32 = 0;
                let mut j = start;
                loop {
                    if count >= piece.min {
                        next[j] = true;
                        any = true;
                    }
                    if count == piece.max || j == chars.len() {
                        break;
                    }
                    let c = chars[j];
                    if !piece.set.iter().any(|&(lo, hi)| lo <= c && c <= hi) {
                        break;
                    }
                    count += 1;
                    j += 1;
                    // Later starts cover the same tail; stop early when they will.
                    // With at most one required repetition, the run from a
                    // later reached start covers everything this one would.
                    if piece.max == u32::MAX
                        && piece.min <= 1
                        && reach.get(j).copied().unwrap_or(false)
                    {
                        next[j] = true;
                        any = true;
                        break;
                    }
                }
            }
            if !any {
                return false;
            }
            reach = next;
        }
        reach[chars.len()]
    }
}

/// A string matching `pattern`.
pub fn pattern(s: &str, pattern: &Pattern, at: &Path<'_>, out: &mut Violations) {
    if !pattern.is_match(s) {
        out.push(at, format!("must match the pattern {}", pattern.source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLUG: Pattern = Pattern {
        source: "^[a-z0-9_-]+$",
        pieces: &[Piece {
            set: &[('a', 'z'), ('0', '9'), ('_', '_'), ('-', '-')],
            min: 1,
            max: u32::MAX,
        }],
    };
    const TUNNEL: Pattern = Pattern {
        source: "^tunnel_[a-z0-9]{4}$",
        pieces: &[
            Piece {
                set: &[('t', 't')],
                min: 1,
                max: 1,
            },
            Piece {
                set: &[('_', '_')],
                min: 1,
                max: 1,
            },
            Piece {
                set: &[('a', 'z'), ('0', '9')],
                min: 4,
                max: 4,
            },
        ],
    };

    #[test]
    fn patterns() {
        assert!(SLUG.is_match("abc_1-2"));
        assert!(!SLUG.is_match(""));
        assert!(!SLUG.is_match("ab c"));
        assert!(!SLUG.is_match("ABC"));
        assert!(TUNNEL.is_match("t_ab12"));
        assert!(!TUNNEL.is_match("t_ab1"));
        assert!(!TUNNEL.is_match("t_ab123"));
        assert!(!TUNNEL.is_match("x_ab12"));
    }

    #[test]
    fn paths_render() {
        let root = Path::root();
        let m = root.field("messages");
        let i = m.index(2);
        let c = i.field("content");
        assert_eq!(c.to_string(), "messages[2].content");
        let meta = root.field("metadata");
        let k = meta.key("a\"b");
        assert_eq!(k.to_string(), "metadata[\"a\\\"b\"]");
        assert_eq!(root.to_string(), "(request)");
    }

    #[test]
    fn every_violation_is_listed() {
        let mut out = Violations::new();
        let root = Path::root();
        str_len("", Some(1), None, &root.field("a"), &mut out);
        str_len("héllo", None, Some(4), &root.field("b"), &mut out);
        str_len("héllo", None, Some(5), &root.field("ok"), &mut out);
        number(
            2.5,
            Bound::Inclusive(0.0),
            Bound::Inclusive(2.0),
            &root.field("t"),
            &mut out,
        );
        number(
            0.0,
            Bound::Exclusive(0.0),
            Bound::None,
            &root.field("x"),
            &mut out,
        );
        number(
            f64::NAN,
            Bound::None,
            Bound::None,
            &root.field("n"),
            &mut out,
        );
        integer(
            i128::from(u64::MAX),
            Bound::None,
            Bound::Inclusive(10.0),
            &root.field("i"),
            &mut out,
        );
        items(3, None, Some(2), &root.field("v"), &mut out);
        entries(3, Some(4), Some(8), &root.field("m"), &mut out);
        entries(2, None, Some(1), &root.field("m1"), &mut out);
        let err = out.into_result().unwrap_err();
        let lines: Vec<String> = err.violations().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "a: must not be empty",
                "b: must have at most 4 characters (has 5)",
                "t: must be at most 2 (is 2.5)",
                "x: must be greater than 0 (is 0)",
                "n: must be a finite number (is NaN)",
                "i: must be at most 10 (is 18446744073709551615)",
                "v: must have at most 2 items (has 3)",
                "m: must have at least 4 entries (has 3)",
                "m1: must have at most 1 entry (has 2)",
            ]
        );
    }

    #[test]
    fn depth_is_bounded() {
        struct Nest(Option<Box<Nest>>);
        impl Validate for Nest {
            fn check(&self, at: &Path<'_>, out: &mut Violations) {
                if !enter(at, out) {
                    return;
                }
                if let Some(n) = &self.0 {
                    n.check(&at.field("n"), out);
                }
            }
        }
        let mut n = Nest(None);
        for _ in 0..1000 {
            n = Nest(Some(Box::new(n)));
        }
        let err = n.validate().unwrap_err();
        assert_eq!(err.violations().len(), 1);
        assert!(err.violations()[0].message.contains("nested deeper"));
    }
}
