//! Value structures with no protocol knowledge.

pub mod compact;
pub mod string;

pub use compact::CompactBytes;
pub use string::StrValue;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (which may hold an integer).
    Str(StrValue),
}

impl Value {
    /// The type name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
        }
    }

    /// Roughly how many bytes the value occupies, for memory accounting.
    pub fn mem_size(&self) -> usize {
        match self {
            Value::Str(s) => s.mem_size(),
        }
    }
}
