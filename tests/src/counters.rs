//! rvsd's counters, read strictly.
//!
//! Two sources, both parsed so that a changed format fails the test
//! instead of reading as zero: `rvsadm --workers --json` while rvsd runs,
//! and the "final counters" block rvsd prints when it stops. A counter a
//! test asks for that the source does not carry is a panic; a drop
//! counter is absent only when it is zero (both sources list non-zero
//! drops only), so drop names are checked against the data path's own
//! list of reasons: a misspelt or renamed drop cannot pass as "0".

use rvs_dataplane::drop::DropReason;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Per-worker counters every worker reports (JSON names).
const WORKER_FIELDS: &[&str] = &[
    "rx_pkts",
    "tx_pkts",
    "redirect_in",
    "redirect_out",
    "arp_replies",
    "arp_requests",
    "arp_learned",
    "icmp_echo",
    "kernel_up",
    "kernel_down",
    "conns_created",
];

/// Port counters (rte_eth_stats) the final block prints for each port.
const PORT_FIELDS: &[&str] = &["ipackets", "opackets", "imissed", "rx_nombuf", "oerrors"];

/// One DPDK port's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub fields: BTreeMap<String, u64>,
    /// The link state, where the source reports it (the final block).
    pub link: Option<bool>,
}

impl Port {
    pub fn get(&self, k: &str) -> u64 {
        *self.fields.get(k).unwrap_or_else(|| panic!("port {}: no counter {k:?} in {:?}", self.name, self.fields))
    }
}

/// Counters summed over workers, the mempool and the ports.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub workers: usize,
    sums: BTreeMap<String, u64>,
    /// Per worker, the same counters.
    pub per_worker: Vec<BTreeMap<String, u64>>,
    drops: BTreeMap<String, u64>,
    pub mempool_free: u64,
    pub mempool_baseline: u64,
    pub mempool_size: u64,
    pub ports: Vec<Port>,
    /// The text these came from, for failure messages.
    pub source: String,
}

/// A drop counter's name, checked against the data path's reasons.
fn known_drop(name: &str) -> bool {
    DropReason::ALL.iter().any(|r| r.name() == name)
}

impl Counters {
    /// A summed worker counter (e.g. "rx_pkts"); panics if rvsd did not
    /// report it.
    pub fn get(&self, k: &str) -> u64 {
        *self.sums.get(k).unwrap_or_else(|| panic!("no counter {k:?} in:\n{}", self.source))
    }

    /// A drop counter summed over workers; panics on a name that is not a
    /// drop reason of the data path.
    pub fn drop(&self, name: &str) -> u64 {
        assert!(known_drop(name), "{name:?} is not a drop reason (dataplane/src/drop.rs)");
        self.drops.get(name).copied().unwrap_or(0)
    }

    /// The non-zero drop counters (a source may list zeros too).
    pub fn drops(&self) -> &BTreeMap<String, u64> {
        &self.drops
    }

    /// Take `n` drops of `name` that happened before the test began off
    /// the count (see `Lab::startup_tx_full`). Panics if fewer were
    /// counted: a counter never goes backwards.
    pub fn forgive(&mut self, name: &str, n: u64) {
        if n == 0 {
            return;
        }
        let have = self.drop(name);
        assert!(have >= n, "{name} went from {n} to {have}:\n{}", self.source);
        if have == n {
            self.drops.remove(name);
        } else {
            self.drops.insert(name.to_string(), have - n);
        }
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.values().sum()
    }

    /// The port named `name` (the DPDK device name, e.g. "net_tap0").
    pub fn port(&self, name: &str) -> &Port {
        self.ports.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no port {name:?} in:\n{}", self.source))
    }

    pub fn mempool_at_baseline(&self) -> bool {
        self.mempool_free == self.mempool_baseline
    }

    fn add_worker(&mut self, w: BTreeMap<String, u64>) {
        for (k, v) in &w {
            *self.sums.entry(k.clone()).or_default() += v;
        }
        self.per_worker.push(w);
        self.workers += 1;
    }

    fn add_drop(&mut self, name: &str, v: u64) -> Result<(), String> {
        if !known_drop(name) {
            return Err(format!("unknown drop counter {name:?}"));
        }
        if v > 0 {
            *self.drops.entry(name.to_string()).or_default() += v;
        }
        Ok(())
    }

    /// Parse `rvsadm --workers --json`.
    pub fn from_workers_json(text: &str) -> Result<Counters, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e}):\n{text}"))?;
        let mut c = Counters { source: text.to_string(), ..Counters::default() };
        let num = |o: &serde_json::Value, k: &str, what: &str| -> Result<u64, String> {
            o.get(k).and_then(serde_json::Value::as_u64).ok_or_else(|| format!("{what}: {k:?} missing or not a count"))
        };
        let workers = v.get("workers").and_then(|w| w.as_array()).ok_or("no \"workers\" array")?;
        if workers.is_empty() {
            return Err("no workers".into());
        }
        for (i, w) in workers.iter().enumerate() {
            let what = format!("worker {i}");
            if num(w, "id", &what)? != i as u64 {
                return Err(format!("{what}: id out of order"));
            }
            let mut m = BTreeMap::new();
            for k in WORKER_FIELDS.iter().chain(&[
                "conns",
                "conns_expired",
                "polls",
                "idle_polls",
                "icmp_err_suppressed",
                "sync_queued",
                "sync_lost",
                "sync_installed",
                "sync_refused",
                "sync_promoted",
            ]) {
                m.insert(k.to_string(), num(w, k, &what)?);
            }
            let drops = w.get("drops").and_then(|d| d.as_object()).ok_or_else(|| format!("{what}: no drops"))?;
            let mut total = 0;
            for (name, n) in drops {
                let n = n.as_u64().ok_or_else(|| format!("{what}: drop {name} not a count"))?;
                c.add_drop(name, n)?;
                total += n;
            }
            m.insert("drops".into(), total);
            c.add_worker(m);
        }
        let mp = v.get("mempool").ok_or("no mempool")?;
        c.mempool_free = num(mp, "free", "mempool")?;
        c.mempool_baseline = num(mp, "baseline", "mempool")?;
        c.mempool_size = num(mp, "size", "mempool")?;
        for p in v.get("ports").and_then(|p| p.as_array()).ok_or("no ports array")? {
            let name = p.get("name").and_then(|n| n.as_str()).ok_or("port without a name")?.to_string();
            let mut fields = BTreeMap::new();
            for k in PORT_FIELDS.iter().chain(&["ibytes", "obytes", "ierrors"]) {
                fields.insert(k.to_string(), num(p, k, &format!("port {name}"))?);
            }
            c.ports.push(Port { name, fields, link: None });
        }
        Ok(c)
    }

    /// Parse the block rvsd prints after "rvsd: final counters". Every
    /// worker line must carry every counter, the drop lines must add up to
    /// the worker's `drops`, and the mempool line must be there.
    pub fn from_final_log(log: &str) -> Result<Counters, String> {
        let tail = log.split("rvsd: final counters\n").nth(1).ok_or("no \"rvsd: final counters\" block")?;
        let mut c = Counters { source: log.to_string(), ..Counters::default() };
        let mut pending: Option<(BTreeMap<String, u64>, u64)> = None;
        let mut mempool = false;
        let finish = |c: &mut Counters, p: Option<(BTreeMap<String, u64>, u64)>| -> Result<(), String> {
            if let Some((m, listed)) = p {
                if m["drops"] != listed {
                    return Err(format!(
                        "worker {}: drops {} but the drop lines add up to {listed}",
                        c.workers, m["drops"]
                    ));
                }
                c.add_worker(m);
            }
            Ok(())
        };
        for line in tail.lines() {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("worker ") {
                finish(&mut c, pending.take())?;
                let (id, kv) = rest.split_once(": ").ok_or_else(|| format!("bad worker line {l:?}"))?;
                if id.parse::<usize>().ok() != Some(c.workers) {
                    return Err(format!("worker line out of order: {l:?}"));
                }
                let mut m = pairs(kv).map_err(|e| format!("{l:?}: {e}"))?;
                for (from, to) in [("rx", "rx_pkts"), ("tx", "tx_pkts")] {
                    if let Some(v) = m.remove(from) {
                        m.insert(to.into(), v);
                    }
                }
                for k in WORKER_FIELDS.iter().chain(&["drops"]) {
                    if !m.contains_key(*k) {
                        return Err(format!("{l:?}: no {k}"));
                    }
                }
                pending = Some((m, 0));
            } else if let Some(rest) = l.strip_prefix("drop ") {
                let (name, v) = rest.split_once(": ").ok_or_else(|| format!("bad drop line {l:?}"))?;
                let v: u64 = v.trim().parse().map_err(|_| format!("bad count in {l:?}"))?;
                let p = pending.as_mut().ok_or_else(|| format!("drop line outside a worker: {l:?}"))?;
                p.1 += v;
                c.add_drop(name, v)?;
            } else if let Some(rest) = l.strip_prefix("port ") {
                finish(&mut c, pending.take())?;
                let (head, kv) = rest.split_once("): ").ok_or_else(|| format!("bad port line {l:?}"))?;
                let name = head.split_once(" (").map(|(_, n)| n).ok_or_else(|| format!("bad port line {l:?}"))?;
                // "link up|down" is the one word that is not a count.
                let (kv, link) = match kv.split_once(" link ") {
                    Some((a, rest)) => {
                        let (state, more) = rest.split_once(' ').unwrap_or((rest, ""));
                        if state != "up" && state != "down" {
                            return Err(format!("{l:?}: link {state:?}"));
                        }
                        (format!("{a} {more}"), Some(state == "up"))
                    }
                    None => (kv.to_string(), None),
                };
                let fields = pairs(&kv).map_err(|e| format!("{l:?}: {e}"))?;
                for k in PORT_FIELDS {
                    if !fields.contains_key(*k) {
                        return Err(format!("{l:?}: no {k}"));
                    }
                }
                c.ports.push(Port { name: name.to_string(), fields, link });
            } else if let Some(rest) = l.strip_prefix("mempool: ") {
                finish(&mut c, pending.take())?;
                let m = pairs(rest).map_err(|e| format!("{l:?}: {e}"))?;
                let g = |k: &str| m.get(k).copied().ok_or_else(|| format!("{l:?}: no {k}"));
                c.mempool_free = g("free")?;
                c.mempool_baseline = g("baseline")?;
                c.mempool_size = g("size")?;
                mempool = true;
                break;
            }
        }
        finish(&mut c, pending.take())?;
        if c.workers == 0 {
            return Err("no worker lines".into());
        }
        if !mempool {
            return Err("no mempool line".into());
        }
        Ok(c)
    }
}

/// "k1 v1 k2 v2 ..." → map; every value must be a count.
fn pairs(s: &str) -> Result<BTreeMap<String, u64>, String> {
    let w: Vec<&str> = s.split_whitespace().collect();
    if !w.len().is_multiple_of(2) {
        return Err("odd number of words".into());
    }
    let mut m = BTreeMap::new();
    for kv in w.chunks(2) {
        let v = kv[1].parse().map_err(|_| format!("{} = {:?} is not a count", kv[0], kv[1]))?;
        m.insert(kv[0].to_string(), v);
    }
    Ok(m)
}

/// The final counters of a stopped rvsd; panics (with the log) when the
/// block is absent or malformed.
pub fn final_counters(log: &str) -> Counters {
    Counters::from_final_log(log).unwrap_or_else(|e| panic!("final counters: {e}\n--- log ---\n{log}"))
}

/// `rvsadm --workers --json` against the control socket `socket`.
pub fn live(socket: &Path) -> Counters {
    let out = Command::new(crate::rvsd::binary("rvsadm"))
        .arg("--socket")
        .arg(socket)
        .args(["--workers", "--json"])
        .output()
        .expect("run rvsadm");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "rvsadm --workers --json: {}", String::from_utf8_lossy(&out.stderr));
    Counters::from_workers_json(&text).unwrap_or_else(|e| panic!("rvsadm --workers --json: {e}\n{text}"))
}

/// Poll `socket` until `ok` holds (or panic after `timeout`, with the last
/// counters and `what`).
pub fn wait_for(socket: &Path, timeout: Duration, what: &str, ok: impl Fn(&Counters) -> bool) -> Counters {
    let t = Instant::now();
    loop {
        let c = live(socket);
        if ok(&c) {
            return c;
        }
        assert!(t.elapsed() < timeout, "after {timeout:?}, still not {what}:\n{}", c.source);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Poll until the traffic has settled: every mbuf back in the pool and
/// rx unchanged between two reads 200 ms apart. The counters then.
pub fn settled(socket: &Path, timeout: Duration) -> Counters {
    let t = Instant::now();
    let mut last = live(socket);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let c = live(socket);
        if c.mempool_at_baseline() && c.get("rx_pkts") == last.get("rx_pkts") {
            return c;
        }
        assert!(t.elapsed() < timeout, "after {timeout:?}, mempool not at baseline or rx still moving:\n{}", c.source);
        last = c;
    }
}

/// [`settled`], and the ports' counters caught up with the workers'.
/// rvsd refreshes the port view every 200 ms, so right after traffic a
/// port's `ipackets` may still lag the workers' `rx_pkts`; a test that
/// balances one against the other waits for them to agree (every frame a
/// port received is one a worker took in).
pub fn settled_with_ports(socket: &Path, timeout: Duration) -> Counters {
    let t = Instant::now();
    loop {
        let c = settled(socket, timeout);
        let ports: u64 = c.ports.iter().map(|p| p.get("ipackets")).sum();
        if ports == c.get("rx_pkts") {
            return c;
        }
        assert!(t.elapsed() < timeout, "after {timeout:?}, ports received {ports}, workers counted:\n{}", c.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "rvsd: ready\nrvsd: final counters\n  worker 0: rx 10 tx 4 redirect_in 0 redirect_out 1 arp_replies 1 arp_requests 0 arp_learned 0 icmp_echo 2 icmp_err_sent 0 frags_out 0 kernel_up 0 kernel_down 0 conns_created 3 drops 5\n    drop no_service: 2\n    drop ip_bad_csum: 3\n  worker 1: rx 1 tx 1 redirect_in 1 redirect_out 0 arp_replies 0 arp_requests 0 arp_learned 0 icmp_echo 0 icmp_err_sent 0 frags_out 0 kernel_up 0 kernel_down 0 conns_created 0 drops 0\n  port 0 (net_tap0): ipackets 11 opackets 5 imissed 0 rx_nombuf 0 oerrors 0 link up link_changes 0\n  mempool: free 8000 baseline 8000 size 8191\n";

    #[test]
    fn final_block_parses() {
        let c = Counters::from_final_log(LOG).unwrap();
        assert_eq!((c.workers, c.get("rx_pkts"), c.get("tx_pkts"), c.get("redirect_in")), (2, 11, 5, 1));
        assert_eq!((c.drop("no_service"), c.drop("ip_bad_csum"), c.drop("no_dest"), c.total_drops()), (2, 3, 0, 5));
        assert_eq!(c.port("net_tap0").get("ipackets"), 11);
        assert_eq!((c.port("net_tap0").link, c.port("net_tap0").get("link_changes")), (Some(true), 0));
        assert!(c.mempool_at_baseline());
    }

    #[test]
    fn final_block_is_strict() {
        assert!(Counters::from_final_log("rvsd: ready\n").is_err(), "no block");
        let no_mempool = LOG.replace("  mempool: free 8000 baseline 8000 size 8191\n", "");
        assert!(Counters::from_final_log(&no_mempool).is_err());
        let renamed = LOG.replace("icmp_echo 2", "echo 2");
        assert!(Counters::from_final_log(&renamed).is_err());
        let garbled = LOG.replace("rx 10", "rx ten");
        assert!(Counters::from_final_log(&garbled).is_err());
        let unknown = LOG.replace("drop no_service", "drop no_such_reason");
        assert!(Counters::from_final_log(&unknown).is_err());
        let link = LOG.replace("link up", "link sideways");
        assert!(Counters::from_final_log(&link).is_err());
        let short = LOG.replace("drops 5", "drops 6");
        assert!(Counters::from_final_log(&short).is_err(), "drop lines must add up");
    }

    #[test]
    #[should_panic(expected = "not a drop reason")]
    fn asking_for_an_unknown_drop_panics() {
        Counters::from_final_log(LOG).unwrap().drop("no_servce");
    }

    #[test]
    fn workers_json_is_strict() {
        let good = r#"{"generation":1,"workers":[{"id":0,"generation":1,"rx_pkts":5,"rx_bytes":300,"tx_pkts":4,"tx_bytes":1,"redirect_in":0,"redirect_out":0,"arp_replies":0,"arp_requests":0,"arp_learned":0,"icmp_echo":0,"icmp_err_sent":0,"icmp_err_suppressed":0,"frags_out":0,"kernel_up":0,"kernel_down":0,"conns":1,"conns_created":1,"conns_expired":0,"polls":9,"idle_polls":3,"busy_cycles":1,"sync_queued":0,"sync_lost":0,"sync_installed":0,"sync_refused":0,"sync_promoted":0,"drops":{"no_service":1}}],"mempool":{"free":10,"baseline":10,"size":15},"ports":[{"id":0,"name":"net_null0","ipackets":5,"opackets":4,"ibytes":1,"obytes":1,"imissed":0,"ierrors":0,"oerrors":0,"rx_nombuf":0}]}"#;
        let c = Counters::from_workers_json(good).unwrap();
        assert_eq!((c.get("rx_pkts"), c.drop("no_service"), c.port("net_null0").get("imissed")), (5, 1, 0));
        assert!(Counters::from_workers_json(&good.replace("\"tx_pkts\"", "\"txp\"")).is_err());
        assert!(Counters::from_workers_json(&good.replace("\"rx_pkts\":5", "\"rx_pkts\":\"5\"")).is_err());
        assert!(Counters::from_workers_json(&good.replace("no_service", "nope")).is_err());
        assert!(Counters::from_workers_json(&good.replace("\"mempool\"", "\"pool\"")).is_err());
    }
}
