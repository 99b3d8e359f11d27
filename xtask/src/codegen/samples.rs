//! Smallest valid JSON values of a schema (required fields only, lower
//! bounds), for the generated per-operation tests.

use super::spec::{Node, ref_name};

pub struct Sampler<'a> {
    schemas: &'a Node,
}

const MAX_DEPTH: usize = 24;

impl<'a> Sampler<'a> {
    pub fn new(spec: &'a Node) -> Self {
        Self {
            schemas: spec.at("components").at("schemas"),
        }
    }

    /// A sample of component `wire`.
    pub fn component(&self, wire: &str) -> Node {
        self.sample(self.schemas.at(wire), 0)
    }

    pub fn sample(&self, s: &'a Node, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            return Node::Null;
        }
        if let Some(r) = s.at("$ref").str().and_then(ref_name) {
            return self.sample(self.schemas.at(r), depth + 1);
        }
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(first) = s.at("enum").seq().iter().find(|v| !v.is_null()) {
            return first.clone();
        }
        for key in ["oneOf", "anyOf"] {
            let members: Vec<&Node> = s
                .at(key)
                .seq()
                .iter()
                .filter(|m| m.at("type").str() != Some("null"))
                .collect();
            if let Some(m) = members.first()
                && s.at("properties").map().is_empty()
            {
                return self.sample(m, depth + 1);
            }
        }
        let parts = s.at("allOf").seq();
        if !parts.is_empty() {
            let mut merged: Vec<(String, Node)> = Vec::new();
            let mut other = None;
            for p in parts {
                match self.sample(p, depth + 1) {
                    Node::Map(m) => {
                        for (k, v) in m {
                            if let Some(slot) = merged.iter_mut().find(|(mk, _)| *mk == k) {
                                slot.1 = v;
                            } else {
                                merged.push((k, v));
                            }
                        }
                    }
                    Node::Null => {}
                    v => other = Some(v),
                }
            }
            // A part may require a property that a sibling part defines.
            for p in parts {
                for r in self
                    .resolve(p)
                    .at("required")
                    .seq()
                    .iter()
                    .filter_map(Node::str)
                {
                    if merged.iter().any(|(k, _)| k == r) {
                        continue;
                    }
                    if let Some(prop) = self.find_property(s, r, 0) {
                        merged.push((r.to_owned(), self.sample(prop, depth + 1)));
                    }
                }
            }
            if s.at("properties").map().is_empty() && s.at("required").seq().is_empty() {
                return match other {
                    Some(v) if merged.is_empty() => v,
                    _ => Node::Map(merged),
                };
            }
            if let Node::Map(own) = self.object(s, depth) {
                for (k, v) in own {
                    if let Some(slot) = merged.iter_mut().find(|(mk, _)| *mk == k) {
                        slot.1 = v;
                    } else {
                        merged.push((k, v));
                    }
                }
            }
            return Node::Map(merged);
        }
        let t = match s.at("type") {
            Node::Str(t) => Some(t.as_str()),
            Node::Seq(ts) => ts.iter().filter_map(Node::str).find(|t| *t != "null"),
            _ => None,
        };
        match t {
            Some("string") => {
                if s.at("format").str() == Some("binary") {
                    return Node::Str("sample.bin".into());
                }
                if let Some(p) = s.at("pattern").str()
                    && let Some(v) = pattern_sample(p)
                {
                    return Node::Str(v);
                }
                let min = s.at("minLength").num().unwrap_or(1.0).max(1.0) as usize;
                let max = s.at("maxLength").num().map_or(usize::MAX, |m| m as usize);
                Node::Str("x".repeat(min.min(max.max(1)).min(64)))
            }
            Some("integer") => {
                let v = lower_bound(s, 1.0, true);
                Node::Int(v as i64)
            }
            Some("number") => Node::Float(lower_bound(s, 1.0, false)),
            Some("boolean") => Node::Bool(false),
            Some("array") => {
                let n = s.at("minItems").num().unwrap_or(1.0).max(1.0) as usize;
                let n = n.min(s.at("maxItems").num().map_or(usize::MAX, |m| m as usize));
                let item = self.sample(s.at("items"), depth + 1);
                if item.is_null() {
                    return Node::Seq(Vec::new());
                }
                Node::Seq(vec![item; n.min(4)])
            }
            _ => self.object(s, depth),
        }
    }

    /// Required properties, and constant ones (the generated types always
    /// carry their constants, so a sample without them would not round-trip).
    fn object(&self, s: &'a Node, depth: usize) -> Node {
        let mut required: Vec<&str> = s
            .at("required")
            .seq()
            .iter()
            .filter_map(Node::str)
            .collect();
        // `anyOf`/`oneOf` of `required` lists beside the properties: the first
        // alternative's fields.
        for key in ["anyOf", "oneOf"] {
            if let Some(first) = s.at(key).seq().first()
                && !first.at("required").seq().is_empty()
                && first.at("properties").map().is_empty()
            {
                required.extend(first.at("required").seq().iter().filter_map(Node::str));
                break;
            }
        }
        let mut out = Vec::new();
        for (k, v) in s.at("properties").map() {
            if required.contains(&k.as_str()) || self.is_const(v) {
                out.push((k.clone(), self.sample(v, depth + 1)));
            }
        }
        // Required properties defined in `allOf` parts.
        for r in &required {
            if out.iter().any(|(k, _)| k == r) {
                continue;
            }
            if let Some(p) = self.find_property(s, r, 0) {
                out.push(((*r).to_owned(), self.sample(p, depth + 1)));
            }
        }
        Node::Map(out)
    }

    fn resolve(&self, s: &'a Node) -> &'a Node {
        match s.at("$ref").str().and_then(ref_name) {
            Some(r) => self.schemas.at(r),
            None => s,
        }
    }

    fn is_const(&self, s: &'a Node) -> bool {
        let s = self.resolve(s);
        s.get("const").is_some()
            || (s.at("enum").seq().len() == 1 && s.at("type").str().is_none_or(|t| t == "string"))
    }

    fn find_property(&self, s: &'a Node, name: &str, depth: usize) -> Option<&'a Node> {
        if depth > 8 {
            return None;
        }
        let s = self.resolve(s);
        if let Some(p) = s.at("properties").get(name) {
            return Some(p);
        }
        s.at("allOf")
            .seq()
            .iter()
            .find_map(|p| self.find_property(p, name, depth + 1))
    }
}

/// A value within `minimum`/`maximum` (and their exclusive forms), near `pref`.
fn lower_bound(s: &Node, pref: f64, integer: bool) -> f64 {
    let mut lo = f64::NEG_INFINITY;
    let mut hi = f64::INFINITY;
    let step = if integer { 1.0 } else { 0.5 };
    if let Some(m) = s.at("minimum").num() {
        lo = if s.at("exclusiveMinimum").bool() == Some(true) {
            m + step
        } else {
            m
        };
    }
    if let Some(m) = s.at("exclusiveMinimum").num() {
        lo = lo.max(m + step);
    }
    if let Some(m) = s.at("maximum").num() {
        hi = if s.at("exclusiveMaximum").bool() == Some(true) {
            m - step
        } else {
            m
        };
    }
    if let Some(m) = s.at("exclusiveMaximum").num() {
        hi = hi.min(m - step);
    }
    let v = pref.max(lo).min(hi);
    if integer { v.ceil() } else { v }
}

/// A string matching a simple anchored pattern: the first character of each
/// class, repeated the fewest times allowed (at least once for `+`).
fn pattern_sample(p: &str) -> Option<String> {
    let body = p.strip_prefix('^')?.strip_suffix('$')?;
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = match chars[i] {
            '[' => {
                let end = chars[i..].iter().position(|c| *c == ']')? + i;
                let first = *chars.get(i + 1)?;
                i = end + 1;
                first
            }
            '\\' => {
                i += 2;
                *chars.get(i - 1)?
            }
            c => {
                i += 1;
                c
            }
        };
        let count = match chars.get(i) {
            Some('+') => {
                i += 1;
                1
            }
            Some('*') | Some('?') => {
                i += 1;
                0
            }
            Some('{') => {
                let end = chars[i..].iter().position(|c| *c == '}')? + i;
                let inner: String = chars[i + 1..end].iter().collect();
                i = end + 1;
                inner.split(',').next()?.trim().parse().ok()?
            }
            _ => 1,
        };
        for _ in 0..count {
            out.push(c);
        }
    }
    Some(out)
}
