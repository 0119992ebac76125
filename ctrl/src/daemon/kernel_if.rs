//! The exception path's kernel side: for each interface with `kernel:`,
//! a DPDK `net_tap` port whose kernel interface carries the link's MAC,
//! MTU, addresses and routes, so that the director's own traffic (SSH,
//! BGP, health checks) works through the DPDK port as it would through a
//! kernel NIC.
//!
//! Where `/dev/vhost-net` exists rvsd makes a DPDK `net_virtio_user`
//! port backed by vhost-net (the kernel copies packets in its vhost
//! thread: DPDK's recommended exception path); elsewhere a `net_tap`
//! port, which needs only `/dev/net/tun` (these lab machines have no
//! vhost-net). Both give a kernel interface of the name asked for and a
//! port with one queue pair per worker, so everything after the probe is
//! the same code. The port is made after the data ports have started
//! because it must carry their MAC (a PCI port's is known only once
//! probed); DPDK removes the kernel interface when rvsd exits.
//!
//! The kernel is configured with iproute2's `ip`, the tool every Linux
//! system has, so that what rvsd did can be read and repeated by hand.

use rvs_conf::{Config, InterfaceConf};
use rvs_ffi::{Mempool, Port, PortConf, PortQueues};
use std::process::Command;
use tracing::info;

/// Descriptors per queue of a kernel port: the kernel's traffic is light,
/// and every rx descriptor holds an mbuf of the shared pool.
const KERNEL_RX_DESC: u16 = 128;
const KERNEL_TX_DESC: u16 = 256;

/// One interface's kernel port, started, with its queues.
pub struct KernelPort {
    pub port: Port,
    pub queues: PortQueues,
    pub ifname: String,
}

/// Make, start and configure the kernel port of interface `idx` (which
/// has `kernel:`), with `mac` (the data port's) and one queue pair per
/// worker.
pub fn create(cfg: &Config, idx: usize, mac: &[u8; 6], workers: u16, pool: &Mempool) -> Result<KernelPort, String> {
    let c = &cfg.interfaces[idx];
    let ifname = c.kernel_ifname().ok_or_else(|| format!("interface {}: no kernel section", c.name))?.to_string();
    let mac_s = rvs_dataplane::packet::eth::fmt_mac(mac);
    let devargs = devargs(idx, &ifname, &mac_s, workers, std::path::Path::new(VHOST_NET).exists());
    let mut port = Port::probe_vdev(&devargs).map_err(|e| format!("interface {}: kernel interface: {e}", c.name))?;
    let pc = PortConf {
        rx_queues: workers,
        tx_queues: workers,
        rx_desc: KERNEL_RX_DESC,
        tx_desc: KERNEL_TX_DESC,
        mtu: c.mtu,
        rss_key: None,
        ..Default::default()
    };
    let queues = port
        .configure_and_start(&pc, pool)
        .map_err(|e| format!("interface {}: kernel interface {ifname}: {e}", c.name))?;
    configure_kernel(cfg, c, &ifname).map_err(|e| format!("interface {}: kernel interface {ifname}: {e}", c.name))?;
    info!(
        "kernel interface {ifname} for interface {} = port {} mac {mac_s}, {} addresses",
        c.name,
        port.id(),
        c.addresses.len()
    );
    Ok(KernelPort { port, queues, ifname })
}

const VHOST_NET: &str = "/dev/vhost-net";

/// The vdev of interface `idx`'s kernel port (see the module documentation).
fn devargs(idx: usize, ifname: &str, mac: &str, workers: u16, vhost_net: bool) -> String {
    if vhost_net {
        format!(
            "net_virtio_userk{idx},path={VHOST_NET},iface={ifname},mac={mac},queues={workers},queue_size={KERNEL_TX_DESC}"
        )
    } else {
        format!("net_tapk{idx},iface={ifname},mac={mac}")
    }
}

/// Give the kernel interface the link's MTU, addresses and routes.
fn configure_kernel(cfg: &Config, c: &InterfaceConf, ifname: &str) -> Result<(), String> {
    // No router discovery, autoconfiguration or DAD: the addresses are
    // rvsd's, given below, and usable at once (rvsd answers ND for them).
    // A link without IPv6 addresses gets no IPv6 at all in the kernel
    // either: no link-local address, no MLD or solicitations sent on it.
    let v6 = c.addresses.iter().any(|a| a.addr().is_ipv6());
    let disable = if v6 { "0" } else { "1" };
    // No link-local address either: rvsd answers ND for the addresses it
    // knows, so the kernel must solicit from (and be reached at) those.
    let keys =
        [("disable_ipv6", disable), ("addr_gen_mode", "1"), ("accept_ra", "0"), ("autoconf", "0"), ("accept_dad", "0")];
    for (key, v) in keys {
        let path = format!("/proc/sys/net/ipv6/conf/{ifname}/{key}");
        if let Err(e) = std::fs::write(&path, v) {
            tracing::warn!("kernel interface {ifname}: cannot set {path} to {v}: {e}");
        }
    }
    ip(&["link", "set", "dev", ifname, "mtu", &c.mtu.to_string(), "up"])?;
    if v6 {
        // Made when DPDK started the port, before addr_gen_mode was set.
        ip(&["-6", "addr", "flush", "dev", ifname, "scope", "link"])?;
    }
    for a in &c.addresses {
        let s = a.to_string();
        if a.addr().is_ipv6() {
            ip(&["-6", "addr", "add", &s, "dev", ifname, "nodad"])?;
        } else {
            ip(&["addr", "add", &s, "dev", ifname])?;
        }
    }
    for r in cfg.routes.iter().filter(|r| r.dev == c.name) {
        let prefix = r.prefix.to_string();
        let mut args = vec![if r.prefix.addr().is_ipv6() { "-6" } else { "-4" }, "route", "replace", &prefix];
        let via = r.via.map(|v| v.to_string());
        if let Some(v) = &via {
            args.extend(["via", v]);
        }
        args.extend(["dev", ifname]);
        ip(&args)?;
    }
    Ok(())
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run ip (iproute2): {e}"))?;
    if !out.status.success() {
        return Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn virtio_user_where_vhost_net_exists_else_tap() {
        let mac = "02:00:00:00:00:01";
        assert_eq!(super::devargs(1, "lan", mac, 2, false), "net_tapk1,iface=lan,mac=02:00:00:00:00:01");
        assert_eq!(
            super::devargs(0, "wan", mac, 2, true),
            "net_virtio_userk0,path=/dev/vhost-net,iface=wan,mac=02:00:00:00:00:01,queues=2,queue_size=256"
        );
    }
}
