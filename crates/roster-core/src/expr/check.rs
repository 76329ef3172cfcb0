//! Checks the raw syntax tree against the function table and lowers it to the evaluable AST.
//!
//! Everything that can be known without a source object is checked here: function names,
//! arity, required arguments, which Replace mode the given arguments select, and literal regex
//! patterns. The evaluator relies on this: it must never meet an unknown function or a wrong
//! argument count. This module must never evaluate attributes.

use std::ops::Range;

use regex::Regex;

use super::ExprError;
use super::functions::{self, Func, Spec};
use super::lexer::CmpOp;
use super::parser::{Raw, RawArg};

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Attr(String),
    Lit(String),
    Call(Box<Call>),
    Compare {
        op: CmpOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub func: Func,
    pub name: &'static str,
    /// `None` for an empty positional argument: "not given".
    pub args: Vec<Option<Node>>,
    pub replace: Option<ReplacePlan>,
}

/// Which documented Replace behaviour the given arguments select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplaceMode {
    /// oldValue + replacementValue: replace every occurrence of oldValue.
    Literal,
    /// oldValue + template: replace every oldValue in the template with the source.
    Template,
    /// regexPattern + replacementValue: regex replace; `${group}` works in the replacement.
    Regex,
    /// regexPattern + regexGroupName + replacementValue: replace what the group matched.
    RegexGroup,
    /// regexPattern + regexGroupName + replacementAttributeName: the source if it has a value,
    /// else the group's match in replacementAttributeName.
    RegexFallback,
}

#[derive(Debug, Clone)]
pub(crate) struct ReplacePlan {
    pub mode: ReplaceMode,
    /// Compiled once when the pattern is a literal, which it almost always is.
    pub regex: Option<Regex>,
}

// Replace's argument positions, as documented.
pub(crate) const R_SOURCE: usize = 0;
pub(crate) const R_OLD: usize = 1;
pub(crate) const R_PATTERN: usize = 2;
pub(crate) const R_GROUP: usize = 3;
pub(crate) const R_VALUE: usize = 4;
pub(crate) const R_ATTR: usize = 5;
pub(crate) const R_TEMPLATE: usize = 6;

/// Lowers `raw`, pushing every problem found to `errors`. `None` means at least one error
/// was pushed somewhere in the tree.
pub(crate) fn lower(raw: Raw, errors: &mut Vec<ExprError>) -> Option<Node> {
    match raw {
        Raw::Attr { name, span } => Some(Node {
            kind: Kind::Attr(name),
            span,
        }),
        Raw::Lit { value, span } => Some(Node {
            kind: Kind::Lit(value),
            span,
        }),
        Raw::Compare { op, lhs, rhs, span } => {
            let lhs = lower(*lhs, errors);
            let rhs = lower(*rhs, errors);
            Some(Node {
                kind: Kind::Compare {
                    op,
                    lhs: Box::new(lhs?),
                    rhs: Box::new(rhs?),
                },
                span,
            })
        }
        Raw::Call {
            name,
            name_span,
            args,
            span,
            intact,
        } => lower_call(&name, name_span, args, span, intact, errors),
        Raw::Error => None,
    }
}

fn err(span: Range<usize>, message: String, hint: Option<String>) -> ExprError {
    ExprError {
        span,
        message,
        hint,
    }
}

fn lower_call(
    name: &str,
    name_span: Range<usize>,
    raw_args: Vec<RawArg>,
    span: Range<usize>,
    intact: bool,
    errors: &mut Vec<ExprError>,
) -> Option<Node> {
    let before = errors.len();
    let spec = functions::lookup(name);
    if spec.is_none() {
        if let Some((_, why)) = functions::UNSUPPORTED.iter().find(|(n, _)| *n == name) {
            errors.push(err(
                name_span.clone(),
                format!("unsupported function `{name}`"),
                Some(format!("roster doesn't evaluate {name}: {why}")),
            ));
        } else {
            errors.push(err(
                name_span.clone(),
                format!("unknown function `{name}`"),
                functions::suggest(name),
            ));
        }
    }

    let count = raw_args.len();
    let mut empty_spans = Vec::with_capacity(count);
    let mut args = Vec::with_capacity(count);
    let mut all_ok = true;
    for arg in raw_args {
        match arg {
            RawArg::Empty(s) => {
                empty_spans.push(Some(s));
                args.push(None);
            }
            RawArg::Expr(raw) => {
                empty_spans.push(None);
                match lower(raw, errors) {
                    Some(node) => args.push(Some(node)),
                    None => {
                        all_ok = false;
                        args.push(None);
                    }
                }
            }
        }
    }

    let spec = spec?;
    // A call the parser had to repair has an argument count that means nothing.
    if intact {
        if !spec.arity.accepts(count) {
            errors.push(err(
                name_span.clone(),
                format!(
                    "{} expects {}, got {count}",
                    spec.name,
                    spec.arity.describe()
                ),
                Some(format!("usage: {}", spec.usage())),
            ));
        } else {
            check_required(spec, &empty_spans, errors);
        }
    }

    let replace = if spec.func == Func::Replace && intact && count == 7 && all_ok {
        check_replace(&name_span, &args, errors)
    } else {
        None
    };
    if spec.func == Func::InStr && all_ok {
        check_compare_type(&args, errors);
    }

    if !all_ok || errors.len() > before {
        return None;
    }
    Some(Node {
        kind: Kind::Call(Box::new(Call {
            func: spec.func,
            name: spec.name,
            args,
            replace,
        })),
        span,
    })
}

fn check_required(spec: &Spec, empty_spans: &[Option<Range<usize>>], errors: &mut Vec<ExprError>) {
    for (i, empty) in empty_spans.iter().enumerate().take(spec.required) {
        if let Some(s) = empty {
            errors.push(err(
                s.clone(),
                format!(
                    "missing argument `{}` (argument {}) of {}",
                    spec.param_name(i),
                    i + 1,
                    spec.name
                ),
                Some(format!("usage: {}", spec.usage())),
            ));
        }
    }
}

fn literal(arg: &Option<Node>) -> Option<(&str, &Range<usize>)> {
    match arg {
        Some(Node {
            kind: Kind::Lit(s),
            span,
        }) => Some((s.as_str(), span)),
        _ => None,
    }
}

fn check_replace(
    name_span: &Range<usize>,
    args: &[Option<Node>],
    errors: &mut Vec<ExprError>,
) -> Option<ReplacePlan> {
    let given = |i: usize| args.get(i).is_some_and(Option::is_some);
    let (old, pattern, group, value, attr, template) = (
        given(R_OLD),
        given(R_PATTERN),
        given(R_GROUP),
        given(R_VALUE),
        given(R_ATTR),
        given(R_TEMPLATE),
    );
    let mode = match (old, pattern) {
        (true, true) => Err("give either oldValue or regexPattern to Replace, not both"),
        (true, false) if template && !value => Ok(ReplaceMode::Template),
        (true, false) if value && !template => Ok(ReplaceMode::Literal),
        (true, false) if value => {
            Err("Replace with oldValue takes either replacementValue or template, not both")
        }
        (false, true) if group && attr && !value => Ok(ReplaceMode::RegexFallback),
        (false, true) if group && value && !attr => Ok(ReplaceMode::RegexGroup),
        (false, true) if !group && value && !attr => Ok(ReplaceMode::Regex),
        _ => Err("these Replace arguments don't select any of its documented modes"),
    };
    let mode = match mode {
        Ok(m) => m,
        Err(message) => {
            errors.push(err(
                name_span.clone(),
                message.to_string(),
                Some(
                    "give oldValue with replacementValue (or template), or regexPattern with \
                     replacementValue, regexGroupName + replacementValue, or regexGroupName + \
                     replacementAttributeName"
                        .to_string(),
                ),
            ));
            return None;
        }
    };
    let mut regex = None;
    if let Some((pattern, span)) = args.get(R_PATTERN).and_then(literal) {
        match compile_regex(pattern) {
            Ok(re) => {
                if let Some((g, gspan)) = args.get(R_GROUP).and_then(literal)
                    && !re.capture_names().any(|n| n == Some(g))
                {
                    errors.push(err(
                        gspan.clone(),
                        format!("regexPattern has no group named `{g}`"),
                        Some("name a group in the pattern with (?<name>…)".to_string()),
                    ));
                }
                regex = Some(re);
            }
            Err(reason) => errors.push(err(
                span.clone(),
                format!("invalid regular expression: {reason}"),
                Some(
                    "roster uses Rust regex syntax, which has no lookaround or backreferences"
                        .to_string(),
                ),
            )),
        }
    }
    Some(ReplacePlan { mode, regex })
}

fn check_compare_type(args: &[Option<Node>], errors: &mut Vec<ExprError>) {
    if let Some((s, span)) = args.get(3).and_then(literal)
        && !is_compare_type(s)
    {
        errors.push(err(
            span.clone(),
            format!("unknown compareType {s:?}"),
            Some("use \"vbBinaryCompare\" (case-sensitive) or \"vbTextCompare\"".to_string()),
        ));
    }
}

pub(crate) fn is_compare_type(s: &str) -> bool {
    s.is_empty() || s == "vbBinaryCompare" || s == "vbTextCompare"
}

/// Compiles a Replace pattern with a size cap: patterns can come from attributes at runtime.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| match e {
            // The syntax error text repeats the pattern with a caret on several lines; the
            // caller already points at the pattern, so keep only the explanation.
            regex::Error::Syntax(text) => text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or("syntax error")
                .to_string(),
            regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
            other => other.to_string(),
        })
}
