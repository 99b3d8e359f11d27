//! PLACEHOLDER until the validator lands (type and required only).
#![allow(missing_docs)]
use serde_json::Value;
use std::fmt;
#[derive(Debug, Clone)]
pub struct CompiledSchema(Value);
impl CompiledSchema {
    pub fn compile(schema: &Value) -> Result<Self, SchemaCompileError> {
        Ok(Self(schema.clone()))
    }
    pub fn validate(&self, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        if let Some(req) = self.0.get("required").and_then(Value::as_array) {
            for r in req {
                if let Some(r) = r.as_str() {
                    if value.get(r).is_none() {
                        out.push(Violation(
                            String::new(),
                            format!("missing required property `{r}`"),
                        ));
                    }
                }
            }
        }
        out
    }
    pub fn is_valid(&self, value: &Value) -> bool {
        self.validate(value).is_empty()
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(String, String);
impl Violation {
    pub fn path(&self) -> &str {
        &self.0
    }
    pub fn message(&self) -> &str {
        &self.1
    }
}
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.0, self.1)
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaCompileError(String);
impl fmt::Display for SchemaCompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SchemaCompileError {}
