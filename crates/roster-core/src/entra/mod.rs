//! Microsoft Entra ID as a source, the deciding parts (pure): which hosts the client secret
//! and tokens may go to, Graph users and delta items, who is in scope (scoping filters are evaluated by
//! `crate::filter`, which team rules share), the
//! live merge and what `import entra` writes. Reading Graph is the binary's (`entra::graph`,
//! `entra::read`); the Graph emulator is `roster_emulator::graph`. See docs/entra.md.

pub mod cloud;
pub mod directory;
pub mod import;
pub mod merge;
pub mod scope;
