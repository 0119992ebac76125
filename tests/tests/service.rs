//! rvsd as a service: systemd readiness (sd_notify), its logs in both
//! formats, the rate-limited drop warning, and rvsadm-save/-restore (the
//! rules service's tools) against a running daemon. rvsd runs on net_pcap
//! (a frame file in, a file out), so no namespace or network is involved.

use etherparse::PacketBuilder;
use rvs_tests::{pcap, rvsd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const OUR_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// A fresh directory, an rx pcap holding one SYN to 10.0.0.1:80 (a
/// service without dests: dropped as `no_dest`, a resource drop that
/// warns at once), and a config with `log` as given.
fn setup(name: &str, log: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rvs-service-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, OUR_MAC)
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .tcp(40000, 80, 1, 1024)
        .syn()
        .write(&mut syn, &[])
        .unwrap();
    let rx = dir.join("rx.pcap");
    pcap::write(&rx, &[syn]).unwrap();
    let cfg = dir.join("rvsd.yaml");
    std::fs::write(
        &cfg,
        format!(
            "dpdk: {{ memory_mb: 256, mbufs: 4095, file_prefix: rvs-service-{name}-{pid} }}\ncontrol: {{ socket: {sock} }}\n{log}\
             interfaces:\n  - {{ name: p0, device: 'net_pcap0,rx_pcap={rx},tx_pcap={tx}', addresses: [10.0.0.1/24] }}\n\
             services:\n  - {{ vip: 10.0.0.1, port: 80, proto: tcp, scheduler: rr, dests: [] }}\n",
            pid = std::process::id(),
            rx = rx.display(),
            tx = dir.join("tx.pcap").display(),
            sock = dir.join("rvsd.sock").display()
        ),
    )
    .unwrap();
    (dir, cfg)
}

fn wait_log(d: &rvsd::Rvsd, what: &str) {
    let t = Instant::now();
    while !d.output().contains(what) {
        assert!(t.elapsed() < Duration::from_secs(15), "no {what:?} in the log:\n{}", d.output());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next datagram rvsd sends to the notify socket.
fn next_notify(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("a notification from rvsd within the timeout");
    String::from_utf8_lossy(&buf[..n]).trim_end().to_string()
}

fn signal(pid: u32, sig: &str) {
    assert!(Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success());
}

#[test]
fn sd_notify_readiness_reload_and_stop_and_text_logs() {
    rvs_tests::require_root();
    let (dir, cfg) = setup("notify", "");
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // As systemd runs it: RuntimeDirectory=rvs sets $RUNTIME_DIRECTORY,
    // which DPDK takes for its own runtime directory.
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let mut cmd = Command::new(rvsd::binary("rvsd"));
    cmd.env("NOTIFY_SOCKET", &path).env("RUNTIME_DIRECTORY", &run).env_remove("RUST_LOG");
    let d = rvsd::Rvsd::start_cmd(cmd, &cfg, &dir.join("rvsd.log"));
    let dpdk_run = run.join(format!("dpdk/rvs-service-notify-{}", std::process::id()));
    assert!(dpdk_run.is_dir(), "DPDK's runtime directory is not under $RUNTIME_DIRECTORY: {}", dpdk_run.display());
    let ready = next_notify(&sock);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    // READY=1 comes only after the log says ready (every worker holds its tables).
    assert!(d.output().contains("rvsd: ready"), "{}", d.output());
    signal(d.pid(), "-HUP");
    assert_eq!(next_notify(&sock), "RELOADING=1");
    assert_eq!(next_notify(&sock), "READY=1");
    wait_log(&d, "rvsd: reload: no change");
    // The SYN to the dest-less service: one warning, at level WARN.
    wait_log(&d, "rvsd: WARN drops: 1 no_dest since the last report (total 1)");
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    assert_eq!(next_notify(&sock), "STOPPING=1");
    assert!(!dpdk_run.exists(), "{} left behind", dpdk_run.display());
    // Text format: every line is rvsd's, and the final counters block
    // parses as before.
    assert!(out.lines().next().is_some_and(|l| l.starts_with("rvsd: EAL ")), "{out}");
    let fin = rvsd::final_counters(&out);
    assert_eq!(fin.drop("no_dest"), 1, "{}", fin.source);
    assert!(fin.mempool_at_baseline(), "mbuf leak:\n{}", fin.source);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_logs_are_one_object_per_line() {
    rvs_tests::require_root();
    let (dir, cfg) = setup("json", "log: { level: info, format: json }\n");
    let mut cmd = Command::new(rvsd::binary("rvsd"));
    cmd.env_remove("RUST_LOG").env_remove("NOTIFY_SOCKET");
    let d = rvsd::Rvsd::start_cmd(cmd, &cfg, &dir.join("rvsd.log"));
    wait_log(&d, "drops: 1 no_dest");
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    let mut messages = Vec::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let level = v["level"].as_str().unwrap_or_else(|| panic!("no level: {line}"));
        assert!(v["timestamp"].is_string(), "no timestamp: {line}");
        messages.push((level.to_string(), v["message"].as_str().unwrap_or_default().to_string()));
    }
    assert!(messages.iter().any(|(l, m)| l == "INFO" && m.starts_with("ready: ")), "{out}");
    assert!(messages.iter().any(|(l, m)| l == "WARN" && m.starts_with("drops: 1 no_dest")), "{out}");
    // The exit report stays one event.
    let fin = messages.iter().find(|(_, m)| m.starts_with("final counters\n")).expect("final counters event");
    assert!(fin.1.contains("    drop no_dest: 1"), "{}", fin.1);
    // The same block as in text, so it parses the same: no mbuf leaked.
    let c = rvsd::final_counters(&format!("rvsd: {}\n", fin.1));
    assert!(c.mempool_at_baseline(), "mbuf leak:\n{}", fin.1);
    std::fs::remove_dir_all(&dir).ok();
}

fn tool(name: &str, sock: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut c = Command::new(rvs_tests::root().join("packaging").join(name));
    c.args(args)
        .env("RVSADM", rvsd::binary("rvsadm"))
        .env("RVSADM_SOCKET", sock)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let input = stdin.unwrap_or("").to_string();
    let mut si = child.stdin.take().unwrap();
    let w = std::thread::spawn(move || si.write_all(input.as_bytes()));
    let o = child.wait_with_output().unwrap();
    let _ = w.join();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn rvsadm(sock: &Path, args: &[&str]) -> String {
    let o = Command::new(rvsd::binary("rvsadm")).args(args).env("RVSADM_SOCKET", sock).output().unwrap();
    assert!(o.status.success(), "rvsadm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn rvsadm_save_and_restore_round_trip_the_table() {
    rvs_tests::require_root();
    let (dir, cfg) = setup("rules", "");
    let d = rvsd::Rvsd::start(&cfg, &dir.join("rvsd.log"));
    let sock = dir.join("rvsd.sock");
    rvsadm(&sock, &["-A", "-t", "10.0.0.1:443", "-s", "wlc", "-p", "600"]);
    rvsadm(&sock, &["-a", "-t", "10.0.0.1:443", "-r", "10.0.0.20", "-g", "-w", "3"]);
    let table = rvsadm(&sock, &["-Sn"]);
    // Like ipvsadm-save: the table on stdout.
    let (code, out, err) = tool("rvsadm-save", &sock, &["-n"], None);
    assert_eq!((code, out.as_str()), (0, table.as_str()), "{err}");
    // The rules service's form: written to a file.
    let rules = dir.join("rules");
    let (code, _, err) = tool("rvsadm-save", &sock, &["-n", "--file", rules.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), table);
    // Change the table, then restore the file over it, clearing first: the
    // saved table comes back exactly.
    rvsadm(&sock, &["-D", "-t", "10.0.0.1:443"]);
    rvsadm(&sock, &["-A", "-u", "10.0.0.1:53", "-s", "rr"]);
    let (code, _, err) = tool("rvsadm-restore", &sock, &["--clear-first", "--file", rules.to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rvsadm(&sock, &["-Sn"]), table);
    // Like ipvsadm-restore, from stdin; a bad line changes nothing.
    let (code, _, err) =
        tool("rvsadm-restore", &sock, &[], Some("-A -t 10.0.0.1:8080 -s rr\n-a -t 10.0.0.1:8080 -r x -w 1\n"));
    assert_ne!(code, 0, "a bad line must fail: {err}");
    assert_eq!(rvsadm(&sock, &["-Sn"]), table, "a failed restore changed the table");
    let (code, _, err) = tool("rvsadm-restore", &sock, &[], Some("-A -t 10.0.0.1:8080 -s rr\n"));
    assert_eq!(code, 0, "{err}");
    assert!(rvsadm(&sock, &["-Sn"]).contains("-A -t 10.0.0.1:8080 -s rr"));
    // First boot: no rules file yet is not an error, and changes nothing.
    let missing = dir.join("none");
    let (code, out, _) = tool("rvsadm-restore", &sock, &["--clear-first", "--file", missing.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to restore"), "{out}");
    assert!(rvsadm(&sock, &["-Sn"]).contains("10.0.0.1:8080"));
    let (code, out) = d.stop();
    assert_eq!(code, 0, "{out}");
    assert!(rvsd::final_counters(&out).mempool_at_baseline(), "mbuf leak:\n{out}");
    std::fs::remove_dir_all(&dir).ok();
}
