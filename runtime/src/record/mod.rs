//! Events: decoding a JSON object into a flat record of typed slots (SPEC
//! section 9). Every problem names the offending path.

use kensa_compiler::schema::{FieldId, Schema};
use kensa_compiler::value::Value;
use kensa_dsl::ast::TypeName;
use serde_json::Value as Json;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

mod scan;

/// An event decoded into the schema's slots. It remembers the schema it
/// was built for, so a record built before a deploy that changed the
/// schema (a rule set declaring other fields) is still read by path.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// One value per schema field, by [`FieldId`].
    pub slots: Vec<Value>,
    /// The schema the slots follow.
    layout: Arc<Schema>,
}

impl Record {
    /// A record of `schema` with every field missing.
    pub fn new(schema: Arc<Schema>) -> Record {
        // Built from the variant, not cloned from one value (`vec![v; n]`
        // matches on the value for each clone): a few instructions a slot.
        Record { slots: std::iter::repeat_with(|| Value::Missing).take(schema.fields().len()).collect(), layout: schema }
    }

    /// Asks the processor to start loading the record's slots into its
    /// cache, without waiting for them: a caller about to decide this
    /// record after another (a replay) overlaps the cache misses of a
    /// record decoded on another core with the work on the one before.
    /// Changes nothing; only makes the next reads faster.
    pub fn prefetch_slots(&self) {
        prefetch_range(self.slots.as_ptr().cast::<u8>(), std::mem::size_of_val(self.slots.as_slice()));
    }

    /// As [`Record::prefetch_slots`], for the text of every string slot
    /// (keys are hashed and compared by their text). Reads the slots, so
    /// it is best called once [`Record::prefetch_slots`] had time to work.
    pub fn prefetch_strings(&self) {
        for v in &self.slots {
            if let Value::Str(s) = v {
                prefetch_range(s.as_ptr(), s.len());
            }
        }
    }

    /// The schema the slots follow.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.layout
    }

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

    /// Sets a field by path. The value must have the field's type (use
    /// [`Value::number`], [`Value::str`], [`Value::ip`], ...); a missing
    /// value clears the field.
    /// ```
    /// # use kensa_runtime::Record;
    /// # use kensa_compiler::{Schema, value::Value};
    /// let mut r = Record::new(std::sync::Arc::new(Schema::payment()));
    /// r.set_path("amount", Value::number(120.0)).unwrap();
    /// assert!(r.set_path("amount", Value::str("120")).is_err());
    /// assert!(r.set_path("no.such.field", Value::number(1.0)).is_err());
    /// ```
    pub fn set_path(&mut self, path: &str, v: Value) -> Result<(), EventError> {
        let fail = |message: String| EventError { event_id: None, message };
        let (id, ty) = self.layout.lookup(path).ok_or_else(|| fail(format!("{path}: not a field of the schema")))?;
        let fits = matches!(
            (&v, ty),
            (Value::Missing, _)
                | (Value::Bool(_), TypeName::Bool)
                | (Value::Number(_), TypeName::Number)
                | (Value::Str(_), TypeName::String)
                | (Value::Ip(_), TypeName::Ip)
                | (Value::Timestamp(_), TypeName::Timestamp)
                | (Value::Duration(_), TypeName::Duration)
                | (Value::StrList(_), TypeName::StringList)
        );
        if !fits {
            return Err(fail(format!("{path}: expected a {}", ty.as_str())));
        }
        let v = match v {
            Value::Number(n) => Value::number(n),
            Value::Ip(a) => Value::ip(a),
            other => other,
        };
        self.set(id, v);
        Ok(())
    }

    /// This record in `schema`'s layout: itself when it already follows it,
    /// else a copy with every field moved to its slot by path (fields the
    /// other schema lacks are missing).
    pub fn in_layout(&self, schema: &Arc<Schema>) -> std::borrow::Cow<'_, Record> {
        if Arc::ptr_eq(&self.layout, schema) || *self.layout == **schema {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut r = Record::new(Arc::clone(schema));
        for (slot, f) in r.slots.iter_mut().zip(schema.fields()) {
            if let Some((id, ty)) = self.layout.lookup(&f.path) {
                if ty == f.ty {
                    slot.clone_from(self.get(id));
                }
            }
        }
        std::borrow::Cow::Owned(r)
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

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EventError {}

/// The schema as a tree of path segments, built once per program so decoding
/// never splits or compares whole paths.
#[derive(Debug)]
pub struct Decoder {
    root: Group,
    schema: Arc<Schema>,
    /// The fields read and checked but left missing ([`Decoder::keeping`]);
    /// empty for [`Decoder::new`].
    dropped: Vec<FieldId>,
}

/// One level of the schema tree: its segments, in the order the schema
/// first names them, and an index from segment to position.
///
/// INVARIANT (IndexedChildren): `index` maps each segment of `children` to
/// its position there, and nothing else.
#[derive(Debug, Default)]
struct Group {
    children: Vec<(String, Node)>,
    index: hashbrown::HashMap<String, usize>,
}

impl Group {
    /// The node of one segment.
    fn get(&self, segment: &str) -> Option<&Node> {
        self.find(segment).map(|(_, node)| node)
    }

    /// The position of one segment in `children`, and its node.
    fn find(&self, segment: &str) -> Option<(usize, &Node)> {
        let i = *self.index.get(segment)?;
        self.children.get(i).map(|(_, node)| (i, node))
    }

    /// The position of `segment` in `children`, the node appended when new.
    fn position_or_insert(&mut self, segment: &str, node: impl FnOnce() -> Node) -> usize {
        if let Some(&i) = self.index.get(segment) {
            return i;
        }
        self.children.push((segment.to_string(), node()));
        self.index.insert(segment.to_string(), self.children.len() - 1);
        self.children.len() - 1
    }
}

#[derive(Debug)]
enum Node {
    /// A field; `kept` false when its value is checked and then left
    /// missing ([`Decoder::keeping`]).
    Field { id: FieldId, ty: TypeName, path: String, kept: bool },
    Group { group: Group, path: String },
}

impl Decoder {
    /// Builds the decoder of a schema.
    pub fn new(schema: Arc<Schema>) -> Decoder {
        Decoder::build(schema, |_| true)
    }

    /// A decoder of `schema` that keeps only the fields in `kept`. Every
    /// other field is still read and checked as [`Decoder::new`] checks it
    /// (a value of the wrong type, or a field given twice, makes the event
    /// invalid all the same) and then left missing in the record, so the
    /// text of a string no rule reads is never copied nor freed.
    ///
    /// For a reader that knows every field it will look at: a replay keeps
    /// what its rule sets read ([`kensa_compiler::ir::Program::fields_read`])
    /// and what its result rows show. A record from this decoder must never
    /// reach a program that reads any other field.
    pub fn keeping(schema: Arc<Schema>, kept: &[FieldId]) -> Decoder {
        Decoder::build(schema, |id| kept.contains(&id))
    }

    fn build(schema: Arc<Schema>, kept: impl Fn(FieldId) -> bool) -> Decoder {
        let mut root = Group::default();
        let mut dropped = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let id = FieldId(u32::try_from(i).unwrap_or(u32::MAX));
            let kept = kept(id);
            if !kept {
                dropped.push(id);
            }
            let mut group = &mut root;
            let segments: Vec<&str> = f.path.split('.').collect();
            let mut prefix = String::new();
            for (k, seg) in segments.iter().enumerate() {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(seg);
                if k + 1 == segments.len() {
                    // Paths are unique (the checker sees to it): a field's
                    // last segment is new in its group.
                    group.position_or_insert(seg, || Node::Field { id, ty: f.ty, path: f.path.clone(), kept });
                    break;
                }
                let at = group.position_or_insert(seg, || Node::Group { group: Group::default(), path: prefix.clone() });
                match group.children.get_mut(at).map(|(_, node)| node) {
                    Some(Node::Group { group: g, .. }) => group = g,
                    // The checker rejects a field that extends another.
                    Some(Node::Field { .. }) | None => break,
                }
            }
        }
        Decoder { root, schema, dropped }
    }

    /// Decodes one JSON Lines line in a single pass: the JSON is read
    /// straight into the slots, walking the schema tree, with no
    /// intermediate JSON value.
    pub fn decode_bytes(&self, line: &[u8]) -> Result<Record, EventError> {
        let mut record = Record::new(Arc::clone(&self.schema));
        if scan::scan(&self.root, line, &mut record).is_some() {
            return Ok(record);
        }
        record.slots.fill(Value::Missing);
        self.decode_with_serde(line, record)
    }

    /// [`Decoder::decode_bytes`] without its fast path, for differential
    /// tests of the two: every line takes the serde path.
    #[doc(hidden)]
    pub fn decode_bytes_on_serde_path(&self, line: &[u8]) -> Result<Record, EventError> {
        self.decode_with_serde(line, Record::new(Arc::clone(&self.schema)))
    }

    /// The serde path: any JSON, every error named by its path. `record`
    /// has every slot missing.
    fn decode_with_serde(&self, line: &[u8], record: Record) -> Result<Record, EventError> {
        let mut d = Decoding { record, assigned: vec![Assigned::No; self.schema.fields().len()], problem: None };
        let mut de = serde_json::Deserializer::from_slice(line);
        let parsed = serde::de::DeserializeSeed::deserialize(Root { group: &self.root, d: &mut d }, &mut de)
            .and_then(|()| de.end());
        match (parsed, d.problem) {
            (Ok(()), _) => {
                // Checked in full, as the scanner checks them; then left
                // missing, as the scanner leaves them.
                let mut record = d.record;
                for &id in &self.dropped {
                    record.set(id, Value::Missing);
                }
                Ok(record)
            }
            (Err(_), Some(message)) => Err(EventError { event_id: event_id_in(line), message }),
            (Err(e), None) => Err(EventError { event_id: None, message: format!("json: {e}") }),
        }
    }

    /// Decodes a parsed JSON value (as `kensa test` holds its events).
    pub fn decode(&self, json: &Json) -> Result<Record, EventError> {
        let bytes = serde_json::to_vec(json).map_err(|e| EventError { event_id: None, message: format!("json: {e}") })?;
        self.decode_bytes(&bytes)
    }
}

/// `event.id` of a raw event line when it is a string, nested or flat (read
/// again only for invalid events, to name them in their error record).
fn event_id_in(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Event {
        id: Option<Json>,
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        event: Option<Event>,
        #[serde(rename = "event.id")]
        flat: Option<Json>,
    }
    let probe: Probe = serde_json::from_slice(line).ok()?;
    match probe.event.and_then(|e| e.id).or(probe.flat)? {
        Json::String(s) => Some(s),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Assigned {
    No,
    Direct,
    Collected,
}

/// The record being filled, and the first problem found (a message naming
/// its path). INVARIANT (ProblemFirst): a visitor that fails sets `problem`
/// before returning its error, so a JSON syntax error is one that left it unset.
struct Decoding {
    record: Record,
    assigned: Vec<Assigned>,
    problem: Option<String>,
}

impl Decoding {
    fn fail<E: serde::de::Error>(&mut self, message: String) -> E {
        if self.problem.is_none() {
            self.problem = Some(message);
        }
        E::custom("invalid event")
    }

    /// serde_json refuses a number an `f64` cannot hold (`1e400`, the
    /// only non-finite number JSON can spell) while it reads a value,
    /// before any visitor sees it, so its error names no path and would
    /// read as a syntax error. Called with the error of reading the value
    /// at `path`: when it is that refusal and nothing failed before, the
    /// problem becomes `path: number out of range` (SPEC section 9: a
    /// non-finite number makes the event invalid, named by its path).
    fn name_number_error<E: serde::de::Error>(&mut self, e: E, path: &str) -> E {
        if self.problem.is_none() && e.to_string().starts_with("number out of range") {
            return self.fail(format!("{path}: number out of range"));
        }
        e
    }

    /// Notes how a slot is being set; setting it twice, or both directly and
    /// from a list of objects, is an error.
    fn assign<E: serde::de::Error>(&mut self, id: FieldId, path: &str, how: Assigned) -> Result<(), E> {
        let slot = id.0 as usize;
        let before = self.assigned.get(slot).copied().unwrap_or(Assigned::No);
        match (before, how) {
            (Assigned::No, _) | (Assigned::Collected, Assigned::Collected) => {}
            (Assigned::Direct, Assigned::Direct) => {
                return Err(self.fail(format!("{path}: given twice (nested and as a flat key)")));
            }
            _ => return Err(self.fail(format!("{path}: given both directly and in a list of objects"))),
        }
        if let Some(a) = self.assigned.get_mut(slot) {
            *a = how;
        }
        Ok(())
    }
}

/// The top of an event: an object read against the schema's root group.
struct Root<'a> {
    group: &'a Group,
    d: &'a mut Decoding,
}

impl<'de> serde::de::DeserializeSeed<'de> for Root<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(GroupVisitor { group: self.group, path: "json", d: self.d, collect: false, top: true })
    }
}

/// An object (or, for a group holding `[string]` fields, an array of
/// objects) read against a schema group.
struct GroupVisitor<'a> {
    group: &'a Group,
    path: &'a str,
    d: &'a mut Decoding,
    /// Inside an array of objects: only `[string]` fields may be set, and
    /// they gather values.
    collect: bool,
    top: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for GroupVisitor<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl GroupVisitor<'_> {
    fn wrong<E: serde::de::Error>(self, got: &str) -> Result<(), E> {
        let message = if self.top {
            format!("json: expected an object, got {got}")
        } else {
            format!("{}: expected object, got {got}", self.path)
        };
        Err(self.d.fail(message))
    }
}

/// The visitor methods for JSON values that are wrong where an object is
/// expected; `$wrong` names the method reporting them.
macro_rules! reject_scalars {
    ($wrong:ident) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
            self.$wrong("bool")
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
            self.$wrong("number")
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
            self.$wrong("number")
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
            self.$wrong("number")
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            self.$wrong("string")
        }
    };
}

impl<'de> serde::de::Visitor<'de> for GroupVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match walk(self.group, key.as_str()) {
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                Some(Node::Group { group, path }) => {
                    map.next_value_seed(GroupVisitor { group, path, d: &mut *self.d, collect: self.collect, top: false })
                        .map_err(|e| self.d.name_number_error(e, path))?;
                }
                Some(Node::Field { id, ty, path, .. }) => {
                    map.next_value_seed(FieldSeed { id: *id, ty: *ty, path, d: &mut *self.d, collect: self.collect })
                        .map_err(|e| self.d.name_number_error(e, path))?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.top || self.collect || !has_list_fields(self.group) {
            return self.wrong("array");
        }
        while seq.next_element_seed(ArrayItem { group: self.group, path: self.path, d: &mut *self.d })?.is_some() {}
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        if self.top {
            return self.wrong("null");
        }
        Ok(())
    }

    reject_scalars!(wrong);
}

/// An object key, borrowed from the input when it holds no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_string()))
    }
}

/// One element of an array of objects: an object (gathered) or null.
struct ArrayItem<'a> {
    group: &'a Group,
    path: &'a str,
    d: &'a mut Decoding,
}

impl<'de> serde::de::DeserializeSeed<'de> for ArrayItem<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        // A nested array is wrong here: `collect` makes the visitor say so.
        de.deserialize_any(GroupVisitor { group: self.group, path: self.path, d: self.d, collect: true, top: false })
    }
}

/// A field's value, read as the field's type.
struct FieldSeed<'a> {
    id: FieldId,
    ty: TypeName,
    path: &'a str,
    d: &'a mut Decoding,
    collect: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

/// A JSON scalar as the field visitor meets it.
enum Scalar<'s> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'s str),
}

impl Scalar<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) | Scalar::Float(_) => "number",
            Scalar::Str(_) => "string",
        }
    }
}

impl FieldSeed<'_> {
    fn scalar<E: serde::de::Error>(self, s: Scalar<'_>) -> Result<(), E> {
        if self.collect {
            // Inside an array of objects only `[string]` fields gather values.
            return match (self.ty, s) {
                (_, Scalar::Null) => Ok(()),
                (TypeName::StringList, Scalar::Str(x)) => self.gather(vec![Arc::from(x)]),
                (TypeName::StringList, other) => {
                    Err(self.d.fail(format!("{}: expected string, got {}", self.path, other.kind())))
                }
                (ty, _) => Err(self.d.fail(format!(
                    "{}: a {} field cannot be read from a list of objects",
                    self.path,
                    ty.as_str()
                ))),
            };
        }
        self.d.assign(self.id, self.path, Assigned::Direct)?;
        match scalar_value(self.ty, self.path, s) {
            Ok(v) => {
                self.d.record.set(self.id, v);
                Ok(())
            }
            Err(message) => Err(self.d.fail(message)),
        }
    }

    /// Adds values gathered from a list of objects to the field's list.
    fn gather<E: serde::de::Error>(self, items: Vec<Arc<str>>) -> Result<(), E> {
        self.d.assign(self.id, self.path, Assigned::Collected)?;
        let mut all: Vec<Arc<str>> = match self.d.record.get(self.id) {
            Value::StrList(xs) => xs.to_vec(),
            _ => Vec::new(),
        };
        all.extend(items);
        if !all.is_empty() {
            self.d.record.set(self.id, Value::StrList(all.into()));
        }
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for FieldSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {}", self.ty.as_str())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Scalar::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Scalar::Int(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(i) => self.scalar(Scalar::Int(i)),
            #[allow(clippy::cast_precision_loss)] // read as a number, as JSON means it
            Err(_) => self.scalar(Scalar::Float(v as f64)),
        }
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Scalar::Float(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Scalar::Str(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.ty != TypeName::StringList {
            return Err(self.d.fail(format!("{}: expected {}, got array", self.path, self.ty.as_str())));
        }
        let mut items: Vec<Arc<str>> = Vec::new();
        while let Some(element) = seq.next_element_seed(ListElement { path: self.path, d: &mut *self.d })? {
            items.extend(element);
        }
        if self.collect {
            return self.gather(items);
        }
        self.d.assign(self.id, self.path, Assigned::Direct)?;
        if !items.is_empty() {
            self.d.record.set(self.id, Value::StrList(items.into()));
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.d.fail(format!("{}: expected {}, got object", self.path, self.ty.as_str())))
    }
}

/// One element of a `[string]` array: a string, or null (skipped).
struct ListElement<'a> {
    path: &'a str,
    d: &'a mut Decoding,
}

impl<'de> serde::de::DeserializeSeed<'de> for ListElement<'_> {
    type Value = Option<Arc<str>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Option<Arc<str>>, D::Error> {
        de.deserialize_any(self)
    }
}

impl ListElement<'_> {
    fn wrong<E: serde::de::Error>(self, got: &str) -> Result<Option<Arc<str>>, E> {
        Err(self.d.fail(format!("{}: expected string, got {got}", self.path)))
    }
}

impl<'de> serde::de::Visitor<'de> for ListElement<'_> {
    type Value = Option<Arc<str>>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<Arc<str>>, E> {
        Ok(Some(Arc::from(v)))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Arc<str>>, E> {
        Ok(None)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Option<Arc<str>>, E> {
        self.wrong("bool")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<Arc<str>>, E> {
        self.wrong("number")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<Arc<str>>, E> {
        self.wrong("number")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<Arc<str>>, E> {
        self.wrong("number")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Option<Arc<str>>, A::Error> {
        self.wrong("array")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Option<Arc<str>>, A::Error> {
        self.wrong("object")
    }
}

/// Reads a JSON scalar as a field of type `ty`.
fn scalar_value(ty: TypeName, path: &str, s: Scalar<'_>) -> Result<Value, String> {
    #[allow(clippy::cast_precision_loss)] // a JSON integer read as a number
    match (ty, s) {
        (_, Scalar::Null) => Ok(Value::Missing),
        (TypeName::Bool, Scalar::Bool(b)) => Ok(Value::Bool(b)),
        (TypeName::Number, Scalar::Int(i)) => Ok(Value::Number(i as f64)),
        (TypeName::Number, Scalar::Float(f)) if f.is_finite() => Ok(Value::Number(f)),
        (TypeName::Number, Scalar::Float(_)) => Err(format!("{path}: number is not finite")),
        (TypeName::String, Scalar::Str(x)) => Ok(Value::str(x)),
        (TypeName::Ip, Scalar::Str(x)) => {
            IpAddr::from_str(x).map(Value::ip).map_err(|_| format!("{path}: `{x}` is not an IP address"))
        }
        (TypeName::Timestamp, Scalar::Str(x)) => kensa_dsl::literal::parse_timestamp(x)
            .map(Value::Timestamp)
            .map_err(|_| format!("{path}: `{x}` is not an RFC 3339 timestamp")),
        (TypeName::Timestamp, Scalar::Int(i)) => Ok(Value::Timestamp(i)),
        (TypeName::Timestamp, Scalar::Float(f)) => {
            Err(format!("{path}: a timestamp number must be whole milliseconds, got {f}"))
        }
        (TypeName::Duration, Scalar::Str(x)) => kensa_dsl::literal::parse_duration(x)
            .and_then(|d| d.millis())
            .map(Value::Duration)
            .ok_or_else(|| format!("{path}: `{x}` is not a duration such as `90d`")),
        (TypeName::Duration, Scalar::Int(i)) => Ok(Value::Duration(i)),
        (TypeName::Duration, Scalar::Float(f)) => {
            Err(format!("{path}: a duration number must be whole milliseconds, got {f}"))
        }
        (_, other) => Err(format!("{path}: expected {}, got {}", ty.as_str(), other.kind())),
    }
}

/// Follows a possibly dotted key from `group`; `None` for an unknown path
/// (unknown keys are ignored).
fn walk<'g>(group: &'g Group, key: &str) -> Option<&'g Node> {
    // Children are single segments: a key is found whole, or it is dotted
    // (or unknown). Most keys are plain, so they are not scanned for dots.
    group.get(key).or_else(|| walk_dotted(group, key))
}

/// The node of a dotted key (`card.hash`) from `group`, segment by
/// segment; `None` for a key without a dot.
fn walk_dotted<'g>(group: &'g Group, key: &str) -> Option<&'g Node> {
    let (first, rest) = key.split_once('.')?;
    let mut node = group.get(first)?;
    for seg in rest.split('.') {
        match node {
            Node::Group { group, .. } => node = group.get(seg)?,
            Node::Field { .. } => return None,
        }
    }
    Some(node)
}

fn has_list_fields(group: &Group) -> bool {
    group.children.iter().any(|(_, n)| match n {
        Node::Field { ty, .. } => *ty == TypeName::StringList,
        Node::Group { group, .. } => has_list_fields(group),
    })
}

/// Hints the processor to load the cache lines of `len` bytes at `start`
/// (no effect where there is no such hint).
#[allow(unsafe_code)]
fn prefetch_range(start: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE: usize = 64;
        // From the line holding the first byte to the one holding the
        // last (stepping from `start` itself misses the last line when
        // `start` is not at a line's beginning).
        let misalign = start.addr() % LINE;
        let first = start.wrapping_sub(misalign);
        let len = len + misalign;
        let mut offset = 0;
        while offset < len {
            // SAFETY: SSE is part of every x86-64 processor (the target's
            // baseline), and a prefetch reads nothing and never faults,
            // whatever the address.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(first.wrapping_add(offset).cast::<i8>());
            }
            offset += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, len);
}
