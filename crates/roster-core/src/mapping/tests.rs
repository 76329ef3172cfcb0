use serde_json::json;

use super::*;
use crate::config::model::{Group, User, UserAttr};
use crate::scim::ENTERPRISE_USER;

fn full_user() -> User {
    let mut u = User::new("alice@example.com");
    for (attr, value) in [
        (UserAttr::Mail, "alice.smith@example.com"),
        (UserAttr::DisplayName, "Alice Smith"),
        (UserAttr::JobTitle, "Staff Engineer"),
        (UserAttr::Department, "Engineering"),
        (UserAttr::CompanyName, "Example Ltd"),
        (UserAttr::EmployeeId, "1042"),
        (UserAttr::Division, "Product"),
        (UserAttr::CostCenter, "CC-1"),
        (UserAttr::Manager, "bob@example.com"),
        (UserAttr::City, "Delft"),
        (UserAttr::State, "ZH"),
        (UserAttr::Country, "NL"),
        (UserAttr::TelephoneNumber, "+31 15 000 0000"),
    ] {
        u.set(attr, Some(value.to_string()));
    }
    u
}

fn resolve(upn: &str) -> Option<String> {
    (upn == "bob@example.com").then(|| "1200000000000002".to_string())
}

#[test]
fn default_mappings_build_asanas_gallery_resource() {
    let mapped = map_user(
        &targets::default_user_mappings(),
        &full_user(),
        true,
        Flow::Create,
    )
    .unwrap();
    let scim = mapped.to_scim(
        &[
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE_USER,
        ],
        &resolve,
    );
    assert_eq!(
        scim,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
            "userName": "alice@example.com",
            "active": true,
            "name": { "formatted": "Alice Smith" },
            "emails": [{ "type": "work", "value": "alice.smith@example.com", "primary": true }],
            "title": "Staff Engineer",
            "addresses": [{ "type": "work", "country": "NL", "region": "ZH", "locality": "Delft" }],
            "phoneNumbers": [{ "type": "work", "value": "+31 15 000 0000" }],
            ENTERPRISE_USER: {
                "department": "Engineering",
                "manager": { "value": "1200000000000002" },
                "employeeNumber": "1042",
                "costCenter": "CC-1",
                "organization": "Example Ltd",
                "division": "Product",
            },
        })
    );
}

#[test]
fn nulls_are_never_sent() {
    let user = User::new("min@example.com");
    let mapped = map_user(&targets::default_user_mappings(), &user, true, Flow::Create).unwrap();
    let keys: Vec<&str> = mapped.in_path_order().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["active", "userName"]);
    let scim = mapped.to_scim(&[], &|_| None);
    assert_eq!(
        scim,
        json!({ "schemas": [], "userName": "min@example.com", "active": true })
    );
}

#[test]
fn disabled_or_out_of_scope_users_map_to_inactive() {
    let mut user = User::new("gone@example.com");
    let m = targets::default_user_mappings();
    let active = |u: &User, in_scope| {
        map_user(&m, u, in_scope, Flow::Update)
            .unwrap()
            .get("active")
            .cloned()
    };
    assert_eq!(active(&user, true), Some(MappedValue::Boolean(true)));
    assert_eq!(active(&user, false), Some(MappedValue::Boolean(false)));
    user.account_enabled = false;
    assert_eq!(active(&user, true), Some(MappedValue::Boolean(false)));
}

fn mapping(target: &str, source: MappingSource, apply: Apply, default: Option<&str>) -> Mapping {
    Mapping {
        target: targets::user_target(target).unwrap(),
        source,
        match_priority: None,
        apply,
        default: default.map(str::to_string),
        origin: None,
    }
}

#[test]
fn on_create_mappings_and_defaults_flow_only_on_create() {
    let mappings = [
        mapping(
            "name.givenName",
            MappingSource::Direct("givenName".into()),
            Apply::OnCreate,
            None,
        ),
        mapping(
            "title",
            MappingSource::Direct("jobTitle".into()),
            Apply::Always,
            Some("Employee"),
        ),
    ];
    let mut user = User::new("a@x.io");
    user.set(UserAttr::GivenName, Some("Ann".into()));
    let created = map_user(&mappings, &user, true, Flow::Create).unwrap();
    assert_eq!(
        created.get("name.givenName"),
        Some(&MappedValue::String("Ann".into()))
    );
    assert_eq!(
        created.get("title"),
        Some(&MappedValue::String("Employee".into()))
    );
    let updated = map_user(&mappings, &user, true, Flow::Update).unwrap();
    assert!(updated.attributes.is_empty(), "{updated:?}");
}

#[test]
fn constants_and_expressions_flow() {
    let expr = expr::parse(r#"Join(" ", [givenName], [surname])"#).unwrap();
    let mappings = [
        mapping(
            "userType",
            MappingSource::Constant("enterprise".into()),
            Apply::Always,
            None,
        ),
        mapping(
            "name.formatted",
            MappingSource::Expression {
                expr: Box::new(expr),
                text: String::new(),
                at: None,
            },
            Apply::Always,
            None,
        ),
    ];
    let mut user = User::new("a@x.io");
    user.set(UserAttr::GivenName, Some("Ann".into()));
    user.set(UserAttr::Surname, Some("Lee".into()));
    let m = map_user(&mappings, &user, true, Flow::Update).unwrap();
    assert_eq!(
        m.get("userType"),
        Some(&MappedValue::String("enterprise".into()))
    );
    assert_eq!(
        m.get("name.formatted"),
        Some(&MappedValue::String("Ann Lee".into()))
    );
}

#[test]
fn a_non_boolean_active_is_an_error_not_a_guess() {
    let mappings = [mapping(
        "active",
        MappingSource::Constant("yes".into()),
        Apply::Always,
        None,
    )];
    let err = map_user(&mappings, &User::new("a@x.io"), true, Flow::Create).unwrap_err();
    assert_eq!(err[0].target, "active");
    assert!(
        err[0].reason.contains("`yes` is not a boolean"),
        "{}",
        err[0].reason
    );
}

#[test]
fn groups_map_display_name_and_members() {
    let group = Group {
        display_name: "Platform".into(),
        members: vec!["bob@example.com".into(), "ghost@example.com".into()],
        member_rules: Vec::new(),
        exclude: Vec::new(),
        member_expires: Default::default(),
        origin: None,
    };
    let mapped = map_group(&targets::default_group_mappings(), &group, Flow::Create).unwrap();
    let scim = mapped.to_scim(&["urn:ietf:params:scim:schemas:core:2.0:Group"], &resolve);
    assert_eq!(
        scim,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Platform",
            "members": [{ "value": "1200000000000002" }],
        })
    );
}

#[test]
fn low_values_over_their_targets_length_limit_are_errors_not_sent() {
    let mut u = full_user();
    let defaults = targets::default_user_mappings();
    // At the limit, counted in characters (é is two bytes): sent.
    u.set(UserAttr::JobTitle, Some("é".repeat(targets::MAX_CHARS)));
    assert!(map_user(&defaults, &u, true, Flow::Create).is_ok());
    // One over: an error for that target only, with no expression span.
    u.set(UserAttr::JobTitle, Some("t".repeat(targets::MAX_CHARS + 1)));
    let errors = map_user(&defaults, &u, true, Flow::Update).unwrap_err();
    assert_eq!(
        errors,
        [MappingError {
            target: "title",
            reason: "the value is 257 characters long; roster sends at most 256 to `title`".into(),
            span: None,
        }]
    );
    // Addresses have the email limit.
    let long = format!("{}@example.com", "a".repeat(targets::MAX_ADDRESS_CHARS));
    let errors = map_user(&defaults, &User::new(long), true, Flow::Create).unwrap_err();
    assert_eq!(errors[0].target, "userName");
}

#[test]
fn item4_an_expression_failure_carries_its_span_in_the_expression() {
    let text = r#"Left([displayName], "two")"#;
    let mappings = [mapping(
        "title",
        MappingSource::Expression {
            expr: Box::new(expr::parse(text).unwrap()),
            text: text.into(),
            at: None,
        },
        Apply::Always,
        None,
    )];
    let err = map_user(&mappings, &full_user(), true, Flow::Create).unwrap_err();
    assert_eq!(err[0].span.clone().map(|r| &text[r]), Some(r#""two""#));
}

/// Validation checks every declared user with [`check_user`]: it must fail exactly where
/// [`map_user`] in scope on create does, with the same errors in the same order.
#[test]
fn check_user_fails_where_map_user_does() {
    let expression = |text: &str| MappingSource::Expression {
        expr: Box::new(expr::parse(text).unwrap()),
        text: text.into(),
        at: None,
    };
    let mut mappings = targets::default_user_mappings();
    mappings.extend([
        mapping(
            "userType",
            MappingSource::Direct("employeeType".into()),
            Apply::Always,
            Some("x".repeat(targets::MAX_CHARS + 1).as_str()),
        ),
        mapping(
            "name.givenName",
            MappingSource::Direct("givenName".into()),
            Apply::OnCreate,
            Some("Nick"),
        ),
        mapping(
            "name.familyName",
            expression(r#"Left([surname], [givenName])"#),
            Apply::Always,
            None,
        ),
        mapping(
            "preferredLanguage",
            MappingSource::Constant("é".repeat(targets::MAX_CHARS + 1)),
            Apply::Always,
            None,
        ),
    ]);
    let as_boolean = [mapping(
        "active",
        MappingSource::Direct("preferredLanguage".into()),
        Apply::Always,
        None,
    )];
    let values = [
        None,
        Some(String::new()),
        Some("3".into()),
        Some("Ann".into()),
        Some("TRUE".into()),
        Some("false".into()),
        Some("é".repeat(targets::MAX_CHARS)),
        Some("é".repeat(targets::MAX_CHARS + 1)),
        Some("t".repeat(targets::MAX_CHARS + 1)),
    ];
    let mut checked = 0;
    for (i, value) in values.iter().enumerate() {
        for attr in UserAttr::ALL {
            let mut u = full_user();
            u.set(attr, value.clone());
            let other = &values[(i + attr as usize) % values.len()];
            u.set(UserAttr::PreferredLanguage, other.clone());
            u.set(UserAttr::GivenName, value.clone());
            for mappings in [&mappings[..], &as_boolean[..]] {
                let mapped = map_user(mappings, &u, true, Flow::Create);
                assert_eq!(
                    check_user(mappings, &u),
                    mapped.clone().err().unwrap_or_default(),
                    "{attr:?} = {value:?}"
                );
                let matching: Vec<Mapping> = (mappings.iter())
                    .filter(|m| m.match_priority.is_some())
                    .map(|m| Mapping {
                        target: m.target,
                        source: match &m.source {
                            MappingSource::Direct(s) => MappingSource::Direct(s.clone()),
                            MappingSource::Constant(s) => MappingSource::Constant(s.clone()),
                            MappingSource::Expression { text, .. } => expression(text),
                        },
                        match_priority: m.match_priority,
                        apply: m.apply,
                        default: m.default.clone(),
                        origin: None,
                    })
                    .collect();
                assert_eq!(
                    map_user_matching(mappings, &u),
                    map_user(&matching, &u, true, Flow::Create)
                );
                checked += usize::from(mapped.is_err());
            }
        }
    }
    assert!(checked > 20, "only {checked} failing users were compared");
}
