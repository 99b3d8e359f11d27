//! From schemas to Rust type definitions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::knowledge;
use super::names::{common_affixes, pascal, snake, strip_words};
use super::spec::{Node, ref_name};

/// A Rust type used by a field or a variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Bool,
    I64,
    U64,
    F64,
    String,
    /// Free-form JSON.
    Value,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    /// A generated type.
    Named(String),
    /// A constant string, a unit type in `consts`.
    Const(String),
    /// A file sent in a multipart body (`format: binary`).
    File,
    /// A hand-written type at the root of `oai-types` (`extern_fields` in `xtask/knowledge.yaml`).
    Extern(&'static str),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub wire: String,
    pub name: String,
    pub ty: Ty,
    /// `Option<_>`: optional or nullable on the wire.
    pub option: bool,
    /// Absent on the wire when `None` (optional fields).
    pub skip_none: bool,
    /// Required, but read as its type's default when absent
    /// (`tolerated_omissions` in `xtask/knowledge.yaml`).
    pub default_when_absent: bool,
    pub boxed: bool,
    pub doc: Vec<String>,
    /// Constraints of the value (its own, and of its items or map values).
    pub checks: Checks,
}

/// The constraints of one value of the spec, as the validator enforces them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checks {
    /// `(bound, exclusive)`.
    pub min: Option<(f64, bool)>,
    pub max: Option<(f64, bool)>,
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub min_props: Option<u64>,
    pub max_props: Option<u64>,
    pub key_max_len: Option<u64>,
    pub pattern: Option<String>,
    /// Of each item of an array.
    pub items: Option<Box<Checks>>,
    /// Of each value of a map.
    pub values: Option<Box<Checks>>,
}

impl Checks {
    pub fn is_empty(&self) -> bool {
        *self == Checks::default()
    }
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub ty: Ty,
    /// The tag value of a tagged union's variant (its first, when it has several).
    pub wire: Option<String>,
    /// Its other tag values (the spec's tag property is an `enum` of several).
    pub more_wires: Vec<String>,
    pub boxed: bool,
    pub checks: Checks,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Struct(Vec<Field>),
    /// Known values `(variant, wire)`; unknown values are kept.
    Enum(Vec<(String, String)>),
    Tagged {
        tag: String,
        variants: Vec<Variant>,
    },
    Untagged(Vec<Variant>),
    Alias(Ty),
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    pub kind: Kind,
    pub doc: Vec<String>,
    /// The component this type is, or sits inside.
    pub root: String,
    pub areas: BTreeSet<String>,
    pub deprecated: bool,
    /// For structs: sets of fields of which one must be present (the spec's
    /// `anyOf`/`oneOf` of `required` lists), and whether only one may be.
    pub alternatives: Option<(bool, Vec<Vec<String>>)>,
}

pub struct Model<'a> {
    spec: &'a Node,
    schemas: &'a Node,
    pub types: BTreeMap<String, TypeDef>,
    /// Wire value -> const type name.
    pub consts: BTreeMap<String, String>,
    /// Component wire name -> Rust name.
    pub components: BTreeMap<String, String>,
    fingerprints: HashMap<String, String>,
    /// Fingerprint -> the first inline enum or struct defined with it.
    by_fingerprint: HashMap<String, String>,
    /// Fingerprint -> the component (Rust name) whose schema it is, for the
    /// components that are objects or enums: an inline schema identical to
    /// one is that component, not a long name of its own.
    component_fps: HashMap<String, String>,
    /// Names that had to be disambiguated with a number.
    pub renamed: Vec<String>,
    overrides: HashMap<&'static str, &'static str>,
    /// The property schemas of the fields that carry a credential (see
    /// `secret_fields` in `xtask/knowledge.yaml`), told apart by address.
    pub secret_nodes: Vec<&'a Node>,
}

/// A tagged union's variant larger than this (estimated bytes) is boxed.
pub const LARGE_VARIANT: usize = 256;
/// An optional field whose type is larger than this (estimated bytes) is
/// boxed.
pub const LARGE_OPTIONAL: usize = 160;

fn fingerprint(n: &Node) -> String {
    fn strip(n: &Node) -> Node {
        match n {
            Node::Map(m) => Node::Map(
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "description"
                                | "title"
                                | "example"
                                | "examples"
                                | "x-oaiMeta"
                                // A default belongs to the field (its doc
                                // says it), not to the type.
                                | "default"
                        )
                    })
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Node::Seq(s) => Node::Seq(s.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    strip(n).to_json()
}

impl<'a> Model<'a> {
    pub fn new(spec: &'a Node) -> Self {
        let schemas = spec.at("components").at("schemas");
        let mut components = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for (wire, _) in schemas.map() {
            let mut name = pascal(wire);
            while !taken.insert(name.clone()) {
                name.push('_');
            }
            components.insert(wire.clone(), name);
        }
        // Of identical components, the one whose name says most plainly what
        // it is: not a beta twin, then the shortest, then the first by name.
        let mut component_fps: HashMap<String, String> = HashMap::new();
        for (wire, s) in schemas.map() {
            if s.at("properties").map().is_empty() && s.at("enum").seq().is_empty() {
                continue;
            }
            let name = components[wire].clone();
            let rank = |n: &str| (n.starts_with("Beta"), n.len(), n.to_owned());
            let entry = component_fps
                .entry(fingerprint(s))
                .or_insert_with(|| name.clone());
            if rank(&name) < rank(entry) {
                *entry = name;
            }
        }
        Self {
            spec,
            schemas,
            types: BTreeMap::new(),
            consts: BTreeMap::new(),
            components,
            fingerprints: HashMap::new(),
            by_fingerprint: HashMap::new(),
            component_fps,
            renamed: Vec::new(),
            overrides: knowledge::get()
                .type_names
                .iter()
                .map(|t| (t.derived.as_str(), t.chosen.as_str()))
                .collect(),
            secret_nodes: Vec::new(),
        }
    }

    pub fn spec(&self) -> &'a Node {
        self.spec
    }

    /// `Beta*` components identical to their plain twin (once their own
    /// references to other `Beta*` twins are read as the plain ones): wire name
    /// of the beta schema -> wire name of the plain one.
    fn beta_twins(&self) -> BTreeMap<String, String> {
        fn unbeta(n: &Node, schemas: &Node) -> Node {
            match n {
                Node::Map(m) => Node::Map(
                    m.iter()
                        .map(|(k, v)| {
                            let v = match (k.as_str(), v.str().and_then(ref_name)) {
                                ("$ref", Some(r)) => match r.strip_prefix("Beta") {
                                    Some(plain) if schemas.get(plain).is_some() => {
                                        Node::Str(format!("#/components/schemas/{plain}"))
                                    }
                                    _ => v.clone(),
                                },
                                _ => unbeta(v, schemas),
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                Node::Seq(items) => Node::Seq(items.iter().map(|v| unbeta(v, schemas)).collect()),
                other => other.clone(),
            }
        }
        let mut twins = BTreeMap::new();
        for (wire, schema) in self.schemas.map() {
            let Some(plain) = wire.strip_prefix("Beta") else {
                continue;
            };
            let Some(twin) = self.schemas.get(plain) else {
                continue;
            };
            if fingerprint(&unbeta(schema, self.schemas))
                == fingerprint(&unbeta(twin, self.schemas))
            {
                twins.insert(wire.clone(), plain.to_owned());
            }
        }
        // The comparison renamed every `Beta*` reference to its plain name,
        // which holds only if the referenced pair are twins too: drop the
        // schemas that reach a `Beta*` schema which differs from its plain one,
        // until none is left.
        fn beta_refs<'n>(n: &'n Node, out: &mut Vec<&'n str>) {
            match n {
                Node::Map(m) => {
                    for (k, v) in m {
                        match (k.as_str(), v.str().and_then(ref_name)) {
                            ("$ref", Some(r)) if r.starts_with("Beta") => out.push(r),
                            _ => beta_refs(v, out),
                        }
                    }
                }
                Node::Seq(items) => items.iter().for_each(|v| beta_refs(v, out)),
                _ => {}
            }
        }
        loop {
            let broken: Vec<String> = twins
                .keys()
                .filter(|wire| {
                    let mut refs = Vec::new();
                    beta_refs(self.schemas.at(wire), &mut refs);
                    refs.iter().any(|r| {
                        let has_plain = r
                            .strip_prefix("Beta")
                            .is_some_and(|p| self.schemas.get(p).is_some());
                        has_plain && !twins.contains_key(*r)
                    })
                })
                .cloned()
                .collect();
            if broken.is_empty() {
                break;
            }
            for b in broken {
                twins.remove(&b);
            }
        }
        twins
    }

    /// Defines every component schema (and the inline schemas inside them).
    pub fn build(&mut self) {
        let schemas = self.schemas;
        let twins = self.beta_twins();
        for (wire, schema) in schemas.map() {
            let name = self.components[wire].clone();
            if let Some(plain) = twins.get(wire) {
                let target = self.components[plain].clone();
                let doc = vec![format!("The `{wire}` schema, identical to `{plain}`.")];
                self.types.insert(
                    name.clone(),
                    TypeDef {
                        name,
                        kind: Kind::Alias(Ty::Named(target)),
                        doc,
                        root: wire.clone(),
                        areas: BTreeSet::new(),
                        deprecated: false,
                        alternatives: None,
                    },
                );
                continue;
            }
            let kind = self.kind_of(schema, &name, wire);
            let mut doc = vec![format!("The `{wire}` schema.")];
            doc.extend(facts(schema));
            let deprecated = schema.at("deprecated").bool() == Some(true);
            self.types.insert(
                name.clone(),
                TypeDef {
                    name,
                    kind,
                    doc,
                    root: wire.clone(),
                    areas: BTreeSet::new(),
                    deprecated,
                    alternatives: required_alternatives(schema),
                },
            );
        }
        self.box_cycles();
        self.box_large();
        self.optional_constants();
    }

    /// An optional constant stays absent when it was absent (nothing added on
    /// the way back), so it is an `Option`, except where it is the tag of a
    /// tagged union: a union's variant must always write its tag.
    fn optional_constants(&mut self) {
        let mut tags: BTreeSet<(String, String)> = BTreeSet::new();
        for t in self.types.values() {
            if let Kind::Tagged { tag, variants } = &t.kind {
                for v in variants {
                    if let Ty::Named(n) = &v.ty {
                        tags.insert((n.clone(), tag.clone()));
                    }
                }
            }
        }
        // Through aliases: a variant may name an alias of the struct.
        let aliases: Vec<(String, String)> = self
            .types
            .values()
            .filter_map(|t| match &t.kind {
                Kind::Alias(Ty::Named(target)) => Some((t.name.clone(), target.clone())),
                _ => None,
            })
            .collect();
        for _ in 0..8 {
            let more: Vec<(String, String)> = tags
                .iter()
                .filter_map(|(n, tag)| {
                    aliases
                        .iter()
                        .find(|(a, _)| a == n)
                        .map(|(_, target)| (target.clone(), tag.clone()))
                })
                .filter(|k| !tags.contains(k))
                .collect();
            if more.is_empty() {
                break;
            }
            tags.extend(more);
        }
        for t in self.types.values_mut() {
            let Kind::Struct(fields) = &mut t.kind else {
                continue;
            };
            for f in fields.iter_mut() {
                let optional = f.skip_none;
                if matches!(f.ty, Ty::Const(_))
                    && optional
                    && !tags.contains(&(t.name.clone(), f.wire.clone()))
                {
                    f.option = true;
                }
            }
        }
    }

    /// Whether a component schema itself admits `null`.
    fn admits_null(&self, s: &Node) -> bool {
        s.at("nullable").bool() == Some(true)
            || s.at("type").seq().iter().any(|t| t.str() == Some("null"))
            || s.at("anyOf")
                .seq()
                .iter()
                .chain(s.at("oneOf").seq())
                .any(is_null_schema)
    }

    /// Whether `n` is the schema of a field that carries a credential.
    fn is_secret(&self, n: &Node) -> bool {
        self.secret_nodes.iter().any(|s| std::ptr::eq(*s, n))
    }

    /// Whether one of the properties of `s` carries a credential.
    fn holds_secret(&self, s: &'a Node) -> bool {
        let mut props = Vec::new();
        self.collect_props(s, &mut props, &mut BTreeSet::new());
        props.iter().any(|(_, p)| self.is_secret(p))
    }

    fn resolve(&self, n: &'a Node) -> &'a Node {
        let mut cur = n;
        for _ in 0..16 {
            match cur.at("$ref").str().and_then(ref_name) {
                Some(r) => cur = self.schemas.at(r),
                None => break,
            }
        }
        cur
    }

    /// Defines an inline schema under a name derived from its place, reusing an
    /// identical definition of the same name.
    fn inline(&mut self, schema: &'a Node, wanted: &str, root: &str) -> String {
        let wanted = self
            .overrides
            .get(wanted)
            .map(|s| (*s).to_owned())
            .unwrap_or_else(|| wanted.to_owned());
        let mut fp = fingerprint(schema);
        // A schema with a credential among its fields is not the same type
        // as its look-alike without one.
        if self.holds_secret(schema) {
            fp.push_str("#secret");
        }
        if let Some(component) = self.component_fps.get(&fp) {
            return component.clone();
        }
        let mut name = wanted.clone();
        let mut n = 2;
        loop {
            let clash_component = self.components.values().any(|c| *c == name);
            match self.fingerprints.get(&name) {
                Some(existing) if *existing == fp => return name,
                None if !clash_component && !self.types.contains_key(&name) => break,
                _ => {
                    name = format!("{wanted}{n}");
                    n += 1;
                }
            }
        }
        if name != wanted {
            self.renamed.push(format!("{wanted} -> {name} (in {root})"));
        }
        self.fingerprints.insert(name.clone(), fp.clone());
        // The same inline schema met again under another name (the `asc` /
        // `desc` order of every list, say): the name stays, as an alias of
        // the first definition, so the code is compiled once.
        if let Some(first) = self.by_fingerprint.get(&fp).cloned() {
            let doc = vec![format!(
                "Inline schema in `{root}`, identical to [`{first}`]."
            )];
            self.types.insert(
                name.clone(),
                TypeDef {
                    name: name.clone(),
                    kind: Kind::Alias(Ty::Named(first)),
                    doc,
                    root: root.to_owned(),
                    areas: BTreeSet::new(),
                    deprecated: false,
                    alternatives: None,
                },
            );
            return name;
        }
        // Reserve the name before recursing (self-referencing inline schemas).
        self.types.insert(
            name.clone(),
            TypeDef {
                name: name.clone(),
                kind: Kind::Alias(Ty::Value),
                doc: vec![],
                root: root.to_owned(),
                areas: BTreeSet::new(),
                deprecated: false,
                alternatives: None,
            },
        );
        let kind = self.kind_of(schema, &name, root);
        let mut doc = vec![format!("Inline schema in `{root}`.")];
        // Identical schemas with other defaults share this type: the
        // default is said on each field, not here.
        doc.extend(
            facts(schema)
                .into_iter()
                .filter(|f| !f.starts_with("Default:")),
        );
        let deprecated = schema.at("deprecated").bool() == Some(true);
        self.types.insert(
            name.clone(),
            TypeDef {
                name: name.clone(),
                kind,
                doc,
                root: root.to_owned(),
                areas: BTreeSet::new(),
                deprecated,
                alternatives: required_alternatives(schema),
            },
        );
        if matches!(
            self.types.get(&name).map(|t| &t.kind),
            Some(Kind::Enum(_) | Kind::Struct(_))
        ) {
            self.by_fingerprint
                .entry(fp)
                .or_insert_with(|| name.clone());
        }
        name
    }

    fn const_ty(&mut self, value: &str) -> Ty {
        if let Some(n) = self.consts.get(value) {
            return Ty::Const(n.clone());
        }
        let mut name = pascal(value);
        while self.consts.values().any(|v| *v == name) {
            name.push('_');
        }
        self.consts.insert(value.to_owned(), name.clone());
        Ty::Const(name)
    }

    /// The type of a schema used in place (a field, an item, a variant), and
    /// whether it admits `null`.
    pub fn ty_of(&mut self, s: &'a Node, ctx: &str, root: &str) -> (Ty, bool) {
        if let Some(r) = s.at("$ref").str().and_then(ref_name) {
            let nullable =
                s.at("nullable").bool() == Some(true) || self.admits_null(self.schemas.at(r));
            return match self.components.get(r) {
                Some(n) => (Ty::Named(n.clone()), nullable),
                None => (Ty::Value, nullable),
            };
        }
        let mut nullable = s.at("nullable").bool() == Some(true);
        // type: [X, "null"]
        let types: Vec<&str> = match s.at("type") {
            Node::Str(t) => vec![t.as_str()],
            Node::Seq(ts) => ts.iter().filter_map(Node::str).collect(),
            _ => vec![],
        };
        if types.contains(&"null") {
            nullable = true;
        }
        let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();

        for key in ["anyOf", "oneOf"] {
            let members = s.at(key).seq();
            if members.is_empty() {
                continue;
            }
            let non_null: Vec<&'a Node> = members.iter().filter(|m| !is_null_schema(m)).collect();
            if non_null.len() < members.len() {
                nullable = true;
            }
            if non_null.len() == 1 && !has_own_shape(s) {
                let (t, n) = self.ty_of(non_null[0], ctx, root);
                return (t, n || nullable);
            }
            if non_null.is_empty() {
                return (Ty::Value, true);
            }
        }
        // `allOf: [X]` or `allOf: [X, {nullable: true}]`: the type is X.
        let substantive: Vec<&'a Node> = s
            .at("allOf")
            .seq()
            .iter()
            .filter(|p| !is_modifier(p))
            .collect();
        if !s.at("allOf").seq().is_empty()
            && substantive.len() == 1
            && s.at("properties").map().is_empty()
        {
            if s.at("allOf")
                .seq()
                .iter()
                .any(|p| p.at("nullable").bool() == Some(true))
            {
                nullable = true;
            }
            let (t, n) = self.ty_of(substantive[0], ctx, root);
            return (t, n || nullable);
        }
        if let Some(c) = const_value(s) {
            return (self.const_ty(&c), nullable);
        }
        let composite = !s.at("anyOf").seq().is_empty()
            || !s.at("oneOf").seq().is_empty()
            || !s.at("allOf").seq().is_empty();
        if composite {
            return (Ty::Named(self.inline(s, ctx, root)), nullable);
        }
        let ty = match types.first().copied() {
            Some("string") if !s.at("enum").seq().is_empty() => {
                Ty::Named(self.inline(s, ctx, root))
            }
            Some("string") if s.at("format").str() == Some("binary") => Ty::File,
            Some("string") => Ty::String,
            Some("integer") => {
                if s.at("minimum").num().is_some_and(|m| m >= 0.0) {
                    Ty::U64
                } else {
                    Ty::I64
                }
            }
            Some("number") => Ty::F64,
            Some("boolean") => Ty::Bool,
            Some("array") => {
                let items = s.at("items");
                let (t, _) = self.ty_of(items, &format!("{ctx}Item"), root);
                Ty::Vec(Box::new(t))
            }
            Some("object") | None if !s.at("properties").map().is_empty() => {
                Ty::Named(self.inline(s, ctx, root))
            }
            Some("object") | None => match s.at("additionalProperties") {
                Node::Map(_) => {
                    let (t, _) =
                        self.ty_of(s.at("additionalProperties"), &format!("{ctx}Value"), root);
                    Ty::Map(Box::new(t))
                }
                _ if !s.at("enum").seq().is_empty() => Ty::Named(self.inline(s, ctx, root)),
                _ => Ty::Value,
            },
            Some(_) => Ty::Value,
        };
        (ty, nullable)
    }

    fn kind_of(&mut self, s: &'a Node, name: &str, root: &str) -> Kind {
        if s.at("$ref").str().is_some() {
            let (t, _) = self.ty_of(s, name, root);
            return Kind::Alias(t);
        }
        let members: Vec<&'a Node> = s
            .at("oneOf")
            .seq()
            .iter()
            .chain(s.at("anyOf").seq())
            .filter(|m| !is_null_schema(m))
            .collect();
        if !members.is_empty() && s.at("properties").map().is_empty() {
            if members.len() == 1 {
                // `anyOf: [X, null]`: the type is X; users see the null as `Option`.
                return self.kind_of(members[0], name, root);
            }
            return self.union_of(s, &members, name, root);
        }
        let parts = s.at("allOf").seq();
        if !parts.is_empty() || !s.at("properties").map().is_empty() {
            let substantive: Vec<&'a Node> = parts.iter().filter(|p| !is_modifier(p)).collect();
            if substantive.len() == 1 && s.at("properties").map().is_empty() {
                let (t, _) = self.ty_of(substantive[0], name, root);
                return Kind::Alias(t);
            }
            return Kind::Struct(self.fields_of(s, name, root));
        }
        let values: Vec<String> = s.at("enum").seq().iter().filter_map(enum_text).collect();
        if !values.is_empty() {
            return Kind::Enum(enum_variants(&values));
        }
        let (t, _) = self.ty_of(s, name, root);
        Kind::Alias(t)
    }

    /// Properties of an object schema, `allOf` parts merged in order.
    fn collect_props(
        &self,
        s: &'a Node,
        props: &mut Vec<(String, &'a Node)>,
        required: &mut BTreeSet<String>,
    ) {
        let s = self.resolve(s);
        for part in s.at("allOf").seq() {
            self.collect_props(part, props, required);
        }
        for (k, v) in s.at("properties").map() {
            if let Some(slot) = props.iter_mut().find(|(pk, _)| pk == k) {
                slot.1 = v;
            } else {
                props.push((k.clone(), v));
            }
        }
        for r in s.at("required").seq().iter().filter_map(Node::str) {
            required.insert(r.to_owned());
        }
    }

    fn fields_of(&mut self, s: &'a Node, name: &str, root: &str) -> Vec<Field> {
        let mut props = Vec::new();
        let mut required = BTreeSet::new();
        self.collect_props(s, &mut props, &mut required);
        let mut fields = Vec::new();
        // `extra` is the field keeping what the schema does not name.
        let mut used = BTreeSet::from(["extra".to_owned()]);
        let unlisted = self.unlisted_fields(&props);
        for (wire, schema) in props {
            let ctx = format!("{name}{}", pascal(&wire));
            let (mut ty, nullable) = self.ty_of(schema, &ctx, root);
            if let Some(e) = knowledge::get()
                .extern_fields
                .iter()
                .find(|e| e.schema == name && e.property == wire)
            {
                ty = Ty::Extern(&e.rust_type);
            }
            if self.is_secret(schema) {
                ty = super::secrets::secret_ty(ty);
            }
            let is_required = required.contains(&wire);
            let mut fname = snake(&wire);
            while !used.insert(fname.clone()) {
                fname.push('_');
            }
            let mut doc = vec![format!(
                "`{wire}`{}{}.",
                if is_required {
                    ", required"
                } else {
                    ", optional"
                },
                if nullable { ", nullable" } else { "" }
            )];
            doc.extend(facts(schema));
            if self.is_secret(schema) {
                doc.push("A credential: `Debug` shows `[REDACTED]` in its place.".to_owned());
            }
            let constant = matches!(ty, Ty::Const(_));
            let option = (!is_required || nullable) && !constant;
            let tolerated = knowledge::get()
                .tolerated_omissions
                .iter()
                .find(|t| t.schema == name && t.property == wire)
                .filter(|_| !option && !constant);
            if let Some(server) = tolerated.map(|t| &t.server) {
                doc.push(format!(
                    "Absent from the answers of {server}: read as the default then."
                ));
            }
            fields.push(Field {
                wire,
                name: fname,
                option,
                skip_none: !is_required,
                default_when_absent: tolerated.is_some(),
                checks: self.checks_of(schema),
                ty,
                boxed: false,
                doc,
            });
        }
        for (wire, why) in unlisted {
            if !used.insert(snake(&wire)) {
                continue;
            }
            fields.push(Field {
                name: snake(&wire),
                doc: vec![
                    format!("`{wire}`, optional; not in the schema."),
                    format!("{why}."),
                ],
                wire,
                ty: Ty::String,
                option: true,
                skip_none: true,
                default_when_absent: false,
                boxed: false,
                checks: Checks::default(),
            });
        }
        fields
    }

    /// The fields of `unlisted_fields` (`xtask/knowledge.yaml`) an object
    /// with these properties gets: those its `type` constant calls for and
    /// it does not have.
    fn unlisted_fields(&self, props: &[(String, &'a Node)]) -> Vec<(String, String)> {
        let Some((_, ty)) = props.iter().find(|(k, _)| k == "type") else {
            return Vec::new();
        };
        let ty = self.resolve(ty);
        let value = match (ty.at("const").str(), ty.at("enum").seq()) {
            (Some(c), _) => c.to_owned(),
            (None, [only]) => match only.str() {
                Some(v) => v.to_owned(),
                None => return Vec::new(),
            },
            _ => return Vec::new(),
        };
        knowledge::get()
            .unlisted_fields
            .iter()
            .filter(|u| value.starts_with(&u.type_prefix) && value.ends_with(&u.type_suffix))
            .filter(|u| props.iter().all(|(k, _)| *k != u.property))
            .map(|u| (u.property.clone(), u.why.clone()))
            .collect()
    }

    fn union_of(&mut self, s: &'a Node, members: &[&'a Node], name: &str, root: &str) -> Kind {
        // Only strings (plain, enums, constants): one open string enum.
        if members.iter().all(|m| self.is_stringish(m)) {
            let mut values = Vec::new();
            for m in members {
                collect_string_values(self.resolve(m), &mut values);
            }
            if values.is_empty() {
                return Kind::Alias(Ty::String);
            }
            values.dedup();
            return Kind::Enum(enum_variants(&values));
        }
        if let Some((tag, wires)) = self.discriminator(s, members) {
            let mut variants = Vec::new();
            let mut seen = BTreeSet::new();
            for (m, mut wires) in members.iter().zip(wires) {
                let wire = wires.remove(0);
                let mut vname = pascal(&wire);
                while !seen.insert(vname.clone()) {
                    vname.push('_');
                }
                let ty = match m.at("$ref").str().and_then(ref_name) {
                    Some(r) => Ty::Named(self.components[r].clone()),
                    None => Ty::Named(self.inline(m, &format!("{name}{vname}"), root)),
                };
                variants.push(Variant {
                    name: vname,
                    ty,
                    wire: Some(wire),
                    more_wires: wires,
                    boxed: false,
                    checks: Checks::default(),
                });
            }
            return Kind::Tagged { tag, variants };
        }
        // Untagged: name variants after their references, else their JSON kind.
        let refs: Vec<String> = members
            .iter()
            .filter_map(|m| m.at("$ref").str().and_then(ref_name))
            .map(|r| self.components[r].clone())
            .collect();
        let ref_strs: Vec<&str> = refs.iter().map(String::as_str).collect();
        let (pre, suf) = common_affixes(&ref_strs);
        let mut variants: Vec<Variant> = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, m) in members.iter().enumerate() {
            let (vname, ty) = match m.at("$ref").str().and_then(ref_name) {
                Some(r) => {
                    let full = self.components[r].clone();
                    let short = if refs.len() > 1 {
                        strip_words(&full, pre, suf)
                    } else {
                        full.clone()
                    };
                    (short, Ty::Named(full))
                }
                None => {
                    let guess = variant_guess(m, i);
                    let (ty, _) = self.ty_of(m, &format!("{name}{guess}"), root);
                    let vname = match &ty {
                        Ty::Named(n) if n.starts_with(name) && n.len() > name.len() => {
                            n[name.len()..].to_owned()
                        }
                        _ => guess,
                    };
                    (vname, ty)
                }
            };
            let mut vname = vname;
            while !seen.insert(vname.clone()) {
                vname.push('_');
            }
            variants.push(Variant {
                name: vname,
                ty,
                wire: None,
                more_wires: Vec::new(),
                boxed: false,
                checks: self.checks_of(m),
            });
        }
        // Try the most specific shapes first: constants, scalars, then arrays,
        // then objects with many required fields before loose ones.
        let rank = |model: &Model<'a>, v: &Variant| -> (u8, i64) {
            match &v.ty {
                Ty::Const(_) => (0, 0),
                Ty::Bool | Ty::I64 | Ty::U64 => (1, 0),
                Ty::F64 => (2, 0),
                Ty::String => (3, 0),
                Ty::Vec(_) => (4, 0),
                Ty::Named(n) => match model.types.get(n).map(|t| &t.kind) {
                    Some(Kind::Enum(_)) => (3, 0),
                    Some(Kind::Struct(fields)) => {
                        (5, -(fields.iter().filter(|f| !f.option).count() as i64))
                    }
                    _ => (6, 0),
                },
                Ty::Map(_) => (7, 0),
                Ty::Value => (8, 0),
                Ty::File => (3, 0),
                Ty::Extern(_) => (6, 0),
            }
        };
        let mut ranked: Vec<(u8, i64, usize, Variant)> = variants
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let (a, b) = rank(self, &v);
                (a, b, i, v)
            })
            .collect();
        ranked.sort_by_key(|(a, b, i, _)| (*a, *b, *i));
        Kind::Untagged(ranked.into_iter().map(|(_, _, _, v)| v).collect())
    }

    fn is_stringish(&self, m: &'a Node) -> bool {
        let m = self.resolve(m);
        if !m.at("anyOf").seq().is_empty() || !m.at("oneOf").seq().is_empty() {
            let members: Vec<&Node> = m
                .at("anyOf")
                .seq()
                .iter()
                .chain(m.at("oneOf").seq())
                .collect();
            return members
                .iter()
                .all(|x| is_null_schema(x) || self.is_stringish(x));
        }
        m.at("type").str() == Some("string")
            || (m.at("type").is_null()
                && !m.at("enum").seq().is_empty()
                && m.at("enum").seq().iter().all(|v| v.str().is_some()))
            || m.at("const").str().is_some()
    }

    /// The tag property and each member's tag values, when every member is an
    /// object with a constant value for one shared property. For the spec's
    /// explicit discriminator, a member may instead give its (required) tag
    /// property an `enum` of several strings; no value may name two members.
    fn discriminator(
        &self,
        s: &'a Node,
        members: &[&'a Node],
    ) -> Option<(String, Vec<Vec<String>>)> {
        let explicit = s
            .at("discriminator")
            .at("propertyName")
            .str()
            .map(str::to_owned);
        let mut candidates: Vec<String> = Vec::new();
        if let Some(e) = &explicit {
            candidates.push(e.clone());
        }
        for c in ["type", "object", "event", "role", "kind"] {
            if !candidates.iter().any(|x| x == c) {
                candidates.push(c.to_owned());
            }
        }
        let mapping: Vec<(String, String)> = s
            .at("discriminator")
            .at("mapping")
            .map()
            .iter()
            .filter_map(|(k, v)| {
                v.str()
                    .and_then(ref_name)
                    .map(|r| (k.clone(), r.to_owned()))
            })
            .collect();
        'cand: for tag in candidates {
            let mut wires: Vec<Vec<String>> = Vec::new();
            for m in members {
                let mut props = Vec::new();
                let mut req = BTreeSet::new();
                self.collect_props(m, &mut props, &mut req);
                let prop = props.iter().find(|(k, _)| *k == tag).map(|(_, p)| *p);
                let values = prop
                    .and_then(|p| const_value(self.resolve(p)))
                    .or_else(|| {
                        let r = m.at("$ref").str().and_then(ref_name)?;
                        mapping.iter().find(|(_, t)| t == r).map(|(k, _)| k.clone())
                    })
                    .map(|v| vec![v])
                    .or_else(|| {
                        let p = prop.filter(|_| explicit.as_ref() == Some(&tag))?;
                        if !req.contains(&tag) {
                            return None;
                        }
                        let values: Vec<String> = self
                            .resolve(p)
                            .at("enum")
                            .seq()
                            .iter()
                            .map(|v| v.str().map(str::to_owned))
                            .collect::<Option<_>>()?;
                        (values.len() > 1).then_some(values)
                    });
                match values {
                    Some(vs) if !vs.iter().any(|v| wires.iter().flatten().any(|w| w == v)) => {
                        wires.push(vs);
                    }
                    _ => continue 'cand,
                }
            }
            return Some((tag, wires));
        }
        None
    }

    /// The constraints on a value of schema `s`, following the wrappers that
    /// do not make a type of their own (`$ref` to an alias, `allOf: [X]`,
    /// `anyOf: [X, null]`).
    pub fn checks_of(&self, s: &'a Node) -> Checks {
        let mut c = Checks::default();
        self.collect_checks(s, &mut c, 0);
        c
    }
    fn collect_checks(&self, s: &'a Node, c: &mut Checks, depth: usize) {
        if depth > 16 {
            return;
        }
        let num = |k: &str| s.at(k).num();
        let int = |k: &str| s.at(k).num().filter(|v| *v >= 0.0).map(|v| v as u64);
        let excl_min = s.at("exclusiveMinimum");
        let excl_max = s.at("exclusiveMaximum");
        if let Some(v) = num("minimum") {
            c.min.get_or_insert((v, excl_min.bool() == Some(true)));
        }
        if let Some(v) = excl_min.num() {
            c.min.get_or_insert((v, true));
        }
        if let Some(v) = num("maximum") {
            c.max.get_or_insert((v, excl_max.bool() == Some(true)));
        }
        if let Some(v) = excl_max.num() {
            c.max.get_or_insert((v, true));
        }
        fn set(slot: &mut Option<u64>, v: Option<u64>) {
            if slot.is_none() {
                *slot = v;
            }
        }
        set(&mut c.min_len, int("minLength"));
        set(&mut c.max_len, int("maxLength"));
        set(&mut c.min_items, int("minItems"));
        set(&mut c.max_items, int("maxItems"));
        set(&mut c.min_props, int("minProperties"));
        set(&mut c.max_props, int("maxProperties"));
        set(
            &mut c.key_max_len,
            s.at("propertyNames")
                .at("maxLength")
                .num()
                .map(|v| v as u64),
        );
        if c.pattern.is_none() {
            c.pattern = s.at("pattern").str().map(str::to_owned);
        }
        if s.get("items").is_some() && c.items.is_none() {
            let inner = self.checks_of(s.at("items"));
            if !inner.is_empty() {
                c.items = Some(Box::new(inner));
            }
        }
        if matches!(s.at("additionalProperties"), Node::Map(_)) && c.values.is_none() {
            let inner = self.checks_of(s.at("additionalProperties"));
            if !inner.is_empty() {
                c.values = Some(Box::new(inner));
            }
        }
        // Wrappers that do not make a type of their own.
        if let Some(r) = s.at("$ref").str().and_then(ref_name) {
            let target = self.schemas.at(r);
            if self.is_plain_value(target) {
                self.collect_checks(target, c, depth + 1);
            }
            return;
        }
        let substantive: Vec<&'a Node> = s
            .at("allOf")
            .seq()
            .iter()
            .filter(|p| !is_modifier(p))
            .collect();
        if substantive.len() == 1 && s.at("properties").map().is_empty() {
            self.collect_checks(substantive[0], c, depth + 1);
        }
        for key in ["anyOf", "oneOf"] {
            let non_null: Vec<&'a Node> = s
                .at(key)
                .seq()
                .iter()
                .filter(|m| !is_null_schema(m))
                .collect();
            if non_null.len() == 1 && !has_own_shape(s) {
                self.collect_checks(non_null[0], c, depth + 1);
            }
        }
    }

    /// A component that becomes a plain Rust value (no type with its own
    /// checks): a scalar, an array or a map, possibly through wrappers.
    fn is_plain_value(&self, s: &'a Node) -> bool {
        let s = self.resolve(s);
        if !s.at("properties").map().is_empty() || !s.at("enum").seq().is_empty() {
            return false;
        }
        let members: Vec<&Node> = s
            .at("anyOf")
            .seq()
            .iter()
            .chain(s.at("oneOf").seq())
            .filter(|m| !is_null_schema(m))
            .collect();
        match members.len() {
            0 => {}
            1 => return self.is_plain_value(members[0]),
            _ => return false,
        }
        let parts: Vec<&Node> = s
            .at("allOf")
            .seq()
            .iter()
            .filter(|p| !is_modifier(p))
            .collect();
        match parts.len() {
            0 => {}
            1 => return self.is_plain_value(parts[0]),
            _ => return false,
        }
        let t = match s.at("type") {
            Node::Str(t) => Some(t.as_str()),
            Node::Seq(ts) => ts.iter().filter_map(Node::str).find(|t| *t != "null"),
            _ => None,
        };
        matches!(
            t,
            Some("string" | "integer" | "number" | "boolean" | "array")
        ) || (matches!(t, Some("object") | None)
            && matches!(s.at("additionalProperties"), Node::Map(_)))
    }

    /// Boxes the large and seldom-present parts, so that a value is not
    /// much larger than what it usually holds: the variants of a tagged
    /// union larger than [`LARGE_VARIANT`] bytes (the Responses events that
    /// carry a whole `Response`: without this every text delta would be
    /// the size of a response), and the optional fields whose type is
    /// larger than [`LARGE_OPTIONAL`] bytes (a chat chunk's `usage`, sent
    /// once per stream). Sizes are [`Model::size_of`]'s estimates.
    fn box_large(&mut self) {
        let mut sizes = HashMap::new();
        let names: Vec<String> = self.types.keys().cloned().collect();
        for n in &names {
            self.size_of_named(n, &mut sizes, &mut BTreeSet::new());
        }
        let big = |t: &Ty, limit: usize, sizes: &HashMap<String, usize>| match t {
            Ty::Named(n) => sizes.get(n).is_some_and(|s| *s > limit),
            _ => false,
        };
        for def in self.types.values_mut() {
            match &mut def.kind {
                Kind::Struct(fs) => {
                    for f in fs.iter_mut().filter(|f| f.option && !f.boxed) {
                        f.boxed = big(&f.ty, LARGE_OPTIONAL, &sizes);
                    }
                }
                Kind::Tagged { variants, .. } => {
                    for v in variants.iter_mut().filter(|v| !v.boxed) {
                        v.boxed = big(&v.ty, LARGE_VARIANT, &sizes);
                    }
                }
                _ => {}
            }
        }
    }

    /// The estimated size in bytes of a value of `t` on a 64-bit target
    /// (a model of rustc's layout, good to tell large from small).
    fn size_of(
        &self,
        t: &Ty,
        option: bool,
        boxed: bool,
        sizes: &mut HashMap<String, usize>,
        seen: &mut BTreeSet<String>,
    ) -> usize {
        if boxed {
            return 8;
        }
        let (size, niche) = match t {
            Ty::Bool => (1, true),
            Ty::I64 | Ty::U64 | Ty::F64 => (8, false),
            Ty::String | Ty::Vec(_) | Ty::Map(_) => (24, true),
            // `serde_json::Value` with `preserve_order`.
            Ty::Value => (80, true),
            Ty::Const(_) => (0, false),
            Ty::File | Ty::Extern(_) => (48, true),
            Ty::Named(n) => (self.size_of_named(n, sizes, seen), true),
        };
        if option && !niche { size + 8 } else { size }
    }

    fn size_of_named(
        &self,
        name: &str,
        sizes: &mut HashMap<String, usize>,
        seen: &mut BTreeSet<String>,
    ) -> usize {
        if let Some(s) = sizes.get(name) {
            return *s;
        }
        // A cycle goes through a box; what is inside it does not count.
        if !seen.insert(name.to_owned()) {
            return 8;
        }
        let Some(def) = self.types.get(name) else {
            return 8;
        };
        let size = match &def.kind {
            // The fields, each padded to 8, and the `Extra` word.
            Kind::Struct(fs) => {
                8 + fs
                    .iter()
                    .map(|f| {
                        self.size_of(&f.ty, f.option, f.boxed, sizes, seen)
                            .next_multiple_of(8)
                    })
                    .sum::<usize>()
            }
            // Known values, and `Unknown(String)`.
            Kind::Enum(_) => 24,
            // The largest variant (or the kept `Value`) and a tag.
            Kind::Tagged { variants, .. } | Kind::Untagged(variants) => {
                8 + variants
                    .iter()
                    .map(|v| self.size_of(&v.ty, false, v.boxed, sizes, seen))
                    .fold(80, usize::max)
            }
            Kind::Alias(t) => self.size_of(t, false, false, sizes, seen),
        };
        seen.remove(name);
        sizes.insert(name.to_owned(), size);
        size
    }

    /// Boxes the fields and variants that make a type contain itself.
    fn box_cycles(&mut self) {
        let names: Vec<String> = self.types.keys().cloned().collect();
        let index: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let direct = |t: &Ty| -> Option<String> {
            match t {
                Ty::Named(n) => Some(n.clone()),
                _ => None,
            }
        };
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
        for (i, n) in names.iter().enumerate() {
            let targets: Vec<String> = match &self.types[n].kind {
                Kind::Struct(fs) => fs.iter().filter_map(|f| direct(&f.ty)).collect(),
                Kind::Tagged { variants, .. } | Kind::Untagged(variants) => {
                    variants.iter().filter_map(|v| direct(&v.ty)).collect()
                }
                Kind::Alias(t) => direct(t).into_iter().collect(),
                Kind::Enum(_) => vec![],
            };
            edges[i] = targets
                .iter()
                .filter_map(|t| index.get(t.as_str()).copied())
                .collect();
        }
        let scc = tarjan(&edges);
        for (i, n) in names.iter().enumerate() {
            let same = |t: &Ty| {
                direct(t)
                    .and_then(|x| index.get(x.as_str()).copied())
                    .is_some_and(|j| scc[j] == scc[i])
            };
            let Some(def) = self.types.get_mut(n) else {
                continue;
            };
            match &mut def.kind {
                Kind::Struct(fs) => {
                    for f in fs.iter_mut() {
                        f.boxed = same(&f.ty);
                    }
                }
                Kind::Tagged { variants, .. } | Kind::Untagged(variants) => {
                    for v in variants.iter_mut() {
                        v.boxed = same(&v.ty);
                    }
                }
                _ => {}
            }
        }
    }
}

fn tarjan(edges: &[Vec<usize>]) -> Vec<usize> {
    struct St<'e> {
        edges: &'e [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        comp: Vec<usize>,
        next: usize,
        ncomp: usize,
    }
    fn visit(st: &mut St<'_>, v: usize) {
        st.index[v] = Some(st.next);
        st.low[v] = st.next;
        st.next += 1;
        st.stack.push(v);
        st.on[v] = true;
        for k in 0..st.edges[v].len() {
            let w = st.edges[v][k];
            match st.index[w] {
                None => {
                    visit(st, w);
                    st.low[v] = st.low[v].min(st.low[w]);
                }
                Some(iw) if st.on[w] => st.low[v] = st.low[v].min(iw),
                _ => {}
            }
        }
        if Some(st.low[v]) == st.index[v] {
            while let Some(w) = st.stack.pop() {
                st.on[w] = false;
                st.comp[w] = st.ncomp;
                if w == v {
                    break;
                }
            }
            st.ncomp += 1;
        }
    }
    let n = edges.len();
    let mut st = St {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: vec![],
        comp: vec![0; n],
        next: 0,
        ncomp: 0,
    };
    for v in 0..n {
        if st.index[v].is_none() {
            visit(&mut st, v);
        }
    }
    // A type that refers to itself directly is its own component too: the
    // comparison `scc[j] == scc[i]` then boxes the self edge.
    st.comp
}

/// A schema that only annotates (`nullable`, `description`, ...) and adds no shape.
fn is_modifier(n: &Node) -> bool {
    n.map().iter().all(|(k, _)| {
        matches!(
            k.as_str(),
            "nullable"
                | "description"
                | "title"
                | "deprecated"
                | "default"
                | "example"
                | "examples"
        ) || k.starts_with("x-")
    })
}

fn is_null_schema(n: &Node) -> bool {
    n.at("type").str() == Some("null")
}

/// Whether a schema with `anyOf`/`oneOf` also defines properties of its own.
fn has_own_shape(s: &Node) -> bool {
    !s.at("properties").map().is_empty()
}

/// The one value of a constant schema (`const`, or a one-value string `enum`).
fn const_value(s: &Node) -> Option<String> {
    if let Some(c) = s.at("const").str() {
        return Some(c.to_owned());
    }
    match s.at("enum").seq() {
        [Node::Str(v)] if s.at("type").str().is_none_or(|t| t == "string") => Some(v.clone()),
        _ => None,
    }
}

fn enum_text(v: &Node) -> Option<String> {
    match v {
        Node::Str(s) => Some(s.clone()),
        _ => None,
    }
}

fn collect_string_values(s: &Node, out: &mut Vec<String>) {
    for v in s.at("enum").seq() {
        if let Some(t) = v.str()
            && !out.iter().any(|o| o == t)
        {
            out.push(t.to_owned());
        }
    }
    if let Some(c) = s.at("const").str()
        && !out.iter().any(|o| o == c)
    {
        out.push(c.to_owned());
    }
    for m in s.at("anyOf").seq().iter().chain(s.at("oneOf").seq()) {
        collect_string_values(m, out);
    }
}

fn enum_variants(values: &[String]) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    values
        .iter()
        .map(|v| {
            let mut name = pascal(v);
            if name == "Unknown" {
                name = "UnknownValue".into();
            }
            while !seen.insert(name.clone()) {
                name.push('_');
            }
            (name, v.clone())
        })
        .collect()
}

fn variant_guess(m: &Node, i: usize) -> String {
    if let Some(t) = m.at("title").str() {
        return pascal(t);
    }
    match m.at("type").str() {
        Some("string") => "Text".into(),
        Some("array") => "Array".into(),
        Some("integer") => "Integer".into(),
        Some("number") => "Number".into(),
        Some("boolean") => "Bool".into(),
        Some("object") => {
            // Name an object variant after its required properties.
            let req: Vec<String> = m
                .at("required")
                .seq()
                .iter()
                .filter_map(Node::str)
                .map(pascal)
                .collect();
            if req.is_empty() {
                format!("Object{i}")
            } else {
                req.join("And")
            }
        }
        _ => format!("Variant{i}"),
    }
}

/// Facts for doc comments: constraints, default, deprecation. No prose.
/// The spec's `anyOf`/`oneOf` whose members only list `required` fields, on
/// an object with properties: `(exclusive, field sets)`.
fn required_alternatives(s: &Node) -> Option<(bool, Vec<Vec<String>>)> {
    if s.at("properties").map().is_empty() {
        return None;
    }
    for (key, exclusive) in [("anyOf", false), ("oneOf", true)] {
        let members = s.at(key).seq();
        if members.is_empty() {
            continue;
        }
        let only_required = members.iter().all(|m| {
            !m.at("required").seq().is_empty()
                && m.map()
                    .iter()
                    .all(|(k, _)| matches!(k.as_str(), "required" | "title" | "description"))
        });
        if only_required {
            let sets = members
                .iter()
                .map(|m| {
                    m.at("required")
                        .seq()
                        .iter()
                        .filter_map(|r| r.str().map(str::to_owned))
                        .collect()
                })
                .collect();
            return Some((exclusive, sets));
        }
    }
    None
}

pub fn facts(s: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let num = |k: &str| s.at(k).num().map(fmt_num);
    let mut c = Vec::new();
    if let Some(v) = num("minimum") {
        c.push(format!("minimum {v}"));
    }
    if let Some(v) = num("exclusiveMinimum") {
        c.push(format!("greater than {v}"));
    }
    if let Some(v) = num("maximum") {
        c.push(format!("maximum {v}"));
    }
    if let Some(v) = num("exclusiveMaximum") {
        c.push(format!("less than {v}"));
    }
    if let Some(v) = num("minLength") {
        c.push(format!("at least {v} characters"));
    }
    if let Some(v) = num("maxLength") {
        c.push(format!("at most {v} characters"));
    }
    if let Some(v) = num("minItems") {
        c.push(format!("at least {v} items"));
    }
    if let Some(v) = num("maxItems") {
        c.push(format!("at most {v} items"));
    }
    if let Some(p) = s.at("pattern").str() {
        c.push(format!("pattern `{}`", p.replace('`', "'")));
    }
    if !c.is_empty() {
        out.push(format!("Constraints: {}.", c.join(", ")));
    }
    if let Some(d) = s.get("default") {
        let text = d.to_json();
        if text.len() <= 80 {
            out.push(format!("Default: `{}`.", text.replace('`', "'")));
        }
    }
    if s.at("deprecated").bool() == Some(true) {
        out.push("Deprecated.".into());
    }
    out
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
