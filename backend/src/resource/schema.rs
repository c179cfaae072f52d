//! What a resource is made of: its [`Schema`] (URL segment, table, fields) and each [`Field`]'s
//! kind, role and validation rules. `#[derive(Resource)]` writes these as constants; a
//! hand-written [`Resource`](super::Resource) impl builds them with the same `const fn`s.

/// A resource's description: built at compile time, checked at start-up. `#[derive(Resource)]`
/// writes it; by hand it is a `static` of [`Field`]s:
///
/// ```
/// use qmlbridge_backend::{Backend, Field, FieldKind, FieldRole, Migration, Resource, Schema};
///
/// struct Note;
///
/// impl Resource for Note {
///     fn schema() -> &'static Schema {
///         static FIELDS: [Field; 3] = [
///             Field::new("id", FieldKind::Int).role(FieldRole::Key),
///             Field::new("text", FieldKind::Text).non_blank().max_chars(200),
///             Field::new("pinned", FieldKind::Bool).with_default().filter(),
///         ];
///         static SCHEMA: Schema = Schema::new("notes", "notes", &FIELDS);
///         &SCHEMA
///     }
/// }
///
/// static MIGRATIONS: &[Migration] = &[Migration::new(1, "0001_create_notes",
///     "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, pinned INTEGER NOT NULL DEFAULT 0)")];
/// assert_eq!(Note::schema().name(), "notes");
/// let app = Backend::new("notes", "1.0.0").migrations(MIGRATIONS).resource::<Note>();
/// assert!(app.test(None, "t").is_ok());
/// ```
#[derive(Debug)]
pub struct Schema {
    pub(crate) name: &'static str,
    pub(crate) table: &'static str,
    pub(crate) fields: &'static [Field],
}

/// What a field holds, on the wire and in the database. The derive takes it from the Rust
/// type: `String` is `Text`, `i64`/`i32` `Int`, `f64` `Real`, `bool` `Bool`,
/// [`Datetime`](crate::Datetime) `Datetime`.
///
/// ```
/// use qmlbridge_backend::{Field, FieldKind};
///
/// static DUE: Field = Field::new("due", FieldKind::Datetime).optional();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string (SQL `TEXT`).
    Text,
    /// A 64-bit integer (SQL `INTEGER`).
    Int,
    /// A double (SQL `REAL`).
    Real,
    /// `true`/`false` (SQL `INTEGER` 0/1).
    Bool,
    /// An RFC 3339 date-time string in UTC, `2026-12-01T10:00:00Z` (SQL `TEXT`).
    Datetime,
}

/// Who writes a field.
///
/// ```
/// use qmlbridge_backend::{Field, FieldKind, FieldRole};
///
/// static FIELDS: [Field; 3] = [
///     Field::new("id", FieldKind::Int).role(FieldRole::Key),
///     Field::new("created_at", FieldKind::Datetime).role(FieldRole::CreatedAt),
///     Field::new("updated_at", FieldKind::Datetime).role(FieldRole::UpdatedAt),
/// ];
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRole {
    /// The positive integer key (`INTEGER PRIMARY KEY`): the database assigns it.
    Key,
    /// A client-writable value.
    Value,
    /// Set by the database when the row is created (a column `DEFAULT`); read-only.
    CreatedAt,
    /// Set by the framework on every update (and by a column `DEFAULT` on create); read-only.
    UpdatedAt,
}

/// One field: a JSON member and the column of the same name. Built with `const fn`s, each
/// the counterpart of a `#[resource(..)]` attribute (see [`Schema`] for a whole resource).
///
/// ```
/// use qmlbridge_backend::{Field, FieldKind};
///
/// // `#[resource(min = 0, max = 10)] weight: Option<f64>`
/// static WEIGHT: Field = Field::new("weight", FieldKind::Real).optional().min(0.0).max(10.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: FieldKind,
    pub(crate) role: FieldRole,
    pub(crate) optional: bool,
    pub(crate) default: bool,
    pub(crate) filter: bool,
    pub(crate) non_blank: bool,
    pub(crate) min_chars: Option<usize>,
    pub(crate) max_chars: Option<usize>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl Schema {
    /// A resource named `name` (its URL segment: `/api/<name>`) stored in `table`.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole, Schema};
    ///
    /// static FIELDS: [Field; 1] = [Field::new("id", FieldKind::Int).role(FieldRole::Key)];
    /// static SCHEMA: Schema = Schema::new("tags", "tag_table", &FIELDS);
    /// assert_eq!(SCHEMA.name(), "tags");
    /// ```
    pub const fn new(name: &'static str, table: &'static str, fields: &'static [Field]) -> Self {
        Schema {
            name,
            table,
            fields,
        }
    }

    /// The URL segment.
    ///
    /// ```
    /// use qmlbridge_backend::Resource;
    ///
    /// #[derive(Resource)]
    /// #[resource(name = "notes", table = "note_rows")]
    /// struct Note {
    ///     id: i64,
    /// }
    /// assert_eq!(Note::schema().name(), "notes");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The key field's name.
    pub(crate) fn key(&self) -> &'static str {
        self.fields
            .iter()
            .find(|f| f.role == FieldRole::Key)
            .map_or("id", |f| f.name)
    }

    pub(crate) fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks what the compiler could not: a name that is a lowercase URL segment, one key,
    /// SQL-safe identifiers. The message names the resource.
    pub(crate) fn check(&self) -> Result<(), String> {
        let segment = |s: &str| {
            s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        let ident = |s: &str| {
            s.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if !segment(self.name) || self.name.len() > 64 {
            return Err(format!(
                "resource name {:?} is not a lowercase URL segment ([a-z][a-z0-9_-]*, at most 64)",
                self.name
            ));
        }
        if !ident(self.table) {
            return Err(format!(
                "resource {}: table name {:?} is not an SQL identifier",
                self.name, self.table
            ));
        }
        let keys = self.fields.iter().filter(|f| f.role == FieldRole::Key);
        if keys.clone().count() != 1 || keys.clone().any(|k| k.kind != FieldKind::Int) {
            return Err(format!(
                "resource {}: exactly one integer key field is needed",
                self.name
            ));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if !ident(f.name) {
                return Err(format!(
                    "resource {}: field name {:?} is not an SQL identifier",
                    self.name, f.name
                ));
            }
            if self.fields[..i].iter().any(|g| g.name == f.name) {
                return Err(format!("resource {}: field {} twice", self.name, f.name));
            }
            if ["limit", "offset", "after"].contains(&f.name) && f.filter {
                return Err(format!(
                    "resource {}: field {} cannot be a filter (it is a paging parameter)",
                    self.name, f.name
                ));
            }
        }
        Ok(())
    }
}

impl Field {
    /// A required, client-writable field without rules.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("title", FieldKind::Text);
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn new(name: &'static str, kind: FieldKind) -> Self {
        Field {
            name,
            kind,
            role: FieldRole::Value,
            optional: false,
            default: false,
            filter: false,
            non_blank: false,
            min_chars: None,
            max_chars: None,
            min: None,
            max: None,
        }
    }

    /// Who writes it.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("id", FieldKind::Int).role(FieldRole::Key);
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn role(mut self, role: FieldRole) -> Self {
        self.role = role;
        self
    }

    /// Nullable (`Option`): may be `null`, and omitted on create.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("note", FieldKind::Text).optional();
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Its column has a SQL `DEFAULT`: may be omitted on create.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("done", FieldKind::Bool).with_default();
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn with_default(mut self) -> Self {
        self.default = true;
        self
    }

    /// May be used as a list filter: `GET /api/<name>?<field>=<value>`.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("done", FieldKind::Bool).filter();
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn filter(mut self) -> Self {
        self.filter = true;
        self
    }

    /// Text that is not empty once trimmed (stored as sent).
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("title", FieldKind::Text).non_blank();
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn non_blank(mut self) -> Self {
        self.non_blank = true;
        self
    }

    /// At least `n` characters (Unicode scalar values).
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("code", FieldKind::Text).min_chars(3);
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn min_chars(mut self, n: usize) -> Self {
        self.min_chars = Some(n);
        self
    }

    /// At most `n` characters (Unicode scalar values).
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("title", FieldKind::Text).max_chars(200);
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn max_chars(mut self, n: usize) -> Self {
        self.max_chars = Some(n);
        self
    }

    /// A number at least `n`.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("cents", FieldKind::Int).min(1.0);
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn min(mut self, n: f64) -> Self {
        self.min = Some(n);
        self
    }

    /// A number at most `n`.
    ///
    /// ```
    /// use qmlbridge_backend::{Field, FieldKind, FieldRole};
    ///
    /// static FIELD: Field = Field::new("rating", FieldKind::Real).max(5.0);
    /// # let _ = FieldRole::Value;
    /// ```
    pub const fn max(mut self, n: f64) -> Self {
        self.max = Some(n);
        self
    }

    /// Written by clients (on create and update).
    pub(crate) fn writable(&self) -> bool {
        self.role == FieldRole::Value
    }

    /// Must be present on create.
    pub(crate) fn required(&self) -> bool {
        self.writable() && !self.optional && !self.default
    }
}
