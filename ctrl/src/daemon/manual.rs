//! rvsd's man page, rendered by `clap_mangen` from the clap [`Args`] it
//! parses, plus the sections clap knows nothing of (signals, files,
//! environment).

use super::Args;
use clap::CommandFactory;
use std::io::{self, Write};

/// Write `rvsd.8` (roff).
pub fn render(w: &mut dyn Write) -> io::Result<()> {
    let cmd = Args::command().long_about(
        "rvsd is the rvs director: a DPDK userspace IPVS. It reads one YAML file, takes the DPDK \
         ports it names, runs one busy-polling worker per lcore (with an idle back-off) that \
         forwards NAT, DR, TUN, FULLNAT and NAT64 services over IPv4 and IPv6, and serves its \
         control socket to rvsadm(8). See /usr/share/doc/rvs for the configuration reference, \
         the operations guide and example configurations.",
    );
    let man = clap_mangen::Man::new(cmd).section("8").manual("rvs");
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    w.write_all(EXTRA.as_bytes())?;
    man.render_version_section(w)
}

const EXTRA: &str = r#".SH SIGNALS
.TP
\fBSIGHUP\fR
reload the YAML file: services, routes and connection timeouts are applied as one new snapshot; a change to dpdk, interfaces, workers, table sizes, control, metrics or log is refused (restart required) and the running configuration stays.
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
stop: the workers stop, packets in flight are counted, the ports close, the final counters are logged and the DPDK runtime directory is removed.
.SH ENVIRONMENT
.TP
\fBRUST_LOG\fR
log filter directives; when set, they replace log.level.
.TP
\fBNOTIFY_SOCKET\fR
set by systemd for Type=notify: rvsd reports READY=1 when it serves, RELOADING=1 and READY=1 around a reload, STOPPING=1.
.SH FILES
.TP
\fI/etc/rvs/rvsd.yaml\fR
the configuration (default of \-\-config).
.TP
\fI/run/rvs/rvsd.sock\fR
the control socket (control.socket).
.SH EXIT STATUS
0 after a clean stop or a successful \-\-check; 1 when the configuration is refused or the boot fails (the reason is logged).
.SH SEE ALSO
\fBrvsadm\fR(8), \fBsystemctl\fR(1)
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn renders_options_and_signals() {
        let mut out = Vec::new();
        super::render(&mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        for needle in [".TH rvsd 8", "\\-\\-config", "\\-\\-check", ".SH SIGNALS", "SIGHUP", "NOTIFY_SOCKET"] {
            assert!(s.contains(needle), "{needle} missing:\n{s}");
        }
    }
}
