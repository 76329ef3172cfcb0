//! Where a plan's values came from when Entra is merged live (`entra.mode: live`): read from
//! Entra, declared in the YAML, or both (the YAML's values win). Pure: it reads the config's
//! provenance and the mappings, nothing else.

use std::collections::BTreeMap;

use super::{Kind, Plan};
use crate::config::model::MappingSource;
use crate::config::model::{Config, Origin, User, UserProvenance};

/// A change's provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `entra` (read from Entra), `yaml` (declared in YAML only) or `entra+yaml` (both; the
    /// YAML's values win).
    pub object: String,
    /// For objects from both: each changed attribute's origin, `entra`, `yaml`, or `entra+yaml`
    /// for an expression that reads both.
    pub attributes: BTreeMap<String, String>,
}

/// Adds a [`Source`] to every change of a declared object, when the config was merged with
/// Entra; does nothing otherwise.
pub fn annotate(plan: &mut Plan, config: &Config) {
    let Some(provenance) = &config.provenance else {
        return;
    };
    for change in &mut plan.changes {
        change.source = match change.kind {
            Kind::User => {
                let Some(user) = config.user(&change.key) else {
                    // An undeclared live user (policy.unmanaged): nobody's values.
                    continue;
                };
                let p = provenance.users.get(&user.key());
                let origin = p.map_or(Origin::Yaml, |p| p.origin);
                let attributes = match (origin, p) {
                    (Origin::Both, Some(p)) => change
                        .attributes
                        .iter()
                        .filter_map(|a| {
                            Some((a.path.clone(), attribute_origin(config, user, p, &a.path)?))
                        })
                        .collect(),
                    _ => BTreeMap::new(),
                };
                Some(Source {
                    object: origin.as_str().into(),
                    attributes,
                })
            }
            Kind::Group => {
                let origin = provenance
                    .groups
                    .get(&change.key.to_lowercase())
                    .copied()
                    .unwrap_or(Origin::Yaml);
                Some(Source {
                    object: origin.as_str().into(),
                    attributes: BTreeMap::new(),
                })
            }
        };
    }
}

/// The origin of a mapped attribute: that of the source attributes its mapping reads.
/// Constants have none.
fn attribute_origin(
    config: &Config,
    user: &User,
    p: &UserProvenance,
    path: &str,
) -> Option<String> {
    let mapping = config
        .settings
        .user_mappings
        .iter()
        .find(|m| m.target.path == path)?;
    let names: Vec<&str> = match &mapping.source {
        MappingSource::Direct(name) => vec![name.as_str()],
        MappingSource::Constant(_) => return None,
        MappingSource::Expression { expr, .. } => {
            expr.attributes().into_iter().map(|(n, _)| n).collect()
        }
    };
    let entra = |name: &str| match name {
        "IsSoftDeleted" => !user.in_scope || p.from_entra.contains("accountEnabled"),
        other => p.from_entra.contains(other),
    };
    let from_entra = names.iter().filter(|n| entra(n)).count();
    Some(
        match (from_entra, names.len() - from_entra) {
            (0, 0) => return None,
            (_, 0) => Origin::Entra,
            (0, _) => Origin::Yaml,
            _ => Origin::Both,
        }
        .as_str()
        .into(),
    )
}
