//! Entra's attribute-mapping expression language: parse, check and evaluate expressions such
//! as `Switch([IsSoftDeleted], , "False", "True", "True", "False")`.
//!
//! The syntax and function semantics follow Microsoft's documentation (see the reference,
//! section 2). [`parse`] reports every problem it can find with byte spans into the source,
//! so callers can point into the YAML; [`Expr::eval`] is a pure function of the expression
//! and the source object.
//!
//! This module must never do IO, read the clock or randomness (hence no `Guid`/`Now`), or
//! panic on any input text or attribute value.
//!
//! Choices where the documentation is ambiguous, in one place:
//! - `Coalesce` returns the first non-null argument; `""` counts as a value.
//! - `Item` is 1-based; index 0 or out of range gives null.
//! - `IIF` and comparisons: a null or empty side makes the comparison false; numbers compare
//!   numerically when both sides parse, else strings compare ordinally, case-sensitively.
//! - Where one string is expected, a multi-value with one entry is that entry; with more
//!   it's an [`EvalError`], never a silent pick.
//! - `Switch` is a pure function of its inputs: Entra's "null when the source didn't change"
//!   bug is deliberately not reproduced.
//! - Null sources give null for the string functions (Append, Mid, Word, Replace, …), except
//!   `Left`, documented to give `""`. `Join` of only nulls is null, not `""`.
//! - `Replace` picks its mode from which arguments are written; combinations the docs don't
//!   describe are parse errors rather than a guess.
//! - Lengths and positions (Left, Mid, InStr) count characters, not .NET UTF-16 units.
//! - String escapes other than `\"` and `\\` keep their backslash (`"\d"` is `\d`).
//! - Regular expressions use Rust's `regex` syntax (no lookaround, no backreferences); .NET
//!   named groups `(?<name>…)` and `${name}` replacements work the same.
//!
//! Evaluation is bounded, whatever the expression and the object: every value (a result, an
//! argument, an attribute read) is at most [`MAX_VALUE_BYTES`], and one evaluation takes at
//! most [`MAX_STEPS`] steps. Functions that can amplify (Replace, Append, Join, the encodings)
//! check the size of what they would build before building it, so a nested-Replace bomb is an
//! [`EvalError`] at the call that crossed the cap, not an allocation of gigabytes.

mod check;
mod eval;
mod functions;
mod lexer;
mod parser;
mod text;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

/// The longest expression Entra accepts, in characters.
pub const MAX_LEN: usize = 10_000;

/// At most this many problems are reported for one expression.
pub const MAX_ERRORS: usize = 20;

/// The largest value an expression may produce or use, anywhere inside it: a string's bytes
/// (UTF-8), or a multi-value's bytes plus one per entry. No attribute Asana or Entra takes
/// comes near it; an expression that crosses it is a mistake or a bomb.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The most steps one evaluation may take. Every node evaluated is one step, and every value it
/// produces costs one more step per byte (by [`MAX_VALUE_BYTES`]'s measure), so the budget bounds
/// the total work and memory of one evaluation: about a megabyte of strings, built at most once.
pub const MAX_STEPS: usize = 1 << 20;

/// Names of the functions roster evaluates, for "did you mean" hints and documentation.
pub const FUNCTIONS: &[&str] = &{
    let mut names = [""; functions::SPECS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = functions::SPECS[i].name;
        i += 1;
    }
    names
};

/// A value in Entra's model: every scalar is a string (booleans are "True"/"False"),
/// multi-valued attributes are lists of strings.
///
/// `Null` is also what `IgnoreFlowIfNullOrEmpty` yields for an empty value; use
/// [`Expr::ignores_flow_if_null_or_empty`] to tell "don't flow" from "set to null".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Str(String),
    Multi(Vec<String>),
}

impl Value {
    /// True for `Null` and for a multi-value with no entries (an absent attribute either way).
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(_) => false,
            Value::Multi(list) => list.is_empty(),
        }
    }

    /// [`Value::is_null`], or the empty string.
    pub fn is_null_or_empty(&self) -> bool {
        self.is_null() || matches!(self, Value::Str(s) if s.is_empty())
    }

    /// Entra's string booleans.
    pub fn from_bool(b: bool) -> Value {
        Value::Str(if b { "True" } else { "False" }.to_string())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        s.map_or(Value::Null, Value::Str)
    }
}

/// For people reading plans and errors: a string prints as itself, null as `null`, and a
/// multi-value as a bracketed list of quoted strings.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Str(s) => f.write_str(s),
            Value::Multi(list) => {
                f.write_str("[")?;
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s:?}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Where the evaluator reads source attributes (`[name]`). Returns `Value::Null` when absent.
pub trait Attributes {
    fn get(&self, name: &str) -> Value;
}

impl Attributes for HashMap<String, Value> {
    fn get(&self, name: &str) -> Value {
        HashMap::get(self, name).cloned().unwrap_or(Value::Null)
    }
}

impl Attributes for BTreeMap<String, Value> {
    fn get(&self, name: &str) -> Value {
        BTreeMap::get(self, name).cloned().unwrap_or(Value::Null)
    }
}

/// One problem in an expression. `span` is a byte range into the expression source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub span: Range<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// A problem found while evaluating an expression against one source object. Every variant
/// carries the byte span of the expression part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error(
        "{what} has {count} values where one is expected; pick one with Item or combine them with Join"
    )]
    MultipleValues {
        what: String,
        count: usize,
        span: Range<usize>,
    },
    #[error("argument `{param}` of {function} must be a whole number, got {value:?}")]
    NotANumber {
        function: &'static str,
        param: &'static str,
        value: String,
        span: Range<usize>,
    },
    #[error("expected \"True\" or \"False\" in {function}, got {value:?}")]
    NotABoolean {
        function: &'static str,
        value: String,
        span: Range<usize>,
    },
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        pattern: String,
        reason: String,
        span: Range<usize>,
    },
    #[error("regular expression has no group named {group:?}")]
    UnknownGroup { group: String, span: Range<usize> },
    #[error("argument `{param}` of {function} {reason}")]
    InvalidArgument {
        function: &'static str,
        param: &'static str,
        reason: String,
        span: Range<usize>,
    },
    #[error(
        "{what} would be larger than {limit} bytes (the most an expression value may hold)",
        limit = MAX_VALUE_BYTES
    )]
    TooLarge { what: String, span: Range<usize> },
    #[error(
        "the expression takes more than {limit} steps to evaluate (the most one evaluation may take)",
        limit = MAX_STEPS
    )]
    TooManySteps { span: Range<usize> },
}

impl EvalError {
    /// The byte range of the expression part that failed.
    pub fn span(&self) -> Range<usize> {
        match self {
            EvalError::MultipleValues { span, .. }
            | EvalError::NotANumber { span, .. }
            | EvalError::NotABoolean { span, .. }
            | EvalError::InvalidRegex { span, .. }
            | EvalError::UnknownGroup { span, .. }
            | EvalError::InvalidArgument { span, .. }
            | EvalError::TooLarge { span, .. }
            | EvalError::TooManySteps { span } => span.clone(),
        }
    }
}

/// A parsed and checked expression.
#[derive(Debug, Clone)]
pub struct Expr {
    root: check::Node,
}

/// Parses and checks (function names, arity, Replace modes, literal regexes) an expression.
/// Reports every problem it can find, sorted by position, not just the first (up to
/// [`MAX_ERRORS`], so pasted garbage doesn't produce thousands of lines).
pub fn parse(src: &str) -> Result<Expr, Vec<ExprError>> {
    let chars = src.chars().count();
    if chars > MAX_LEN {
        let start = src.char_indices().nth(MAX_LEN).map_or(0, |(i, _)| i);
        return Err(vec![ExprError {
            span: start..src.len(),
            message: format!("expression is {chars} characters long; the maximum is {MAX_LEN}"),
            hint: Some("Entra rejects longer expressions; simplify it".to_string()),
        }]);
    }
    let lexed = lexer::lex(src);
    let (raw, mut errors) = parser::parse(&lexed, src.len());
    let root = check::lower(raw, &mut errors);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    errors.dedup();
    errors.truncate(MAX_ERRORS);
    match root {
        Some(root) if errors.is_empty() => Ok(Expr { root }),
        _ => {
            if errors.is_empty() {
                // Unreachable by construction (a failed node always reports), but an empty
                // error list would read as success to the caller.
                errors.push(ExprError {
                    span: 0..src.len(),
                    message: "invalid expression".to_string(),
                    hint: None,
                });
            }
            Err(errors)
        }
    }
}

impl Expr {
    /// Evaluates against a source object. Runtime problems (a bad regex read from an
    /// attribute, a non-numeric index, …) are errors, never panics.
    pub fn eval(&self, attrs: &dyn Attributes) -> Result<Value, EvalError> {
        eval::eval(&self.root, attrs)
    }

    /// Every `[attribute]` referenced, in source order, with the byte span of the whole
    /// `[name]` token (brackets included).
    pub fn attributes(&self) -> Vec<(&str, Range<usize>)> {
        let mut out = Vec::new();
        collect_attributes(&self.root, &mut out);
        out
    }

    /// Whether the whole expression is `IgnoreFlowIfNullOrEmpty(…)`: then a `Value::Null`
    /// result means "leave the target attribute alone", not "clear it".
    pub fn ignores_flow_if_null_or_empty(&self) -> bool {
        matches!(&self.root.kind, check::Kind::Call(c)
            if c.func == functions::Func::IgnoreFlowIfNullOrEmpty)
    }
}

fn collect_attributes<'a>(node: &'a check::Node, out: &mut Vec<(&'a str, Range<usize>)>) {
    match &node.kind {
        check::Kind::Attr(name) => out.push((name.as_str(), node.span.clone())),
        check::Kind::Lit(_) => {}
        check::Kind::Compare { lhs, rhs, .. } => {
            collect_attributes(lhs, out);
            collect_attributes(rhs, out);
        }
        check::Kind::Call(call) => {
            for arg in call.args.iter().flatten() {
                collect_attributes(arg, out);
            }
        }
    }
}
