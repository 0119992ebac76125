//! BIRD 2's side of an announcement: the include file rvsd owns, and the
//! `configure` command over BIRD's control socket.
//!
//! The socket speaks lines: `DDDD-text` is one line of a reply that goes
//! on, `DDDD text` its last line, ` text` a continuation of the line
//! before, `+...` a spontaneous message. Codes `0xxx` mean success, `8xxx`
//! a run-time error and `9xxx` a parse error (BIRD's `doc/reply_codes`).
//! BIRD greets a client with `0001 BIRD x.y ready.` before any command.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The static protocol that carries the IPv4 VIPs.
pub const PROTO4: &str = "rvs_vips4";
/// The static protocol that carries the IPv6 VIPs.
pub const PROTO6: &str = "rvs_vips6";

/// The include file for `vips`: both protocols always exist (a filter in
/// `bird.conf` may name them), each lists its family's VIPs as host
/// routes. `blackhole` because the routes are only to be exported to BGP:
/// the director's own kernel must not route the VIP anywhere.
pub fn include_text(vips: &BTreeSet<IpAddr>) -> String {
    let mut s = String::from("# Written by rvsd: the VIPs this director serves now. Do not edit.\n");
    for (name, chan, v6) in [(PROTO4, "ipv4", false), (PROTO6, "ipv6", true)] {
        let _ = write!(s, "protocol static {name} {{\n  {chan};\n");
        for a in vips.iter().filter(|a| a.is_ipv6() == v6) {
            let len = if v6 { 128 } else { 32 };
            let _ = writeln!(s, "  route {a}/{len} blackhole;");
        }
        s.push_str("}\n");
    }
    s
}

/// Replace `path` with `text` in one rename, so BIRD never reads half a
/// file.
pub fn write_include(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The end of one reply: its last code and every text line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.code < 1000
    }
}

/// Read one reply (up to its `DDDD ` line). Spontaneous `+` lines are
/// skipped.
pub fn read_reply(r: &mut impl BufRead) -> Result<Reply, String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| format!("reading BIRD's reply: {e}"))? == 0 {
            return Err("BIRD closed the control connection".into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.starts_with('+') {
            continue;
        }
        if let Some(rest) = l.strip_prefix(' ') {
            lines.push(rest.to_string());
            continue;
        }
        let (code, sep) = (l.get(..4).and_then(|c| c.parse::<u16>().ok()), l.as_bytes().get(4));
        match (code, sep) {
            (Some(_), Some(b'-')) => lines.push(l[5..].to_string()),
            (Some(code), Some(b' ')) | (Some(code), None) => {
                lines.push(l.get(5..).unwrap_or("").to_string());
                return Ok(Reply { code, lines });
            }
            _ => return Err(format!("unexpected line from BIRD: {l:?}")),
        }
    }
}

/// Ask the BIRD behind `socket` to re-read its configuration (and with it
/// our include file). Ok with BIRD's last line on success.
pub fn configure(socket: &Path, timeout: Duration) -> Result<String, String> {
    let s = UnixStream::connect(socket).map_err(|e| format!("BIRD control socket {}: {e}", socket.display()))?;
    s.set_read_timeout(Some(timeout)).and_then(|_| s.set_write_timeout(Some(timeout))).map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s.try_clone().map_err(|e| e.to_string())?);
    let hello = read_reply(&mut r)?;
    if hello.code != 1 {
        return Err(format!("BIRD greeted with {} {}", hello.code, hello.lines.join(" / ")));
    }
    (&s).write_all(b"configure\n").map_err(|e| format!("writing to BIRD: {e}"))?;
    let reply = read_reply(&mut r)?;
    let text = reply.lines.join(" / ");
    if reply.ok() {
        Ok(text)
    } else {
        Err(format!("BIRD refused the configuration ({}): {text}", reply.code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn include_lists_each_family() {
        let vips: BTreeSet<IpAddr> =
            ["192.168.0.200", "10.0.0.1", "2001:db8::1"].iter().map(|a| a.parse().unwrap()).collect();
        let t = include_text(&vips);
        assert!(t.contains(
            "protocol static rvs_vips4 {\n  ipv4;\n  route 10.0.0.1/32 blackhole;\n  route 192.168.0.200/32 blackhole;\n}\n"
        ));
        assert!(t.contains("protocol static rvs_vips6 {\n  ipv6;\n  route 2001:db8::1/128 blackhole;\n}\n"));
        let none = include_text(&BTreeSet::new());
        assert!(none.contains("protocol static rvs_vips4 {\n  ipv4;\n}\nprotocol static rvs_vips6 {\n  ipv6;\n}\n"));
    }

    #[test]
    fn replies_are_read_to_their_last_line() {
        let mut r = Cursor::new(
            "0002-Reading configuration from /etc/bird.conf\n more text\n+0000 spontaneous\n0003 Reconfigured\nrest",
        );
        let reply = read_reply(&mut r).unwrap();
        assert_eq!(reply.code, 3);
        assert!(reply.ok());
        assert_eq!(reply.lines, ["Reading configuration from /etc/bird.conf", "more text", "Reconfigured"]);
        let mut r = Cursor::new("9001 /etc/bird.conf:3:1 syntax error\n");
        let e = read_reply(&mut r).unwrap();
        assert_eq!((e.code, e.ok()), (9001, false));
        assert!(read_reply(&mut Cursor::new("garbage\n")).is_err());
        assert!(read_reply(&mut Cursor::new("0002-cut short\n")).is_err());
    }
}
