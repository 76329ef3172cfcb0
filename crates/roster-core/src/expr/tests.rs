//! Table-driven tests for the expression language: evaluation cases (mostly the documented
//! examples), parse diagnostics with exact spans, and a no-panic sweep over mangled input.

use std::collections::BTreeMap;
use std::ops::Range;

use super::*;

/// The source object most cases evaluate against.
fn user() -> BTreeMap<String, Value> {
    let s = |v: &str| Value::Str(v.to_string());
    let m = |v: &[&str]| Value::Multi(v.iter().map(|s| s.to_string()).collect());
    [
        ("givenName", s("John")),
        ("surname", s("Doe")),
        ("country", s("USA")),
        ("department", s("Sales")),
        ("IsSoftDeleted", s("False")),
        ("mail", s("john.doe@contoso.com")),
        ("userPrincipalName", s("John.Doe@Contoso.com")),
        ("telephoneNumber", s("+1 (425) 555-0100")),
        ("empty", s("")),
        ("spaced", s("  a b\tc ")),
        ("n3", s("3")),
        ("n10", s("10")),
        ("badRegex", s("(")),
        (
            "proxyAddresses",
            m(&["SMTP:john.doe@contoso.com", "smtp:jd@contoso.com"]),
        ),
        ("appRoleAssignments", m(&["User", "Admin"])),
        ("oneRole", m(&["Default Assignment"])),
        ("emptyMulti", m(&[])),
        ("dupes", m(&["a", "b", "a", "c", "b"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[derive(Debug)]
enum Want {
    Null,
    Str(&'static str),
    Multi(&'static [&'static str]),
    /// Evaluation fails with a message containing this text.
    Fails(&'static str),
}
use Want::{Fails, Multi, Null, Str};

/// (expression, attribute overrides on top of `user()`, expected result)
type Case = (&'static str, &'static [(&'static str, &'static str)], Want);

const CASES: &[Case] = &[
    // Plain values.
    ("[givenName]", &[], Str("John")),
    (r#""literal""#, &[], Str("literal")),
    ("[missing]", &[], Null),
    (
        r#""a \"quoted\" \\ back""#,
        &[],
        Str(r#"a "quoted" \ back"#),
    ),
    (r#""\d+""#, &[], Str(r"\d+")),
    (
        "[employeeOrgData.division]",
        &[("employeeOrgData.division", "R&D")],
        Str("R&D"),
    ),
    ("  [givenName]\n ", &[], Str("John")),
    (r#"[country]="USA""#, &[], Str("True")),
    // Append
    (
        r#"Append([mailNickname], "@contoso.com")"#,
        &[("mailNickname", "jdoe")],
        Str("jdoe@contoso.com"),
    ),
    (r#"Append([missing], "@contoso.com")"#, &[], Null),
    ("Append([givenName], [missing])", &[], Str("John")),
    // Coalesce
    (r#"Coalesce([missing], [givenName], "x")"#, &[], Str("John")),
    (
        r#"Coalesce([missing], [other], "default")"#,
        &[],
        Str("default"),
    ),
    ("Coalesce([missing])", &[], Null),
    (r#"Coalesce([empty], "x")"#, &[], Str("")),
    (r#"Coalesce([emptyMulti], "x")"#, &[], Str("x")),
    // IIF
    (
        r#"IIF([country]="USA",[country],[department])"#,
        &[],
        Str("USA"),
    ),
    (
        r#"IIF([country]="USA",[country],[department])"#,
        &[("country", "Germany")],
        Str("Sales"),
    ),
    (r#"IIF([missing]="USA","yes","no")"#, &[], Str("no")),
    (r#"IIF([empty]<>"USA","yes","no")"#, &[], Str("no")),
    (r#"IIF([missing]<>"USA","yes","no")"#, &[], Str("no")),
    (r#"IIF([country]<>"USA","yes","no")"#, &[], Str("no")),
    (r#"IIF([country]="usa","yes","no")"#, &[], Str("no")),
    (
        r#"IIF([n10] > [n3], "bigger", "smaller")"#,
        &[],
        Str("bigger"),
    ),
    (r#"IIF("abc" < "abd", "lt", "ge")"#, &[], Str("lt")),
    (r#"IIF([n3] >= 3, "a", "b")"#, &[], Str("a")),
    (r#"IIF([n3] <= 2, "a", "b")"#, &[], Str("b")),
    (r#"IIF(3.0 = 3, "eq", "ne")"#, &[], Str("eq")),
    (
        r#"IIF(IsPresent([department]), [department], "none")"#,
        &[],
        Str("Sales"),
    ),
    (
        r#"IIF(IsPresent([missing]), [missing], "none")"#,
        &[],
        Str("none"),
    ),
    (
        r#"IIF("true", "a", Item([proxyAddresses], "bad"))"#,
        &[],
        Str("a"),
    ),
    (r#"IIF([missing], "a", "b")"#, &[], Str("b")),
    (
        r#"IIF("maybe", "a", "b")"#,
        &[],
        Fails(r#"expected "True" or "False" in IIF, got "maybe""#),
    ),
    // IsNull, IsNullOrEmpty, IsPresent, IsString
    ("IsNull([missing])", &[], Str("True")),
    ("IsNull([empty])", &[], Str("False")),
    ("IsNullOrEmpty([empty])", &[], Str("True")),
    ("IsNullOrEmpty([givenName])", &[], Str("False")),
    ("IsPresent([givenName])", &[], Str("True")),
    ("IsPresent([emptyMulti])", &[], Str("False")),
    ("IsString([givenName])", &[], Str("True")),
    ("IsString([proxyAddresses])", &[], Str("False")),
    ("IsString([missing])", &[], Str("False")),
    // Item: 1-based as in the documented example.
    (
        "Item([proxyAddresses], 1)",
        &[],
        Str("SMTP:john.doe@contoso.com"),
    ),
    ("Item([proxyAddresses], 2)", &[], Str("smtp:jd@contoso.com")),
    ("Item([proxyAddresses], 0)", &[], Null),
    ("Item([proxyAddresses], 3)", &[], Null),
    ("Item([missing], 1)", &[], Null),
    (
        r#"Item([proxyAddresses], "x")"#,
        &[],
        Fails(r#"argument `index` of Item must be a whole number, got "x""#),
    ),
    // Join
    (r#"Join(" ", [givenName], [surname])"#, &[], Str("John Doe")),
    (
        r#"Join(" ", [givenName], [missing], [surname])"#,
        &[],
        Str("John Doe"),
    ),
    (
        r#"Join(",", [proxyAddresses], "x")"#,
        &[],
        Str("SMTP:john.doe@contoso.com,smtp:jd@contoso.com,x"),
    ),
    (r#"Join(" ", [missing])"#, &[], Null),
    // Left
    (r#"Left("John Doe", 3)"#, &[], Str("Joh")),
    ("Left([missing], 3)", &[], Str("")),
    ("Left([givenName], 0)", &[], Str("")),
    ("Left([givenName], -1)", &[], Str("John")),
    ("Left([givenName], 10)", &[], Str("John")),
    (r#"Left("Zoë Z", 3)"#, &[], Str("Zoë")),
    // Mid
    (r#"Mid("John Doe", 6, 3)"#, &[], Str("Doe")),
    (r#"Mid("John Doe", 6, 100)"#, &[], Str("Doe")),
    (r#"Mid("John Doe", 20, 2)"#, &[], Str("")),
    (r#"Mid("abc", 0, 2)"#, &[], Str("ab")),
    ("Mid([missing], 1, 2)", &[], Null),
    // Not
    ("Not([IsSoftDeleted])", &[], Str("True")),
    (r#"Not("true")"#, &[], Str("False")),
    ("Not([missing])", &[], Null),
    (
        r#"Not("yes")"#,
        &[],
        Fails(r#"expected "True" or "False" in Not, got "yes""#),
    ),
    // NormalizeDiacritics
    (r#"NormalizeDiacritics("Zoë")"#, &[], Str("Zoe")),
    (
        "NormalizeDiacritics([givenName])",
        &[("givenName", "Zoë")],
        Str("Zoe"),
    ),
    (
        r#"NormalizeDiacritics("Straße Ærø Łódź")"#,
        &[],
        Str("Strasse AEroe Lodz"),
    ),
    (
        r#"NormalizeDiacritics("Ñandú İstanbul ış Ça")"#,
        &[],
        Str("Nandu Istanbul is Ca"),
    ),
    (r#"NormalizeDiacritics("が")"#, &[], Str("が")),
    ("NormalizeDiacritics([missing])", &[], Null),
    // Replace, every documented mode.
    (
        r#"Replace([mail], "@contoso.com", , , "@fabrikam.com", , )"#,
        &[],
        Str("john.doe@fabrikam.com"),
    ),
    (r#"Replace("Aa", "a", , , "b", , )"#, &[], Str("Ab")),
    (
        r#"Replace([givenName], "{n}", , , , , "Hello {n}!")"#,
        &[],
        Str("Hello John!"),
    ),
    (
        r#"Replace([telephoneNumber], , "[()\\s-]+", , "", , )"#,
        &[],
        Str("+14255550100"),
    ),
    (
        r#"Replace([x], , "re", , "", , )"#,
        &[("x", "pre-re")],
        Str("p-"),
    ),
    (
        r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d+) \\((?<area>\\d+)\\) (?<rest>.*)", , "${isdCode}-${area}-${rest}", , )"#,
        &[],
        Str("1-425-555-0100"),
    ),
    (
        r#"Replace([mail], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#,
        &[],
        Str("john.doe"),
    ),
    (
        r#"Replace([missing], , "(?<user>[^@]+)@", "user", , [mail], )"#,
        &[],
        Str("john.doe"),
    ),
    (
        r#"Replace([givenName], , "(?<user>[^@]+)@", "user", , [mail], )"#,
        &[],
        Str("John"),
    ),
    (r#"Replace([missing], "a", , , "b", , )"#, &[], Null),
    (
        r#"Replace([givenName], , [badRegex], , "", , )"#,
        &[],
        Fails(r#"invalid regular expression "(""#),
    ),
    // SingleAppRoleAssignment: deterministic pick (alphabetically first).
    (
        "SingleAppRoleAssignment([appRoleAssignments])",
        &[],
        Str("Admin"),
    ),
    (
        "SingleAppRoleAssignment([oneRole])",
        &[],
        Str("Default Assignment"),
    ),
    ("SingleAppRoleAssignment([missing])", &[], Null),
    // Split
    (r#"Split("a,b,c", ",")"#, &[], Multi(&["a", "b", "c"])),
    (r#"Split([missing], ",")"#, &[], Null),
    (r#"Item(Split([mail], "@"), 2)"#, &[], Str("contoso.com")),
    // StripSpaces removes ' ' only.
    ("StripSpaces([spaced])", &[], Str("ab\tc")),
    ("StripSpaces([missing])", &[], Null),
    // Switch
    (
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        &[],
        Str("True"),
    ),
    (
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        &[("IsSoftDeleted", "True")],
        Str("False"),
    ),
    (
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        &[("IsSoftDeleted", "false")],
        Null,
    ),
    (
        r#"Switch([missing], "default", "", "was empty", "x", "y")"#,
        &[],
        Str("was empty"),
    ),
    (
        r#"Switch([empty], "default", "", "was empty", "x", "y")"#,
        &[],
        Str("was empty"),
    ),
    (
        r#"Switch([country], "other", "USA", "United States", "DE", "Germany")"#,
        &[],
        Str("United States"),
    ),
    (
        r#"Switch([department], "other", "USA", "x", "DE", "y")"#,
        &[],
        Str("other"),
    ),
    (r#"Switch([a], , "k","v")"#, &[("a", "k")], Str("v")),
    // ToLower, ToUpper (culture accepted, ignored)
    (
        "ToLower([userPrincipalName])",
        &[],
        Str("john.doe@contoso.com"),
    ),
    (r#"ToUpper("straße", "de-DE")"#, &[], Str("STRAßE")),
    ("ToLower([missing])", &[], Null),
    // Word
    (r#"Word("The quick brown fox", 3, " ")"#, &[], Str("brown")),
    (
        r#"Word("This,string!has&many separators", 3, ",!&#")"#,
        &[],
        Str("has"),
    ),
    (r#"Word("a  b", 2, " ")"#, &[], Str("b")),
    (r#"Word("a b", 0, " ")"#, &[], Str("")),
    (r#"Word("a b", 5, " ")"#, &[], Str("")),
    // CStr, Count, RemoveDuplicates, CBool
    ("CStr([n3])", &[], Str("3")),
    ("CStr([oneRole])", &[], Str("Default Assignment")),
    (
        "CStr([proxyAddresses])",
        &[],
        Fails("argument `value` of CStr has 2 values"),
    ),
    ("Count([proxyAddresses])", &[], Str("2")),
    ("Count([missing])", &[], Str("0")),
    ("Count([givenName])", &[], Str("1")),
    ("RemoveDuplicates([dupes])", &[], Multi(&["a", "b", "c"])),
    ("CBool([n3]=3)", &[], Str("True")),
    (r#"CBool("0")"#, &[], Str("False")),
    // PCase
    (r#"PCase("hello wORLD")"#, &[], Str("Hello World")),
    (r#"PCase("NASA rocks")"#, &[], Str("NASA Rocks")),
    (
        r#"PCase("PABLO GONSALVES (SECOND)", " '-")"#,
        &[],
        Str("Pablo Gonsalves (second)"),
    ),
    (r#"PCase("o'neil-smith", " -")"#, &[], Str("O'neil-Smith")),
    // InStr
    (r#"InStr("The quick brown fox", "quick")"#, &[], Str("5")),
    (
        r#"InStr("The quick brown fox", "QUICK", 1, "vbTextCompare")"#,
        &[],
        Str("5"),
    ),
    (
        r#"InStr("The quick brown fox", "QUICK", , "vbBinaryCompare")"#,
        &[],
        Str("0"),
    ),
    (r#"InStr("abcabc", "c", 4)"#, &[], Str("6")),
    (r#"InStr([missing], "c")"#, &[], Null),
    // Encodings
    (
        r#"ConvertToBase64("Hello world!")"#,
        &[],
        Str("SABlAGwAbABvACAAdwBvAHIAbABkACEA"),
    ),
    (
        r#"ConvertToUTF8Hex("Hello world!")"#,
        &[],
        Str("48656C6C6F20776F726C6421"),
    ),
    (r#"ConvertToUTF8Hex("é")"#, &[], Str("C3A9")),
    // IgnoreFlowIfNullOrEmpty
    ("IgnoreFlowIfNullOrEmpty([empty])", &[], Null),
    ("IgnoreFlowIfNullOrEmpty([givenName])", &[], Str("John")),
    // Nesting
    (
        r#"ToLower(Join(".", [givenName], [surname]))"#,
        &[],
        Str("john.doe"),
    ),
    (
        "Append(Left(NormalizeDiacritics([givenName]), 1), ToLower([surname]))",
        &[("givenName", "Émile")],
        Str("Edoe"),
    ),
    (
        "ToLower([proxyAddresses])",
        &[],
        Fails("argument `source` of ToLower has 2 values"),
    ),
];

#[test]
fn evaluates_documented_semantics() {
    assert!(CASES.len() >= 60);
    let mut failures = Vec::new();
    for (src, overrides, want) in CASES {
        let mut attrs = user();
        for (k, v) in *overrides {
            attrs.insert(k.to_string(), Value::Str(v.to_string()));
        }
        let expr = match parse(src) {
            Ok(e) => e,
            Err(errs) => {
                failures.push(format!("{src}: parse failed: {errs:?}"));
                continue;
            }
        };
        let got = expr.eval(&attrs);
        let ok = match (want, &got) {
            (Null, Ok(Value::Null)) => true,
            (Str(w), Ok(Value::Str(g))) => w == g,
            (Multi(w), Ok(Value::Multi(g))) => w.iter().eq(g.iter()),
            (Fails(w), Err(e)) => e.to_string().contains(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{src}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (source, expected errors as (span, message, hint fragment or "" for any/none))
type ErrCase = (
    &'static str,
    &'static [(Range<usize>, &'static str, &'static str)],
);

const PARSE_ERRORS: &[ErrCase] = &[
    ("", &[(0..0, "empty expression", "[mail]")]),
    ("   ", &[(0..3, "empty expression", "")]),
    (
        r#"Left("abc, 2)"#,
        &[(5..6, "unterminated string literal", r#"\""#)],
    ),
    (
        "Lft([x], 2)",
        &[(0..3, "unknown function `Lft`", "did you mean `Left`?")],
    ),
    (
        r#"Join(" ", Splt([a], ","), ToLowr([b]))"#,
        &[
            (10..14, "unknown function `Splt`", "did you mean `Split`?"),
            (
                26..32,
                "unknown function `ToLowr`",
                "did you mean `ToLower`?",
            ),
        ],
    ),
    (
        "tolower([x])",
        &[(
            0..7,
            "unknown function `tolower`",
            "case-sensitive; did you mean `ToLower`?",
        )],
    ),
    (
        "Concat([a], [b])",
        &[(0..6, "unknown function `Concat`", "`Join`")],
    ),
    (
        "Frobnicate([a])",
        &[(0..10, "unknown function `Frobnicate`", "")],
    ),
    (
        "Guid()",
        &[(
            0..4,
            "unsupported function `Guid`",
            "different value every time",
        )],
    ),
    (
        "Left([x], 2, 3)",
        &[(
            0..4,
            "Left expects 2 arguments, got 3",
            "usage: Left(source, numChars)",
        )],
    ),
    ("Not()", &[(0..3, "Not expects 1 argument, got 0", "")]),
    (
        r#"ToLower([x], "en", "x")"#,
        &[(
            0..7,
            "ToLower expects 1 or 2 arguments, got 3",
            "ToLower(source, culture?)",
        )],
    ),
    (
        r#"Join(" ")"#,
        &[(0..4, "Join expects at least 2 arguments, got 1", "")],
    ),
    (
        r#"Switch([a], , "k")"#,
        &[(
            0..6,
            "Switch expects a source, a default and key/value pairs (an even number of arguments, at least 4), got 3",
            "",
        )],
    ),
    (
        "Left(, 3)",
        &[(5..6, "missing argument `source` (argument 1) of Left", "")],
    ),
    ("Left([x], 2", &[(4..5, "unclosed '('", "add ')'")]),
    (
        "Left([x], 2))",
        &[(
            12..13,
            "unexpected ')' after the end of the expression",
            "no matching '('",
        )],
    ),
    (
        "[a] [b]",
        &[(
            4..7,
            "unexpected attribute `[b]` after the end of the expression",
            "",
        )],
    ),
    (
        "Left([x] 2)",
        &[(
            9..10,
            "expected ',' or ')', found number `2`",
            "separate arguments with ','",
        )],
    ),
    (
        r#"IIF([a]="x" And [b]="y", "1", "2")"#,
        &[(12..15, "expected ',' or ')', found `And`", "no AND/OR")],
    ),
    (
        r#"IIF([a]="x"="y", "1", "2")"#,
        &[(11..12, "unexpected '=': comparisons can't be chained", "")],
    ),
    (r#"[a] == "x""#, &[(4..6, "unexpected '=='", "single '='")]),
    (r#"[a] != "x""#, &[(4..6, "unexpected '!='", "'<>'")]),
    (
        r#"IIF(True, "a", "b")"#,
        &[(4..8, "expected '(' after `True`", r#""True""#)],
    ),
    (
        "givenName",
        &[(0..9, "expected '(' after `givenName`", "[givenName]")],
    ),
    (r#"("a")"#, &[(0..1, "unexpected '('", "")]),
    (
        "[given name]",
        &[(6..7, "unexpected character ' ' in attribute name", "")],
    ),
    ("Left([x, 2)", &[(5..6, "unclosed '['", "']'")]),
    ("[]", &[(0..2, "empty attribute name", "")]),
    (
        "Left('x', 2)",
        &[
            (5..6, "unexpected character '\\''", "double quotes"),
            (7..8, "unexpected character '\\''", ""),
        ],
    ),
    (
        r#"Join(" ", [a] & [b])"#,
        &[(14..15, "unexpected character '&'", "Append or Join")],
    ),
    (
        r#"Replace([x], , "(", , "", , )"#,
        &[(
            15..18,
            "invalid regular expression: unclosed group",
            "Rust regex",
        )],
    ),
    (
        r#"Replace([x], "a", "b", , "c", , )"#,
        &[(
            0..7,
            "give either oldValue or regexPattern to Replace, not both",
            "",
        )],
    ),
    (
        "Replace([x], , , , , , )",
        &[(
            0..7,
            "these Replace arguments don't select any of its documented modes",
            "",
        )],
    ),
    (
        r#"Replace([mail], , "(?<Suffix>@.*)", "Sufix", "", , )"#,
        &[(36..43, "regexPattern has no group named `Sufix`", "")],
    ),
    (
        r#"InStr("a", "b", 1, "vbText")"#,
        &[(19..27, r#"unknown compareType "vbText""#, "")],
    ),
    (
        r#"Lft(Splt([a], ","), 2, 3)"#,
        &[
            (0..3, "unknown function `Lft`", "`Left`"),
            (4..8, "unknown function `Splt`", "`Split`"),
        ],
    ),
];

#[test]
fn reports_parse_errors_at_exact_spans() {
    let mut failures = Vec::new();
    for (src, want) in PARSE_ERRORS {
        let got = match parse(src) {
            Ok(_) => {
                failures.push(format!("{src:?}: parsed, want errors {want:?}"));
                continue;
            }
            Err(errs) => errs,
        };
        let matches = got.len() == want.len()
            && got.iter().zip(want.iter()).all(|(g, (span, msg, hint))| {
                g.span == *span
                    && g.message == *msg
                    && (hint.is_empty() || g.hint.as_deref().is_some_and(|h| h.contains(hint)))
            });
        if !matches {
            failures.push(format!("{src:?}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejects_expressions_over_10000_characters() {
    let ok = format!("\"{}\"", "a".repeat(MAX_LEN - 2));
    assert!(parse(&ok).is_ok());
    // Counted in characters, not bytes: 'é' is two bytes.
    let long = format!("\"{}\"", "é".repeat(MAX_LEN - 1));
    let errs = parse(&long).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].message,
        "expression is 10001 characters long; the maximum is 10000"
    );
    // The span starts at the first character past the limit: the quote, after 1 + 9999 chars.
    let start = 1 + 2 * (MAX_LEN - 1);
    assert_eq!(errs[0].span, start..long.len());
}

#[test]
fn limits_nesting_depth() {
    let depth = parser::MAX_DEPTH + 5;
    let src = format!("{}\"True\"{}", "Not(".repeat(depth), ")".repeat(depth));
    let errs = parse(&src).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].message,
        "expression nests more than 64 function calls deep"
    );
    let at = 4 * parser::MAX_DEPTH;
    assert_eq!(errs[0].span, at..at + 3);

    let ok = format!(
        "{}\"True\"{}",
        "Not(".repeat(parser::MAX_DEPTH),
        ")".repeat(parser::MAX_DEPTH)
    );
    assert_eq!(
        parse(&ok).unwrap().eval(&user()).unwrap(),
        Value::from("True")
    );
}

#[test]
fn lists_referenced_attributes_with_spans() {
    let src =
        "Join(\" \", [givenName], IIF([country]=\"USA\", [surname], [employeeOrgData.division]))";
    let expr = parse(src).unwrap();
    let got = expr.attributes();
    let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "givenName",
            "country",
            "surname",
            "employeeOrgData.division"
        ]
    );
    for (name, span) in got {
        assert_eq!(&src[span], format!("[{name}]"));
    }
}

#[test]
fn marks_top_level_ignore_flow() {
    assert!(
        parse("IgnoreFlowIfNullOrEmpty([mail])")
            .unwrap()
            .ignores_flow_if_null_or_empty()
    );
    assert!(
        !parse("ToLower(IgnoreFlowIfNullOrEmpty([mail]))")
            .unwrap()
            .ignores_flow_if_null_or_empty()
    );
}

#[test]
fn functions_cover_the_required_set() {
    for name in [
        "Append",
        "Coalesce",
        "IIF",
        "IsNull",
        "IsNullOrEmpty",
        "IsPresent",
        "Item",
        "Join",
        "Left",
        "Mid",
        "Not",
        "NormalizeDiacritics",
        "Replace",
        "SingleAppRoleAssignment",
        "Split",
        "StripSpaces",
        "Switch",
        "ToLower",
        "ToUpper",
        "Word",
        "CStr",
        "Count",
        "IsString",
        "RemoveDuplicates",
        "PCase",
        "InStr",
        "ConvertToBase64",
        "ConvertToUTF8Hex",
        "IgnoreFlowIfNullOrEmpty",
    ] {
        assert!(FUNCTIONS.contains(&name), "{name} missing");
    }
    assert!(!FUNCTIONS.contains(&"Guid"));
}

#[test]
fn displays_values_for_humans() {
    assert_eq!(Value::Null.to_string(), "null");
    assert_eq!(Value::from("a b").to_string(), "a b");
    assert_eq!(
        Value::Multi(vec!["a".into(), "b\"".into()]).to_string(),
        r#"["a", "b\""]"#
    );
}

#[test]
fn eval_errors_point_at_the_failing_argument() {
    let src = "Left([givenName], [n])";
    let expr = parse(src).unwrap();
    let mut attrs = user();
    attrs.insert("n".into(), Value::from("three"));
    let err = expr.eval(&attrs).unwrap_err();
    assert_eq!(&src[err.span()], "[n]");
    assert_eq!(
        err.to_string(),
        "argument `numChars` of Left must be a whole number, got \"three\""
    );
}

/// Seeds for the no-panic sweep: every construct the grammar has, including broken ones.
const SEEDS: &[&str] = &[
    r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
    r#"IIF([country]="USA",[country],[department])"#,
    r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>.*)", , "${isdCode}${phoneNumber}", , )"#,
    r#"Join(" ", NormalizeDiacritics([givenName]), Left([sn], -1), "a \"b\" \\")"#,
    r#"Word("Zoë, Ærø", 2, ", ") <> InStr([x], "é", 1, "vbTextCompare")"#,
    "Left([x, 2)) [a b] 'q' != == & “x” ] -",
];

fn sweep(src: &str) {
    if let Ok(expr) = parse(src) {
        let _ = expr.eval(&user());
        let _ = expr.attributes();
    }
}

#[test]
fn parse_never_panics_on_mangled_input() {
    for seed in SEEDS {
        for (i, _) in seed.char_indices() {
            sweep(&seed[..i]);
            sweep(&seed[i..]);
        }
    }
    // A tiny deterministic LCG: random bytes, and random soups of the grammar's tokens.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    const PIECES: &[&str] = &[
        "(", ")", ",", " ", "[", "]", "\"", "\\", "=", "<", ">", "<>", "-", "1", "0", "[a]",
        "\"x\"", "Left(", "Switch(", "Replace(", "IIF(", "Item(", "Join(", "Mid(", "é", "\n",
        "Word(", "Split(", "Not(", "\"(\"", "Lft(", "And",
    ];
    for _ in 0..3000 {
        let len = next() % 40;
        let bytes: Vec<u8> = (0..len).map(|_| (next() % 256) as u8).collect();
        sweep(&String::from_utf8_lossy(&bytes));
        let soup: String = (0..len).map(|_| PIECES[next() % PIECES.len()]).collect();
        sweep(&soup);
    }
}

#[test]
fn caps_the_number_of_reported_errors() {
    let errs = parse(&"'".repeat(100)).unwrap_err();
    assert_eq!(errs.len(), MAX_ERRORS);
    assert_eq!(errs[0].span, 0..1);
}

// ---- bounded evaluation (issue 11, item 4) ----------------------------------------------------

/// `depth` Replace calls nested around `inner`, each replacing every "x" with `with`.
fn nested_replace(depth: usize, inner: &str, with: &str) -> String {
    let mut src = inner.to_string();
    for _ in 0..depth {
        src = format!(r#"Replace({src}, "x", , , "{with}", , )"#);
    }
    src
}

#[track_caller]
fn eval_err(src: &str, attrs: &BTreeMap<String, Value>) -> EvalError {
    let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
    match expr.eval(attrs) {
        Err(e) => e,
        // The value itself could be megabytes: its size says enough.
        Ok(v) => panic!("{src}: evaluated to {} bytes", v.to_string().len()),
    }
}

#[test]
fn item4_nested_replace_bomb_is_refused_at_the_call_that_crosses_the_cap() {
    // The issue's case: 12 levels, each ten times longer, 10^12 bytes if built (445 chars).
    let src = nested_replace(12, r#""x""#, "xxxxxxxxxx");
    assert!(src.len() < 460, "{}", src.len());
    let err = eval_err(&src, &user());
    assert!(matches!(err, EvalError::TooLarge { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the result of Replace would be larger than 65536 bytes (the most an expression value may hold)"
    );
    // 10^4 fits, 10^5 does not: the error is at the fifth call from the inside, not later.
    let fifth = nested_replace(5, r#""x""#, "xxxxxxxxxx");
    assert_eq!(&src[err.span()], fifth);
    let four = parse(&nested_replace(4, r#""x""#, "xxxxxxxxxx")).unwrap();
    assert_eq!(four.eval(&user()), Ok(Value::Str("x".repeat(10_000))));
}

#[test]
fn item4_every_amplifying_function_is_capped() {
    // 10,000 x's, four nested Replaces: the seed of each amplification below.
    let big = nested_replace(4, r#""x""#, "xxxxxxxxxx");
    let mut attrs = user();
    attrs.insert("huge".into(), Value::Str("y".repeat(MAX_VALUE_BYTES + 1)));
    let refused = [
        // Regex replace, and a replacement that repeats the match through group references.
        format!(r#"Replace({big}, , "x", , "yyyyyyyyyy", , )"#),
        format!(r#"Replace({big}, , "(x+)", , "$1$1$1$1$1$1$1", , )"#),
        format!(
            r#"Replace({big}, , "(?<g>x+)", , "${{g}}${{g}}${{g}}${{g}}${{g}}${{g}}${{g}}", , )"#
        ),
        // Regex group replace and the template form.
        format!(r#"Replace({big}, , "(?<g>x)", "g", "yyyyyyyyyy", , )"#),
        format!(r#"Replace({big}, "x", , , , , {big})"#),
        // Append, Join and the encodings grow their input by a factor.
        format!(
            "Append(Append(Append(Append(Append(Append(Append({big}, {big}), {big}), {big}), {big}), {big}), {big}), {big})"
        ),
        format!(r#"Join(",", {big}, {big}, {big}, {big}, {big}, {big}, {big})"#),
        format!("ConvertToBase64(ConvertToBase64({big}))"),
        format!("ConvertToUTF8Hex(ConvertToUTF8Hex(ConvertToUTF8Hex({big})))"),
        // An attribute larger than the cap is refused where it is read.
        "ToLower([huge])".to_string(),
    ];
    for src in &refused {
        assert!(src.len() <= MAX_LEN, "{} characters", src.len());
        let err = eval_err(src, &attrs);
        assert!(
            matches!(
                err,
                EvalError::TooLarge { .. } | EvalError::TooManySteps { .. }
            ),
            "{src}: {err}"
        );
    }
    let err = eval_err("ToLower([huge])", &attrs);
    assert_eq!(
        err.to_string(),
        "attribute `[huge]` would be larger than 65536 bytes (the most an expression value may hold)"
    );
}

#[test]
fn item4_the_step_budget_bounds_work_below_the_size_cap() {
    // 6^6 = 46,656 bytes: under the value cap, but 25 of them are more than a megabyte of work.
    let part = nested_replace(6, r#""x""#, "xxxxxx");
    let src = format!(r#"Join("", {})"#, vec![part.as_str(); 25].join(", "));
    assert!(src.len() <= MAX_LEN, "{}", src.len());
    let err = eval_err(&src, &user());
    assert!(matches!(err, EvalError::TooManySteps { .. }), "{err}");
    // One of them is fine.
    let ok = format!(r#"Left(Join("", {part}), 3)"#);
    assert_eq!(
        parse(&ok).unwrap().eval(&user()),
        Ok(Value::Str("xxx".into()))
    );
}

#[test]
fn item4_long_inputs_stay_linear_in_instr_word_and_pcase() {
    // A 60,000-character haystack and 30,000-character needle or separator list: the old
    // sliding window (and `str::contains` per character) would take minutes at this size.
    let mut attrs = user();
    let hay = format!("{}b", "a".repeat(60_000));
    attrs.insert("hay".into(), Value::Str(hay));
    attrs.insert(
        "needle".into(),
        Value::Str(format!("{}b", "a".repeat(30_000))),
    );
    attrs.insert("seps".into(), Value::Str("-".repeat(30_000)));
    let run = |src: &str| parse(src).unwrap().eval(&attrs).unwrap();
    assert_eq!(run("InStr([hay], [needle])"), Value::Str("30001".into()));
    assert_eq!(
        run(r#"InStr([hay], [needle], 1, "vbTextCompare")"#),
        Value::Str("30001".into())
    );
    assert_eq!(run("InStr([hay], [needle], 30002)"), Value::Str("0".into()));
    assert_eq!(run(r#"InStr("abc", "", 4)"#), Value::Str("4".into()));
    assert_eq!(run(r#"InStr("abc", "", 5)"#), Value::Str("0".into()));
    assert_eq!(run("Word([hay], 1, [seps])"), run("[hay]"));
    assert_eq!(
        run("Left(PCase([hay], [seps]), 2)"),
        Value::Str("Aa".into())
    );
}
