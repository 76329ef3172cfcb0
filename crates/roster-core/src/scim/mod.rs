//! SCIM 2.0 vocabulary shared by the mapping engine, the client and the emulator: attribute
//! paths read from and written to resource JSON. Pure data and path handling, no IO.

pub mod path;

pub use path::{AttrPath, ENTERPRISE_USER};
