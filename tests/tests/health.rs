//! Issue 14, health checks end to end: rvsd's HTTP checks (every second,
//! `fall 2`, `rise 2`) leave through the exception path to the lab's real
//! servers. webserver2's web server is stopped the way an operator stops
//! it (it stops listening, finishes what it serves) while a client keeps
//! curling the VIP and slow downloads run: its weight goes to 0 in
//! `rvsadm -Ln`, every request afterwards is answered by webserver1, the
//! downloads complete byte for byte; started again, it is back in the rr
//! rotation after `rise` checks; an rvsadm edit in between keeps it
//! down. With every dest down, the sorry server answers (NAT).

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn rvsadm(lab: &Lab, args: &[&str]) -> String {
    let o =
        Command::new(rvs_tests::rvsd::binary("rvsadm")).arg("--socket").arg(lab.socket()).args(args).output().unwrap();
    assert!(o.status.success(), "rvsadm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `-Ln --health` line of a real server: (weight, health column).
fn dest_state(lab: &Lab, dest: &str) -> Option<(u32, String)> {
    let text = rvsadm(lab, &["-Ln", "--health"]);
    text.lines().find(|l| l.trim_start().starts_with(&format!("-> {dest} "))).map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        (w[3].parse().unwrap(), w.last().unwrap().to_string())
    })
}

/// Wait (at most `max`) until `dest`'s state satisfies `f`; how long it took.
fn wait_for(lab: &Lab, dest: &str, max: Duration, f: impl Fn(Option<&(u32, String)>) -> bool) -> Duration {
    let t0 = Instant::now();
    loop {
        let s = dest_state(lab, dest);
        if f(s.as_ref()) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < max,
            "{dest} still {s:?} after {max:?}:\n{}\n{}",
            rvsadm(lab, &["-Ln", "--health"]),
            lab.rvsd_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The PID of the process listening on TCP `port` in namespace `ns` (one
/// the lab started).
fn listener_pid(lab: &Lab, ns: &str, port: u16) -> u32 {
    let out = lab.sh(ns, &["ss", "-Htlnp", &format!("sport = :{port}")]);
    let i = out.find("pid=").unwrap_or_else(|| panic!("nobody listens on {port} in {ns}: {out}"));
    out[i + 4..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// Graceful stop of the lab web server on `port` in `ns` (see httpd.py).
fn stop_gracefully(lab: &Lab, ns: &str, port: u16) {
    let pid = listener_pid(lab, ns, port);
    assert!(Command::new("kill").args(["-USR1", &pid.to_string()]).status().unwrap().success());
    let t0 = Instant::now();
    while lab.sh(ns, &["ss", "-Htln", &format!("sport = :{port}")]).contains(&format!(":{port}")) {
        assert!(t0.elapsed() < Duration::from_secs(5), "{ns} still listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A web server the test started, killed by PID when dropped.
struct Server(Child);

impl Server {
    fn start(lab: &Lab, ns: &str, name: &str, addr: &str) -> Server {
        let httpd = rvs_tests::root().join("scripts/lab/httpd.py");
        let c = Command::new("ip")
            .args(["netns", "exec", &format!("rvs{}-{ns}", lab.id), "python3"])
            .arg(httpd)
            .args([name, addr, "80"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server(c);
        let t0 = Instant::now();
        while !lab.sh(ns, &["ss", "-Htln", "sport = :80"]).contains(":80") {
            assert!(t0.elapsed() < Duration::from_secs(5), "httpd did not start in {ns}");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Slow downloads from the client (curl with a rate limit), in the background.
struct Downloads(Vec<Child>);

const BIG: usize = 6 << 20;

impl Downloads {
    fn start(lab: &Lab, vip: &str, n: usize) -> Downloads {
        let url = format!("http://{vip}/big?bytes={BIG}");
        let d = (0..n)
            .map(|_| {
                Command::new("ip")
                    .args(["netns", "exec", &format!("rvs{}-cli", lab.id)])
                    .args(["curl", "-sS", "--max-time", "40", "--limit-rate", "1M", &url])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        Downloads(d)
    }

    /// Every download's whole body, checked byte for byte.
    fn finish(self) {
        let want = rvs_tests::lb::pattern(BIG);
        for c in self.0 {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "download failed: {}", String::from_utf8_lossy(&o.stderr));
            assert!(o.stdout == want, "download of {} bytes, not the {BIG} expected", o.stdout.len());
        }
    }
}

fn services(mode: &str) -> String {
    match mode {
        "nat" => "services:\n  - { vip: 172.25.254.100, port: 80, scheduler: rr, \
             health: { type: http, interval: 1, timeout: 1, fall: 2, rise: 2, path: / }, \
             sorry_server: { addr: 192.168.0.10, port: 443 }, \
             dests: [ { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }\n"
            .into(),
        _ => "services:\n  - { vip: 192.168.0.200, port: 80, scheduler: rr, \
             health: { type: http, interval: 1, timeout: 1, fall: 2, rise: 2, path: / }, \
             dests: [ { addr: 192.168.0.10, fwd: dr }, { addr: 192.168.0.20, fwd: dr } ] }\n"
            .into(),
    }
}

fn run(id: &str, mode: &str, workers: u32) {
    let file = std::env::temp_dir().join(format!("rvs-health-{id}.yaml"));
    std::fs::write(&file, services(mode)).unwrap();
    let lab = Lab::up(id, mode, workers, Some(file.to_str().unwrap()));
    let vip = if mode == "nat" { "172.25.254.100" } else { "192.168.0.200" };
    let (ws1, ws2) = ("192.168.0.10:80", "192.168.0.20:80");
    // Both checked and up.
    for d in [ws1, ws2] {
        wait_for(&lab, d, Duration::from_secs(10), |s| s == Some(&(1, "up".into())));
    }
    // ... after real checks (not only the state a dest starts in).
    let t0 = Instant::now();
    let json = loop {
        let j: serde_json::Value = serde_json::from_str(&rvsadm(&lab, &["-Ln", "--json"])).unwrap();
        if j["services"][0]["dests"].as_array().unwrap().iter().all(|d| d["health"]["checks"].as_u64() >= Some(2)) {
            break j;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "no checks: {j}\n{}", lab.rvsd_log());
        std::thread::sleep(Duration::from_millis(100));
    };
    let svc = &json["services"][0];
    assert_eq!(svc["quorum_up"], true, "{json}");
    for d in svc["dests"].as_array().unwrap() {
        assert_eq!(
            (d["health"]["state"].as_str(), d["health"]["check"].as_str()),
            (Some("up"), Some("http")),
            "{json}"
        );
        // (The very first check may time out: the kernel interface is still coming up.)
        assert_eq!(d["health"]["pending"], 0, "{json}");
    }

    // Downloads in flight to both servers, then webserver2 stops.
    let downloads = Downloads::start(&lab, vip, 4);
    let t0 = Instant::now();
    while !rvsadm(&lab, &["-Lnc"]).lines().any(|l| l.contains("ESTABLISHED") && l.contains(ws2)) {
        assert!(t0.elapsed() < Duration::from_secs(5), "no download reached webserver2");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop_gracefully(&lab, "rs2", 80);
    let stopped = Instant::now();
    // A client curls the VIP in a loop until webserver2 is quiesced; a
    // request that meets the stopped server in the meantime may fail.
    let mut during = (0, 0);
    let took = loop {
        let o = lab.exec("cli", &["curl", "-sS", "--max-time", "2", &format!("http://{vip}/")]);
        if o.status.success() {
            during.0 += 1;
        } else {
            during.1 += 1;
        }
        if dest_state(&lab, ws2).is_some_and(|s| s.0 == 0) {
            break stopped.elapsed();
        }
        assert!(stopped.elapsed() < Duration::from_secs(8), "webserver2 not quiesced:\n{}", lab.rvsd_log());
    };
    // fall 2 at one check a second: about 2 s, never more than 2 intervals + a timeout + publication.
    assert!(took < Duration::from_secs(5), "quiesced after {took:?}");
    let (w, h) = dest_state(&lab, ws2).unwrap();
    assert_eq!(w, 0);
    assert!(h.starts_with("down:"), "{h}");
    let log = lab.rvsd_log();
    assert!(log.contains(&format!("real server {ws2} is down after 2 failed http checks")), "{log}");
    // An edit of the service (a new generation, the checker re-synced)
    // keeps the down dest down: its check did not change.
    rvsadm(&lab, &["-E", "-t", &format!("{vip}:80"), "-s", "wrr"]);
    let kept = dest_state(&lab, ws2).unwrap();
    assert!(kept.0 == 0 && kept.1.starts_with("down:"), "after -E: {kept:?}");
    for i in 0..10 {
        let body = lab.curl(&format!("http://{vip}/"));
        assert_eq!(body.trim(), "webserver1 192.168.0.10", "request {i} after the quiesce");
    }
    // The open downloads (some on webserver2) complete.
    downloads.finish();

    // Started again: back after two good checks, and in the rotation.
    let again = Server::start(&lab, "rs2", "webserver2", "192.168.0.20");
    // rise 2 at 1 s: about 2 s; the bound leaves room for a loaded 2-core
    // machine (one run with 2 workers took over 5 s).
    let back = wait_for(&lab, ws2, Duration::from_secs(10), |s| s == Some(&(1, "up".into())));
    assert!(back < Duration::from_secs(8), "back after {back:?}");
    // wrr restarts its sequence when the weights change, on each worker:
    // a few requests reach both servers. (Seen once in CI: six in a row
    // reached webserver2; the table and health log now come with it.)
    let names: Vec<String> = (0..8).map(|_| lab.curl(&format!("http://{vip}/")).trim().to_string()).collect();
    let both = names.iter().any(|n| n.starts_with("webserver2")) && names.iter().any(|n| n.starts_with("webserver1"));
    assert!(both, "{names:?}\n{}\n{}", rvsadm(&lab, &["-Ln", "--json"]), lab.rvsd_log());
    assert!(lab.rvsd_log().contains(&format!("real server {ws2} is up after 2 good http checks")));

    if mode == "nat" {
        // Everything down: the sorry server (webserver1's port 443) answers.
        stop_gracefully(&lab, "rs1", 80);
        drop(again);
        wait_for(&lab, "192.168.0.10:443", Duration::from_secs(8), |s| s == Some(&(1, "sorry".into())));
        let list = rvsadm(&lab, &["-Ln", "--health"]);
        assert!(list.contains("quorum:down"), "{list}");
        let body = lab.curl(&format!("http://{vip}/"));
        assert_eq!(body.trim(), "webserver1 192.168.0.10", "{list}");
        let stats = rvsadm(&lab, &["-Ln", "--stats", "--exact"]);
        let sorry = stats.lines().find(|l| l.contains("192.168.0.10:443")).unwrap();
        assert!(sorry.split_whitespace().nth(2).unwrap().parse::<u64>().unwrap() >= 1, "{stats}");
        assert!(lab.rvsd_log().contains("lost its quorum; the sorry server takes new connections"));
        // -S keeps the configured weights: the checks never edit the configuration.
        let saved = rvsadm(&lab, &["-Sn"]);
        assert!(saved.contains("-r 192.168.0.20:80 -m -w 1") && !saved.contains("443"), "{saved}");
    } else {
        drop(again);
    }
    eprintln!(
        "{mode} {workers}w: quiesced {took:?} after the stop ({} ok / {} failed meanwhile), back {back:?}",
        during.0, during.1
    );
    let c = rvs_tests::lb::finish(lab);
    assert!(c.get("kernel_up") > 0 && c.get("kernel_down") > 0, "{}", c.source);
    let _ = std::fs::remove_file(file);
}

#[test]
fn nat_one_worker() {
    run("h1", "nat", 1);
}

#[test]
fn nat_two_workers() {
    run("h2", "nat", 2);
}

#[test]
fn dr_one_worker() {
    run("h3", "dr", 1);
}

#[test]
fn dr_two_workers() {
    run("h4", "dr", 2);
}
