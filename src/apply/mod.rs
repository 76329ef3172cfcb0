//! Apply: carry out a plan against the target, object by object, and report every outcome.
//!
//! The plan is the only input that decides what to write: apply never adds a change the plan
//! did not show. Its parts:
//!
//! - [`gates`]: the refusals checked before the first write (pure);
//! - [`stale`]: a saved plan's objects read again and compared with what it saw;
//! - [`order`]: the batches changes are sent in: users in levels, managers first; then teams
//!   created, then their membership changed; deprovisions last (pure);
//! - [`request`]: the SCIM bodies, in the forms the target's profile and features take (pure);
//! - [`policy`]: the one error policy of creates: adopt on 409, look up and resend when the
//!   answer was lost, fail otherwise (pure);
//! - [`executor`]: sends the batches within the client's write limit, writes the audit log's
//!   intent before and outcome after each change, and stops sending once the log fails;
//! - [`report`]: one typed outcome per change, the counts, and the text the commands print;
//! - [`audit`]: the audit log.
//!
//! Apply never prints: it returns an [`ApplyReport`] and the commands layer decides.

pub mod audit;
pub mod executor;
pub mod gates;
pub mod order;
pub mod policy;
pub mod report;
pub mod request;
pub mod stale;

use std::collections::HashMap;

pub use executor::{Options, Target, execute};
pub use report::{
    ApplyReport, Counts, Failure, Found, Note, Outcome, SkipReason, Status, StepResult,
};

use crate::plan::{Kind, Plan};

/// The version (`meta.version`) of every live object a change touches, by address, for
/// `If-Match` when the plan was made in this run.
pub fn etags(plan: &Plan, live: &crate::plan::Live) -> HashMap<String, String> {
    let users: HashMap<&str, &str> = live
        .users
        .iter()
        .filter_map(|u| Some((u.id.as_str(), u.version.as_deref()?)))
        .collect();
    let groups: HashMap<&str, &str> = live
        .groups
        .iter()
        .filter_map(|g| {
            Some((
                g.id.as_str(),
                g.resource.get("meta")?.get("version")?.as_str()?,
            ))
        })
        .collect();
    plan.changes
        .iter()
        .filter_map(|c| {
            let id = c.id.as_deref()?;
            let version = match c.kind {
                Kind::User => users.get(id)?,
                Kind::Group => groups.get(id)?,
            };
            Some((c.address(), version.to_string()))
        })
        .collect()
}
