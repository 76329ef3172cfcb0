//! The attributes the emulator accepts, as Asana documents them, and what follows from them:
//! turning a client's JSON into the canonical stored form, and the `/Schemas` documents.
//!
//! Pure: no IO, no store access (cross-resource checks such as uniqueness live in `store`).
//! This list must not grow past what Asana documents (reference §1.3): a client that relies on
//! an attribute Asana ignores should find out here, not in production.

use serde_json::{Map, Value, json};

use super::error::ScimError;
use roster_core::scim::path::ENTERPRISE_USER;

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Complex,
    Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadWrite,
    Immutable,
}

/// One attribute of a schema (RFC 7643 §7), reduced to what the emulator uses.
#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub mutability: Mutability,
    /// Advertised as `canonicalValues`; not enforced, as Asana documents no closed set.
    pub canonical: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const fn attr(name: &'static str, kind: Kind, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        mutability: Mutability::ReadWrite,
        canonical: &[],
        sub: &[],
        description,
    }
}

const fn complex(
    name: &'static str,
    multi: bool,
    sub: &'static [Attr],
    description: &'static str,
) -> Attr {
    Attr {
        multi,
        sub,
        ..attr(name, Kind::Complex, description)
    }
}

const WORK: &[&str] = &["work"];

/// Core user attributes: Asana's table (reference §1.3) plus the Entra gallery app's.
pub static USER_ATTRS: &[Attr] = &[
    Attr {
        required: true,
        ..attr(
            "userName",
            Kind::String,
            "The user's email address; unique in the domain, compared case-insensitively.",
        )
    },
    complex(
        "name",
        false,
        &[
            attr("formatted", Kind::String, "The full name."),
            attr(
                "givenName",
                Kind::String,
                "Accepted on POST and PUT only; Asana refuses it on PATCH (use name.formatted).",
            ),
            attr(
                "familyName",
                Kind::String,
                "Accepted on POST and PUT only; Asana refuses it on PATCH (use name.formatted).",
            ),
        ],
        "The user's name.",
    ),
    Attr {
        canonical: &["enterprise", "view only"],
        ..attr(
            "userType",
            Kind::String,
            "The license type; Asana uses it in view-only domains.",
        )
    },
    attr("title", Kind::String, "Job title."),
    attr(
        "preferredLanguage",
        Kind::String,
        "Chooses the UI locale, e.g. \"en\".",
    ),
    attr(
        "active",
        Kind::Boolean,
        "false deprovisions (\"zombifies\") the user; Asana does not support reactivation.",
    ),
    complex(
        "emails",
        true,
        &[
            attr("value", Kind::String, "Email address."),
            Attr {
                canonical: WORK,
                ..attr("type", Kind::String, "Email type.")
            },
            attr(
                "primary",
                Kind::Boolean,
                "At most one email may be primary.",
            ),
        ],
        "Email addresses.",
    ),
    complex(
        "phoneNumbers",
        true,
        &[
            attr("value", Kind::String, "Phone number."),
            Attr {
                canonical: WORK,
                ..attr("type", Kind::String, "Phone number type.")
            },
            attr("primary", Kind::Boolean, "At most one may be primary."),
        ],
        "Phone numbers.",
    ),
    complex(
        "addresses",
        true,
        &[
            Attr {
                canonical: WORK,
                ..attr("type", Kind::String, "Address type.")
            },
            attr("country", Kind::String, "Country."),
            attr("region", Kind::String, "State or region."),
            attr("locality", Kind::String, "City."),
            attr("primary", Kind::Boolean, "At most one may be primary."),
        ],
        "Addresses.",
    ),
];

/// Enterprise extension attributes Asana (department) and its Entra app (the rest) use.
pub static ENTERPRISE_ATTRS: &[Attr] = &[
    attr("department", Kind::String, "Department."),
    attr("employeeNumber", Kind::String, "Employee number."),
    attr("costCenter", Kind::String, "Cost center."),
    attr("organization", Kind::String, "Organization."),
    attr("division", Kind::String, "Division."),
    complex(
        "manager",
        false,
        &[
            attr(
                "value",
                Kind::String,
                "The manager's id; must be a user of the domain.",
            ),
            attr("$ref", Kind::Reference, "The manager's URI."),
        ],
        "The user's manager.",
    ),
];

/// Group (Asana team) attributes; `members` is handled by the store, not stored as JSON.
pub static GROUP_ATTRS: &[Attr] = &[
    Attr {
        required: true,
        ..attr(
            "displayName",
            Kind::String,
            "The team's name; unique in the domain, compared case-insensitively.",
        )
    },
    complex(
        "members",
        true,
        &[
            Attr {
                mutability: Mutability::Immutable,
                ..attr("value", Kind::String, "The member's user id.")
            },
            Attr {
                mutability: Mutability::Immutable,
                ..attr("$ref", Kind::Reference, "The member's URI.")
            },
            Attr {
                mutability: Mutability::Immutable,
                canonical: &["User"],
                ..attr("type", Kind::String, "Always User: teams hold users.")
            },
        ],
        "The team's members.",
    ),
];

/// Finds an attribute by name, case-insensitively (RFC 7643 §2.1).
pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// How to read booleans sent as strings (`"False"`, as Entra sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coercion {
    pub string_booleans: bool,
    /// PATCH may `remove` attributes only the Entra gallery app lists
    /// ([`super::settings::RemoveUndocumented`]).
    pub remove_undocumented: bool,
}

/// Turns a client's user JSON into the stored form: canonical attribute names, values checked
/// against their types, read-only and unknown attributes dropped (RFC 7644 §3.3 lets a server
/// ignore what it does not store; Asana documents no error for them).
pub fn canonical_user(input: &Value, c: Coercion) -> Result<Map<String, Value>, ScimError> {
    let obj = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case(ENTERPRISE_USER) {
            let ext = canonical_object(value, ENTERPRISE_ATTRS, ENTERPRISE_USER, c)?;
            if !ext.is_empty() {
                out.insert(ENTERPRISE_USER.to_string(), Value::Object(ext));
            }
        } else if let Some(a) = find(USER_ATTRS, key)
            && let Some(v) = canonical_value(a, value, a.name, c)?
        {
            out.insert(a.name.to_string(), v);
        }
    }
    Ok(out)
}

/// Checks and canonicalises an object against `attrs`; `at` names it in errors.
fn canonical_object(
    value: &Value,
    attrs: &[Attr],
    at: &str,
    c: Coercion,
) -> Result<Map<String, Value>, ScimError> {
    let obj = value
        .as_object()
        .ok_or_else(|| ScimError::invalid_value(format!("`{at}` must be an object")))?;
    let mut out = Map::new();
    for (key, v) in obj {
        if let Some(a) = find(attrs, key)
            && let Some(v) = canonical_value(a, v, &format!("{at}.{}", a.name), c)?
        {
            out.insert(a.name.to_string(), v);
        }
    }
    Ok(out)
}

/// Checks one attribute's value; `None` when it is null or empty (treated as absent).
pub fn canonical_value(
    a: &Attr,
    value: &Value,
    at: &str,
    c: Coercion,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if a.multi {
        let items = value.as_array().ok_or_else(|| {
            ScimError::invalid_value(format!("`{at}` is multi-valued: send a JSON array"))
        })?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = canonical_single(a, item, at, c)? {
                out.push(v);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    canonical_single(a, value, at, c)
}

/// Checks one value of an attribute (one element, for a multi-valued attribute).
pub fn canonical_single(
    a: &Attr,
    value: &Value,
    at: &str,
    c: Coercion,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!("`{at}` must be {expected}, not {value}"))
    };
    match (a.kind, value) {
        (_, Value::Null) => Ok(None),
        (Kind::String | Kind::Reference, Value::String(_)) => Ok(Some(value.clone())),
        (Kind::String | Kind::Reference, _) => Err(wrong("a string")),
        (Kind::Boolean, Value::Bool(_)) => Ok(Some(value.clone())),
        (Kind::Boolean, Value::String(s)) if c.string_booleans => {
            if s.eq_ignore_ascii_case("true") {
                Ok(Some(Value::Bool(true)))
            } else if s.eq_ignore_ascii_case("false") {
                Ok(Some(Value::Bool(false)))
            } else {
                Err(wrong("a boolean"))
            }
        }
        (Kind::Boolean, _) => Err(wrong("a boolean (true or false, not a string)")),
        (Kind::Complex, Value::Object(_)) => {
            let m = canonical_object(value, a.sub, at, c)?;
            Ok((!m.is_empty()).then_some(Value::Object(m)))
        }
        (Kind::Complex, _) => Err(wrong("an object")),
    }
}

/// Attribute names as written in a schema document.
fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::String => "string",
        Kind::Boolean => "boolean",
        Kind::Complex => "complex",
        Kind::Reference => "reference",
    }
}

fn attr_json(a: &Attr) -> Value {
    let mut m = json!({
        "name": a.name,
        "type": kind_name(a.kind),
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": false,
        "mutability": match a.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
        },
        "returned": "default",
        "uniqueness": if a.name == "userName" || a.name == "displayName" { "server" } else { "none" },
    });
    if !a.canonical.is_empty() {
        m["canonicalValues"] = json!(a.canonical);
    }
    if a.kind == Kind::Reference {
        m["referenceTypes"] = json!(["User"]);
    }
    if !a.sub.is_empty() {
        m["subAttributes"] = Value::Array(a.sub.iter().map(attr_json).collect());
    }
    m
}

/// The `/Schemas` documents, keyed by their ids.
pub fn schema_documents(base_url: &str) -> Vec<Value> {
    let doc = |id: &str, name: &str, description: &str, attrs: &[Attr]| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attrs.iter().map(attr_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{id}")},
        })
    };
    vec![
        doc(CORE_USER, "User", "Asana users", USER_ATTRS),
        doc(
            ENTERPRISE_USER,
            "EnterpriseUser",
            "Enterprise extension attributes Asana accepts",
            ENTERPRISE_ATTRS,
        ),
        doc(CORE_GROUP, "Group", "Asana teams", GROUP_ATTRS),
    ]
}

/// The `/ResourceTypes` documents.
pub fn resource_type_documents(base_url: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Asana users (guests are not visible through SCIM)",
            "schema": CORE_USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Asana teams",
            "schema": CORE_GROUP,
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/Group")},
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENIENT: Coercion = Coercion {
        string_booleans: true,
        remove_undocumented: true,
    };
    const STRICT: Coercion = Coercion {
        string_booleans: false,
        remove_undocumented: false,
    };

    #[test]
    fn canonicalises_names_and_drops_unknown_and_read_only() {
        let input = json!({
            "USERNAME": "a@x.io",
            "Name": {"FORMATTED": "A X", "honorificPrefix": "Dr"},
            "externalId": "e1",
            "id": "123",
            "meta": {"version": "W/\"9\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D"},
            "title": null,
        });
        let out = canonical_user(&input, LENIENT).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "userName": "a@x.io",
                "name": {"formatted": "A X"},
                ENTERPRISE_USER: {"department": "R&D"},
            })
        );
    }

    #[test]
    fn string_booleans_follow_the_flag() {
        let input = json!({"userName": "a@x.io", "active": "False"});
        let out = canonical_user(&input, LENIENT).unwrap();
        assert_eq!(out["active"], json!(false));
        let err = canonical_user(&input, STRICT).unwrap_err();
        assert_eq!((err.status, err.scim_type), (400, Some("invalidValue")));
        assert!(canonical_user(&json!({"active": "nope"}), LENIENT).is_err());
    }

    #[test]
    fn types_are_checked() {
        for bad in [
            json!({"userName": 5}),
            json!({"emails": {"value": "a@x.io"}}),
            json!({"name": "A X"}),
            json!({"emails": [{"primary": "yes"}]}),
        ] {
            let err = canonical_user(&bad, LENIENT).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
        }
    }

    #[test]
    fn schema_documents_describe_every_attribute() {
        let docs = schema_documents("http://h/scim");
        let user = &docs[0];
        assert_eq!(user["id"], CORE_USER);
        let names: Vec<&str> = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"userName") && names.contains(&"addresses"));
        assert_eq!(user["attributes"][0]["uniqueness"], "server");
    }
}
