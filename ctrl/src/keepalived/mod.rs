//! `rvsadm --import-keepalived FILE`: the LVS part of a keepalived.conf
//! (`virtual_server`, `virtual_server_group`, their real servers and
//! checkers) as the `services:` section of rvsd's YAML file.
//!
//! Everything that is not translated is said, one warning per thing, with
//! its `FILE:LINE`: VRRP and the other non-LVS blocks (keepalived can go on
//! doing VRRP beside rvs), scripts, checkers rvs does not have, knobs with
//! no rvs equivalent. The YAML is written from the rvs configuration
//! types and each service is checked by rvs's own loader before it is
//! printed, so what comes out is what rvsd reads. See "Importing
//! keepalived.conf" in docs/operations.md.

mod check;
mod lexer;
mod out;
mod service;
mod tree;

use rvs_conf::Secs;
use std::str::FromStr;

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The `services:` document (a comment on top says how to merge it).
    pub yaml: String,
    /// `FILE:LINE: warning: ...` lines, in file order.
    pub warnings: Vec<String>,
    /// Services written (fwmark services left commented out included).
    pub translated: usize,
}

/// Translate keepalived.conf `text`; `file` names it in messages. A
/// syntax error is `Err("FILE:LINE: message")`.
pub fn import(text: &str, file: &str) -> Result<Import, String> {
    let nodes = tree::parse(text).map_err(|(line, m)| format!("{file}:{line}: {m}"))?;
    let mut ctx = Ctx::new(file);
    let groups = service::groups(&nodes, &mut ctx);
    let mut built = Vec::new();
    for n in &nodes {
        match n.key.as_str() {
            "virtual_server" => built.extend(service::virtual_server(n, &groups, &mut ctx)),
            "virtual_server_group" => {}
            key => top_level(n, key, &mut ctx),
        }
    }
    let (yaml, translated) = out::document(file, built, &mut ctx)?;
    Ok(Import { yaml, warnings: ctx.warnings, translated })
}

/// A top-level block other than the LVS ones: one warning saying why it
/// is skipped.
fn top_level(n: &Node, key: &str, ctx: &mut Ctx) {
    let why = if key.starts_with("vrrp_") || key == "garp_group" {
        "rvs does not do VRRP; keep keepalived running beside rvs for it (with its LVS part removed)"
    } else if matches!(key, "static_ipaddress" | "static_routes" | "static_rules" | "linkbeat_interfaces") {
        "rvs does not configure the kernel's addresses or routes (see interfaces: and routes: in rvsd's YAML)"
    } else if key.starts_with("bfd_") {
        "rvs does not do BFD"
    } else if key.starts_with("include") {
        "include is not followed: import each included file on its own"
    } else if key == "global_defs" {
        "keepalived's global settings have no rvs equivalent"
    } else if key == "SSL" {
        "rvs's https checks use no client certificate and verify none"
    } else if key.starts_with('$') {
        "parameter definitions are not expanded: ${...} stays as written"
    } else if key.starts_with('@') {
        "conditional configuration is not evaluated"
    } else {
        "not an LVS block"
    };
    ctx.warn(n.line, &format!("'{key}' skipped: {why}"));
}

pub(crate) use tree::Node;

/// The file's name and the warnings gathered so far; helpers that read a
/// statement's argument and warn when it is bad.
pub(crate) struct Ctx {
    file: String,
    pub warnings: Vec<String>,
}

impl Ctx {
    pub fn new(file: &str) -> Self {
        Ctx { file: file.to_string(), warnings: Vec::new() }
    }

    pub fn warn(&mut self, line: usize, msg: &str) {
        self.warnings.push(format!("{}:{line}: warning: {msg}", self.file));
    }

    /// The first argument parsed as `T`; warned and `None` when missing or bad.
    pub fn parsed<T: FromStr>(&mut self, n: &Node) -> Option<T> {
        match n.arg().map(str::parse::<T>) {
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => {
                self.warn(n.line, &format!("{}: bad value '{}'; ignored", n.key, n.args[0]));
                None
            }
            None => {
                self.warn(n.line, &format!("{}: missing value; ignored", n.key));
                None
            }
        }
    }

    pub fn uint(&mut self, n: &Node) -> Option<u32> {
        self.parsed(n)
    }

    pub fn string(&mut self, n: &Node) -> Option<String> {
        self.parsed(n)
    }

    /// keepalived's `<TIMER>`: seconds, fractions allowed (rvs: 0.001 s
    /// to a day).
    pub fn timer(&mut self, n: &Node) -> Option<Secs> {
        let v: f64 = self.parsed(n)?;
        if !(v.is_finite() && (0.001..=86_400.0).contains(&v)) {
            self.warn(n.line, &format!("{}: {v} s is outside rvs's range (0.001 to 86400); ignored", n.key));
            return None;
        }
        Some(Secs((v * 1000.0).round() as u64))
    }

    /// keepalived's `<BOOL>`; a bare keyword is on.
    pub fn boolean(&mut self, n: &Node) -> Option<bool> {
        match n.arg().map(str::to_ascii_lowercase).as_deref() {
            None | Some("on" | "true" | "yes") => Some(true),
            Some("off" | "false" | "no") => Some(false),
            Some(v) => {
                self.warn(n.line, &format!("{}: '{v}' is not a boolean; ignored", n.key));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
