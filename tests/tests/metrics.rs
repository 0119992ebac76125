//! Issue 15: rvsd's Prometheus endpoint scraped by a real Prometheus
//! server (Debian's `prometheus`), both inside the lab's director
//! namespace, while real curl traffic crosses the NAT lab. The test
//! queries Prometheus's HTTP API: `rate(rvs_dest_packets_in_total[..])`
//! is up for both real servers while traffic flows, and once it stops the
//! stored counters equal what `rvsadm -Ln --stats --exact` prints.

#![forbid(unsafe_code)]

use rvs_tests::lab::Lab;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const METRICS: &str = "127.0.0.1:9410";
const PROM: &str = "127.0.0.1:9090";

/// The NAT lab's default services plus the metrics endpoint (lab.sh
/// appends this file to the configuration it writes).
const EXTRA: &str = "services:
  - { vip: 172.25.254.100, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: nat }, { addr: 192.168.0.20, fwd: nat } ] }
metrics: { listen: 127.0.0.1:9410 }
";

/// Prometheus, started by this test in the director namespace; killed by
/// PID when dropped.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prometheus(lab: &Lab) -> Prometheus {
    let dir = lab.state_dir().join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             scrape_configs:\n  - job_name: rvsd\n    static_configs: [ {{ targets: ['{METRICS}'] }} ]\n"
        ),
    )
    .unwrap();
    let ns = format!("rvs{}-dir", lab.id);
    let child = Command::new("ip")
        .args(["netns", "exec", &ns, "prometheus"])
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={PROM}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus (installed by scripts/setup.sh)");
    let p = Prometheus(child);
    let t0 = Instant::now();
    while lab.exec("dir", &["curl", "-sf", &format!("http://{PROM}/-/ready")]).status.code() != Some(0) {
        assert!(t0.elapsed() < Duration::from_secs(30), "prometheus not ready:\n{}", log(lab));
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

fn log(lab: &Lab) -> String {
    std::fs::read_to_string(lab.state_dir().join("prometheus/prometheus.log")).unwrap_or_default()
}

/// An instant query through Prometheus's HTTP API: (remote_address, value)
/// of each series.
fn query(lab: &Lab, q: &str) -> Vec<(String, f64)> {
    let url = format!("http://{PROM}/api/v1/query");
    let out = lab.sh("dir", &["curl", "-sS", "--max-time", "5", &url, "--data-urlencode", &format!("query={q}")]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["status"], "success", "{out}");
    let rows = v["data"]["result"].as_array().unwrap_or_else(|| panic!("no result: {out}"));
    rows.iter()
        .map(|r| {
            let who = r["metric"]["remote_address"].as_str().unwrap_or("").to_string();
            let val = r["value"][1].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("value: {r}"));
            (who, val)
        })
        .collect()
}

/// `rvsadm -Ln --stats --exact`: InPkts of each real server.
fn rvsadm_inpkts(lab: &Lab) -> Vec<(String, f64)> {
    let o = Command::new(rvs_tests::rvsd::binary("rvsadm"))
        .arg("--socket")
        .arg(lab.socket())
        .args(["-Ln", "--stats", "--exact"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut v: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["->", addr, _conns, inpkts, ..] if addr.contains(':') => {
                    Some((addr.split(':').next()?.to_string(), inpkts.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(v.len(), 2, "{text}");
    v
}

#[test]
fn prometheus_scrapes_rvsd_and_agrees_with_rvsadm() {
    let file = std::env::temp_dir().join("rvs-metrics-extra.yaml");
    std::fs::write(&file, EXTRA).unwrap();
    let lab = Lab::up("pm", "nat", 1, Some(file.to_str().unwrap()));
    assert!(lab.rvsd_log().contains(&format!("rvsd: metrics on http://{METRICS}/metrics")), "{}", lab.rvsd_log());
    // The endpoint itself: OpenMetrics text, 404 elsewhere.
    let text = lab.sh("dir", &["curl", "-sS", &format!("http://{METRICS}/metrics")]);
    assert!(text.contains("# TYPE rvs_dest_packets_in counter") && text.trim_end().ends_with("# EOF"), "{text}");
    let code = lab.sh("dir", &["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{METRICS}/")]);
    assert_eq!(code, "404");

    let _prom = start_prometheus(&lab);
    // About 8 s of requests, 10 a second, spread by rr over both servers.
    let mut traffic = Command::new("ip")
        .args(["netns", "exec", &format!("rvs{}-cli", lab.id), "sh", "-c"])
        .arg("for i in $(seq 1 80); do curl -s -o /dev/null --max-time 2 http://172.25.254.100/; sleep 0.1; done")
        .spawn()
        .unwrap();
    // While it runs, Prometheus sees both servers' packet rates rise.
    let t0 = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let rates = query(&lab, "rate(rvs_dest_packets_in_total[3s])");
        if rates.len() == 2 && rates.iter().all(|(_, r)| *r > 1.0) {
            break;
        }
        let seen = query(&lab, "count_over_time(rvs_dest_packets_in_total[10s])");
        assert!(
            t0.elapsed() < Duration::from_secs(7),
            "no rate for both servers while traffic flows: {rates:?} (samples {seen:?})\n{}",
            log(&lab)
        );
    }
    assert!(traffic.wait().unwrap().success());
    // Traffic over: after a few more scrapes Prometheus holds the final
    // counters, which must be rvsadm's.
    let want = rvsadm_inpkts(&lab);
    let t0 = Instant::now();
    loop {
        let mut got = query(&lab, "rvs_dest_packets_in_total");
        got.sort_by(|a, b| a.0.cmp(&b.0));
        if got == want {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "Prometheus {got:?} vs rvsadm {want:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(want.iter().all(|(_, n)| *n >= 200.0), "{want:?}");
    // Worker and pool series are scraped too.
    assert_eq!(query(&lab, "rvs_mempool_free_mbufs == rvs_mempool_baseline_mbufs").len(), 1);
    assert!(query(&lab, "rvs_worker_rx_packets_total")[0].1 > 0.0);
    drop(_prom);
    std::fs::remove_file(&file).ok();
    let c = lab.settled();
    assert!(c.mempool_at_baseline(), "{}", c.source);
    lab.down();
}
