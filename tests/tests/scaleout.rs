//! Issue 16, scale-out: three directors announce the VIP over eBGP to an
//! ECMP router (BIRD 2, `merge paths`, L4 multipath hash), all with the
//! same `mh` service and `sloppy_tcp`. 100 long-lived downloads spread over
//! the directors; one director's rvsd is SIGKILLed (its BIRD lives on, but
//! the BGP session rode rvsd's exception path and dies, BFD notices); the
//! router drops that next hop; the streams it carried reach the survivors
//! mid-stream, which schedule them (sloppy_tcp) to the same real server
//! (the same Maglev table everywhere), so none breaks, and no new
//! connection fails once the router has converged. Then a second
//! director is drained (`rvsadm --drain`): its route is withdrawn at
//! once, its streams move to the last director, and again nothing fails.

#![forbid(unsafe_code)]

use rvs_tests::ecmp::{dip, open_streams, rs_addr, Client, EcmpLab, VIP};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const STREAMS: u64 = 100;

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn count(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("no count {k:?} in {v}"))
}

#[test]
fn director_failover_keeps_streams() {
    // BFD (detection in ~0.5 s) by default; RVS_SCALEOUT_BFD=off leaves
    // the failover to the BGP hold timer (3 s) instead.
    let bfd = std::env::var("RVS_SCALEOUT_BFD").map(|v| v != "off").unwrap_or(true);
    // RVS_SCALEOUT_MODE=tun runs it over IPIP (the lab's decapsulator).
    let mode = std::env::var("RVS_SCALEOUT_MODE").unwrap_or_else(|_| "dr".into());
    // RVS_SCALEOUT_SLOPPY=off: the negative control (streams must break).
    let sloppy = std::env::var("RVS_SCALEOUT_SLOPPY").unwrap_or_else(|_| "on".into());
    let lab = EcmpLab::up("sc1", 3, &mode, bfd, &["--sloppy", &sloppy]);
    assert_eq!(lab.vip_nexthops().len(), 3, "{}", lab.birdc(None, &["show", "route", "all"]));
    if lab.announcer() != "rvsd" {
        eprintln!("scaleout: this rvsd has no `announce:`; the lab announced the VIP by hand");
    }
    // 50 chunks 0.5 s apart: each stream lasts ~25 s, so it needs ACKs
    // (through whichever director the router picks) well after the failover.
    let (streams, opened) = open_streams(&lab, STREAMS as usize, 50, 15);
    let servers: std::collections::BTreeSet<&str> =
        opened["conns"].as_array().unwrap().iter().map(|c| c["server"].as_str().unwrap()).collect();
    assert!(servers.len() > 1, "mh-port put every stream on one real server: {servers:?}");

    // Per director, the connections it holds: every stream on exactly one
    // director, to the real server that answered it, and more than one
    // director in use.
    let answered: BTreeMap<u16, &str> = opened["conns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["sport"].as_u64().unwrap() as u16, rs_addr(c["server"].as_str().unwrap())))
        .collect();
    let before: Vec<BTreeMap<u16, String>> = (1..=3).map(|i| lab.conns(i)).collect();
    let per_dir: Vec<usize> = before.iter().map(BTreeMap::len).collect();
    eprintln!("scaleout: streams per director {per_dir:?}, real servers {servers:?}");
    for (port, rs) in &answered {
        let on: Vec<(usize, &String)> =
            before.iter().enumerate().filter_map(|(d, m)| m.get(port).map(|r| (d + 1, r))).collect();
        assert!(on.len() == 1 && on[0].1 == rs, "stream :{port} (answered by {rs}) on directors {on:?}");
    }
    assert_eq!(per_dir.iter().sum::<usize>(), STREAMS as usize, "{before:?}");
    assert!(per_dir.iter().filter(|&&n| n > 0).count() > 1, "ECMP used one director only: {per_dir:?}");

    // New connections every 100 ms across the failover.
    let prober = Client::start(
        &lab,
        "prober.py",
        &[&format!("http://{VIP}/"), "--every", "0.1", "--duration", "14", "--max-time", "2"],
    );
    std::thread::sleep(Duration::from_secs(2));

    // SIGKILL the busiest director's rvsd (its streams must move).
    let victim = (1..=3).max_by_key(|&i| per_dir[i as usize - 1]).unwrap();
    let survivors: Vec<u32> = (1..=3).filter(|&i| i != victim).collect();
    let pid = lab.rvsd_pid(victim);
    let t_kill = now();
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    let gone = dip(victim);
    let t = Instant::now();
    while lab.vip_nexthops().contains(&gone) {
        assert!(t.elapsed() < Duration::from_secs(10), "the router still routes {VIP} via {gone} after 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t_conv = now();
    let hops = lab.vip_nexthops();
    eprintln!(
        "scaleout: d{victim} killed; ({mode}, bfd {bfd}) router converged in {:.3} s; next hops now {hops:?}",
        t_conv - t_kill
    );
    assert_eq!(hops.len(), 2, "{hops:?}");

    // Then planned maintenance: drain a survivor (`rvsadm --drain`). Its
    // route goes at once; the streams it carried move to the last
    // director, and the drained one still forwards what reaches it
    // meanwhile, so nothing may fail for this either.
    std::thread::sleep(Duration::from_secs(2));
    let drained = survivors[0];
    let t_drain = now();
    let o = Command::new(rvs_tests::rvsd::binary("rvsadm"))
        .arg("--socket")
        .arg(lab.socket(drained))
        .arg("--drain=120")
        .output()
        .unwrap();
    assert!(o.status.success(), "rvsadm --drain: {}", String::from_utf8_lossy(&o.stderr));
    let t = Instant::now();
    while lab.vip_nexthops().contains(&dip(drained)) {
        assert!(t.elapsed() < Duration::from_secs(5), "the router still routes {VIP} via d{drained} after a drain");
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("scaleout: d{drained} drained; its route withdrawn in {:.3} s", now() - t_drain);
    assert_eq!(lab.vip_nexthops().len(), 1);

    let probes = prober.json();
    let res = streams.json();
    let failed: Vec<&serde_json::Value> =
        probes["results"].as_array().unwrap().iter().filter(|r| !r["ok"].as_bool().unwrap()).collect();
    for f in &failed {
        let at = f["t"].as_f64().unwrap();
        eprintln!("scaleout: probe failed at kill{:+.3} s ({}s): {}", at - t_kill, f["dt"], f["error"]);
    }
    let after: Vec<_> = failed.iter().filter(|f| f["t"].as_f64().unwrap() > t_conv).collect();
    let probes_after =
        probes["results"].as_array().unwrap().iter().filter(|r| r["t"].as_f64().unwrap() > t_conv).count();
    eprintln!(
        "scaleout: {} probes, {} failed ({} after convergence, of {probes_after})",
        count(&probes, "probes"),
        failed.len(),
        after.len()
    );
    assert!(probes_after >= 30, "too few probes after convergence to mean anything: {probes_after}");
    assert!(after.is_empty(), "new connections failed after the router converged: {after:?}");

    // What the survivors dropped explains a broken stream (conn_no_syn:
    // a mid-stream packet they would not schedule).
    let survivor_drops: Vec<String> =
        survivors.iter().map(|&i| format!("d{i} {:?}", lab.counters(i).drops())).collect();
    let broken: Vec<String> = res["conns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"].as_str() != Some("completed"))
        .map(|c| format!("{}->{} {} after {} bytes {}", c["sport"], c["server"], c["status"], c["bytes"], c["error"]))
        .collect();
    assert!(
        broken.is_empty(),
        "{} of {STREAMS} streams broke (the victim carried {}); survivors' drops {survivor_drops:?}:\n{}",
        broken.len(),
        per_dir[victim as usize - 1],
        broken.join("\n")
    );
    assert_eq!((count(&res, "opened"), count(&res, "completed"), count(&res, "broken")), (STREAMS, STREAMS, 0));

    // The victim's streams reached the survivors mid-stream and were
    // scheduled (sloppy_tcp) to the real server they had (the same
    // Maglev table on every director).
    let after: Vec<BTreeMap<u16, String>> = survivors.iter().map(|&i| lab.conns(i)).collect();
    let lost: Vec<String> = before[victim as usize - 1]
        .iter()
        .filter(|(port, rs)| !after.iter().any(|m| m.get(port) == Some(rs)))
        .map(|(port, rs)| format!(":{port}->{rs} now {:?}", after.iter().map(|m| m.get(port)).collect::<Vec<_>>()))
        .collect();
    assert!(lost.is_empty(), "victim's streams not on a survivor with the same real server: {lost:?}");

    // The survivors' invariants: every mbuf back, no loss for want of
    // buffers, ring space or neighbours.
    for &i in &survivors {
        // The drained director may have finished its drain and exited:
        // its final counters (below) still count.
        if i == drained && !std::path::Path::new(&format!("/proc/{}", lab.rvsd_pid(i))).exists() {
            eprintln!("scaleout: d{i} finished draining and exited");
            continue;
        }
        let c = lab.mempool_settled(i);
        for d in ["no_mbuf", "tx_full", "kernel_full", "neigh_failed", "conn_table_full"] {
            assert_eq!(c.drop(d), 0, "d{i}: drop {d}:\n{}", c.source);
        }
        eprintln!("scaleout: d{i} drops {:?}", c.drops());
    }
    let state = lab.state_dir();
    lab.down();
    for &i in &survivors {
        let log = std::fs::read_to_string(state.join(format!("d{i}/rvsd.log"))).unwrap();
        let fin = rvs_tests::counters::final_counters(&log);
        assert!(fin.mempool_at_baseline(), "d{i}: mbuf leak at shutdown:\n{log}");
    }
}
