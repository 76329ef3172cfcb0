//! `roster schema`: print or write the JSON Schemas of the config files.

use std::io::Write;

use anyhow::Context;

use super::Outcome;
use crate::cli::SchemaArgs;
use crate::config::schema;

pub fn run(args: &SchemaArgs) -> anyhow::Result<Outcome> {
    match &args.out_dir {
        Some(dir) => {
            crate::fsio::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            for (name, text) in schema::all() {
                let path = dir.join(name);
                // Replaces regular files only: a symlink in a checked-out repository is not
                // followed.
                crate::fsio::write_atomic(&path, text.as_bytes())
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
            }
        }
        None => {
            let mut out = crate::output::stdout();
            for (name, text) in schema::all() {
                writeln!(out, "// {name}")?;
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(Outcome::Success)
}
