//! Scale-out with connection sync: three directors behind the ECMP router
//! (scripts/lab-ecmp.sh) schedule with `wlc`, which is not consistent
//! across directors (each decides by its own counts), and run IPVS's sync
//! daemon as master and backup (`--sync on`: multicast over the lab
//! bridge) with `sloppy_tcp` off. So a stream survives a director only
//! because the survivors hold the entry the victim synced: a survivor with
//! no entry drops the mid-stream packet (`conn_no_syn`), and one that
//! scheduled it afresh could pick the other real server.
//!
//! RVS_SYNC_FAILOVER=off runs the same without sync: the negative control
//! (streams must break; not part of the suite's expectations).

#![forbid(unsafe_code)]

use rvs_tests::ecmp::{dip, open_streams, rs_addr, Client, EcmpLab, VIP};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const STREAMS: usize = 100;

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

#[test]
fn wlc_failover_survives_on_synced_connections() {
    let sync = std::env::var("RVS_SYNC_FAILOVER").map(|v| v != "off").unwrap_or(true);
    let lab = EcmpLab::up(
        "ss1",
        3,
        "dr",
        true,
        &["--sched", "wlc", "--sloppy", "off", "--sync", if sync { "on" } else { "off" }],
    );
    assert_eq!(lab.vip_nexthops().len(), 3);
    // 40 chunks 0.5 s apart: ~20 s per stream, most of it after the kill.
    let (streams, opened) = open_streams(&lab, STREAMS, 40, 10);
    let answered: BTreeMap<u16, &str> = opened["conns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["sport"].as_u64().unwrap() as u16, rs_addr(c["server"].as_str().unwrap())))
        .collect();
    let servers: std::collections::BTreeSet<&&str> = answered.values().collect();
    assert!(servers.len() > 1, "wlc put every stream on one real server: {servers:?}");

    // Who scheduled what: conns_created counts only the director's own
    // (installed entries are not created). More than one in use.
    let created: Vec<u64> = (1..=3).map(|i| lab.counters(i).get("conns_created")).collect();
    eprintln!("scaleout_sync: connections scheduled per director {created:?}");
    assert!(created.iter().filter(|&&n| n > 0).count() > 1, "ECMP used one director only: {created:?}");
    assert!(created.iter().sum::<u64>() >= STREAMS as u64, "{created:?}");

    if sync {
        // Every director holds every stream, to the real server that
        // answered it: its own entries and those synced from the others.
        let t = Instant::now();
        loop {
            let missing: Vec<String> = (1..=3)
                .flat_map(|i| {
                    let m = lab.conns(i);
                    answered
                        .iter()
                        .filter(|(p, rs)| m.get(p).map(String::as_str) != Some(**rs))
                        .map(|(p, rs)| format!("d{i} :{p}->{rs} has {:?}", m.get(p)))
                        .collect::<Vec<_>>()
                })
                .collect();
            if missing.is_empty() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "not synced after 5 s: {missing:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
        for i in 1..=3 {
            let d = lab.sync_daemon(i);
            eprintln!(
                "scaleout_sync: d{i} sync sent {} conns in {} msgs, received {} in {}",
                d["conns_sent"], d["msgs_sent"], d["conns_received"], d["msgs_received"]
            );
            assert!(d["bad_messages"].as_u64() == Some(0) && d["send_errors"].as_u64() == Some(0), "d{i}: {d}");
        }
    }

    let prober = Client::start(
        &lab,
        "prober.py",
        &[&format!("http://{VIP}/"), "--every", "0.1", "--duration", "10", "--max-time", "2"],
    );
    std::thread::sleep(Duration::from_secs(2));

    let victim = (1..=3u32).max_by_key(|&i| created[i as usize - 1]).unwrap();
    let survivors: Vec<u32> = (1..=3).filter(|&i| i != victim).collect();
    let promoted_before: Vec<u64> = survivors.iter().map(|&i| lab.counters(i).get("sync_promoted")).collect();
    let t_kill = now();
    assert!(Command::new("kill").args(["-KILL", &lab.rvsd_pid(victim).to_string()]).status().unwrap().success());
    let t = Instant::now();
    while lab.vip_nexthops().contains(&dip(victim)) {
        assert!(t.elapsed() < Duration::from_secs(10), "the router still routes {VIP} via d{victim} after 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t_conv = now();
    eprintln!("scaleout_sync: d{victim} killed; router converged in {:.3} s", t_conv - t_kill);

    let probes = prober.json();
    let res = streams.json();
    let results = probes["results"].as_array().unwrap();
    let after: Vec<&serde_json::Value> =
        results.iter().filter(|r| r["t"].as_f64().unwrap() > t_conv && !r["ok"].as_bool().unwrap()).collect();
    let probes_after = results.iter().filter(|r| r["t"].as_f64().unwrap() > t_conv).count();
    eprintln!(
        "scaleout_sync: {} probes, {} failed ({} after convergence, of {probes_after})",
        probes["probes"],
        probes["failed"],
        after.len()
    );

    let promoted: Vec<u64> = survivors.iter().map(|&i| lab.counters(i).get("sync_promoted")).collect();
    let risen: u64 = promoted.iter().zip(&promoted_before).map(|(a, b)| a - b).sum();
    let drops: Vec<String> = survivors.iter().map(|&i| format!("d{i} {:?}", lab.counters(i).drops())).collect();
    eprintln!("scaleout_sync: survivors {survivors:?} promoted {promoted_before:?} -> {promoted:?}; drops {drops:?}");
    let broken: Vec<String> = res["conns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"].as_str() != Some("completed"))
        .map(|c| format!("{}->{} {} after {} bytes {}", c["sport"], c["server"], c["status"], c["bytes"], c["error"]))
        .collect();
    assert!(
        broken.is_empty(),
        "{} of {STREAMS} streams broke (d{victim} scheduled {}; sync {sync}); survivors' drops {drops:?}:\n{}",
        broken.len(),
        created[victim as usize - 1],
        broken.join("\n")
    );
    assert_eq!(res["completed"].as_u64(), Some(STREAMS as u64), "{res}");
    assert!(probes_after >= 30, "too few probes after convergence to mean anything: {probes_after}");
    assert!(after.is_empty(), "new connections failed after the router converged: {after:?}");
    // Each of the victim's streams reached a survivor as a synced entry
    // and was promoted by its first packet there (the router's rehash may
    // move some of the survivors' own streams between them too: more).
    let victims = created[victim as usize - 1];
    assert!(risen >= victims, "survivors promoted {risen} synced entries; d{victim} had scheduled {victims}");
    // The survivors gave every mbuf back, live and at shutdown.
    for &i in &survivors {
        let c = lab.mempool_settled(i);
        assert!(c.mempool_at_baseline(), "d{i}: mempool not at baseline:\n{}", c.source);
    }
    let state = lab.state_dir();
    lab.down();
    for &i in &survivors {
        let log = std::fs::read_to_string(state.join(format!("d{i}/rvsd.log"))).unwrap();
        assert!(rvs_tests::counters::final_counters(&log).mempool_at_baseline(), "d{i}: mbuf leak at shutdown:\n{log}");
    }
}

/// One `rvsadm -Lnc` line: (state, expire seconds, client, virtual, dest).
fn lnc(lab: &EcmpLab, i: u32) -> Vec<(String, u32, String, String, String)> {
    lab.adm(i, &["-Lnc"])
        .lines()
        .filter(|l| l.starts_with("TCP "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 6, "unexpected -Lnc line {l:?}");
            let (m, s) = w[1].split_once(':').unwrap();
            let expire = m.parse::<u32>().unwrap() * 60 + s.parse::<u32>().unwrap();
            (w[2].to_string(), expire, w[3].to_string(), w[4].to_string(), w[5].to_string())
        })
        .collect()
}

fn n(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("no count {k:?} in {v}"))
}

/// Wire compatibility with a kernel master: scripts/lab/ipvs_sync_send.py
/// builds a version 1 message from the kernel's struct layout (not from
/// rvs's encoder) and multicasts it from a real server's namespace on the
/// lab LAN, as a kernel director would; rvsd installs what it names, and
/// ignores a message of another syncid; and what rvsd sends reads as a
/// kernel backup would read it.
#[test]
fn kernel_format_sync_message_is_installed() {
    let lab = EcmpLab::up("ss2", 1, "dr", true, &["--sched", "wlc", "--sync", "on"]);
    let d0 = lab.sync_daemon(1);
    let installed0 = lab.counters(1).get("sync_installed");
    let send = |syncid: &str, conns: &[&str]| {
        let mut args = vec!["--ifaddr", "192.168.0.10", "--syncid", syncid];
        for c in conns {
            args.extend(["--conn", c]);
        }
        let out = Client::start_in(&lab, "rs1", "ipvs_sync_send.py", &args).json();
        eprintln!("scaleout_sync: sent {out}");
        // 8-byte header and a 36-byte record per connection.
        assert_eq!(n(&out, "bytes") as usize, 8 + 36 * conns.len(), "{out}");
    };
    send(
        "1",
        &["10.0.1.77:43210,192.168.0.200:80,192.168.0.10:80", "10.0.1.78:43211,192.168.0.200:80,192.168.0.20:80"],
    );
    let want = [("10.0.1.77:43210", "192.168.0.10:80"), ("10.0.1.78:43211", "192.168.0.20:80")];
    let t = Instant::now();
    let found = loop {
        let l = lnc(&lab, 1);
        let found: Vec<_> =
            want.iter().filter_map(|(c, d)| l.iter().find(|e| e.2 == *c && e.4 == *d).cloned()).collect();
        if found.len() == want.len() {
            break found;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "not installed after 5 s: -Lnc {l:?}, daemon {}",
            lab.sync_daemon(1)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("scaleout_sync: installed {found:?}");
    for (state, expire, _, vip, _) in &found {
        assert_eq!(state, "ESTABLISHED", "{found:?}");
        assert_eq!(vip, "192.168.0.200:80", "{found:?}");
        // The master's 900 s, not the backup's own ESTABLISHED timeout.
        assert!((880..=900).contains(expire), "expire {expire} s, sent 900: {found:?}");
    }
    let d1 = lab.sync_daemon(1);
    assert_eq!(n(&d1, "msgs_received") - n(&d0, "msgs_received"), 1, "{d1}");
    assert_eq!(n(&d1, "conns_received") - n(&d0, "conns_received"), 2, "{d1}");
    assert_eq!((n(&d1, "bad_messages"), n(&d1, "other_syncid"), n(&d1, "conns_skipped")), (0, 0, 0), "{d1}");
    let installed1 = lab.counters(1).get("sync_installed");
    assert_eq!(installed1 - installed0, 2);

    // Another syncid: counted, not installed.
    send("2", &["10.0.1.79:43212,192.168.0.200:80,192.168.0.10:80"]);
    let t = Instant::now();
    while n(&lab.sync_daemon(1), "other_syncid") == n(&d1, "other_syncid") {
        assert!(t.elapsed() < Duration::from_secs(5), "other_syncid did not rise: {}", lab.sync_daemon(1));
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let d2 = lab.sync_daemon(1);
    assert_eq!(n(&d2, "other_syncid") - n(&d1, "other_syncid"), 1, "{d2}");
    assert_eq!(n(&d2, "conns_received"), n(&d1, "conns_received"), "{d2}");
    let l = lnc(&lab, 1);
    assert!(!l.iter().any(|e| e.2 == "10.0.1.79:43212"), "syncid 2 installed: {l:?}");
    assert_eq!(lab.counters(1).get("sync_installed"), installed1);

    // The other way: what rvsd sends, decoded by the kernel's layout
    // (scripts/lab/ipvs_sync_recv.py, joined to the group in rs2).
    let recv = Client::sync_recv(&lab);
    let body = lab.sh("cli", &["curl", "-sS", "--max-time", "2", &format!("http://{VIP}/")]);
    let rs = rs_addr(body.split_whitespace().next().unwrap_or(""));
    let got = recv.json();
    assert_eq!(got["errors"].as_array().map(Vec::len), Some(0), "{got}");
    let msgs = got["msgs"].as_array().unwrap();
    let conns: Vec<&serde_json::Value> = msgs.iter().flat_map(|m| m["conns"].as_array().unwrap()).collect();
    for m in msgs {
        assert_eq!((n(m, "reserved"), n(m, "syncid"), n(m, "version"), n(m, "spare")), (0, 1, 1, 0), "{m}");
        assert_eq!(m["from"].as_str(), Some(dip(1).as_str()), "{m}");
    }
    // IP_VS_TCP_S_ESTABLISHED with the kernel's 900 s: the threshold packet.
    let est = conns.iter().find(|c| n(c, "state") == 1).unwrap_or_else(|| panic!("no ESTABLISHED record in {got}"));
    assert_eq!(
        (n(est, "type"), n(est, "protocol"), n(est, "size"), n(est, "flags"), n(est, "timeout")),
        (0, 6, 36, 3, 900),
        "{est}"
    );
    assert_eq!(
        (est["caddr"].as_str(), est["vaddr"].as_str(), est["daddr"].as_str(), n(est, "vport"), n(est, "dport")),
        (Some("10.0.1.2"), Some(VIP), Some(rs), 80, 80),
        "{est}"
    );
    eprintln!(
        "scaleout_sync: rvsd sent {} records in {} messages, as the kernel reads them: {got}",
        conns.len(),
        msgs.len()
    );
    let c = lab.mempool_settled(1);
    assert!(c.mempool_at_baseline(), "mempool not at baseline:\n{}", c.source);
    let state = lab.state_dir();
    lab.down();
    let log = std::fs::read_to_string(state.join("d1/rvsd.log")).unwrap();
    assert!(rvs_tests::counters::final_counters(&log).mempool_at_baseline(), "mbuf leak at shutdown:\n{log}");
}
