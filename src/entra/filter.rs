//! Entra's attribute-based scoping filters: clauses AND-ed within a filter, filters OR-ed.
//!
//! Semantics follow Entra's documentation ("Scoping users or groups to be provisioned with
//! scoping filters"), including its null rule: every clause but `IS NULL` is false when the
//! attribute is null or empty — so `NOT EQUALS` and `NOT REGEX MATCH` do not match a user who
//! has no value. Pure: no IO.

use crate::config::model::{User, UserAttr};
use crate::expr::Value;

/// A scoping filter: true when every clause is.
#[derive(Debug, Clone)]
pub struct ScopingFilter {
    /// Entra's "Scoping Filter Title", for messages.
    pub name: Option<String>,
    pub clauses: Vec<Clause>,
}

/// One condition on one single-valued source attribute.
#[derive(Debug, Clone)]
pub struct Clause {
    /// The source attribute (`department`, `accountEnabled`, …).
    pub attribute: &'static str,
    pub operator: Operator,
    /// The value to compare with; `None` for the unary operators.
    pub value: Option<String>,
    compiled: Compiled,
}

#[derive(Debug, Clone)]
enum Compiled {
    None,
    Integer(i64),
    Regex(regex::Regex),
}

/// The operators Entra documents for scoping clauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `&`: the attribute's value occurs in the clause's value.
    In,
    /// `!&`: the attribute's value does not occur in the clause's value.
    NotIn,
    EndsWith,
    Equals,
    GreaterThan,
    GreaterThanOrEquals,
    /// The attribute contains the value (.NET `String.Contains`, case-sensitive).
    Includes,
    IsFalse,
    IsTrue,
    IsNull,
    IsNotNull,
    NotEquals,
    RegexMatch,
    NotRegexMatch,
}

impl Operator {
    pub const ALL: [Operator; 14] = [
        Operator::In,
        Operator::NotIn,
        Operator::EndsWith,
        Operator::Equals,
        Operator::GreaterThan,
        Operator::GreaterThanOrEquals,
        Operator::Includes,
        Operator::IsFalse,
        Operator::IsTrue,
        Operator::IsNull,
        Operator::IsNotNull,
        Operator::NotEquals,
        Operator::RegexMatch,
        Operator::NotRegexMatch,
    ];

    /// The spelling of Entra's admin center.
    pub fn name(self) -> &'static str {
        match self {
            Operator::In => "&",
            Operator::NotIn => "!&",
            Operator::EndsWith => "ENDS_WITH",
            Operator::Equals => "EQUALS",
            Operator::GreaterThan => "Greater_Than",
            Operator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            Operator::Includes => "Includes",
            Operator::IsFalse => "IS FALSE",
            Operator::IsTrue => "IS TRUE",
            Operator::IsNull => "IS NULL",
            Operator::IsNotNull => "IS NOT NULL",
            Operator::NotEquals => "NOT EQUALS",
            Operator::RegexMatch => "REGEX MATCH",
            Operator::NotRegexMatch => "NOT REGEX MATCH",
        }
    }

    /// Reads an operator as written in the admin center or in Graph; case, spaces and
    /// underscores do not matter (`IS NULL`, `IS_NULL`, `isNull`).
    pub fn parse(text: &str) -> Option<Operator> {
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|c| !matches!(c, ' ' | '_' | '-'))
                .flat_map(char::to_uppercase)
                .collect()
        };
        let wanted = norm(text.trim());
        Operator::ALL.into_iter().find(|o| norm(o.name()) == wanted)
    }

    /// Operators that take no value.
    pub fn unary(self) -> bool {
        matches!(
            self,
            Operator::IsFalse | Operator::IsTrue | Operator::IsNull | Operator::IsNotNull
        )
    }
}

/// The source attributes a clause may test: every single-valued user attribute except
/// `manager` (Entra refuses references), plus `accountEnabled`.
pub fn filterable_attributes() -> impl Iterator<Item = &'static str> {
    UserAttr::ALL
        .into_iter()
        .filter(|a| *a != UserAttr::Manager)
        .map(UserAttr::name)
        .chain(["accountEnabled"])
}

impl Clause {
    /// Checks and compiles a clause; the error says what is wrong with the value.
    pub fn new(attribute: &str, operator: Operator, value: Option<&str>) -> Result<Clause, String> {
        let attribute = filterable_attributes()
            .find(|a| *a == attribute)
            .ok_or_else(|| format!("`{attribute}` cannot be used in a scoping filter"))?;
        let compiled = match (operator.unary(), value) {
            (true, Some(_)) => {
                return Err(format!("`{}` takes no value", operator.name()));
            }
            (true, None) => Compiled::None,
            (false, None) => return Err(format!("`{}` needs a value", operator.name())),
            (false, Some(v)) => match operator {
                Operator::GreaterThan | Operator::GreaterThanOrEquals => {
                    match v.trim().parse::<i64>() {
                        Ok(n) => Compiled::Integer(n),
                        Err(_) => {
                            return Err(format!(
                                "`{}` compares integers, and `{v}` is not one",
                                operator.name()
                            ));
                        }
                    }
                }
                Operator::RegexMatch | Operator::NotRegexMatch => match regex::Regex::new(v) {
                    Ok(re) => Compiled::Regex(re),
                    Err(e) => {
                        // The parser's message quotes the pattern over several lines; the last
                        // says what is wrong.
                        let text = e.to_string();
                        let what = text
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches("error: ");
                        return Err(format!("invalid regular expression: {what}"));
                    }
                },
                _ => Compiled::None,
            },
        };
        Ok(Clause {
            attribute,
            operator,
            value: value.map(str::to_string),
            compiled,
        })
    }

    /// Evaluates the clause on an attribute's value (`None` when absent).
    pub fn matches(&self, attribute: Option<&str>) -> bool {
        let Some(a) = attribute.filter(|a| !a.is_empty()) else {
            // Entra: "Scoping filters will return false if the value is null / empty" —
            // except the operator that asks exactly that.
            return self.operator == Operator::IsNull;
        };
        let v = self.value.as_deref().unwrap_or("");
        match (self.operator, &self.compiled) {
            (Operator::IsNull, _) => false,
            (Operator::IsNotNull, _) => true,
            (Operator::IsTrue, _) => a.eq_ignore_ascii_case("true"),
            (Operator::IsFalse, _) => a.eq_ignore_ascii_case("false"),
            (Operator::Equals, _) => a == v,
            (Operator::NotEquals, _) => a != v,
            (Operator::Includes, _) => a.contains(v),
            (Operator::EndsWith, _) => a.ends_with(v),
            (Operator::In, _) => v.contains(a),
            (Operator::NotIn, _) => !v.contains(a),
            (Operator::GreaterThan, Compiled::Integer(n)) => {
                a.trim().parse::<i64>().is_ok_and(|x| x > *n)
            }
            (Operator::GreaterThanOrEquals, Compiled::Integer(n)) => {
                a.trim().parse::<i64>().is_ok_and(|x| x >= *n)
            }
            (Operator::RegexMatch, Compiled::Regex(re)) => re.is_match(a),
            (Operator::NotRegexMatch, Compiled::Regex(re)) => !re.is_match(a),
            // `Clause::new` compiles every operator that needs it.
            _ => false,
        }
    }

    /// The clause as Entra's admin center shows it, for messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Some(v) => format!("{} {} {v:?}", self.attribute, self.operator.name()),
            None => format!("{} {}", self.attribute, self.operator.name()),
        }
    }
}

impl ScopingFilter {
    /// True when every clause is.
    pub fn matches(&self, user: &User) -> bool {
        self.clauses
            .iter()
            .all(|c| c.matches(value(user, c.attribute).as_deref()))
    }

    /// The first clause the user fails, for messages.
    pub fn first_failing(&self, user: &User) -> Option<&Clause> {
        self.clauses
            .iter()
            .find(|c| !c.matches(value(user, c.attribute).as_deref()))
    }
}

fn value(user: &User, attribute: &str) -> Option<String> {
    match user.source(attribute, true) {
        Value::Str(s) => Some(s),
        // Multi-valued attributes cannot be filtered (validation refuses them).
        Value::Multi(_) | Value::Null => None,
    }
}

/// Whether the user passes the filters: true when there are none, or when every clause of at
/// least one filter is true. `Err` says which clause excluded the user (of the first filter).
pub fn check(filters: &[ScopingFilter], user: &User) -> Result<(), String> {
    if filters.is_empty() || filters.iter().any(|f| f.matches(user)) {
        return Ok(());
    }
    let first = &filters[0];
    let clause = first
        .first_failing(user)
        .map(Clause::describe)
        .unwrap_or_default();
    Err(match (&first.name, filters.len()) {
        (Some(name), 1) => format!("fails the scoping filter \"{name}\" ({clause})"),
        (None, 1) => format!("fails the scoping filter ({clause})"),
        _ => format!("fails every scoping filter (the first on {clause})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(attr: &str, op: &str, value: Option<&str>) -> Clause {
        Clause::new(attr, Operator::parse(op).expect(op), value).unwrap()
    }

    /// `(operator, clause value, attribute value, expected)`, covering every operator on a
    /// value, on an empty string and on null.
    #[test]
    fn every_operator_including_null_and_empty() {
        let cases: &[(&str, Option<&str>, Option<&str>, bool)] = &[
            ("EQUALS", Some("Sales"), Some("Sales"), true),
            ("EQUALS", Some("Sales"), Some("sales"), false),
            ("EQUALS", Some("Sales"), None, false),
            ("EQUALS", Some(""), Some(""), false),
            ("NOT EQUALS", Some("Sales"), Some("Legal"), true),
            ("NOT EQUALS", Some("Sales"), Some("Sales"), false),
            ("NOT EQUALS", Some("Sales"), Some("sales"), true),
            // The null rule: NOT EQUALS on a user without a value is false.
            ("NOT EQUALS", Some("Sales"), None, false),
            ("NOT EQUALS", Some("Sales"), Some(""), false),
            ("Includes", Some("gin"), Some("Engineering"), true),
            ("Includes", Some("GIN"), Some("Engineering"), false),
            ("Includes", Some("gin"), None, false),
            (
                "ENDS_WITH",
                Some("@northwind.example"),
                Some("a@northwind.example"),
                true,
            ),
            (
                "ENDS_WITH",
                Some("@northwind.example"),
                Some("a@contoso.example"),
                false,
            ),
            ("ENDS_WITH", Some("@northwind.example"), None, false),
            ("&", Some("Sales,Legal"), Some("Legal"), true),
            ("&", Some("Sales,Legal"), Some("Finance"), false),
            ("&", Some("Sales,Legal"), None, false),
            ("!&", Some("Sales,Legal"), Some("Finance"), true),
            ("!&", Some("Sales,Legal"), Some("Sales"), false),
            ("!&", Some("Sales,Legal"), None, false),
            ("Greater_Than", Some("1000"), Some("1001"), true),
            ("Greater_Than", Some("1000"), Some("1000"), false),
            ("Greater_Than", Some("1000"), Some("abc"), false),
            ("Greater_Than", Some("1000"), None, false),
            ("Greater_Than_OR_EQUALS", Some("1000"), Some("1000"), true),
            ("Greater_Than_OR_EQUALS", Some("1000"), Some("999"), false),
            ("Greater_Than_OR_EQUALS", Some("1000"), None, false),
            ("REGEX MATCH", Some("^[0-9]{4}$"), Some("1042"), true),
            ("REGEX MATCH", Some("^[0-9]{4}$"), Some("10420"), false),
            // .NET's IsMatch searches; it is not anchored.
            ("REGEX MATCH", Some("[1-9][0-9]"), Some("x42y"), true),
            ("REGEX MATCH", Some(".*"), None, false),
            ("NOT REGEX MATCH", Some("^C"), Some("Engineering"), true),
            ("NOT REGEX MATCH", Some("^C"), Some("Contractor"), false),
            // Documented: NOT REGEX MATCH is false when the attribute is null or empty.
            ("NOT REGEX MATCH", Some("^C"), None, false),
            ("NOT REGEX MATCH", Some("^C"), Some(""), false),
            ("IS TRUE", None, Some("True"), true),
            ("IS TRUE", None, Some("False"), false),
            ("IS TRUE", None, None, false),
            ("IS FALSE", None, Some("False"), true),
            ("IS FALSE", None, Some("True"), false),
            ("IS FALSE", None, None, false),
            ("IS NULL", None, None, true),
            ("IS NULL", None, Some(""), true),
            ("IS NULL", None, Some("x"), false),
            ("IS NOT NULL", None, Some("x"), true),
            ("IS NOT NULL", None, Some(""), false),
            ("IS NOT NULL", None, None, false),
        ];
        for &(op, value, attr, want) in cases {
            let c = clause("department", op, value);
            assert_eq!(c.matches(attr), want, "{op} {value:?} on {attr:?}");
        }
        let covered: std::collections::BTreeSet<&str> = cases
            .iter()
            .map(|c| Operator::parse(c.0).unwrap().name())
            .collect();
        assert_eq!(
            covered.len(),
            Operator::ALL.len(),
            "every operator is tested"
        );
    }

    #[test]
    fn operators_read_in_any_spelling() {
        for (text, op) in [
            ("IS NULL", Operator::IsNull),
            ("is_null", Operator::IsNull),
            ("IsNull", Operator::IsNull),
            ("NOT_REGEX_MATCH", Operator::NotRegexMatch),
            ("greater_than_or_equals", Operator::GreaterThanOrEquals),
            ("ENDSWITH", Operator::EndsWith),
            ("&", Operator::In),
            ("!&", Operator::NotIn),
        ] {
            assert_eq!(Operator::parse(text), Some(op), "{text}");
        }
        assert_eq!(Operator::parse("LIKE"), None);
        assert_eq!(Operator::parse("STARTS_WITH"), None);
    }

    #[test]
    fn bad_clauses_say_why() {
        let err = |a: &str, op: Operator, v: Option<&str>| Clause::new(a, op, v).unwrap_err();
        assert!(err("manager", Operator::Equals, Some("x")).contains("cannot be used"));
        assert!(err("IsSoftDeleted", Operator::IsTrue, None).contains("cannot be used"));
        assert!(err("department", Operator::Equals, None).contains("needs a value"));
        assert!(err("department", Operator::IsNull, Some("x")).contains("takes no value"));
        assert!(err("employeeId", Operator::GreaterThan, Some("1e3")).contains("integers"));
        assert!(err("mail", Operator::RegexMatch, Some("(")).contains("regular expression"));
    }

    fn user(dept: Option<&str>, enabled: bool) -> User {
        let mut u = User::new("a@x.io");
        u.set(UserAttr::Department, dept.map(str::to_string));
        u.account_enabled = enabled;
        u
    }

    #[test]
    fn clauses_and_filters_or() {
        let filters = vec![
            ScopingFilter {
                name: Some("sales staff".into()),
                clauses: vec![
                    clause("department", "EQUALS", Some("Sales")),
                    clause("accountEnabled", "IS TRUE", None),
                ],
            },
            ScopingFilter {
                name: None,
                clauses: vec![clause("department", "EQUALS", Some("Legal"))],
            },
        ];
        assert!(check(&filters, &user(Some("Sales"), true)).is_ok());
        assert!(check(&filters, &user(Some("Legal"), false)).is_ok());
        let why = check(&filters, &user(Some("Sales"), false)).unwrap_err();
        assert!(why.contains("accountEnabled IS TRUE"), "{why}");
        assert!(check(&filters, &user(None, true)).is_err());
        assert!(
            check(&[], &user(None, false)).is_ok(),
            "no filter: everyone"
        );
        let one = &filters[..1];
        assert_eq!(
            check(one, &user(Some("Legal"), true)).unwrap_err(),
            "fails the scoping filter \"sales staff\" (department EQUALS \"Sales\")"
        );
    }
}
