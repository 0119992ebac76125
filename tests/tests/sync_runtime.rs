//! `rvsadm --start-daemon` / `--stop-daemon` on a running director, as
//! ipvsadm drives IPVS: a backup started at run time installs what a
//! kernel-format master multicasts, a master started at run time sends
//! what the kernel's layout reads; ipvsadm's errors for a second daemon of
//! a role, for stopping one that does not run and for an unknown
//! interface; `-L --daemon` as ipvsadm prints it.
//!
//! Needs root and the binaries in target/release (`./scripts/test.sh`).

#![forbid(unsafe_code)]

use rvs_tests::ecmp::{rs_addr, Client, EcmpLab, VIP};
use std::time::{Duration, Instant};

fn fails(lab: &EcmpLab, args: &[&str], code: i32, stderr: &str) {
    let o = lab.adm_output(1, args);
    assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stderr).as_ref()), (Some(code), stderr), "rvsadm {args:?}");
}

#[test]
fn daemons_start_and_stop_at_run_time() {
    let lab = EcmpLab::up("sr1", 1, "dr", false, &["--sched", "wlc", "--sync", "off"]);
    assert_eq!(lab.adm(1, &["-L", "--daemon"]), "", "no daemon at boot");
    fails(&lab, &["--stop-daemon", "master"], 255, "No daemon is running\n");
    fails(&lab, &["--start-daemon", "master", "--mcast-interface", "eth9"], 255, "No such device\n");
    fails(&lab, &["--start-daemon", "primary"], 2, "illegal start-daemon parameter specified\n");

    // A backup, started now, installs a kernel master's message.
    lab.adm(1, &["--start-daemon", "backup", "--mcast-interface", "lan", "--syncid", "1"]);
    fails(&lab, &["--start-daemon", "backup", "--mcast-interface", "lan"], 255, "Daemon has already run\n");
    assert_eq!(
        lab.adm(1, &["-L", "--daemon"]),
        "backup sync daemon (mcast=lan, syncid=1, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
    let sent = Client::start_in(
        &lab,
        "rs1",
        "ipvs_sync_send.py",
        &["--ifaddr", "192.168.0.10", "--syncid", "1", "--conn", "10.0.1.77:43210,192.168.0.200:80,192.168.0.10:80"],
    )
    .json();
    eprintln!("sync_runtime: sent {sent}");
    let t = Instant::now();
    while !lab.adm(1, &["-Lnc"]).contains("10.0.1.77:43210") {
        assert!(t.elapsed() < Duration::from_secs(5), "not installed: {}", lab.adm(1, &["-L", "--daemon", "--json"]));
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.adm(1, &["--stop-daemon", "backup"]);
    assert_eq!(lab.adm(1, &["-L", "--daemon"]), "");
    fails(&lab, &["--stop-daemon", "backup"], 255, "No daemon is running\n");

    // A master, started now, sends a connection through the VIP.
    lab.adm(1, &["--start-daemon", "master", "--mcast-interface", "lan", "--syncid", "7", "--sync-maxlen", "1000"]);
    assert_eq!(
        lab.adm(1, &["-L", "--daemon"]),
        "master sync daemon (mcast=lan, syncid=7, maxlen=1000, group=224.0.0.81, port=8848, ttl=1)\n"
    );
    let recv = Client::sync_recv(&lab);
    let body = lab.sh("cli", &["curl", "-sS", "--max-time", "2", &format!("http://{VIP}/")]);
    let rs = rs_addr(body.split_whitespace().next().unwrap_or(""));
    let got = recv.json();
    let msgs = got["msgs"].as_array().expect("msgs");
    assert!(!msgs.is_empty(), "the master sent nothing: {got}");
    assert!(msgs.iter().all(|m| m["syncid"].as_u64() == Some(7)), "{got}");
    let conns: Vec<&serde_json::Value> = msgs.iter().flat_map(|m| m["conns"].as_array().unwrap()).collect();
    assert!(conns.iter().any(|c| c["daddr"].as_str() == Some(rs)), "no record for {rs}: {got}");
    lab.adm(1, &["--stop-daemon", "master"]);
    assert_eq!(lab.adm(1, &["-L", "--daemon"]), "");
    let c = lab.mempool_settled(1);
    assert!(c.mempool_at_baseline(), "mempool not at baseline:\n{}", c.source);
    lab.down();
}
