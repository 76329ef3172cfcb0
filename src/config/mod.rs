//! The config directory: the core's parsing, validation and model (`roster_core::config`), and
//! reading the directory from disk (`load`), which is the binary's because it does IO.

pub use roster_core::config::*;

pub mod load;

pub use load::load;
