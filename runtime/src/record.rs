//! Events: decoding a JSON object into a flat record of typed slots (SPEC
//! section 9). Every problem names the offending path.

use kensa_compiler::schema::{FieldId, Schema};
use kensa_compiler::value::Value;
use kensa_dsl::ast::TypeName;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

/// An event decoded into the schema's slots.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// One value per schema field, by [`FieldId`].
    pub slots: Vec<Value>,
}

impl Record {
    /// The value in a slot (missing for a slot out of range).
    pub fn get(&self, id: FieldId) -> &Value {
        self.slots.get(id.0 as usize).unwrap_or(&Value::Missing)
    }

    /// Sets a slot.
    pub fn set(&mut self, id: FieldId, v: Value) {
        if let Some(slot) = self.slots.get_mut(id.0 as usize) {
            *slot = v;
        }
    }
}

/// Why an event is invalid. The message starts with the offending path and
/// `": "` (or `json: ` when the line is not a JSON object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    /// `event.id` of the event when it is a string.
    pub event_id: Option<String>,
    /// What is wrong, path first.
    pub message: String,
}

/// The schema as a tree of path segments, built once per program so decoding
/// never splits or compares whole paths.
#[derive(Debug)]
pub struct Decoder {
    root: Group,
    slots: usize,
}

#[derive(Debug, Default)]
struct Group {
    children: HashMap<String, Node>,
}

#[derive(Debug)]
enum Node {
    Field { id: FieldId, ty: TypeName, path: String },
    Group { group: Group, path: String },
}

impl Decoder {
    /// Builds the decoder of a schema.
    pub fn new(schema: &Schema) -> Decoder {
        let mut root = Group::default();
        for (i, f) in schema.fields().iter().enumerate() {
            let id = FieldId(u32::try_from(i).unwrap_or(u32::MAX));
            let mut group = &mut root;
            let segments: Vec<&str> = f.path.split('.').collect();
            let mut prefix = String::new();
            for (k, seg) in segments.iter().enumerate() {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(seg);
                if k + 1 == segments.len() {
                    group.children.insert((*seg).to_string(), Node::Field { id, ty: f.ty, path: f.path.clone() });
                    break;
                }
                let entry = group
                    .children
                    .entry((*seg).to_string())
                    .or_insert_with(|| Node::Group { group: Group::default(), path: prefix.clone() });
                match entry {
                    Node::Group { group: g, .. } => group = g,
                    // The checker rejects a field that extends another.
                    Node::Field { .. } => break,
                }
            }
        }
        Decoder { root, slots: schema.fields().len() }
    }

    /// Decodes one JSON Lines line.
    pub fn decode_bytes(&self, line: &[u8]) -> Result<Record, EventError> {
        let json: Json = serde_json::from_slice(line)
            .map_err(|e| EventError { event_id: None, message: format!("json: {e}") })?;
        self.decode(&json)
    }

    /// Decodes a parsed JSON value.
    pub fn decode(&self, json: &Json) -> Result<Record, EventError> {
        let Json::Object(obj) = json else {
            return Err(EventError { event_id: None, message: format!("json: expected an object, got {}", kind(json)) });
        };
        let mut d = Decoding { record: Record { slots: vec![Value::Missing; self.slots] }, assigned: vec![Assigned::No; self.slots] };
        d.object(obj, &self.root).map_err(|message| EventError { event_id: event_id_of(json), message })?;
        Ok(d.record)
    }
}

/// `event.id` of a raw event when it is a string, nested or flat.
pub fn event_id_of(json: &Json) -> Option<String> {
    let nested = json.get("event").and_then(|e| e.get("id"));
    let flat = json.get("event.id");
    nested.or(flat).and_then(Json::as_str).map(str::to_string)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Assigned {
    No,
    Direct,
    Collected,
}

struct Decoding {
    record: Record,
    assigned: Vec<Assigned>,
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

impl Decoding {
    fn object(&mut self, obj: &serde_json::Map<String, Json>, group: &Group) -> Result<(), String> {
        for (key, value) in obj {
            let Some(node) = walk(group, key) else { continue };
            match node {
                Node::Field { id, ty, path } => self.field(*id, *ty, path, value)?,
                Node::Group { group, path } => match value {
                    Json::Object(inner) => self.object(inner, group)?,
                    Json::Null => {}
                    Json::Array(items) if has_list_fields(group) => {
                        for item in items {
                            match item {
                                Json::Object(inner) => self.collect(inner, group)?,
                                Json::Null => {}
                                other => return Err(format!("{path}: expected object, got {}", kind(other))),
                            }
                        }
                    }
                    other => return Err(format!("{path}: expected object, got {}", kind(other))),
                },
            }
        }
        Ok(())
    }

    /// Reads one object of an array of objects: its `[string]` fields gather
    /// the values of every element.
    fn collect(&mut self, obj: &serde_json::Map<String, Json>, group: &Group) -> Result<(), String> {
        for (key, value) in obj {
            let Some(node) = walk(group, key) else { continue };
            match node {
                Node::Field { id, ty: TypeName::StringList, path } => {
                    let slot = id.0 as usize;
                    if self.assigned.get(slot) == Some(&Assigned::Direct) {
                        return Err(format!("{path}: given both directly and in a list of objects"));
                    }
                    let mut items: Vec<Arc<str>> = match self.record.get(*id) {
                        Value::StrList(xs) => xs.to_vec(),
                        _ => Vec::new(),
                    };
                    match value {
                        Json::String(s) => items.push(Arc::from(s.as_str())),
                        Json::Null => {}
                        Json::Array(xs) => items.extend(strings(path, xs)?),
                        other => return Err(format!("{path}: expected string, got {}", kind(other))),
                    }
                    if let Some(a) = self.assigned.get_mut(slot) {
                        *a = Assigned::Collected;
                    }
                    if !items.is_empty() {
                        self.record.set(*id, Value::StrList(items.into()));
                    }
                }
                Node::Field { path, ty, .. } => {
                    if !value.is_null() {
                        return Err(format!(
                            "{path}: a {} field cannot be read from a list of objects",
                            ty.as_str()
                        ));
                    }
                }
                Node::Group { group, path } => match value {
                    Json::Object(inner) => self.collect(inner, group)?,
                    Json::Null => {}
                    other => return Err(format!("{path}: expected object, got {}", kind(other))),
                },
            }
        }
        Ok(())
    }

    fn field(&mut self, id: FieldId, ty: TypeName, path: &str, value: &Json) -> Result<(), String> {
        let slot = id.0 as usize;
        if self.assigned.get(slot).is_some_and(|a| *a != Assigned::No) {
            return Err(format!("{path}: given twice (nested and as a flat key)"));
        }
        if let Some(a) = self.assigned.get_mut(slot) {
            *a = Assigned::Direct;
        }
        let v = typed_value(ty, path, value)?;
        self.record.set(id, v);
        Ok(())
    }
}

/// Follows a possibly dotted key from `group`; `None` for an unknown path
/// (unknown keys are ignored).
fn walk<'g>(group: &'g Group, key: &str) -> Option<&'g Node> {
    let mut segments = key.split('.');
    let mut node = group.children.get(segments.next()?)?;
    for seg in segments {
        match node {
            Node::Group { group, .. } => node = group.children.get(seg)?,
            Node::Field { .. } => return None,
        }
    }
    Some(node)
}

fn has_list_fields(group: &Group) -> bool {
    group.children.values().any(|n| match n {
        Node::Field { ty, .. } => *ty == TypeName::StringList,
        Node::Group { group, .. } => has_list_fields(group),
    })
}

fn strings(path: &str, xs: &[Json]) -> Result<Vec<Arc<str>>, String> {
    xs.iter()
        .filter(|x| !x.is_null())
        .map(|x| match x {
            Json::String(s) => Ok(Arc::from(s.as_str())),
            other => Err(format!("{path}: expected string, got {}", kind(other))),
        })
        .collect()
}

/// Reads a JSON value as a field of type `ty`.
pub fn typed_value(ty: TypeName, path: &str, value: &Json) -> Result<Value, String> {
    let wrong = || format!("{path}: expected {}, got {}", ty.as_str(), kind(value));
    if value.is_null() {
        return Ok(Value::Missing);
    }
    match ty {
        TypeName::Bool => value.as_bool().map(Value::Bool).ok_or_else(wrong),
        TypeName::Number => match value.as_f64() {
            Some(n) if n.is_finite() => Ok(Value::Number(n)),
            Some(_) => Err(format!("{path}: number is not finite")),
            None => Err(wrong()),
        },
        TypeName::String => value.as_str().map(Value::str).ok_or_else(wrong),
        TypeName::Ip => {
            let s = value.as_str().ok_or_else(wrong)?;
            IpAddr::from_str(s).map(Value::ip).map_err(|_| format!("{path}: `{s}` is not an IP address"))
        }
        TypeName::Timestamp => match value {
            Json::String(s) => kensa_dsl::literal::parse_timestamp(s)
                .map(Value::Timestamp)
                .map_err(|_| format!("{path}: `{s}` is not an RFC 3339 timestamp")),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Timestamp)
                .ok_or_else(|| format!("{path}: a timestamp number must be whole milliseconds, got {n}")),
            _ => Err(wrong()),
        },
        TypeName::Duration => match value {
            Json::String(s) => kensa_dsl::literal::parse_duration(s)
                .and_then(|d| d.millis())
                .map(Value::Duration)
                .ok_or_else(|| format!("{path}: `{s}` is not a duration such as `90d`")),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Duration)
                .ok_or_else(|| format!("{path}: a duration number must be whole milliseconds, got {n}")),
            _ => Err(wrong()),
        },
        TypeName::StringList => match value {
            Json::Array(xs) => {
                let items = strings(path, xs)?;
                Ok(if items.is_empty() { Value::Missing } else { Value::StrList(items.into()) })
            }
            _ => Err(wrong()),
        },
    }
}
