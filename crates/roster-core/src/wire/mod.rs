//! The wire formats roster writes for machines and reads back: the JSON plan (`plan --format
//! json`, [`plan`]), saved plan files ([`saved`]) with what they record of the declarations
//! ([`declarations`]), whether one may be applied ([`integrity`]) and how it compares with a
//! fresh plan (`apply --replan`, [`replan`]), and the JSON drift report ([`drift`]).
//! Documented in `docs/plan-format.md`.
//!
//! Each format has its own types with their own serde names, converted from (and back to) the
//! planner's values; the planner and the model serialise nothing, so renaming a variant or a
//! field there cannot change a file a consumer reads. Pure: no IO.

pub mod declarations;
pub mod drift;
pub mod integrity;
pub mod plan;
pub mod replan;
pub mod saved;

#[cfg(test)]
mod tests;
