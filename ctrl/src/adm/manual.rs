//! rvsadm's man page, generated (with `clap_mangen`) from the option
//! table the parser uses ([`SPECS`]: names, short letters, arity) and
//! the descriptions in `-h` ([`help::usage`]), so neither can drift from
//! what rvsadm accepts. rvsadm does not parse with clap (see `parse.rs`);
//! the clap command built here exists only to be rendered.

use crate::adm::help;
use crate::adm::options::{Arg, Tag, SPECS};
use std::io::{self, Write};

/// Options rvsadm knows but refuses (ipvsadm has them; rvs does not yet).
const UNSUPPORTED: &[&str] = &["pe", "tun-csum", "tun-remcsum"];

/// Each `--long` option's description as `-h` words it: the text after
/// the last wide gap on the option's line, plus its indented
/// continuation lines.
pub fn descriptions() -> Vec<(String, String)> {
    let text = help::usage("rvsadm");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("--") {
            let long = rest.split([' ', '|']).next().unwrap_or_default().to_string();
            let desc = t.rsplit("  ").next().unwrap_or_default().trim().to_string();
            out.push((long, desc));
            open = true;
        } else if open && line.starts_with("     ") && !t.is_empty() {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(t);
            }
        } else {
            open = false;
        }
    }
    out
}

fn describe(long: &str, descs: &[(String, String)]) -> Option<String> {
    if UNSUPPORTED.contains(&long) {
        return Some("accepted for ipvsadm compatibility; refused by rvs, which does not have it yet".into());
    }
    descs.iter().find(|(l, _)| l == long).map(|(_, d)| d.clone())
}

/// The clap command that the man page renders.
pub fn command() -> clap::Command {
    let descs = descriptions();
    let mut cmd = clap::Command::new("rvsadm")
        .version(env!("CARGO_PKG_VERSION"))
        .about("administer the rvs director's virtual services, as ipvsadm does for IPVS")
        .long_about(
            "rvsadm is ipvsadm for rvs: ipvsadm 1.31's commands, options and output formats, \
             sent to rvsd over its control socket. Every command that edits the table is one \
             transaction, published to all workers at once; -R applies its whole input as one \
             transaction (all lines or none), which is the one deliberate difference from ipvsadm.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true);
    let mut seen = Vec::new();
    for s in SPECS {
        if seen.contains(&s.long) {
            continue;
        }
        seen.push(s.long);
        let mut a = clap::Arg::new(s.long).long(s.long).help(describe(s.long, &descs).unwrap_or_default());
        if let Some(c) = s.short {
            a = a.short(c);
        }
        a = match s.arg {
            Arg::None => a.action(clap::ArgAction::SetTrue),
            Arg::Required => a.value_name(value_name(s.tag, s.long)),
            Arg::Optional => a.value_name(value_name(s.tag, s.long)).num_args(0..=1),
        };
        cmd = cmd.arg(a);
    }
    for (long, v, h) in [
        (
            "socket",
            "PATH",
            "rvsd's control socket (default: --config's control.socket, else $RVSADM_SOCKET, else /run/rvs/rvsd.sock)",
        ),
        ("config", "FILE", "rvsd's YAML file, to find its control socket"),
        (
            "import-keepalived",
            "FILE",
            "translate keepalived.conf's virtual servers into the services: section of rvsd's YAML, \
             printed on stdout; what cannot be translated is warned about on stderr with its FILE:LINE \
             (no daemon is needed)",
        ),
    ] {
        cmd = cmd.arg(clap::Arg::new(long).long(long).value_name(v).help(h));
    }
    cmd
}

fn value_name(tag: Tag, long: &str) -> &'static str {
    match (tag, long) {
        (Tag::Service(_), "fwmark-service") => "MARK",
        (Tag::Service(_), _) => "ADDRESS:PORT",
        (_, "real-server") => "ADDRESS[:PORT]",
        (_, "persistent") => "TIMEOUT",
        (_, "start-daemon" | "stop-daemon") => "STATE",
        (_, "laddr" | "mcast-group") => "ADDRESS",
        (_, "match") => "PROTO:VIP[:PORTS]",
        _ => "VALUE",
    }
}

/// Write `rvsadm.8` (roff).
pub fn render(w: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(command()).section("8").manual("rvs");
    man.render_title(w)?;
    man.render_name_section(w)?;
    w.write_all(synopsis().as_bytes())?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    w.write_all(EXTRA.as_bytes())?;
    man.render_version_section(w)
}

/// SYNOPSIS: the `Usage:` lines of `-h` (clap's own would list every
/// option as one flat line, which is not how ipvsadm's grammar reads).
fn synopsis() -> String {
    let text = help::usage("rvsadm");
    let mut out = String::from(".SH SYNOPSIS\n.nf\n");
    let usage = text.lines().skip_while(|l| !l.starts_with("Usage:")).skip(1).take_while(|l| !l.is_empty());
    for l in usage {
        let l = l.trim_start().replace('\\', "\\\\").replace('-', "\\-");
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str(".fi\n");
    out
}

const EXTRA: &str = r#".SH EXIT STATUS
As ipvsadm's: 0 on success; 2 for a bad command line (ipvsadm's "illegal ...", "invalid ..." messages) or when rvsd cannot be reached ("Can't initialize ipvs"); 255 when the first option is not a command, for an option the parser cannot read, and for a change the table refuses; 1 when a listing finds nothing (\-L of a service that is not there). rvs failures ipvsadm has no counterpart for exit 1 with an "rvsadm:" message; \-\-verbose adds what exactly is wrong after ipvsadm's message.
.SH FILES
.TP
\fI/run/rvs/rvsd.sock\fR
rvsd's control socket (control.socket in rvsd's YAML).
.TP
\fI/etc/rvs/rules\fR
the table saved by \fBrvsadm\-save\fR and restored by \fBrvsadm\-restore\fR (the rvs\-rules service).
.SH SEE ALSO
\fBrvsd\fR(8), \fBrvsadm\-save\fR, \fBrvsadm\-restore\fR, \fBipvsadm\fR(8)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option rvsadm supports is described by `-h`: the man page is
    /// built from that text, so an undocumented option fails here.
    #[test]
    fn every_supported_option_has_a_description() {
        let descs = descriptions();
        let missing: Vec<&str> = SPECS.iter().map(|s| s.long).filter(|l| describe(l, &descs).is_none()).collect();
        assert!(missing.is_empty(), "options missing from -h: {missing:?}");
        let d = describe("scheduler", &descs).unwrap();
        // A continuation line joins its option's description.
        assert!(d.starts_with("one of") && d.ends_with("the default scheduler is wlc."), "{d}");
        assert_eq!(describe("fwmark-service", &descs).unwrap(), "fwmark is an integer greater than zero");
    }

    #[test]
    fn renders_roff_with_every_option() {
        let mut out = Vec::new();
        render(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with(".ie \\n(.g .ds Aq") || s.contains(".TH rvsadm 8"), "{}", &s[..200]);
        assert!(s.contains(".TH rvsadm 8"));
        for spec in SPECS {
            assert!(s.contains(&format!("\\-\\-{}", spec.long.replace('-', "\\-"))), "{} missing", spec.long);
        }
        assert!(s.contains(".SH FILES"));
        assert!(s.contains("rvsadm \\-A|E virtual\\-service"), "synopsis from -h");
    }
}
