//! The table of functions the expression language knows: names, parameter names and arity.
//!
//! This is the single source of truth for "is this a function, and how is it called"; the
//! checker and the "did you mean" hints read it. It must never evaluate anything.

/// Every function roster evaluates. One variant per entry in [`SPECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Append,
    CBool,
    Coalesce,
    ConvertToBase64,
    ConvertToUtf8Hex,
    Count,
    CStr,
    Iif,
    IgnoreFlowIfNullOrEmpty,
    InStr,
    IsNull,
    IsNullOrEmpty,
    IsPresent,
    IsString,
    Item,
    Join,
    Left,
    Mid,
    NormalizeDiacritics,
    Not,
    PCase,
    RemoveDuplicates,
    Replace,
    SingleAppRoleAssignment,
    Split,
    StripSpaces,
    Switch,
    ToLower,
    ToUpper,
    Word,
}

/// How many arguments a function takes. Empty positional arguments count: `Left(, 3)` has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    Exact(usize),
    Range(usize, usize),
    AtLeast(usize),
    /// `Switch(source, default, key1, value1, …)`: an even count of at least four.
    Pairs,
}

impl Arity {
    pub(crate) fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::Range(lo, hi) => (lo..=hi).contains(&n),
            Arity::AtLeast(k) => n >= k,
            Arity::Pairs => n >= 4 && n.is_multiple_of(2),
        }
    }

    /// The phrase after "expects" in an arity error, e.g. "2 arguments".
    pub(crate) fn describe(self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self {
            Arity::Exact(k) => format!("{k} {}", plural(k)),
            Arity::Range(lo, hi) if hi == lo + 1 => format!("{lo} or {hi} arguments"),
            Arity::Range(lo, hi) => format!("{lo} to {hi} arguments"),
            Arity::AtLeast(k) => format!("at least {k} {}", plural(k)),
            Arity::Pairs => {
                "a source, a default and key/value pairs (an even number of arguments, at least 4)"
                    .to_string()
            }
        }
    }
}

pub(crate) struct Spec {
    pub name: &'static str,
    pub func: Func,
    /// Parameter names as Entra's documentation spells them; used in hints and messages.
    /// For variadic functions the last name repeats.
    pub params: &'static [&'static str],
    pub arity: Arity,
    /// The first `required` arguments can't be left empty (`Left(, 3)` is an error).
    pub required: usize,
}

impl Spec {
    pub(crate) fn usage(&self) -> String {
        let params = match self.arity {
            Arity::AtLeast(_) => format!("{}, …", self.params.join(", ")),
            Arity::Pairs => format!("{}, …", self.params.join(", ")),
            Arity::Range(lo, _) => {
                let (req, opt) = self.params.split_at(lo.min(self.params.len()));
                let opt: Vec<String> = opt.iter().map(|p| format!("{p}?")).collect();
                req.iter()
                    .map(|p| p.to_string())
                    .chain(opt)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            Arity::Exact(_) => self.params.join(", "),
        };
        format!("{}({params})", self.name)
    }

    pub(crate) fn param_name(&self, index: usize) -> &'static str {
        // Variadic tails reuse the last documented name ("source1, …").
        self.params
            .get(index)
            .or(self.params.last())
            .copied()
            .unwrap_or("argument")
    }
}

const fn spec(
    name: &'static str,
    func: Func,
    params: &'static [&'static str],
    arity: Arity,
    required: usize,
) -> Spec {
    Spec {
        name,
        func,
        params,
        arity,
        required,
    }
}

use Arity::{AtLeast, Exact, Pairs, Range};

/// Sorted by name (ignoring case) so listings and hints are stable.
pub(crate) const SPECS: &[Spec] = &[
    spec("Append", Func::Append, &["source", "suffix"], Exact(2), 2),
    spec("CBool", Func::CBool, &["expression"], Exact(1), 1),
    spec("Coalesce", Func::Coalesce, &["source"], AtLeast(1), 1),
    spec(
        "ConvertToBase64",
        Func::ConvertToBase64,
        &["source"],
        Exact(1),
        1,
    ),
    spec(
        "ConvertToUTF8Hex",
        Func::ConvertToUtf8Hex,
        &["source"],
        Exact(1),
        1,
    ),
    spec("Count", Func::Count, &["attribute"], Exact(1), 1),
    spec("CStr", Func::CStr, &["value"], Exact(1), 1),
    spec(
        "IgnoreFlowIfNullOrEmpty",
        Func::IgnoreFlowIfNullOrEmpty,
        &["expression"],
        Exact(1),
        1,
    ),
    spec(
        "IIF",
        Func::Iif,
        &["condition", "valueIfTrue", "valueIfFalse"],
        Exact(3),
        3,
    ),
    spec(
        "InStr",
        Func::InStr,
        &["value1", "value2", "start", "compareType"],
        Range(2, 4),
        2,
    ),
    spec("IsNull", Func::IsNull, &["expression"], Exact(1), 1),
    spec(
        "IsNullOrEmpty",
        Func::IsNullOrEmpty,
        &["expression"],
        Exact(1),
        1,
    ),
    spec("IsPresent", Func::IsPresent, &["expression"], Exact(1), 1),
    spec("IsString", Func::IsString, &["expression"], Exact(1), 1),
    spec("Item", Func::Item, &["attribute", "index"], Exact(2), 2),
    spec("Join", Func::Join, &["separator", "source"], AtLeast(2), 1),
    spec("Left", Func::Left, &["source", "numChars"], Exact(2), 2),
    spec(
        "Mid",
        Func::Mid,
        &["source", "start", "length"],
        Exact(3),
        3,
    ),
    spec(
        "NormalizeDiacritics",
        Func::NormalizeDiacritics,
        &["source"],
        Exact(1),
        1,
    ),
    spec("Not", Func::Not, &["source"], Exact(1), 1),
    spec(
        "PCase",
        Func::PCase,
        &["source", "wordSeparators"],
        Range(1, 2),
        1,
    ),
    spec(
        "RemoveDuplicates",
        Func::RemoveDuplicates,
        &["attribute"],
        Exact(1),
        1,
    ),
    spec(
        "Replace",
        Func::Replace,
        &[
            "source",
            "oldValue",
            "regexPattern",
            "regexGroupName",
            "replacementValue",
            "replacementAttributeName",
            "template",
        ],
        Exact(7),
        1,
    ),
    spec(
        "SingleAppRoleAssignment",
        Func::SingleAppRoleAssignment,
        &["appRoleAssignments"],
        Exact(1),
        1,
    ),
    spec("Split", Func::Split, &["source", "delimiter"], Exact(2), 2),
    spec("StripSpaces", Func::StripSpaces, &["source"], Exact(1), 1),
    spec(
        "Switch",
        Func::Switch,
        &["source", "defaultValue", "key", "value"],
        Pairs,
        1,
    ),
    spec(
        "ToLower",
        Func::ToLower,
        &["source", "culture"],
        Range(1, 2),
        1,
    ),
    spec(
        "ToUpper",
        Func::ToUpper,
        &["source", "culture"],
        Range(1, 2),
        1,
    ),
    spec(
        "Word",
        Func::Word,
        &["string", "wordNumber", "delimiters"],
        Exact(3),
        3,
    ),
];

/// Entra functions roster recognises but deliberately doesn't evaluate, with the reason shown
/// to the user. Without this list they'd get a confusing "unknown function" for a real name.
pub(crate) const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "AppRoleAssignmentsComplex",
        "roster provisions a single role per user; use SingleAppRoleAssignment",
    ),
    (
        "AssertiveAppRoleAssignmentsComplex",
        "roster provisions a single role per user; use SingleAppRoleAssignment",
    ),
    ("BitAnd", "bitwise functions are not supported"),
    ("CDate", "date functions are not supported"),
    ("DateAdd", "date functions are not supported"),
    ("DateDiff", "date functions are not supported"),
    ("DateFromNum", "date functions are not supported"),
    ("FormatDateTime", "date functions are not supported"),
    ("NumFromDate", "date functions are not supported"),
    (
        "Guid",
        "it returns a different value every time, so the plan would never converge",
    ),
    (
        "Now",
        "it returns a different value every time, so the plan would never converge",
    ),
    (
        "RandomString",
        "it returns a different value every time, so the plan would never converge",
    ),
    (
        "Redact",
        "roster redacts secrets itself; map the attribute directly",
    ),
    (
        "SelectUniqueValue",
        "Entra only allows it for Workday/SuccessFactors/API to Active Directory provisioning",
    ),
];

/// Names people reach for from other languages, mapped to the Entra function that does the job.
const ALIASES: &[(&str, &str)] = &[
    ("Concat", "Join"),
    ("Concatenate", "Join"),
    ("LCase", "ToLower"),
    ("Lower", "ToLower"),
    ("UCase", "ToUpper"),
    ("Upper", "ToUpper"),
    ("Substring", "Mid"),
    ("If", "IIF"),
    ("Trim", "StripSpaces"),
];

pub(crate) fn lookup(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// The hint for an unknown function name: the closest known name, if any is close enough.
pub(crate) fn suggest(name: &str) -> Option<String> {
    if let Some(spec) = SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
        return Some(format!(
            "function names are case-sensitive; did you mean `{}`?",
            spec.name
        ));
    }
    if let Some((_, to)) = ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)) {
        return Some(format!("did you mean `{to}`?"));
    }
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for spec in SPECS {
        let cand = spec.name.to_ascii_lowercase();
        let d = edit_distance(&lower, &cand);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, spec.name));
        }
    }
    let (d, cand) = best?;
    // Allow roughly one typo per three characters, but always at least two: short names
    // ("Lft", "Mdi") are the ones people mistype by transposition.
    let limit = (name.chars().count() / 3).max(2);
    if d <= limit {
        return Some(format!("did you mean `{cand}`?"));
    }
    // "ToLowerCase" or "Coalesce2": a known name that is a prefix of what was written.
    SPECS
        .iter()
        .filter(|s| s.name.len() >= 4 && lower.starts_with(&s.name.to_ascii_lowercase()))
        .max_by_key(|s| s.name.len())
        .map(|s| format!("did you mean `{}`?", s.name))
}

/// Levenshtein distance over chars; inputs are function names, so quadratic is fine.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
