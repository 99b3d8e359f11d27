//! Tests of the generator's own rules: a small spec fixture in, the model and
//! the Rust it emits out. Naming (components, fields, inline places),
//! dedup (an inline schema identical to a component, or to another inline
//! schema with another default), unions (tagged by a discriminator or by a
//! constant `type`, untagged), and tolerant decoding (how a required field is
//! read and settled when absent).

use super::emit::{deserialize_impl, serialize_impl, type_def};
use super::model::{Kind, Model, Ty, TypeDef};
use super::spec::parse;

const SPEC: &str = "
components:
  schemas:
    Order:
      type: string
      enum: [asc, desc]
    user-profile:
      type: object
      required: [type, display_name]
      properties:
        display_name: {type: string}
        type: {type: string}
        age: {type: integer}
    ListA:
      type: object
      properties:
        order: {type: string, enum: [asc, desc], default: desc}
        mode: {type: string, enum: [fast, slow], default: fast}
    ListB:
      type: object
      required: [count]
      properties:
        order: {type: string, enum: [asc, desc], default: asc}
        mode: {type: string, enum: [fast, slow], default: slow}
        count: {type: integer}
        label: {type: string}
    Circle:
      type: object
      required: [type, r]
      properties:
        type: {type: string, enum: [circle]}
        r: {type: number}
    Square:
      type: object
      required: [type, side]
      properties:
        type: {type: string, enum: [square]}
        side: {type: number}
    Shape:
      oneOf:
        - $ref: '#/components/schemas/Circle'
        - $ref: '#/components/schemas/Square'
      discriminator: {propertyName: type}
    TextOrParts:
      anyOf:
        - {type: string}
        - {type: array, items: {type: string}}
";

/// The model of `SPEC`, built.
fn with_model(check: impl FnOnce(&Model<'_>)) {
    let spec = parse(SPEC).unwrap_or_else(|e| panic!("{e}"));
    let mut model = Model::new(&spec);
    model.build();
    check(&model);
}

fn ty<'m>(model: &'m Model<'_>, name: &str) -> &'m TypeDef {
    model
        .types
        .get(name)
        .unwrap_or_else(|| panic!("no type {name}; have {:?}", model.types.keys()))
}

fn field_ty(model: &Model<'_>, ty_name: &str, wire: &str) -> (String, Ty) {
    let Kind::Struct(fields) = &ty(model, ty_name).kind else {
        panic!("{ty_name} is not a struct");
    };
    let f = fields
        .iter()
        .find(|f| f.wire == wire)
        .unwrap_or_else(|| panic!("{ty_name} has no field {wire}"));
    (f.name.clone(), f.ty.clone())
}

#[test]
fn names_come_from_the_component_and_the_place() {
    with_model(|m| {
        // A component's wire name in Pascal case; a field named after a
        // keyword is escaped.
        assert_eq!(m.components["user-profile"], "UserProfile");
        let (name, _) = field_ty(m, "UserProfile", "type");
        assert_eq!(name, "r#type");
        let (name, _) = field_ty(m, "UserProfile", "display_name");
        assert_eq!(name, "display_name");
        // An inline schema is named for its place: parent + field.
        let (_, t) = field_ty(m, "ListA", "mode");
        assert!(matches!(&t, Ty::Named(n) if n == "ListAMode"), "{t:?}");
    });
}

#[test]
fn an_inline_schema_identical_to_a_component_is_the_component() {
    with_model(|m| {
        // The `asc`/`desc` of both lists is `Order`, whatever their defaults.
        for list in ["ListA", "ListB"] {
            let (_, t) = field_ty(m, list, "order");
            assert!(matches!(&t, Ty::Named(n) if n == "Order"), "{list}: {t:?}");
        }
        assert!(!m.types.contains_key("ListAOrder"));
    });
}

#[test]
fn identical_inline_schemas_share_one_definition_named_for_the_first() {
    with_model(|m| {
        // `mode` of ListB (another default) is an alias of ListA's.
        let (_, t) = field_ty(m, "ListB", "mode");
        assert!(matches!(&t, Ty::Named(n) if n == "ListBMode"), "{t:?}");
        assert!(
            matches!(&ty(m, "ListBMode").kind, Kind::Alias(Ty::Named(n)) if n == "ListAMode"),
            "{:?}",
            ty(m, "ListBMode").kind
        );
        // The shared definition says no default: the fields do.
        let def = ty(m, "ListAMode");
        assert!(matches!(def.kind, Kind::Enum(_)));
        assert!(
            def.doc.iter().all(|d| !d.starts_with("Default:")),
            "{:?}",
            def.doc
        );
    });
}

#[test]
fn unions_are_tagged_by_their_discriminator_and_untagged_otherwise() {
    with_model(|m| {
        match &ty(m, "Shape").kind {
            Kind::Tagged { tag, variants } => {
                assert_eq!(tag, "type");
                assert_eq!(variants.len(), 2);
            }
            other => panic!("Shape: {other:?}"),
        }
        match &ty(m, "TextOrParts").kind {
            Kind::Untagged(variants) => assert_eq!(variants.len(), 2),
            other => panic!("TextOrParts: {other:?}"),
        }
        let mut text = String::new();
        type_def(m, ty(m, "Shape"), &mut text);
        assert!(
            text.contains("\"circle\"") && text.contains("\"square\""),
            "{text}"
        );
    });
}

#[test]
fn required_fields_read_tolerantly_and_settle_when_absent() {
    with_model(|m| {
        let text = deserialize_impl(ty(m, "ListB")).unwrap_or_default();
        // The integer goes through the tolerant integer reader, the text
        // through the text reader (which takes an array of parts).
        assert!(text.contains("IntSeed"), "{text}");
        assert!(text.contains("OptTextSeed"), "{text}");
        // An absent required field is settled by one helper (the empty
        // value when tolerant; when strict, the first one missing is the
        // error `finish` returns); unknown keys are kept.
        assert!(
            text.contains("required(v_count, \"count\", &mut missing)"),
            "{text}"
        );
        assert!(text.contains("finish(ListB {"), "{text}");
        // One call per field read, no early return but its own.
        assert!(text.contains("field(&mut map, &mut v_count,"), "{text}");
        assert!(text.contains("keep(&mut extra"), "{text}");
        // Neither side is derived: both are the generator's impls.
        let mut def = String::new();
        type_def(m, ty(m, "ListB"), &mut def);
        assert!(
            !def.contains("Serialize") && !def.contains("#[serde"),
            "{def}"
        );
    });
}

#[test]
fn structs_serialize_each_field_by_its_wire_name_optional_ones_when_some() {
    with_model(|m| {
        let text = serialize_impl(ty(m, "ListB")).unwrap_or_default();
        // Declaration order, a required field always, an optional one only
        // when `Some`, then the kept unknown fields.
        let count = text.find("map.field(\"count\", &self.count);");
        let label = text.find("map.some(\"label\", &self.label);");
        let end = text.find("map.end(&self.extra)");
        assert!(
            count.is_some() && label.is_some() && end.is_some(),
            "{text}"
        );
        assert!(count < label && label < end, "{text}");
        // One early return: starting the map.
        assert_eq!(text.matches('?').count(), 1, "{text}");
    });
}
