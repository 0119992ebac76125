//! `scripts/demo.sh` runs in CI, so the seed labs it shows cannot rot: the
//! DR capture (only the MACs change on the way to the real server) and the
//! fwmark port group (one client's http and https on one server once the
//! service is persistent). `--no-build`: the binaries test.sh built.

use std::process::Command;
use std::sync::Mutex;

/// Both demos share the machine's two cores: one at a time.
static DEMO_LOCK: Mutex<()> = Mutex::new(());

/// Run `demo.sh MODE` on lab ID and return its output; it must succeed
/// (its own checks exit 1) and have torn its namespaces down.
fn demo(id: &str, mode: &str) -> String {
    rvs_tests::require_root();
    let _lock = DEMO_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let script = rvs_tests::root().join("scripts/demo.sh");
    let out = Command::new(script).args(["--no-build", "--id", id, mode]).output().expect("run demo.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "demo.sh {mode} failed ({}):\n{text}", out.status);
    let ns = Command::new("ip").args(["netns", "list"]).output().expect("ip netns list");
    let left = String::from_utf8_lossy(&ns.stdout).lines().filter(|l| l.starts_with(&format!("rvs{id}-"))).count();
    assert_eq!(left, 0, "demo.sh {mode} left namespaces behind");
    // Every mbuf back in the pool when rvsd stopped.
    let fin = rvs_tests::rvsd::final_counters(&text);
    assert!(fin.mempool_at_baseline(), "demo.sh {mode}: mbuf leak:\n{}", fin.source);
    text
}

/// The rows of dr_macs.py's table: field -> (before, after, changed mark).
fn table(text: &str) -> Vec<(String, String)> {
    let start = text.find("first pair:").expect("no dr_macs table");
    text[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let field = l.split_whitespace().next().unwrap_or("").to_string();
            (field, l.to_string())
        })
        .collect()
}

#[test]
fn dr_demo_only_macs_change() {
    let text = demo("hddr", "dr");
    assert!(text.contains("dr_macs: OK"), "{text}");
    let rows = table(&text);
    let changed: Vec<&str> = rows.iter().filter(|(_, l)| l.contains("<- changed")).map(|(f, _)| f.as_str()).collect();
    assert_eq!(changed, ["eth.dst", "eth.src"], "{text}");
    let hop: Vec<&str> = rows.iter().filter(|(_, l)| l.contains("<- hop")).map(|(f, _)| f.as_str()).collect();
    assert!(hop.iter().all(|f| *f == "ip.ttl" || *f == "ip.checksum"), "{text}");
    for (field, want) in [("ip.src", "172.25.254.200"), ("ip.dst", "192.168.0.200"), ("tcp.dport", "80")] {
        let (_, line) = rows.iter().find(|(f, _)| f == field).unwrap_or_else(|| panic!("no {field} row:\n{text}"));
        assert_eq!(line.matches(want).count(), 2, "{field} not {want} on both sides:\n{text}");
    }
    // The frames came from the router and left the director for webserver1.
    let dst = &rows.iter().find(|(f, _)| f == "eth.dst").unwrap().1;
    assert!(dst.contains("(director)") && dst.contains("(webserver1)"), "{text}");
    assert!(text.contains("rvsd: final counters"), "{text}");
}

#[test]
fn fwmark_demo_one_server_for_both_ports() {
    let text = demo("hdfw", "fwmark");
    let picks = |prefix: &str| -> Vec<(u16, String)> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| {
                let (port, who) = l.split_once(" -> ").expect("port -> server");
                (port.parse().expect("port"), who.split_whitespace().next().unwrap_or("").to_string())
            })
            .collect()
    };
    // Not persistent: one rr over both ports alternates the servers.
    let rr = picks("rr: port ");
    assert_eq!(rr.len(), 6, "{text}");
    assert!(rr.windows(2).all(|w| w[0].1 != w[1].1), "rr did not alternate across ports: {rr:?}");
    // Persistent: every request on either port to the same server.
    let sticky = picks("persistent: port ");
    assert_eq!(sticky.len(), 6, "{text}");
    assert!(sticky.iter().any(|p| p.0 == 80) && sticky.iter().any(|p| p.0 == 443), "{sticky:?}");
    assert!(sticky.iter().all(|p| p.1 == sticky[0].1 && p.1.starts_with("webserver")), "{sticky:?}");
    assert!(text.contains("FWM  66 rr persistent 300"), "{text}");
}
