//! `rvsadm`: the pure logic of the ipvsadm-compatible control CLI.
//!
//! Nothing in this module does I/O: the binary reads argv / stdin, sends
//! the parsed [`AdmCommand`] to rvsd as JSON, and prints what the
//! formatters return. Keeping it pure lets every ipvsadm behaviour be
//! pinned down by unit and golden tests without a running daemon.
//!
//! The pieces, in the order a command flows through them:
//! - [`parse`]: argv → [`AdmCommand`], with ipvsadm 1.31's option grammar
//!   (clustered short options, `-p` with an optional value, the
//!   command/option legality table and its error messages);
//! - [`restore`]: `-R` input (one ipvsadm command per line) → numbered
//!   commands;
//! - [`apply`]: the IPVS semantics of each editing command on the service
//!   model, and the transactional [`apply::apply_all`] used by `-R`;
//! - [`order`]: ipvsadm's sort order (and IPVS's, for `--nosort`);
//! - [`format`]: ipvsadm 1.31's exact output formats (`-L`, `--stats`,
//!   `--rate`, `-c`, `--timeout`, `-S`) plus the `--json`/`--yaml`
//!   extensions, rendered from the [`view`] structs rvsd fills in;
//! - [`wire`]: the symmetric (YAML-file) spelling of a service used by
//!   `--json`, `-S --yaml` and the views on the control socket;
//! - [`workers`]: the `--workers` listing (an rvs extension);
//! - [`help`]: `-h` and `-v`.
//!
//! Where ipvsadm's behaviour is surprising (e.g. `-E`/`-e` reset the
//! options that are not given), rvsadm keeps it: operators' scripts were
//! written against it. Deviations are listed in the doc comment of the
//! function that makes them.

pub mod apply;
pub mod cmd;
pub mod daemon;
#[cfg(test)]
mod dest_checks_tests;
pub mod error;
pub mod format;
pub mod help;
pub mod manual;
pub mod names;
#[cfg(test)]
mod names_format_tests;
mod options;
mod order;
pub mod parse;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod proxy_proto_tests;
pub mod restore;
mod values;
pub mod view;
pub mod wire;
pub mod workers;

pub use apply::{apply, apply_all, apply_timeouts};
pub use cmd::AdmCommand;
pub use error::AdmError;
pub use parse::parse_args;
pub use restore::parse_restore;
