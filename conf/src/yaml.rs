//! Loading the YAML file with errors that point at file:line:column.

use crate::model::Config;
use std::fmt;
use std::path::Path;

/// A configuration error, printed as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for ConfError {}

/// Parse and validate a configuration file.
pub fn load_file(path: &Path) -> Result<Config, ConfError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    load_str(&name, &text)
}

/// Parse and validate configuration text; `name` is used in errors.
pub fn load_str(name: &str, text: &str) -> Result<Config, ConfError> {
    let cfg: Config = serde_yaml_ng::from_str(text).map_err(|e| {
        let (mut line, mut column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
        let message = strip_location(&e.to_string());
        // A value refused by its own check (e.g. the MTU range) is reported
        // by serde at the start of its mapping: point at the value itself.
        if message.contains(": mtu ") {
            if let Some(at) = locate_key(text, line, column, "mtu") {
                (line, column) = at;
            }
        }
        ConfError { file: name.to_string(), line, column, message }
    })?;
    cfg.validate().map_err(|message| ConfError { file: name.to_string(), line: 1, column: 1, message })?;
    Ok(cfg)
}

/// Where the value of `key` is inside the mapping that starts at
/// (`line`, `column`) (1-based): the first `key:` from there on, before the
/// text goes back to the mapping's indentation or less.
fn locate_key(text: &str, line: usize, column: usize, key: &str) -> Option<(usize, usize)> {
    let pat = format!("{key}:");
    let indent = column.saturating_sub(1);
    for (n, l) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let from = if n + 1 == line { indent.min(l.len()) } else { 0 };
        if n + 1 > line {
            let lead = l.len() - l.trim_start().len();
            let t = l.trim_start();
            if !t.is_empty() && !t.starts_with('#') && (lead < indent || (lead == indent && t.starts_with("- "))) {
                return None;
            }
        }
        let mut at = from;
        while let Some(i) = l.get(at..).and_then(|r| r.find(&pat)) {
            let k = at + i;
            let word_start = k == 0 || !l.as_bytes()[k - 1].is_ascii_alphanumeric() && l.as_bytes()[k - 1] != b'_';
            if word_start {
                let v = k + pat.len();
                let v = v + l[v..].len() - l[v..].trim_start().len();
                return Some((n + 1, v + 1));
            }
            at = k + pat.len();
        }
    }
    None
}

/// serde_yaml appends " at line L column C"; we print it in front instead.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    const GOOD: &str = r#"
dpdk:
  memory_mb: 256
interfaces:
  - name: client
    device: net_tap0,iface=rvs-c
    addresses: [172.25.254.100/24]
  - name: server
    device: net_tap1,iface=rvs-s
    addresses: [192.168.0.100/24]
routes:
  - prefix: 10.0.0.0/8
    via: 192.168.0.1
    dev: server
services:
  - vip: 172.25.254.100
    port: 80
    scheduler: rr
    dests:
      - { addr: 192.168.0.10, fwd: nat }
      - { addr: 192.168.0.20, port: 8080, weight: 3 }
  - fwmark: 66
    scheduler: sh
    sched_flags: sh-port
    persistent: 300
    match: [{ proto: tcp, vip: 192.168.0.200, ports: [80, 443] }]
    dests:
      - { addr: 192.168.0.10, fwd: dr }
"#;

    #[test]
    fn good_file_loads() {
        let c = load_str("good.yaml", GOOD).unwrap();
        assert_eq!(c.interfaces.len(), 2);
        assert_eq!(c.services.len(), 2);
        assert_eq!(c.services[0].scheduler, crate::SchedKind::Rr);
        assert_eq!(c.services[0].dests[1].port, 8080);
        assert_eq!(c.services[1].key, ServiceKey::Fwmark(66));
        assert_eq!(c.services[1].persistent, Some(300));
        assert!(c.dpdk.no_huge);
    }

    #[test]
    fn metrics_endpoint_is_off_unless_configured_and_checked_with_a_location() {
        assert_eq!(load_str("good.yaml", GOOD).unwrap().metrics, None);
        let on = format!("{GOOD}metrics: {{ listen: 127.0.0.1:9410 }}\n");
        let m = load_str("m.yaml", &on).unwrap().metrics.unwrap();
        assert_eq!(m.listen, "127.0.0.1:9410".parse().unwrap());
        let bad = format!("{GOOD}metrics: {{ listen: localhost }}\n");
        let e = load_str("m.yaml", &bad).unwrap_err();
        assert_eq!(e.line, GOOD.lines().count() + 1, "{e}");
        let typo = format!("{GOOD}metrics: {{ listne: 127.0.0.1:9410 }}\n");
        assert!(load_str("m.yaml", &typo).unwrap_err().message.contains("unknown field"));
    }

    #[test]
    fn log_section_defaults_and_bad_levels_are_located() {
        let c = load_str("good.yaml", GOOD).unwrap();
        assert_eq!((c.log.level.as_str(), c.log.format), ("info", crate::LogFormat::Text));
        let json = format!("{GOOD}log:\n  level: warn,rvs_ctrl=debug\n  format: json\n");
        let c = load_str("l.yaml", &json).unwrap();
        assert_eq!((c.log.level.as_str(), c.log.format), ("warn,rvs_ctrl=debug", crate::LogFormat::Json));
        let bad = format!("{GOOD}log:\n  level: loud\n");
        let e = load_str("l.yaml", &bad).unwrap_err();
        assert_eq!((e.line, e.column), (GOOD.lines().count() + 2, 3), "{e}");
        assert!(e.message.contains("bad level directive \"loud\""), "{e}");
        let fmt = format!("{GOOD}log: {{ format: xml }}\n");
        assert!(load_str("l.yaml", &fmt).unwrap_err().message.contains("unknown variant"));
    }

    #[test]
    fn syntax_error_has_location() {
        let e = load_str("bad.yaml", "interfaces:\n  - name: a\n    device: [\n").unwrap_err();
        assert_eq!(e.file, "bad.yaml");
        assert!(e.line >= 3, "{e}");
        assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
    }

    #[test]
    fn unknown_key_and_bad_address_are_located() {
        let e = load_str("x.yaml", "interfaces:\n  - name: a\n    devize: b\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(e.message.contains("devize"), "{e}");
        let e =
            load_str("x.yaml", "interfaces:\n  - name: a\n    device: b\n    addresses: [300.1.1.1/24]\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn unknown_scheduler_lists_valid_ones() {
        let text = GOOD.replace("scheduler: rr", "scheduler: foo");
        let e = load_str("x.yaml", &text).unwrap_err();
        assert!(e.message.contains("unknown scheduler 'foo'"), "{e}");
        assert!(e.message.contains("wlc"), "{e}");
        assert!(e.line > 15, "{e}");
    }

    #[test]
    fn dr_port_mapping_rejected() {
        let text = GOOD.replace("{ addr: 192.168.0.10, fwd: nat }", "{ addr: 192.168.0.10, port: 81, fwd: dr }");
        let e = load_str("x.yaml", &text).unwrap_err();
        assert!(e.message.contains("cannot map ports"), "{e}");
    }

    #[test]
    fn mtu_out_of_range_points_at_the_value() {
        let text =
            GOOD.replace("    addresses: [192.168.0.100/24]\n", "    addresses: [192.168.0.100/24]\n    mtu: 9216\n");
        let e = load_str("x.yaml", &text).unwrap_err();
        assert!(e.message.contains("mtu 9216 out of range"), "{e}");
        let line = text.lines().position(|l| l.contains("mtu: 9216")).unwrap() + 1;
        assert_eq!((e.line, e.column), (line, 10), "{e}");
        let e =
            load_str("x.yaml", &GOOD.replace("device: net_tap0,iface=rvs-c", "device: x\n    mtu: 100")).unwrap_err();
        assert!(e.message.contains("mtu 100 out of range"), "{e}");
        assert_eq!((e.line, e.column), (7, 10), "{e}");
        // Flow style: the column of the value on the entry's line.
        let flow = "interfaces:\n  - { name: a, device: b, mtu: 65000 }\n";
        let e = load_str("x.yaml", flow).unwrap_err();
        assert!(e.message.contains("mtu 65000 out of range"), "{e}");
        assert_eq!((e.line, e.column), (2, 32), "{e}");
    }

    #[test]
    fn jumbo_mtu_sizes_the_pool_and_must_fit_in_memory() {
        let c = load_str("x.yaml", GOOD).unwrap();
        assert_eq!(c.mbuf_data_room(), MBUF_HEADROOM + MBUF_DEFAULT_ROOM, "standard MTU: DPDK's default room");
        let jumbo =
            GOOD.replace("    addresses: [192.168.0.100/24]\n", "    addresses: [192.168.0.100/24]\n    mtu: 9000\n");
        let c = load_str("x.yaml", &jumbo).unwrap();
        assert_eq!(c.max_mtu(), 9000);
        assert!(c.mbuf_data_room() >= MBUF_HEADROOM + frame_len(9000), "{}", c.mbuf_data_room());
        // 16383 mbufs of ~9.5 KB do not fit in 64 MiB: refused at --check.
        let small = jumbo.replace("memory_mb: 256", "memory_mb: 128");
        let e = load_str("x.yaml", &small).unwrap_err();
        assert!(e.message.contains("dpdk.memory_mb 128 is too small"), "{e}");
        // The same memory is plenty at the standard MTU.
        load_str("x.yaml", &GOOD.replace("memory_mb: 256", "memory_mb: 128")).unwrap();
    }

    #[test]
    fn ipv6_table_size_defaults_to_a_quarter_and_zero_is_refused() {
        let c = load_str("x.yaml", GOOD).unwrap();
        assert_eq!(c.conn.ipv6_capacity(), (c.conn.table_size as usize / 4).max(1024));
        let set = format!("{GOOD}conn: {{ table_size6: 5000 }}\n");
        assert_eq!(load_str("x.yaml", &set).unwrap().conn.ipv6_capacity(), 5000);
        let zero = format!("{GOOD}conn: {{ table_size6: 0 }}\n");
        assert!(load_str("x.yaml", &zero).unwrap_err().message.contains("conn.table_size6 must be at least 1"));
    }

    #[test]
    fn duplicate_service_rejected() {
        let text = format!("{GOOD}  - vip: 172.25.254.100\n    port: 80\n    dests: []\n");
        let e = load_str("x.yaml", &text).unwrap_err();
        assert!(e.message.contains("defined twice"), "{e}");
    }

    #[test]
    fn ipv6_services_load_and_cross_family_tunnels_are_refused_with_a_location() {
        // Each file passes the family rules (NAT dests of the VIP's
        // family, a tunnel may cross); IPv6 services load, a tunnel
        // between families is refused (the data path keeps the family).
        let v6_nat = [
            ("- vip: 172.25.254.100", "- vip: 2001:db8::100"),
            ("addr: 192.168.0.10, fwd: nat", "addr: 2001:db8::10, fwd: nat"),
            ("addr: 192.168.0.20, port", "addr: 2001:db8::20, port"),
        ];
        let tun = [("{ addr: 192.168.0.10, fwd: nat }", "{ addr: 2001:db8::10, fwd: tun }")];
        let fwmark = [
            ("vip: 192.168.0.200, ports", "vip: 2001:db8::200, ports"),
            ("192.168.0.10, fwd: dr", "2001:db8::10, fwd: dr"),
        ];
        for (edits, refused) in [(&v6_nat[..], false), (&tun, true), (&fwmark, false)] {
            let mut text = GOOD.to_string();
            for (from, to) in edits {
                assert!(text.contains(from), "{from}");
                text = text.replace(from, to);
            }
            match load_str("v6.yaml", &text) {
                Ok(_) => assert!(!refused, "{text}"),
                Err(e) => {
                    assert!(refused, "{e}");
                    assert!(e.message.contains("tunnelling between address families"), "{e}");
                    assert!(e.line > 10, "{e}");
                }
            }
        }
    }
}
