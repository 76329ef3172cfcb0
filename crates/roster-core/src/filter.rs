//! Attribute filters in Entra's clause model, the one evaluator of them: Entra's scoping
//! filters (`entra.scoping_filters`, who is in scope), a team's `member_rules` (who is a
//! member, [`crate::teams`]) and the `when:` of policy rules. Clauses are AND-ed within a
//! filter, filters OR-ed.
//!
//! Semantics follow Entra's documentation ("Scoping users or groups to be provisioned with
//! scoping filters"), including its null rule: every clause but `IS NULL` is false when the
//! attribute is null or empty — so `NOT EQUALS` and `NOT REGEX MATCH` do not match a user who
//! has no value. Pure: no IO.

use crate::config::model::{Clause, Operand, Operator, ScopingFilter, User};
use crate::expr::Value;

/// Evaluates a clause on an attribute's value (`None` when absent).
pub fn clause_matches(clause: &Clause, attribute: Option<&str>) -> bool {
    let Some(a) = attribute.filter(|a| !a.is_empty()) else {
        // Entra: "Scoping filters will return false if the value is null / empty" —
        // except the operator that asks exactly that.
        return clause.operator == Operator::IsNull;
    };
    let v = clause.value.as_deref().unwrap_or("");
    match (clause.operator, clause.operand()) {
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
        (Operator::GreaterThan, Operand::Integer(n)) => {
            a.trim().parse::<i64>().is_ok_and(|x| x > *n)
        }
        (Operator::GreaterThanOrEquals, Operand::Integer(n)) => {
            a.trim().parse::<i64>().is_ok_and(|x| x >= *n)
        }
        (Operator::RegexMatch, Operand::Regex(re)) => re.is_match(a),
        (Operator::NotRegexMatch, Operand::Regex(re)) => !re.is_match(a),
        // `Clause::new` compiles every operator that needs it.
        _ => false,
    }
}

/// True when every clause of the filter is.
pub fn matches(filter: &ScopingFilter, user: &User) -> bool {
    filter
        .clauses
        .iter()
        .all(|c| clause_matches(c, value(user, c.attribute).as_deref()))
}

/// The first clause the user fails, for messages.
pub fn first_failing<'f>(filter: &'f ScopingFilter, user: &User) -> Option<&'f Clause> {
    filter
        .clauses
        .iter()
        .find(|c| !clause_matches(c, value(user, c.attribute).as_deref()))
}

fn value(user: &User, attribute: &str) -> Option<String> {
    match user.source(attribute, true) {
        Value::Str(s) => Some(s),
        // Multi-valued attributes cannot be filtered (validation refuses them).
        Value::Multi(_) | Value::Null => None,
    }
}

/// The index of the first filter the user passes, `None` when there is none (an empty list
/// matches no one here: callers that mean "no filter, everyone" say so, as [`check`] does).
pub fn first_match(filters: &[ScopingFilter], user: &User) -> Option<usize> {
    filters.iter().position(|f| matches(f, user))
}

/// Whether the user passes the filters: true when there are none, or when every clause of at
/// least one filter is true. `Err` says which clause excluded the user (of the first filter).
pub fn check(filters: &[ScopingFilter], user: &User) -> Result<(), String> {
    if filters.is_empty() || first_match(filters, user).is_some() {
        return Ok(());
    }
    let first = &filters[0];
    let clause = first_failing(first, user)
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
    use crate::config::model::UserAttr;

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
            assert_eq!(clause_matches(&c, attr), want, "{op} {value:?} on {attr:?}");
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
