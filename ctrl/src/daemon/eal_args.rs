//! EAL command line from the `dpdk` and `interfaces` sections.

use rvs_conf::Config;

/// True for a DPDK virtual device string (`net_tap0,iface=x`).
pub fn is_vdev(device: &str) -> bool {
    device.starts_with("net_") || device.starts_with("eth_")
}

/// The ethdev name DPDK gives a device: a vdev's name before the first
/// comma, or the PCI address.
pub fn port_name(device: &str) -> &str {
    device.split(',').next().unwrap_or(device)
}

/// Default lcore map: lcore 0 (Control) may run on any CPU; worker lcores
/// 1..=N are pinned to CPUs 1, 2, ... wrapping around, so more workers
/// than CPUs still boot (a test box with 2 cores runs 2 workers).
pub fn default_lcores(workers: u16, cpus: usize) -> String {
    let cpus = cpus.max(1);
    let mut m = if cpus > 1 { format!("0@(0-{})", cpus - 1) } else { "0@0".to_string() };
    for w in 1..=workers as usize {
        m.push_str(&format!(",{w}@{}", w % cpus));
    }
    m
}

/// Build the EAL argument list. Lcore 0 runs Control; workers get 1..=N.
pub fn build(cfg: &Config, pid: u32) -> Vec<String> {
    build_with_cpus(cfg, pid, std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

pub fn build_with_cpus(cfg: &Config, pid: u32, cpus: usize) -> Vec<String> {
    let d = &cfg.dpdk;
    let mut a = vec!["rvsd".to_string()];
    match &d.lcores {
        Some(l) => {
            a.push("-l".into());
            a.push(l.clone());
        }
        None => {
            a.push("--lcores".into());
            a.push(default_lcores(cfg.workers.count, cpus));
        }
    }
    if d.no_huge {
        a.push("--no-huge".into());
    }
    a.push("-m".into());
    a.push(d.memory_mb.to_string());
    a.push("--file-prefix".into());
    a.push(d.file_prefix.clone().unwrap_or_else(|| format!("rvs-{pid}")));
    let mut any_pci = false;
    for i in &cfg.interfaces {
        if is_vdev(&i.device) {
            a.push("--vdev".into());
        } else {
            a.push("-a".into());
            any_pci = true;
        }
        a.push(i.device.clone());
    }
    if !any_pci {
        a.push("--no-pci".into());
    }
    a.extend(d.extra_args.iter().cloned());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_lab_args() {
        let cfg = rvs_conf::load_str(
            "t.yaml",
            "dpdk: {memory_mb: 256, file_prefix: lab}\nworkers: {count: 2}\ninterfaces:\n  - {name: c, device: 'net_tap0,iface=rvs-c'}\n  - {name: s, device: '0000:03:00.0'}\n",
        )
        .unwrap();
        let a = build_with_cpus(&cfg, 7, 2);
        let s = a.join(" ");
        assert_eq!(s, "rvsd --lcores 0@(0-1),1@1,2@0 --no-huge -m 256 --file-prefix lab --vdev net_tap0,iface=rvs-c -a 0000:03:00.0");
        assert_eq!(default_lcores(1, 4), "0@(0-3),1@1");
        assert_eq!(default_lcores(1, 1), "0@0,1@0");
        assert_eq!(port_name("net_tap0,iface=rvs-c"), "net_tap0");
        assert_eq!(default_lcores(1, 4), "0@(0-3),1@1");
        assert_eq!(default_lcores(1, 1), "0@0,1@0");
        assert_eq!(port_name("0000:03:00.0"), "0000:03:00.0");
    }
}
