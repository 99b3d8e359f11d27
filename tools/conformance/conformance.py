#!/usr/bin/env python3
"""Independent conformance checks of JSON bodies against the OpenAI OpenAPI spec.

This tool deliberately shares no code with the Rust crates of this repository:
it reads the OpenAPI document itself and relies on established third-party
Python libraries (``jsonschema`` for validation, ``hypothesis-jsonschema`` for
generation), so that it can be used as an oracle for the Rust client.

Subcommands:

* ``validate-requests DIR``: validate ``DIR/<operationId>.json`` request bodies.
* ``mock-responses OUTDIR``: generate schema-valid 2xx JSON response bodies.
* ``quirks``: print how the spec had to be normalised before validation.

Run ``conformance.py --help`` for details. See README.md next to this file.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
VENV_DIR = REPO_ROOT / "target" / "conformance-venv"
REQUIREMENTS = HERE / "requirements.txt"
DEFAULT_SPEC = REPO_ROOT / ".." / "shared" / "openapi" / "openapi.yaml"

# --------------------------------------------------------------------------
# Bootstrap: make sure we run inside target/conformance-venv with the pinned
# requirements installed.
# --------------------------------------------------------------------------


def _ensure_venv() -> None:
    if os.environ.get("OAI_CONFORMANCE_NO_VENV"):
        return  # caller manages the environment
    if Path(sys.prefix).resolve() == VENV_DIR.resolve():
        return
    venv_python = VENV_DIR / "bin" / "python"
    stamp = VENV_DIR / ".conformance-requirements.txt"
    wanted = REQUIREMENTS.read_text()
    if not venv_python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        print(f"[conformance] setting up {VENV_DIR} ...", file=sys.stderr)
        if not venv_python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV_DIR)], check=True)
        subprocess.run(
            [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-r", str(REQUIREMENTS)],
            check=True,
        )
        stamp.write_text(wanted)
    os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --------------------------------------------------------------------------
# Spec loading and normalisation
# --------------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Schema-structure aware traversal: keywords whose values are subschemas.
SUB_ONE = ("items", "not", "additionalProperties", "if", "then", "else", "contains",
           "propertyNames", "unevaluatedProperties", "unevaluatedItems", "additionalItems")
SUB_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
SUB_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

# Everything a JSON Schema 2020-12 / OAS 3.1 schema object may legitimately contain.
KNOWN_KEYWORDS = set(SUB_ONE + SUB_LIST + SUB_MAP) | {
    "$ref", "$id", "$schema", "$anchor", "$dynamicRef", "$dynamicAnchor", "$comment",
    "$vocabulary", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum",
    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
    "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties",
    "minProperties", "required", "dependentRequired", "format", "contentEncoding",
    "contentMediaType", "contentSchema", "title", "description", "default", "deprecated",
    "readOnly", "writeOnly", "examples",
    # OpenAPI additions
    "discriminator", "xml", "externalDocs", "example", "nullable",
}
# Keywords that carry no assertion; stripped from generation schemas.
ANNOTATIONS = {"title", "description", "default", "deprecated", "readOnly", "writeOnly",
               "examples", "example", "discriminator", "xml", "externalDocs", "$comment"}

SPEC_URI = "urn:oai-conformance:openapi"
COMPONENT_PREFIX = "#/components/schemas/"


def spec_path_from_env(cli_value: str | None) -> Path:
    """--spec, else $OAI_OPENAPI_SPEC (as given, like xtask), else
    ../shared/openapi/openapi.yaml beside the repository root."""
    path = Path(cli_value or os.environ.get("OAI_OPENAPI_SPEC") or DEFAULT_SPEC)
    if not path.is_file():
        raise SystemExit(f"OpenAPI document not found: {path} "
                         "(set OAI_OPENAPI_SPEC or pass --spec)")
    return path.resolve()


def load_yaml(path: Path):
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    # YAML 1.1 would turn unquoted 2024-10-01 into datetime.date, which is not
    # JSON. OpenAPI documents are JSON data models, so keep such scalars strings.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=Loader)


def ptr_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Quirks:
    """Records every place where the spec needed normalising."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.where: dict[str, list[str]] = {}

    def add(self, kind: str, pointer: str) -> None:
        self.counts[kind] += 1
        self.where.setdefault(kind, []).append(pointer)


def normalise_schema(s, pointer: str, component: str | None, quirks: Quirks):
    """Turn the spec's mix of OAS 3.0 idioms into plain JSON Schema 2020-12.

    * ``nullable: true`` (OAS 3.0) -> also accept ``null``;
    * boolean ``exclusiveMinimum``/``exclusiveMaximum`` (draft 4 / OAS 3.0) -> numeric;
    * ``$recursiveRef: "#"`` (draft 2019-09, unknown to 2020-12) -> ``$ref`` to the
      enclosing component, which is what the recursive anchor designates;
    * unknown keywords are left in place (ignored by validators) but recorded.
    """
    if not isinstance(s, dict):
        return s
    s = dict(s)
    # OAS 3.0 idiom for a nullable reference: `allOf: [{$ref: X}, {nullable: true}]`.
    # Taken literally the allOf still requires X (so null fails); its intent is "X or null".
    if isinstance(s.get("allOf"), list):
        marker = [b for b in s["allOf"] if isinstance(b, dict) and b.get("nullable") is True
                  and not (set(b) - ANNOTATIONS - {"nullable"})]
        if marker:
            s["allOf"] = [b for b in s["allOf"] if not any(b is m for m in marker)]
            if "nullable" not in s:
                s["nullable"] = True
            quirks.add("`allOf: [$ref, {nullable: true}]` idiom -> `anyOf: [..., {type: 'null'}]`",
                       pointer)
    for key in SUB_ONE:
        if isinstance(s.get(key), dict):
            s[key] = normalise_schema(s[key], f"{pointer}/{key}", component, quirks)
    for key in SUB_LIST:
        if isinstance(s.get(key), list):
            s[key] = [normalise_schema(x, f"{pointer}/{key}/{i}", component, quirks)
                      for i, x in enumerate(s[key])]
    for key in SUB_MAP:
        if isinstance(s.get(key), dict):
            s[key] = {n: normalise_schema(x, f"{pointer}/{key}/{ptr_escape(n)}", component, quirks)
                      for n, x in s[key].items()}

    for key in s:
        if key not in KNOWN_KEYWORDS and not key.startswith("x-") and key not in (
                "$recursiveRef", "$recursiveAnchor"):
            quirks.add(f"unknown keyword `{key}` (ignored)", pointer)

    if "type" not in s and "properties" in s and not any(
            k in s for k in ("$ref", "allOf", "anyOf", "oneOf", "enum", "const")):
        quirks.add("object schema without `type: object` (non-objects also validate; "
                   "the generator adds the type)", pointer)

    if isinstance(s.get("oneOf"), list):
        branch_types = [b.get("type") for b in s["oneOf"] if isinstance(b, dict)]
        if "integer" in branch_types and "number" in branch_types:
            quirks.add("`oneOf` with both `integer` and `number` branches (every integer "
                       "matches two branches, so integers are rejected)", pointer)

    if "$recursiveAnchor" in s:
        s.pop("$recursiveAnchor")
    if "$recursiveRef" in s:
        target = s.pop("$recursiveRef")
        if target != "#" or component is None:
            raise SystemExit(f"unsupported $recursiveRef {target!r} at {pointer}")
        s["$ref"] = COMPONENT_PREFIX + component
        quirks.add("`$recursiveRef: '#'` (draft 2019-09) rewritten to `$ref` of enclosing component",
                   pointer)

    for excl, incl in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(s.get(excl), bool):
            flag = s.pop(excl)
            if flag and incl in s:
                s[excl] = s.pop(incl)
            quirks.add(f"boolean `{excl}` (OAS 3.0 style) converted to numeric", pointer)

    if "nullable" in s:
        flag = s.pop("nullable")
        if flag is True:
            t = s.get("type")
            simple = isinstance(t, str) and not any(
                k in s for k in ("enum", "const", "$ref", "anyOf", "oneOf", "allOf", "not"))
            if simple:
                s["type"] = [t, "null"]
                quirks.add("`nullable: true` (OAS 3.0) -> `type: [T, 'null']`", pointer)
            elif "type" not in s and not any(
                    k in s for k in ("enum", "const", "$ref", "anyOf", "oneOf", "allOf", "not")):
                quirks.add("`nullable: true` on an unconstrained schema (no effect)", pointer)
            else:
                s = {"anyOf": [s, {"type": "null"}]}
                quirks.add("`nullable: true` (OAS 3.0) -> `anyOf: [schema, {type: 'null'}]`",
                           pointer)
    return s


def resolve_local(doc, ref: str):
    if not ref.startswith("#/"):
        raise SystemExit(f"unsupported non-local $ref {ref!r}")
    node = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[token]
    return node


class Operation:
    def __init__(self, op_id: str, method: str, path: str, op: dict) -> None:
        self.op_id = op_id
        self.method = method
        self.path = path
        self.op = op
        self.pointer = f"/paths/{ptr_escape(path)}/{method}"


class Spec:
    def __init__(self, path: Path) -> None:
        self.path = path
        raw = load_yaml(path)
        self.quirks = Quirks()
        doc = copy.deepcopy(raw)
        comps = doc.get("components", {}).get("schemas", {})
        for name in list(comps):
            comps[name] = normalise_schema(comps[name], f"#/components/schemas/{ptr_escape(name)}",
                                           name, self.quirks)
        self.operations: dict[str, Operation] = {}
        for p, item in doc.get("paths", {}).items():
            for method, op in item.items():
                if method not in HTTP_METHODS or not isinstance(op, dict):
                    continue
                oper = Operation(op.get("operationId") or f"{method} {p}", method, p, op)
                self.operations[oper.op_id] = oper
                body = op.get("requestBody")
                if isinstance(body, dict) and "$ref" in body:
                    body = op["requestBody"] = copy.deepcopy(resolve_local(doc, body["$ref"]))
                for ctype, media in (body or {}).get("content", {}).items():
                    if "schema" in media:
                        media["schema"] = normalise_schema(
                            media["schema"],
                            f"#{oper.pointer}/requestBody/content/{ptr_escape(ctype)}/schema",
                            None, self.quirks)
                for code, resp in op.get("responses", {}).items():
                    if isinstance(resp, dict) and "$ref" in resp:
                        resp = op["responses"][code] = copy.deepcopy(resolve_local(doc, resp["$ref"]))
                    for ctype, media in (resp or {}).get("content", {}).items():
                        if "schema" in media:
                            media["schema"] = normalise_schema(
                                media["schema"],
                                f"#{oper.pointer}/responses/{code}/content/{ptr_escape(ctype)}/schema",
                                None, self.quirks)
        doc["x-conformance"] = {"multipart": {}}
        self.doc = doc
        self.multipart_ignored: dict[str, list[str]] = {}
        for oper in self.operations.values():
            content = (oper.op.get("requestBody") or {}).get("content", {})
            if "multipart/form-data" in content and "schema" in content["multipart/form-data"]:
                derived, ignored = self._strip_binary(content["multipart/form-data"]["schema"])
                doc["x-conformance"]["multipart"][oper.op_id] = derived
                self.multipart_ignored[oper.op_id] = ignored

    # -- multipart handling -------------------------------------------------

    def deref(self, s):
        seen = 0
        while isinstance(s, dict) and set(s) - ANNOTATIONS == {"$ref"}:
            s = resolve_local(self.doc, s["$ref"])
            seen += 1
            if seen > 50:
                raise SystemExit("$ref cycle")
        return s

    def _binary_kind(self, s):
        """Return ('binary'|'mixed'|'plain', schema-without-binary-branches)."""
        s = self.deref(s)
        if not isinstance(s, dict):
            return "plain", s
        if s.get("format") == "binary" and s.get("type") in ("string", ["string"], None):
            return "binary", None
        if s.get("type") == "array" and isinstance(s.get("items"), dict):
            kind, _ = self._binary_kind(s["items"])
            if kind == "binary":
                return "binary", None
        for key in ("anyOf", "oneOf"):
            if isinstance(s.get(key), list):
                kinds = [self._binary_kind(b) for b in s[key]]
                if all(k == "binary" for k, _ in kinds):
                    return "binary", None
                if any(k == "binary" for k, _ in kinds):
                    rest = [b for b, (k, _) in zip(s[key], kinds) if k != "binary"]
                    out = dict(s)
                    out[key] = rest
                    return "mixed", out
        return "plain", s

    def _strip_binary(self, schema):
        s = copy.deepcopy(self.deref(schema))
        ignored: list[str] = []

        def strip(obj):
            if not isinstance(obj, dict):
                return obj
            obj = dict(obj)
            props = dict(obj.get("properties", {}))
            required = list(obj.get("required", []))
            for name, ps in list(props.items()):
                kind, rest = self._binary_kind(ps)
                if kind == "binary":
                    del props[name]
                    ignored.append(name)
                    if name in required:
                        required.remove(name)
                elif kind == "mixed":
                    # May be sent either as a file part or as a JSON field.
                    props[name] = rest
                    ignored.append(f"{name} (file alternative)")
                    if name in required:
                        required.remove(name)
            if "properties" in obj:
                obj["properties"] = props
            if "required" in obj:
                obj["required"] = required
            if isinstance(obj.get("allOf"), list):
                obj["allOf"] = [strip(self.deref(x)) for x in obj["allOf"]]
            return obj

        return strip(s), ignored

    # -- schema locations ---------------------------------------------------

    def request_schema_pointer(self, oper: Operation, force_multipart: bool = False):
        """JSON pointer (into self.doc) of the schema to validate a request with."""
        content = (oper.op.get("requestBody") or {}).get("content", {})
        if not force_multipart and "schema" in content.get("application/json", {}):
            return f"{oper.pointer}/requestBody/content/application~1json/schema", "application/json"
        if oper.op_id in self.doc["x-conformance"]["multipart"]:
            return f"/x-conformance/multipart/{ptr_escape(oper.op_id)}", "multipart/form-data"
        return None, ", ".join(content) or "no request body"

    def response_schema_pointer(self, oper: Operation):
        for code in sorted(oper.op.get("responses", {}), key=str):
            if not str(code).startswith("2"):
                continue
            media = (oper.op["responses"][code] or {}).get("content", {}).get("application/json")
            if media and "schema" in media:
                return f"{oper.pointer}/responses/{ptr_escape(str(code))}/content/application~1json/schema", str(code)
        return None, None

    def at(self, pointer: str):
        return resolve_local(self.doc, "#" + pointer)


# --------------------------------------------------------------------------
# Validation (shared by both commands)
# --------------------------------------------------------------------------


class Validator:
    def __init__(self, spec: Spec) -> None:
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.jsonschema = jsonschema
        self.registry = Registry().with_resource(
            SPEC_URI, Resource(contents=spec.doc, specification=DRAFT202012))
        self._cache: dict[str, object] = {}

    def _validator(self, pointer: str):
        v = self._cache.get(pointer)
        if v is None:
            cls = self.jsonschema.Draft202012Validator
            v = cls({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry,
                    format_checker=cls.FORMAT_CHECKER)
            self._cache[pointer] = v
        return v

    def is_valid(self, pointer: str, instance) -> bool:
        return self._validator(pointer).is_valid(instance)

    def errors(self, pointer: str, instance, limit: int = 10) -> list[str]:
        from jsonschema.exceptions import best_match, relevance

        out = []
        errs = sorted(self._validator(pointer).iter_errors(instance), key=relevance)
        for err in errs[:limit]:
            best = best_match([err])  # descends into anyOf/oneOf contexts
            msg = best.message
            if len(msg) > 240:
                msg = msg[:237] + "..."
            line = f"{best.json_path}: {msg}"
            if best is not err and err.validator in ("anyOf", "oneOf"):
                line += f"  [in {err.validator} at {err.json_path}]"
            out.append(line)
        if len(errs) > limit:
            out.append(f"... and {len(errs) - limit} more")
        return out


# --------------------------------------------------------------------------
# validate-requests
# --------------------------------------------------------------------------


def cmd_validate_requests(args) -> int:
    t0 = time.monotonic()
    spec = Spec(spec_path_from_env(args.spec))
    validator = Validator(spec)
    files = sorted(Path(args.dir).glob("*.json"))
    if not files:
        print(f"no *.json files in {args.dir}")
        return 2
    ok = failed = 0
    for f in files:
        # <operationId>.json, optionally <operationId>.<tag>...json; the tag
        # `multipart` forces the multipart schema for operations offering both.
        parts = f.name[: -len(".json")].split(".")
        op_id, tags = parts[0], parts[1:]
        oper = spec.operations.get(op_id)
        if oper is None:
            print(f"FAIL  {f.name}: unknown operationId {op_id!r}")
            failed += 1
            continue
        pointer, ctype = spec.request_schema_pointer(oper, force_multipart="multipart" in tags)
        if pointer is None:
            print(f"FAIL  {f.name}: {op_id} has no JSON or multipart request body schema ({ctype})")
            failed += 1
            continue
        try:
            body = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            print(f"FAIL  {f.name}: not valid JSON: {e}")
            failed += 1
            continue
        errs = validator.errors(pointer, body)
        note = ""
        if ctype == "multipart/form-data" and spec.multipart_ignored.get(op_id):
            note = f"; file fields ignored: {', '.join(spec.multipart_ignored[op_id])}"
        if errs:
            failed += 1
            print(f"FAIL  {f.name} ({oper.method.upper()} {oper.path}, {ctype}{note})")
            for e in errs:
                print(f"        - {e}")
        else:
            ok += 1
            print(f"ok    {f.name} ({oper.method.upper()} {oper.path}, {ctype}{note})")
    print(f"\n{ok} passed, {failed} failed  ({len(files)} files, {time.monotonic() - t0:.1f}s)")
    return 1 if failed else 0


# --------------------------------------------------------------------------
# mock-responses
# --------------------------------------------------------------------------

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


class GenLimits:
    def __init__(self, max_recursion: int, max_items: int, max_bytes: int,
                 codec: str = "utf-8") -> None:
        self.max_recursion = max_recursion
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.codec = codec


def generation_schema(spec: Spec, pointer: str, limits: GenLimits):
    """Inline all $refs of the schema at `pointer`, producing a *narrower* schema
    that hypothesis-jsonschema can digest:

    * a component may appear at most `max_recursion` times on one path; deeper
      references become `false` (so recursive branches are pruned: optional
      properties and anyOf/oneOf branches disappear, arrays become empty);
    * arrays are capped at `max_items` (unless minItems demands more);
    * integers are bounded to the signed 64-bit range;
    * objects that declare `properties` and are not combined with allOf get
      `additionalProperties: false` (no random extra keys).

    Every instance of the result is an instance of the original schema, except
    that narrowing a oneOf branch can make overlapping branches look exclusive;
    such draws are rejected against the original schema during generation.
    """
    nodes = [0]

    def go(s, stack: tuple, keep_open: bool, negated: bool):
        nodes[0] += 1
        if isinstance(s, bool) or not isinstance(s, dict):
            return s
        if "$ref" in s:
            ref = s["$ref"]
            if not ref.startswith(COMPONENT_PREFIX):
                target_raw = resolve_local(spec.doc, ref)
                name = ref
            else:
                name = ref[len(COMPONENT_PREFIX):]
                target_raw = spec.doc["components"]["schemas"][name]
            if stack.count(name) >= limits.max_recursion:
                target = False
            else:
                target = go(target_raw, stack + (name,), keep_open, negated)
            rest = {k: v for k, v in s.items() if k != "$ref" and k not in ANNOTATIONS
                    and not k.startswith("x-")}
            if not rest:
                return target
            return {"allOf": [target, go(rest, stack, True, negated)]}

        out = {}
        combined = "allOf" in s
        for k, v in s.items():
            if k in ANNOTATIONS or k.startswith("x-"):
                continue
            if k in SUB_ONE and isinstance(v, (dict, bool)):
                out[k] = go(v, stack, False, negated ^ (k == "not"))
            elif k in SUB_LIST and isinstance(v, list):
                # anyOf/oneOf are transparent: branches inherit the parent's status
                branch_open = k == "allOf" or (k in ("anyOf", "oneOf") and keep_open)
                out[k] = [go(x, stack, branch_open, negated) for x in v]
            elif k in SUB_MAP and isinstance(v, dict):
                out[k] = {n: go(x, stack, False, negated) for n, x in v.items()}
            else:
                out[k] = v
        if negated:
            return out  # never narrow inside `not`: that would widen the result
        if "allOf" in out:
            flat = _flatten_object_allof(out)
            if flat is not None:
                out, combined = flat, False
        if "type" not in out and ("properties" in out or "required" in out):
            # An untyped schema with `properties` also accepts strings, numbers,
            # arrays...; generate objects, as the spec obviously means.
            out["type"] = "object"
        types = out.get("type")
        types = [types] if isinstance(types, str) else (types or [])
        if "integer" in types:
            out["minimum"] = max(out.get("minimum", INT64_MIN), INT64_MIN)
            out["maximum"] = min(out.get("maximum", INT64_MAX), INT64_MAX)
        if "array" in types or "items" in out:
            cap = max(limits.max_items, out.get("minItems", 0))
            out["maxItems"] = min(out.get("maxItems", cap), cap)
        if ("properties" in out and "additionalProperties" not in out
                and "patternProperties" not in out and not combined and not keep_open):
            out["additionalProperties"] = False
        return out

    schema = go(spec.at(pointer), (), False, False)
    return schema, nodes[0]


_SIMPLE_OBJECT_KEYS = {"type", "properties", "required"}


def _flatten_object_allof(schema: dict):
    """Merge `allOf` of plain object schemas (only type/properties/required, as
    most of this spec's allOf are) into one object schema, so it can be closed
    with additionalProperties: false. Returns None when not applicable."""
    parts = [b for b in schema["allOf"]]
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    if rest:
        parts.append(rest)
    if any(p is False for p in parts):
        return None  # unsatisfiable branch: leave it to the generator
    if not all(isinstance(p, dict) and set(p) <= _SIMPLE_OBJECT_KEYS
               and p.get("type", "object") == "object" for p in parts):
        return None
    props: dict = {}
    required: list = []
    for p in parts:
        for name, sub in p.get("properties", {}).items():
            if name in props:
                props[name] = {"allOf": [props[name], sub]}
            else:
                props[name] = sub
        for name in p.get("required", []):
            if name not in required:
                required.append(name)
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _op_seed(seed: int, op_id: str) -> int:
    digest = hashlib.sha256(f"{seed}:{op_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class _Enough(Exception):
    pass


def _memoise_hypothesis_jsonschema() -> None:
    """hypothesis-jsonschema rebuilds (and re-canonicalises) the strategy of every
    object property on *every draw*; on this spec's deep schemas that costs
    seconds per example. Strategies are immutable and reusable, so cache them by
    (schema, alphabet, formats). This changes speed only, not what is generated.
    """
    import hypothesis_jsonschema._from_schema as hfs

    if getattr(hfs, "_oai_conformance_memoised", False):
        return
    cache: dict = {}

    def memo(fn, kind):
        def wrapper(schema, *, alphabet, custom_formats):
            key = (kind, json.dumps(schema, sort_keys=True), id(alphabet), id(custom_formats))
            strategy = cache.get(key)
            if strategy is None:
                strategy = cache[key] = fn(schema, alphabet=alphabet, custom_formats=custom_formats)
            return strategy
        return wrapper

    # Before using a subschema as a filter (oneOf exclusivity, `not`, merges) it
    # guesses the draft by checking it against meta-schemas, uncached beyond 128
    # entries: most of the run time on this spec. Our generation schemas are
    # 2020-12 by construction, so pin the draft (also keeps its filters
    # consistent with the validator used for the self-check).
    import hypothesis_jsonschema._canonicalise as hcanon
    from jsonschema import Draft202012Validator

    hcanon._get_validator_class = lambda schema: Draft202012Validator
    setattr(hfs, "__from_schema", memo(getattr(hfs, "__from_schema"), "schema"))
    hfs.merged_as_strategies = memo(hfs.merged_as_strategies, "merged")
    hfs._oai_conformance_memoised = True


def generate_for_operation(spec: Spec, validator: Validator, op_id: str, pointer: str,
                           outdir: Path, per_op: int, seed: int, limits: GenLimits) -> dict:
    """Runs in a forked child process."""
    import warnings

    from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import HypothesisException
    from hypothesis_jsonschema import from_schema

    warnings.simplefilter("ignore")
    _memoise_hypothesis_jsonschema()
    t0 = time.monotonic()
    result = {"operation": op_id, "schema": "#" + pointer, "generated": 0, "invalid": [],
              "error": None}
    try:
        schema, nodes = generation_schema(spec, pointer, limits)
        result["inlined_schema_nodes"] = nodes
        if schema is False:
            raise _GenFailure("schema unsatisfiable after bounding recursion")
        strategy = from_schema(schema, codec=limits.codec)
        found: list = []
        seen: set[str] = set()
        rejected = result["rejected_draws"] = Counter()

        @settings(max_examples=max(50, per_op * 20), database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                  verbosity=Verbosity.quiet, print_blob=False)
        @hseed(_op_seed(seed, op_id))
        @given(strategy)
        def collect(value):
            text = json.dumps(value, sort_keys=True, ensure_ascii=False)
            if len(text.encode()) > limits.max_bytes:
                rejected["too_large"] += 1
                assume(False)
            # The generation schema is a narrowed copy of the spec's schema; in rare
            # cases (oneOf exclusivity) narrowing admits values the original
            # rejects. Drop those here, and count them.
            if text not in seen and not validator.is_valid(pointer, value):
                rejected["invalid_per_spec"] += 1
                assume(False)
            if text not in seen:
                seen.add(text)
                found.append(value)
            if len(found) >= per_op * 4:
                raise _Enough()

        try:
            collect()
            if len(found) < per_op:
                result["note"] = (f"only {len(found)} distinct document(s) found: "
                                  "the schema admits very few values")
        except _Enough:
            pass
        except HypothesisException as e:  # Unsatisfiable, etc.
            if not found:
                raise _GenFailure(f"hypothesis: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        if not found:
            raise _GenFailure("no example produced (all draws rejected or too large)")
        # Hypothesis starts with the simplest possible value and grows from there;
        # keep that one and the most recent (most elaborate) draws.
        chosen = found[:1] + found[1:][-(per_op - 1):] if per_op > 1 else found[:1]
        target = outdir / op_id
        target.mkdir(parents=True, exist_ok=True)
        for k, value in enumerate(chosen):
            errs = validator.errors(pointer, value, limit=3)
            if errs:
                result["invalid"].append({"file": f"{k}.json", "errors": errs})
            (target / f"{k}.json").write_text(
                json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        result["generated"] = len(chosen)
    except _GenFailure as e:
        result["error"] = str(e)
    except RecursionError:
        result["error"] = "Python recursion limit hit while building the strategy"
    except Exception as e:  # noqa: BLE001 - report, do not crash the whole run
        msg = str(e).splitlines()[0] if str(e) else ""
        result["error"] = f"{type(e).__name__}: {msg[:200]}"
    result["seconds"] = round(time.monotonic() - t0, 2)
    return result


class _GenFailure(Exception):
    pass


def _child(conn, spec, validator, group, outdir, per_op, seed, limits):
    sys.setrecursionlimit(20000)
    try:
        for op_id, pointer in group:
            conn.send(("start", op_id, None))
            conn.send(("done", op_id, generate_for_operation(
                spec, validator, op_id, pointer, outdir, per_op, seed, limits)))
    finally:
        conn.close()


def _failed(op_id: str, pointer: str, error: str, seconds: float = 0.0) -> dict:
    return {"operation": op_id, "schema": "#" + pointer, "generated": 0, "invalid": [],
            "error": error, "seconds": round(seconds, 2)}


def _run_groups(groups: list, args, spec: Spec, validator: Validator, outdir: Path,
                limits: GenLimits) -> dict:
    """Run groups of operations in forked workers (`args.jobs` at a time).

    A group holds operations whose generation schema is identical, so a worker
    builds the (memoised) strategy only once. Each operation has its own time
    limit; on expiry the worker is killed and the rest of its group re-queued.
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    results: dict[str, dict] = {}
    queue = [list(g) for g in groups]
    running: dict = {}  # conn -> state

    def finish_worker(conn, state, error_for_current: str | None):
        proc = state["proc"]
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()
        del running[conn]
        current = state["current"]
        remaining = [(o, p) for o, p in state["group"] if o not in results and o != current]
        if current is not None and current not in results:
            pointer = dict(state["group"])[current]
            shutil.rmtree(outdir / current, ignore_errors=True)
            results[current] = _failed(current, pointer, error_for_current or "worker died",
                                        time.monotonic() - state["started"])
        if remaining:
            queue.insert(0, remaining)

    while queue or running:
        while queue and len(running) < args.jobs:
            group = queue.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(child, spec, validator, group, outdir,
                                                    args.per_op, args.seed, limits))
            proc.start()
            child.close()
            running[parent] = {"proc": proc, "group": group, "current": None,
                               "started": time.monotonic()}
        for conn in wait(list(running), timeout=0.25):
            state = running[conn]
            try:
                kind, op_id, payload = conn.recv()
            except EOFError:
                finish_worker(conn, state, f"worker exited with code {state['proc'].exitcode}")
                continue
            if kind == "start":
                state["current"], state["started"] = op_id, time.monotonic()
            else:
                results[op_id] = payload
                state["current"] = None
                if all(o in results for o, _ in state["group"]):
                    finish_worker(conn, state, None)
        now = time.monotonic()
        for conn, state in list(running.items()):
            if state["current"] is not None and now - state["started"] > args.timeout:
                finish_worker(conn, state, f"timed out after {args.timeout:g}s")
    return results


def cmd_mock_responses(args) -> int:
    t0 = time.monotonic()
    if args.per_op < 1:
        print("--per-op must be at least 1")
        return 2
    spec = Spec(spec_path_from_env(args.spec))
    validator = Validator(spec)
    outdir = Path(args.outdir)
    if outdir.exists() and any(outdir.iterdir()):
        if not (outdir / "summary.json").exists():
            print(f"{outdir} is not empty and was not written by this tool; refusing")
            return 2
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    limits = GenLimits(args.max_recursion, args.max_items, args.max_bytes, args.codec)

    todo = []
    skipped = []
    unknown = [o for o in (args.only or []) if o not in spec.operations]
    if unknown:
        print(f"unknown operationId(s): {', '.join(unknown)}")
        return 2
    for op_id, oper in sorted(spec.operations.items()):
        if args.only and op_id not in args.only:
            continue
        pointer, _code = spec.response_schema_pointer(oper)
        if pointer is None:
            ok_resps = {str(code): sorted((r or {}).get("content", {}))
                        for code, r in oper.op.get("responses", {}).items()
                        if str(code).startswith("2")}
            desc = "; ".join(f"{code}: {', '.join(types) or 'no body'}"
                             for code, types in sorted(ok_resps.items())) or "no 2xx response"
            skipped.append((op_id, f"no 2xx application/json schema ({desc})"))
        else:
            todo.append((op_id, pointer))

    # Group operations sharing a generation schema; biggest schemas first.
    groups: dict[str, list] = {}
    sizes: dict[str, int] = {}
    for op_id, pointer in todo:
        schema, nodes = generation_schema(spec, pointer, limits)
        key = json.dumps(schema, sort_keys=True)
        groups.setdefault(key, []).append((op_id, pointer))
        sizes[key] = nodes
    ordered = [groups[k] for k in sorted(groups, key=lambda k: (-sizes[k], groups[k][0][0]))]

    # Import and patch the generator once, before forking the workers.
    import hypothesis  # noqa: F401
    import hypothesis_jsonschema  # noqa: F401
    _memoise_hypothesis_jsonschema()

    results = _run_groups(ordered, args, spec, validator, outdir, limits)

    complete = [r for r in results.values() if r["generated"] >= args.per_op and not r["invalid"]]
    partial = [r for r in results.values() if 0 < r["generated"] < args.per_op and not r["invalid"]]
    failed = [r for r in results.values() if r["generated"] == 0]
    invalid = [r for r in results.values() if r["invalid"]]
    for op_id in sorted(results):
        r = results[op_id]
        status = "ok" if r in complete else ("INVALID" if r["invalid"] else
                                              ("partial" if r["generated"] else "FAIL"))
        extra = f"  {r['error']}" if r["error"] else (f"  ({r['note']})" if r.get("note") else "")
        print(f"{status:8} {op_id:55} {r['generated']}/{args.per_op}  {r.get('seconds', 0):6.2f}s{extra}")
        for inv in r["invalid"]:
            print(f"           self-check failed for {inv['file']}: {'; '.join(inv['errors'])}")
    elapsed = time.monotonic() - t0
    summary = {
        "spec": str(spec.path), "seed": args.seed, "per_op": args.per_op,
        "limits": vars(limits), "elapsed_seconds": round(elapsed, 1),
        "operations_total": len(spec.operations),
        "operations_with_json_2xx": len(todo),
        "operations_complete": len(complete), "operations_partial": len(partial),
        "operations_failed": len(failed), "operations_self_check_failed": len(invalid),
        "documents_written": sum(r["generated"] for r in results.values()),
        "skipped": [{"operation": o, "reason": why} for o, why in skipped],
        "results": [results[k] for k in sorted(results)],
    }
    (outdir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print()
    if skipped and args.verbose:
        print("operations without a 2xx application/json response (not generated):")
        for o, why in skipped:
            print(f"  {o}: {why}")
    print(f"operations: {len(spec.operations)} total, {len(todo)} with a 2xx JSON response schema, "
          f"{len(skipped)} without")
    print(f"generated: {len(complete)} complete, {len(partial)} partial, {len(failed)} failed, "
          f"{len(invalid)} with self-check failures; {summary['documents_written']} documents "
          f"in {outdir}")
    print(f"elapsed: {elapsed:.1f}s (jobs={args.jobs}, seed={args.seed}, "
          f"{len(ordered)} distinct response schemas)")
    return 1 if (failed or invalid) else 0


# --------------------------------------------------------------------------
# quirks
# --------------------------------------------------------------------------


def cmd_quirks(args) -> int:
    spec = Spec(spec_path_from_env(args.spec))
    for kind, n in spec.quirks.counts.most_common():
        print(f"{n:5}  {kind}")
        for where in spec.quirks.where[kind][: args.show]:
            print(f"         {where}")
    print("\nmultipart operations (file fields ignored for validation):")
    for op_id, ignored in sorted(spec.multipart_ignored.items()):
        print(f"  {op_id}: {', '.join(ignored) or '-'}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", help="OpenAPI document (default: $OAI_OPENAPI_SPEC or "
                                   "../shared/openapi/openapi.yaml relative to the repo root)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    v = sub.add_parser("validate-requests", help="validate DIR/<operationId>.json request bodies")
    v.add_argument("dir")
    v.set_defaults(func=cmd_validate_requests)

    m = sub.add_parser("mock-responses", help="generate schema-valid 2xx JSON responses")
    m.add_argument("outdir")
    m.add_argument("--per-op", type=int, default=3, help="documents per operation (default 3)")
    m.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    m.add_argument("--jobs", type=int, default=2, help="parallel worker processes (default 2)")
    m.add_argument("--timeout", type=float, default=60.0,
                   help="per-operation time limit in seconds (default 60)")
    m.add_argument("--max-recursion", type=int, default=2,
                   help="max occurrences of one component on a path (default 2)")
    m.add_argument("--max-items", type=int, default=3, help="array length cap (default 3)")
    m.add_argument("--max-bytes", type=int, default=64 * 1024,
                   help="max size of one generated document in bytes (default 65536)")
    m.add_argument("--codec", default="utf-8",
                   help="restrict generated strings to this codec, e.g. ascii (default utf-8)")
    m.add_argument("--only", nargs="*", help="restrict to these operationIds")
    m.add_argument("-v", "--verbose", action="store_true")
    m.set_defaults(func=cmd_mock_responses)

    q = sub.add_parser("quirks", help="report how the spec was normalised")
    q.add_argument("--show", type=int, default=3, help="locations to show per quirk")
    q.set_defaults(func=cmd_quirks)

    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    _ensure_venv()
    sys.exit(main())
