//! Issue 16, graceful drain on one director (DR lab): `rvsadm --drain`
//! while a slow download runs. rvsd keeps serving — the download
//! completes byte for byte and new connections made during the drain are
//! answered — and exits on its own once no connection is ESTABLISHED,
//! long before the drain's timeout, with every mbuf back. The route
//! withdrawal itself is checked against BIRD in ctrl/tests/bird_announce.rs
//! and in the ECMP lab (tests/tests/scaleout.rs).

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BYTES: usize = 1_500_000;

fn rvsd_alive(lab: &Lab) -> bool {
    let pid = std::fs::read_to_string(lab.state_dir().join("rvsd.pid")).expect("rvsd.pid");
    Command::new("kill").args(["-0", pid.trim()]).stderr(Stdio::null()).status().unwrap().success()
}

#[test]
fn drain_serves_established_and_new_connections_then_exits() {
    let dir = std::env::temp_dir().join(format!("rvs-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("services.yaml");
    std::fs::write(
        &file,
        "shutdown: { drain_timeout: 5 }\nservices:\n  - { vip: 192.168.0.200, port: 80, scheduler: mh, dests: [ { addr: 192.168.0.10, fwd: dr }, { addr: 192.168.0.20, fwd: dr } ] }\n",
    )
    .unwrap();
    let lab = Lab::up("dn", "dr", 1, Some(file.to_str().unwrap()));
    // About 5 s at 300 kB/s.
    let url = format!("http://192.168.0.200/big?bytes={BYTES}");
    let download = Command::new("ip")
        .args([
            "netns",
            "exec",
            "rvsdn-cli",
            "curl",
            "-sS",
            "--limit-rate",
            "300k",
            "--max-time",
            "30",
            "-o",
            "-",
            &url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let out = Command::new(rvs_tests::rvsd::binary("rvsadm"))
        .arg("--socket")
        .arg(lab.socket())
        .args(["--drain", "60"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "rvsadm --drain: {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("rvsd is draining") && said.contains(": 1 established connections"), "{said}");
    let t0 = Instant::now();
    // New connections during the drain are served.
    for _ in 0..5 {
        let body = lab.curl("http://192.168.0.200/");
        assert!(body.starts_with("webserver"), "{body}");
    }
    assert!(rvsd_alive(&lab), "rvsd left while a connection was established:\n{}", lab.rvsd_log());
    let done = download.wait_with_output().unwrap();
    assert!(done.status.success(), "download failed: {}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(done.stdout, rvs_tests::lb::pattern(BYTES), "the download is intact");
    let ended = t0.elapsed();
    // Gone soon after the last connection (checked every 200 ms), well
    // before the 60 s timeout.
    let t1 = Instant::now();
    while rvsd_alive(&lab) {
        assert!(
            t1.elapsed() < Duration::from_secs(5),
            "rvsd still runs 5 s after the last connection:\n{}",
            lab.rvsd_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = lab.rvsd_log();
    assert!(log.contains("drain: routes withdrawn"), "{log}");
    assert!(log.contains("drain: over after") && log.contains(", 0 established connections left"), "{log}");
    eprintln!(
        "download ended {:.1} s into the drain; rvsd exited {:.2} s later",
        ended.as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
    // rvsd is gone: its final counters (in the log) must show every mbuf
    // back and no unexpected drop.
    let (c, _) = lab.down_counters();
    rvs_tests::lb::check_drops(&c);
    assert!(c.get("conns_created") >= 6, "{c:?}");
    std::fs::remove_dir_all(&dir).ok();
}
