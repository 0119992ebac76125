//! rvsd + rvsadm end to end in the NAT lab: listings, edits, transactional
//! restore, save/restore round trip, counters and rates, SIGHUP reload,
//! and 1,000 live changes while a download runs through the VIP — which
//! must finish intact, and keep running while its dest is drained.
//!
//! Needs root and the binaries in target/release (`./scripts/test.sh`).

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use rvs_tests::rvsd::binary;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const VIP: &str = "172.25.254.100:80";
const RS1: &str = "192.168.0.10:80";
const RS2: &str = "192.168.0.20:80";

struct Adm {
    socket: String,
}

impl Adm {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = Command::new(binary("rvsadm"));
        c.arg("--socket").arg(&self.socket).args(args);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn rvsadm");
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Run, assert success, return stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args, None);
        assert!(o.status.success(), "rvsadm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    fn restore(&self, text: &str) -> Output {
        self.run(&["-R"], Some(text))
    }
}

/// The line of a listing that starts with `prefix` (after trimming).
fn line<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
    out.lines().find(|l| l.trim_start().starts_with(prefix))
}

/// Numeric columns of a listing line.
fn nums(l: &str) -> Vec<u64> {
    l.split_whitespace().filter_map(|w| w.parse().ok()).collect()
}

fn rvsd_pid(lab: &Lab) -> String {
    let o = Command::new("ip").args(["netns", "pids", &format!("rvs{}-dir", lab.id)]).output().unwrap();
    let pids = String::from_utf8_lossy(&o.stdout).to_string();
    pids.split_whitespace()
        .find(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "rvsd"))
        .unwrap_or_else(|| panic!("no rvsd in the director namespace: {pids}"))
        .to_string()
}

#[test]
fn rvsadm_drives_a_live_director() {
    let lab = Lab::up("c", "nat", 1, None);
    let adm = Adm { socket: lab.state_dir().join("rvsd.sock").display().to_string() };
    let t0 = Instant::now();

    // The lab's service, both dests masqueraded.
    let l = adm.ok(&["-Ln"]);
    assert!(l.starts_with("IP Virtual Server version 1.2.1"), "{l}");
    assert!(line(&l, &format!("TCP  {VIP} rr")).is_some(), "{l}");
    for rs in [RS1, RS2] {
        assert!(line(&l, &format!("-> {rs}")).is_some_and(|x| x.contains("Masq    1")), "{l}");
    }

    // Counters rise with traffic.
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(lab.curl("http://172.25.254.100/"));
    }
    assert!(
        seen.iter().any(|s| s.starts_with("webserver1")) && seen.iter().any(|s| s.starts_with("webserver2")),
        "{seen:?}"
    );
    let st = adm.ok(&["-Ln", "--stats", "--exact"]);
    let svc = nums(line(&st, &format!("TCP  {VIP}")).unwrap());
    assert!(svc[svc.len() - 5] >= 4 && svc[svc.len() - 4] >= 20 && svc[svc.len() - 1] > 0, "{st}");

    // -a, -e -w 0, -d.
    adm.ok(&["-a", "-t", VIP, "-r", "192.168.0.30", "-m", "-w", "2"]);
    let l = adm.ok(&["-Ln", "-t", VIP]);
    assert!(line(&l, "-> 192.168.0.30:80").is_some_and(|x| x.contains("Masq    2")), "{l}");
    let dup = adm.run(&["-a", "-t", VIP, "-r", "192.168.0.30", "-m"], None);
    assert_eq!(dup.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("Destination already exists"));
    adm.ok(&["-e", "-t", VIP, "-r", "192.168.0.30", "-m", "-w", "0"]);
    assert!(line(&adm.ok(&["-Ln"]), "-> 192.168.0.30:80").is_some_and(|x| x.contains("Masq    0")));
    adm.ok(&["-d", "-t", VIP, "-r", "192.168.0.30"]);
    assert!(line(&adm.ok(&["-Ln"]), "-> 192.168.0.30").is_none());

    // A restore with an error on line 3 applies nothing; stderr is
    // ipvsadm's text alone, --verbose adds which line it was.
    let before = adm.ok(&["-S"]);
    let text = "-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 192.168.0.10 -m\n-a -t 10.1.1.2:80 -r 192.168.0.10 -m\n";
    let bad = adm.restore(text);
    assert_eq!(bad.status.code(), Some(255));
    assert_eq!(String::from_utf8_lossy(&bad.stderr), "Service not defined\n", "{bad:?}");
    let bad = adm.run(&["-R", "--verbose"], Some(text));
    assert_eq!(bad.status.code(), Some(255));
    assert_eq!(String::from_utf8_lossy(&bad.stderr), "Service not defined\nrvsadm: -R input line 3\n", "{bad:?}");
    assert_eq!(adm.ok(&["-S"]), before, "a failed restore changed the table");

    // -S → -C → -R gives back the same -S.
    adm.ok(&["-C"]);
    assert!(line(&adm.ok(&["-Ln"]), "TCP").is_none());
    let o = adm.restore(&before);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(adm.ok(&["-S"]), before);

    // SIGHUP re-reads the file; only services change, live.
    let cfg_path = lab.state_dir().join("rvsd.yaml");
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    let edited = cfg.replacen("{ addr: 192.168.0.20, fwd: nat }", "{ addr: 192.168.0.20, fwd: nat, weight: 3 }", 1);
    assert_ne!(edited, cfg, "lab config changed shape:\n{cfg}");
    std::fs::write(&cfg_path, &edited).unwrap();
    let pid = rvsd_pid(&lab);
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !line(&adm.ok(&["-Ln"]), &format!("-> {RS2}")).is_some_and(|x| x.contains("Masq    3")) {
        assert!(Instant::now() < deadline, "SIGHUP not applied:\n{}", lab.rvsd_log());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(&cfg_path, &cfg).unwrap();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    while !line(&adm.ok(&["-Ln"]), &format!("-> {RS2}")).is_some_and(|x| x.contains("Masq    1")) {
        assert!(Instant::now() < deadline, "SIGHUP not applied:\n{}", lab.rvsd_log());
        std::thread::sleep(Duration::from_millis(50));
    }

    live_changes_during_a_download(&lab, &adm);

    let w = adm.ok(&["--workers"]);
    assert!(w.starts_with("Workers (published generation") && w.contains("Mempool: free"), "{w}");
    let live = lab.settled();
    assert!(live.get("conns_created") > 0, "{}", live.source);
    let (c, log) = lab.down_counters();
    assert!(c.get("conns_created") >= live.get("conns_created"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    eprintln!("control_e2e: {:.1} s", t0.elapsed().as_secs_f64());
}

/// 1,000 rvsadm changes while a 100 MB download runs (20 s at 5 MB/s, so
/// it outlasts the changes on a loaded machine); then drain the dest
/// serving it: new requests go to the other one, the download finishes.
fn live_changes_during_a_download(lab: &Lab, adm: &Adm) {
    const BYTES: u64 = 100_000_000;
    let dl = Command::new("ip")
        .args([
            "netns",
            "exec",
            &format!("rvs{}-cli", lab.id),
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
        ])
        .args(["--max-time", "60", "--limit-rate", "5M"])
        .arg(format!("http://172.25.254.100/big?bytes={BYTES}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // The download's connection and the dest serving it.
    let serving = loop {
        let c = adm.ok(&["-Lnc"]);
        if let Some(l) = c.lines().find(|l| l.contains("ESTABLISHED") && l.contains(VIP)) {
            break l.split_whitespace().last().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no established connection:\n{c}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let other = if serving == RS1 { RS2 } else { RS1 };

    // 1,000 changes: other services and dests come and go, and the
    // weights of the live service's dests move (never to 0).
    let mut n = 0;
    let t = Instant::now();
    for i in 0..125 {
        let svc = format!("10.77.{}.{}:80", i / 200, i % 200 + 1);
        let steps: [Vec<String>; 8] = [
            vec!["-A".into(), "-t".into(), svc.clone(), "-s".into(), "wlc".into()],
            vec!["-a".into(), "-t".into(), svc.clone(), "-r".into(), "192.168.0.10".into(), "-m".into()],
            vec![
                "-a".into(),
                "-t".into(),
                svc.clone(),
                "-r".into(),
                "192.168.0.20".into(),
                "-m".into(),
                "-w".into(),
                "3".into(),
            ],
            vec![
                "-e".into(),
                "-t".into(),
                svc.clone(),
                "-r".into(),
                "192.168.0.10".into(),
                "-m".into(),
                "-w".into(),
                "5".into(),
            ],
            vec![
                "-e".into(),
                "-t".into(),
                VIP.into(),
                "-r".into(),
                other.into(),
                "-m".into(),
                "-w".into(),
                (1 + i % 4).to_string(),
            ],
            vec!["-d".into(), "-t".into(), svc.clone(), "-r".into(), "192.168.0.20".into()],
            vec!["-E".into(), "-t".into(), svc.clone(), "-s".into(), "rr".into()],
            vec!["-D".into(), "-t".into(), svc.clone()],
        ];
        for s in &steps {
            let args: Vec<&str> = s.iter().map(String::as_str).collect();
            adm.ok(&args);
            n += 1;
        }
    }
    assert_eq!(n, 1000);
    let changes = t.elapsed();
    adm.ok(&["-e", "-t", VIP, "-r", other, "-m", "-w", "1"]);

    // Rates are real during traffic: poll until the estimator shows the
    // download (OutBPS > 100 kB/s, InPPS > 0), within 10 s of its start.
    loop {
        let r = adm.ok(&["-Ln", "--rate", "--exact"]);
        let dest_rate = nums(line(&r, &format!("-> {serving}")).unwrap());
        if dest_rate[dest_rate.len() - 1] > 100_000 && dest_rate[dest_rate.len() - 4] > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "OutBPS/InPPS:\n{r}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Drain the serving dest: new requests go to the other one.
    adm.ok(&["-e", "-t", VIP, "-r", &serving, "-m", "-w", "0"]);
    let want = if other == RS1 { "webserver1" } else { "webserver2" };
    for _ in 0..4 {
        let body = lab.curl("http://172.25.254.100/");
        assert!(body.starts_with(want), "drained {serving} still got a new request: {body}");
    }
    let c = adm.ok(&["-Lnc"]);
    assert!(
        c.lines().any(|l| l.contains("ESTABLISHED") && l.ends_with(&serving)),
        "the download's entry is gone:\n{c}"
    );

    let out = dl.wait_with_output().unwrap();
    assert!(out.status.success(), "download failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), BYTES.to_string());
    adm.ok(&["-e", "-t", VIP, "-r", &serving, "-m", "-w", "1"]);
    eprintln!(
        "control_e2e: 1000 changes in {:.2} s; download {:.1} s",
        changes.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
