//! Evaluates a checked expression against one source object.
//!
//! Every function is a pure function of its arguments: no clock, no randomness, no memory of
//! previous evaluations (which is why Entra's Switch "null" bug can't happen here). Runtime
//! problems become [`EvalError`]s; this module must never panic on any input or attribute
//! value, nor build a value larger than [`MAX_VALUE_BYTES`] or spend more than [`MAX_STEPS`].

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Range;

use super::check::{
    self, Call, Kind, Node, R_ATTR, R_GROUP, R_OLD, R_PATTERN, R_SOURCE, R_TEMPLATE, R_VALUE,
    ReplaceMode,
};
use super::functions::{self, Func};
use super::lexer::CmpOp;
use super::text;
use super::{Attributes, EvalError, MAX_STEPS, MAX_VALUE_BYTES, Value};

pub(crate) fn eval(node: &Node, attrs: &dyn Attributes) -> Result<Value, EvalError> {
    Eval {
        attrs,
        steps: Cell::new(0),
    }
    .node(node)
}

/// One evaluation: the object it reads and the steps it has taken.
struct Eval<'a> {
    attrs: &'a dyn Attributes,
    steps: Cell<usize>,
}

/// A value's size by [`MAX_VALUE_BYTES`]'s measure: bytes, and one per entry of a multi-value
/// (so a Split into a million empty strings is large too).
fn size(v: &Value) -> usize {
    match v {
        Value::Null => 0,
        Value::Str(s) => s.len(),
        Value::Multi(list) => list.iter().map(|s| s.len() + 1).sum(),
    }
}

/// What a node is, for "… would be larger than" messages.
fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::Attr(name) => format!("attribute `[{name}]`"),
        Kind::Lit(_) => "the string".to_string(),
        Kind::Compare { .. } => "the comparison".to_string(),
        Kind::Call(call) => format!("the result of {}", call.name),
    }
}

impl Eval<'_> {
    /// Evaluates one node: a step, the node's work, and its size checked and paid for.
    fn node(&self, node: &Node) -> Result<Value, EvalError> {
        self.spend(1, &node.span)?;
        let v = match &node.kind {
            Kind::Attr(name) => self.attrs.get(name),
            Kind::Lit(s) => Value::Str(s.clone()),
            Kind::Compare { op, lhs, rhs } => Value::from_bool(self.compare(*op, lhs, rhs)?),
            Kind::Call(call) => Args {
                call,
                span: &node.span,
                ev: self,
            }
            .eval()?,
        };
        let n = size(&v);
        if n > MAX_VALUE_BYTES {
            return Err(EvalError::TooLarge {
                what: describe(node),
                span: node.span.clone(),
            });
        }
        self.spend(n, &node.span)?;
        Ok(v)
    }

    fn spend(&self, n: usize, span: &Range<usize>) -> Result<(), EvalError> {
        let steps = self.steps.get().saturating_add(n);
        self.steps.set(steps);
        if steps > MAX_STEPS {
            return Err(EvalError::TooManySteps { span: span.clone() });
        }
        Ok(())
    }

    /// Entra's comparison inside IIF. A null or empty side makes the comparison false whatever
    /// the operator (documented: "the condition fails if the source attribute is null or
    /// empty"); numbers compare numerically when both sides parse, otherwise strings compare
    /// ordinally and case-sensitively.
    fn compare(&self, op: CmpOp, lhs: &Node, rhs: &Node) -> Result<bool, EvalError> {
        let side = |node: &Node, which: &str| -> Result<Option<String>, EvalError> {
            let v = self.node(node)?;
            single(v, &node.span, || {
                format!("the {which} side of '{}'", op.as_str())
            })
        };
        let l = side(lhs, "left")?;
        let r = side(rhs, "right")?;
        let (Some(l), Some(r)) = (l, r) else {
            return Ok(false);
        };
        if l.is_empty() || r.is_empty() {
            return Ok(false);
        }
        let ord = match (parse_number(&l), parse_number(&r)) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => l.as_str().cmp(r.as_str()),
        };
        Ok(match op {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        })
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// "True"/"False" in any case; Entra's sample input object sends `"false"`.
fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A value used where one string is expected. Null and an empty multi-value are `None`; a
/// multi-value with exactly one entry is that entry (Entra hands single-valued data like
/// `appRoleAssignments` over as lists); more than one is an error rather than a guess.
fn single(
    v: Value,
    span: &Range<usize>,
    what: impl FnOnce() -> String,
) -> Result<Option<String>, EvalError> {
    match v {
        Value::Null => Ok(None),
        Value::Str(s) => Ok(Some(s)),
        Value::Multi(mut list) => match list.len() {
            0 => Ok(None),
            1 => Ok(list.pop()),
            count => Err(EvalError::MultipleValues {
                what: what(),
                count,
                span: span.clone(),
            }),
        },
    }
}

struct Args<'a> {
    call: &'a Call,
    span: &'a Range<usize>,
    ev: &'a Eval<'a>,
}

impl Args<'_> {
    fn node(&self, i: usize) -> Option<&Node> {
        self.call.args.get(i).and_then(Option::as_ref)
    }

    fn param(&self, i: usize) -> &'static str {
        functions::lookup(self.call.name).map_or("argument", |s| s.param_name(i))
    }

    /// Argument `i`; an empty or absent argument is Null.
    fn value(&self, i: usize) -> Result<Value, EvalError> {
        match self.node(i) {
            Some(n) => self.ev.node(n),
            None => Ok(Value::Null),
        }
    }

    fn arg_span(&self, i: usize) -> Range<usize> {
        self.node(i).map_or(self.span.clone(), |n| n.span.clone())
    }

    fn string(&self, i: usize) -> Result<Option<String>, EvalError> {
        let v = self.value(i)?;
        single(v, &self.arg_span(i), || {
            format!("argument `{}` of {}", self.param(i), self.call.name)
        })
    }

    fn int(&self, i: usize) -> Result<Option<i64>, EvalError> {
        match self.string(i)? {
            None => Ok(None),
            Some(s) => match s.trim().parse::<i64>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => Err(EvalError::NotANumber {
                    function: self.call.name,
                    param: self.param(i),
                    value: s,
                    span: self.arg_span(i),
                }),
            },
        }
    }

    fn boolean(&self, i: usize) -> Result<Option<bool>, EvalError> {
        match self.string(i)? {
            None => Ok(None),
            Some(s) => match parse_bool(&s) {
                Some(b) => Ok(Some(b)),
                None => Err(EvalError::NotABoolean {
                    function: self.call.name,
                    value: s,
                    span: self.arg_span(i),
                }),
            },
        }
    }

    /// Refuses a result of `len` bytes before it is built.
    fn fits(&self, len: usize) -> Result<(), EvalError> {
        if len > MAX_VALUE_BYTES {
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> EvalError {
        EvalError::TooLarge {
            what: format!("the result of {}", self.call.name),
            span: self.span.clone(),
        }
    }

    /// Applies `f` to argument 0 as a string; Null in, Null out.
    fn map_source(&self, f: impl FnOnce(String) -> String) -> Result<Value, EvalError> {
        Ok(self.string(0)?.map(f).into())
    }

    fn eval(&self) -> Result<Value, EvalError> {
        match self.call.func {
            // Null source gives Null rather than a bare suffix ("@contoso.com" is never a
            // useful value to provision).
            Func::Append => {
                let suffix = self.string(1)?.unwrap_or_default();
                let Some(source) = self.string(0)? else {
                    return Ok(Value::Null);
                };
                self.fits(source.len().saturating_add(suffix.len()))?;
                Ok(Value::Str(source + &suffix))
            }
            Func::CBool => match self.string(0)? {
                None => Ok(Value::Null),
                Some(s) => match (parse_bool(&s), parse_number(&s)) {
                    (Some(b), _) => Ok(Value::from_bool(b)),
                    (None, Some(x)) => Ok(Value::from_bool(x != 0.0)),
                    (None, None) => Err(EvalError::NotABoolean {
                        function: self.call.name,
                        value: s,
                        span: self.arg_span(0),
                    }),
                },
            },
            // Documented as "first non-NULL": an empty string is a value and stops the search.
            // The optional default is simply the last argument.
            Func::Coalesce => {
                for i in 0..self.call.args.len() {
                    let v = self.value(i)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Ok(Value::Null)
            }
            Func::ConvertToBase64 => self.map_source(|s| text::base64_utf16le(&s)),
            Func::ConvertToUtf8Hex => self.map_source(|s| text::utf8_hex(&s)),
            Func::Count => {
                let n = match self.value(0)? {
                    Value::Null => 0,
                    Value::Str(_) => 1,
                    Value::Multi(list) => list.len(),
                };
                Ok(Value::Str(n.to_string()))
            }
            Func::CStr => Ok(self.string(0)?.into()),
            Func::Iif => {
                let cond = match self.node(0) {
                    Some(Node {
                        kind: Kind::Compare { op, lhs, rhs },
                        ..
                    }) => self.ev.compare(*op, lhs, rhs)?,
                    // A null or empty condition fails, like a comparison on a null attribute.
                    _ => match self.string(0)? {
                        Some(s) if !s.is_empty() => self.boolean(0)?.unwrap_or(false),
                        _ => false,
                    },
                };
                // Only the chosen branch is evaluated, so an error in the other can't surface.
                self.value(if cond { 1 } else { 2 })
            }
            Func::IgnoreFlowIfNullOrEmpty => {
                let v = self.value(0)?;
                Ok(if v.is_null_or_empty() { Value::Null } else { v })
            }
            Func::InStr => self.instr(),
            Func::IsNull => Ok(Value::from_bool(self.value(0)?.is_null())),
            Func::IsNullOrEmpty => Ok(Value::from_bool(self.value(0)?.is_null_or_empty())),
            Func::IsPresent => Ok(Value::from_bool(!self.value(0)?.is_null_or_empty())),
            Func::IsString => Ok(Value::from_bool(match self.value(0)? {
                Value::Str(_) => true,
                Value::Multi(list) => list.len() == 1,
                Value::Null => false,
            })),
            // 1-based, as the documented example `Item([proxyAddresses], 1)` "returns the
            // first item"; 0 and out-of-range indexes are Null.
            Func::Item => {
                let list = match self.value(0)? {
                    Value::Null => return Ok(Value::Null),
                    Value::Str(s) => vec![s],
                    Value::Multi(list) => list,
                };
                let Some(index) = self.int(1)? else {
                    return Ok(Value::Null);
                };
                let picked = usize::try_from(index)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| list.into_iter().nth(i));
                Ok(picked.into())
            }
            // Multi-valued sources are flattened and nulls skipped; empty strings are kept
            // (Entra joins what it's given). All sources null gives Null, not "".
            Func::Join => {
                let sep = self.string(0)?.unwrap_or_default();
                let mut parts = Vec::new();
                for i in 1..self.call.args.len() {
                    match self.value(i)? {
                        Value::Null => {}
                        Value::Str(s) => parts.push(s),
                        Value::Multi(list) => parts.extend(list),
                    }
                }
                if parts.is_empty() {
                    return Ok(Value::Null);
                }
                let len = parts.iter().map(String::len).sum::<usize>()
                    + sep.len().saturating_mul(parts.len() - 1);
                self.fits(len)?;
                Ok(Value::Str(parts.join(&sep)))
            }
            // Documented: null source gives "", n = 0 gives "", n < 0 gives the input.
            Func::Left => {
                let s = self.string(0)?.unwrap_or_default();
                let n = self.int(1)?.unwrap_or(0);
                Ok(Value::Str(match usize::try_from(n) {
                    Ok(n) => s.chars().take(n).collect(),
                    Err(_) => s,
                }))
            }
            // 1-based; a start before 1 counts from 1, and the end clamps to the string.
            Func::Mid => {
                let Some(s) = self.string(0)? else {
                    return Ok(Value::Null);
                };
                let (Some(start), Some(len)) = (self.int(1)?, self.int(2)?) else {
                    return Ok(Value::Null);
                };
                let skip = usize::try_from(start.saturating_sub(1)).unwrap_or(0);
                let take = usize::try_from(len).unwrap_or(0);
                Ok(Value::Str(s.chars().skip(skip).take(take).collect()))
            }
            Func::NormalizeDiacritics => self.map_source(|s| text::normalize_diacritics(&s)),
            Func::Not => Ok(self
                .boolean(0)?
                .map_or(Value::Null, |b| Value::from_bool(!b))),
            Func::PCase => {
                let seps = self.string(1)?.filter(|s| !s.is_empty());
                self.map_source(|s| text::pcase(&s, seps.as_deref()))
            }
            // Keeps the first occurrence of each value, in order.
            Func::RemoveDuplicates => match self.value(0)? {
                Value::Multi(list) => {
                    let mut seen = std::collections::HashSet::new();
                    let kept = list
                        .into_iter()
                        .filter(|v| seen.insert(v.clone()))
                        .collect();
                    Ok(Value::Multi(kept))
                }
                other => Ok(other),
            },
            Func::Replace => self.replace(),
            // Entra leaves the choice undefined when several roles are assigned; the
            // alphabetically first keeps plans stable between runs.
            Func::SingleAppRoleAssignment => Ok(match self.value(0)? {
                Value::Multi(list) => list.into_iter().min().into(),
                other => other,
            }),
            // The delimiter is a whole string; an empty or missing one leaves the source whole.
            Func::Split => {
                let Some(s) = self.string(0)? else {
                    return Ok(Value::Null);
                };
                match self.string(1)?.filter(|d| !d.is_empty()) {
                    Some(d) => Ok(Value::Multi(s.split(&d).map(str::to_string).collect())),
                    None => Ok(Value::Multi(vec![s])),
                }
            }
            Func::StripSpaces => self.map_source(|s| s.replace(' ', "")),
            Func::Switch => self.switch(),
            // The culture argument is accepted for compatibility and ignored: invariant only.
            Func::ToLower => self.map_source(|s| text::to_lower(&s)),
            Func::ToUpper => self.map_source(|s| text::to_upper(&s)),
            Func::Word => {
                let Some(s) = self.string(0)? else {
                    return Ok(Value::Null);
                };
                let n = self.int(1)?.unwrap_or(0);
                let delims: HashSet<char> = self.string(2)?.unwrap_or_default().chars().collect();
                // Runs of delimiters don't make empty words: "a,,b" has two words.
                let word = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| {
                        s.split(|c| delims.contains(&c))
                            .filter(|w| !w.is_empty())
                            .nth(i)
                    })
                    .unwrap_or_default();
                Ok(Value::Str(word.to_string()))
            }
        }
    }

    /// Switch(source, default, key1, value1, …).
    ///
    /// Keys compare case-sensitively, as documented; a null or empty source matches a `""` key
    /// (Entra's advice instead of IsPresent inside the source). Entra has a documented bug
    /// where Switch yields null when its source didn't change but another mapped attribute
    /// did; we deliberately don't reproduce it: the result depends only on the inputs.
    fn switch(&self) -> Result<Value, EvalError> {
        let source = self.string(0)?.unwrap_or_default();
        let mut i = 2;
        while i + 1 < self.call.args.len() {
            let key = self.string(i)?.unwrap_or_default();
            if key == source {
                return self.value(i + 1);
            }
            i += 2;
        }
        self.value(1)
    }

    /// InStr(value1, value2, start?, compareType?): the 1-based position of value2 in value1
    /// at or after `start`, or 0. Positions count characters. Null inputs give Null.
    fn instr(&self) -> Result<Value, EvalError> {
        let (Some(hay), Some(needle)) = (self.string(0)?, self.string(1)?) else {
            return Ok(Value::Null);
        };
        let start = self.int(2)?.unwrap_or(1).max(1);
        let compare = self.string(3)?.unwrap_or_default();
        if !check::is_compare_type(&compare) {
            return Err(EvalError::InvalidArgument {
                function: self.call.name,
                param: "compareType",
                reason: format!(
                    "must be \"vbBinaryCompare\" or \"vbTextCompare\", got {compare:?}"
                ),
                span: self.arg_span(3),
            });
        }
        let (hay, needle) = if compare == "vbTextCompare" {
            (text::to_lower(&hay), text::to_lower(&needle))
        } else {
            (hay, needle)
        };
        // Positions count characters; the search itself is str::find, linear in the input
        // (a sliding window would be quadratic, which large values would turn into minutes).
        let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
        let from_byte = match hay.char_indices().nth(from) {
            Some((i, _)) => i,
            None if hay.chars().count() == from => hay.len(),
            None => return Ok(Value::Str("0".to_string())),
        };
        let found = hay[from_byte..]
            .find(needle.as_str())
            .map(|b| hay[..from_byte + b].chars().count());
        Ok(Value::Str(found.map_or(0, |p| p + 1).to_string()))
    }

    fn regex(&self) -> Result<Option<regex::Regex>, EvalError> {
        if let Some(re) = self.call.replace.as_ref().and_then(|r| r.regex.clone()) {
            return Ok(Some(re));
        }
        let Some(pattern) = self.string(R_PATTERN)? else {
            return Ok(None);
        };
        check::compile_regex(&pattern)
            .map(Some)
            .map_err(|reason| EvalError::InvalidRegex {
                pattern,
                reason,
                span: self.arg_span(R_PATTERN),
            })
    }

    fn replace(&self) -> Result<Value, EvalError> {
        let Some(plan) = &self.call.replace else {
            // check.rs always plans a Replace it accepts.
            return Ok(Value::Null);
        };
        let source = self.string(R_SOURCE)?;
        match plan.mode {
            ReplaceMode::Literal => {
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                let value = self.string(R_VALUE)?.unwrap_or_default();
                Ok(Value::Str(match self.string(R_OLD)? {
                    Some(old) if !old.is_empty() => self.replace_literal(&source, &old, &value)?,
                    _ => source,
                }))
            }
            ReplaceMode::Template => {
                let (Some(source), Some(template)) = (source, self.string(R_TEMPLATE)?) else {
                    return Ok(Value::Null);
                };
                Ok(Value::Str(match self.string(R_OLD)? {
                    Some(old) if !old.is_empty() => {
                        self.replace_literal(&template, &old, &source)?
                    }
                    _ => template,
                }))
            }
            ReplaceMode::Regex => {
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                let Some(re) = self.regex()? else {
                    return Ok(Value::Str(source));
                };
                let value = self.string(R_VALUE)?.unwrap_or_default();
                self.replace_regex(&re, &source, &value).map(Value::Str)
            }
            ReplaceMode::RegexGroup => {
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                let (Some(re), Some(group)) = (self.regex()?, self.string(R_GROUP)?) else {
                    return Ok(Value::Str(source));
                };
                self.require_group(&re, &group)?;
                let value = self.string(R_VALUE)?.unwrap_or_default();
                let mut out = String::with_capacity(source.len());
                let mut last = 0;
                for caps in re.captures_iter(&source) {
                    if let Some(m) = caps.name(&group) {
                        self.fits(out.len() + (m.start() - last) + value.len())?;
                        out.push_str(&source[last..m.start()]);
                        out.push_str(&value);
                        last = m.end();
                    }
                }
                self.fits(out.len() + (source.len() - last))?;
                out.push_str(&source[last..]);
                Ok(Value::Str(out))
            }
            ReplaceMode::RegexFallback => {
                if let Some(source) = source.filter(|s| !s.is_empty()) {
                    return Ok(Value::Str(source));
                }
                let (Some(other), Some(re), Some(group)) =
                    (self.string(R_ATTR)?, self.regex()?, self.string(R_GROUP)?)
                else {
                    return Ok(Value::Null);
                };
                self.require_group(&re, &group)?;
                Ok(re
                    .captures(&other)
                    .and_then(|caps| caps.name(&group).map(|m| m.as_str().to_string()))
                    .into())
            }
        }
    }

    /// Every `old` in `s` replaced by `new`, refused before it is built when it would be too
    /// large: the length is known from the number of occurrences.
    fn replace_literal(&self, s: &str, old: &str, new: &str) -> Result<String, EvalError> {
        let count = s.matches(old).count();
        let len = (s.len() - count * old.len()).saturating_add(count.saturating_mul(new.len()));
        self.fits(len)?;
        Ok(s.replace(old, new))
    }

    /// `re.replace_all(source, replacement)`, with `$1` and `${name}` expanded as the regex
    /// crate does, but stopping as soon as the result would be too large: a replacement of
    /// many group references would otherwise be built whole first.
    fn replace_regex(
        &self,
        re: &regex::Regex,
        source: &str,
        replacement: &str,
    ) -> Result<String, EvalError> {
        let mut out = String::with_capacity(source.len());
        let mut last = 0;
        let mut overflow = false;
        for caps in re.captures_iter(source) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&source[last..m.start()]);
            regex_automata::util::interpolate::string(
                replacement,
                |i, dst| {
                    let group = caps.get(i).map_or("", |g| g.as_str());
                    if dst.len() + group.len() > MAX_VALUE_BYTES {
                        overflow = true;
                    } else {
                        dst.push_str(group);
                    }
                },
                |name| re.capture_names().position(|n| n == Some(name)),
                &mut out,
            );
            if overflow {
                return Err(self.too_large());
            }
            self.fits(out.len())?;
            last = m.end();
        }
        self.fits(out.len() + (source.len() - last))?;
        out.push_str(&source[last..]);
        Ok(out)
    }

    fn require_group(&self, re: &regex::Regex, group: &str) -> Result<(), EvalError> {
        if re.capture_names().any(|n| n == Some(group)) {
            Ok(())
        } else {
            Err(EvalError::UnknownGroup {
                group: group.to_string(),
                span: self.arg_span(R_GROUP),
            })
        }
    }
}
