//! `-L --daemon`: the sync daemons, one line each as ipvsadm 1.31 prints
//! them from a kernel that reports the group, port and TTL; `--json`
//! adds what each daemon did.

use crate::adm::view::DaemonView;
use std::fmt::Write as _;

pub fn format(v: &[DaemonView], json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for d in v {
        let _ = write!(out, "{} sync daemon (mcast={}, syncid={}", d.state, d.interface, d.syncid);
        if let Some(m) = d.maxlen {
            let _ = write!(out, ", maxlen={m}");
        }
        if d.peers.is_empty() {
            let _ = write!(out, ", group={}", d.group);
        } else {
            // rvs's unicast extension: the peers take the group's place.
            let peers: Vec<String> = d.peers.iter().map(ToString::to_string).collect();
            let _ = write!(out, ", peers={}", peers.join(","));
        }
        let _ = writeln!(out, ", port={}, ttl={})", d.port, d.ttl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: &str) -> DaemonView {
        DaemonView {
            state: state.into(),
            interface: "lan".into(),
            syncid: 7,
            maxlen: None,
            group: "224.0.0.81".parse().unwrap(),
            port: 8848,
            ttl: 1,
            peers: Vec::new(),
            msgs_sent: 3,
            conns_sent: 9,
            send_errors: 0,
            msgs_received: 0,
            conns_received: 0,
            bad_messages: 0,
            other_syncid: 0,
            conns_skipped: 0,
        }
    }

    #[test]
    fn lines_as_ipvsadm_prints_them() {
        let mut b = view("backup");
        b.maxlen = Some(1400);
        assert_eq!(
            format(&[view("master"), b], false),
            "master sync daemon (mcast=lan, syncid=7, group=224.0.0.81, port=8848, ttl=1)\n\
             backup sync daemon (mcast=lan, syncid=7, maxlen=1400, group=224.0.0.81, port=8848, ttl=1)\n"
        );
        assert_eq!(format(&[], false), "", "no daemon: nothing, as ipvsadm");
        let back: Vec<DaemonView> = serde_json::from_str(&format(&[view("master")], true)).unwrap();
        assert_eq!(back[0].conns_sent, 9);
    }
}
