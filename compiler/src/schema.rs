//! The event schema: every field path a rule set may read, with its type and
//! its slot number.

use kensa_dsl::ast::{FieldDecl, TypeName};
use kensa_dsl::{Code, Diagnostic};

/// A field's slot: its index in the schema, and so in a decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// One field of the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The dotted path.
    pub path: String,
    /// Its type.
    pub ty: TypeName,
    /// True for the fields of the built-in `payment` schema.
    pub builtin: bool,
    /// True for fields the embedding host declared (see
    /// [`Schema::with_host_field`]): a rule set may use them without
    /// declaring them, or declare them again with the same type.
    pub host: bool,
}

/// The built-in `payment` schema of SPEC section 9.
pub const PAYMENT_FIELDS: [(&str, TypeName); 24] = [
    ("event.id", TypeName::String),
    ("event.time", TypeName::Timestamp),
    ("event.type", TypeName::String),
    ("amount", TypeName::Number),
    ("currency", TypeName::String),
    ("customer.id", TypeName::String),
    ("customer.email", TypeName::String),
    ("card.hash", TypeName::String),
    ("card.bin", TypeName::String),
    ("card.last4", TypeName::String),
    ("card.brand", TypeName::String),
    ("card.country", TypeName::String),
    ("ip.address", TypeName::Ip),
    ("ip.country", TypeName::String),
    ("device.id", TypeName::String),
    ("browser.language", TypeName::String),
    ("browser.user_agent", TypeName::String),
    ("page.dwell_ms", TypeName::Number),
    ("items.id", TypeName::StringList),
    ("items.category", TypeName::StringList),
    ("items.count", TypeName::Number),
    ("campaign", TypeName::String),
    ("shipping.address", TypeName::String),
    ("score", TypeName::Number),
];

/// The path of the score, which splits rules into two phases.
pub const SCORE_PATH: &str = "score";

/// The path of the event's time, which places it in velocity windows.
pub const EVENT_TIME_PATH: &str = "event.time";

/// The fields an event may carry, in slot order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    fields: Vec<Field>,
}

impl Schema {
    /// The built-in `payment` schema.
    pub fn payment() -> Schema {
        Schema {
            fields: PAYMENT_FIELDS
                .iter()
                .map(|(p, t)| Field { path: (*p).to_string(), ty: *t, builtin: true, host: false })
                .collect(),
        }
    }

    /// Every field, in slot order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Looks a path up.
    pub fn lookup(&self, path: &str) -> Option<(FieldId, TypeName)> {
        self.fields
            .iter()
            .position(|f| f.path == path)
            .map(|i| (FieldId(u32::try_from(i).unwrap_or(u32::MAX)), self.fields.get(i).map_or(TypeName::Bool, |f| f.ty)))
    }

    /// This schema with one more field the embedding host's records carry.
    /// The path must be new and neither a prefix nor an extension of
    /// another field's path; the error says why it is not.
    /// ```
    /// # use kensa_compiler::Schema;
    /// # use kensa_dsl::ast::TypeName;
    /// let s = Schema::payment().with_host_field("merchant.mcc", TypeName::String).unwrap();
    /// assert!(s.lookup("merchant.mcc").is_some());
    /// assert!(s.clone().with_host_field("amount", TypeName::Number).is_err());
    /// assert!(s.with_host_field("merchant.mcc.code", TypeName::String).is_err());
    /// ```
    pub fn with_host_field(mut self, path: &str, ty: TypeName) -> Result<Schema, String> {
        let valid = !path.is_empty() && path.split('.').all(|seg| {
            seg.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if !valid {
            return Err(format!("`{path}` is not a field path (dotted names of letters, digits and `_`)"));
        }
        if let Some(message) = self.clash(path) {
            return Err(message);
        }
        self.fields.push(Field { path: path.to_string(), ty, builtin: false, host: true });
        Ok(self)
    }

    /// Why `path` cannot be added next to the existing fields, if it cannot.
    fn clash(&self, path: &str) -> Option<String> {
        self.fields.iter().find_map(|f| {
            if f.path == path {
                Some(if f.builtin {
                    format!("`{path}` is a built-in field and cannot be declared again")
                } else {
                    format!("field `{path}` is declared twice")
                })
            } else if f.path.starts_with(path) && f.path.as_bytes().get(path.len()) == Some(&b'.') {
                Some(format!("`{path}` is a prefix of the field `{}`: a path cannot be both a value and a group", f.path))
            } else if path.starts_with(f.path.as_str()) && path.as_bytes().get(f.path.len()) == Some(&b'.') {
                Some(format!("`{path}` extends the field `{}`, which holds a single value", f.path))
            } else {
                None
            }
        })
    }

    /// Adds the rule set's `field` declarations. A declaration that names a
    /// built-in field, repeats a field, or is a prefix or an extension of
    /// another field's path is reported and left out. A host field declared
    /// again with its own type is accepted as it is; with another type it is
    /// reported.
    pub fn declare(&mut self, decls: &[FieldDecl], diags: &mut Vec<Diagnostic>) {
        for d in decls {
            let path = d.path.name.as_str();
            if let Some(host) = self.fields.iter().find(|f| f.host && f.path == path) {
                if host.ty != d.ty {
                    let message = format!(
                        "`{path}` is declared by the host as {}; the rule set declares it {}",
                        host.ty.as_str(),
                        d.ty.as_str()
                    );
                    diags.push(Diagnostic::new(Code::BadFieldDecl, d.path.span, message));
                }
                continue;
            }
            let clash = self.clash(path);
            match clash {
                Some(message) => diags.push(Diagnostic::new(Code::BadFieldDecl, d.path.span, message)),
                None => self.fields.push(Field { path: path.to_string(), ty: d.ty, builtin: false, host: false }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_schema_has_every_spec_field() {
        let s = Schema::payment();
        assert_eq!(s.fields().len(), 24);
        assert_eq!(s.lookup("ip.address").map(|x| x.1), Some(TypeName::Ip));
        assert_eq!(s.lookup("items.id").map(|x| x.1), Some(TypeName::StringList));
        assert!(s.lookup("card").is_none());
    }
}
