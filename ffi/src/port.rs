//! Ethernet ports.

use crate::{sys, Mempool};
use std::ffi::{CStr, CString};

/// How to set a port up.
#[derive(Debug, Clone)]
pub struct PortConf {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub mtu: u16,
    pub promiscuous: bool,
}

impl Default for PortConf {
    fn default() -> Self {
        PortConf { rx_queues: 1, tx_queues: 1, rx_desc: 1024, tx_desc: 1024, mtu: 1500, promiscuous: true }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LinkInfo {
    pub up: bool,
    pub speed_mbps: u32,
}

/// The counters operators ask for first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// A DPDK ethdev port.
#[derive(Debug)]
pub struct Port {
    id: u16,
    name: String,
    started: bool,
}

impl Port {
    /// Find a port by device name (`net_tap0`, a PCI address, ...).
    pub fn by_name(name: &str) -> Result<Port, String> {
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        let mut id = 0u16;
        // SAFETY: valid C string and out pointer.
        let rc = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if rc != 0 {
            return Err(format!("no DPDK port named '{name}' (did the device probe?)"));
        }
        Ok(Port { id, name: name.to_string(), started: false })
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Configure queues and MTU, then start the port.
    pub fn configure_and_start(&mut self, conf: &PortConf, pool: &Mempool) -> Result<(), String> {
        let id = self.id;
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: valid port id and out pointer.
        check(unsafe { sys::rte_eth_dev_info_get(id, &mut info) }, "dev_info_get")?;
        if conf.rx_queues > info.max_rx_queues || conf.tx_queues > info.max_tx_queues {
            return Err(format!(
                "port {}: wants {} rx / {} tx queues, device has {} / {}",
                self.name, conf.rx_queues, conf.tx_queues, info.max_rx_queues, info.max_tx_queues
            ));
        }
        let mut ec = sys::rte_eth_conf::default();
        ec.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_NONE;
        ec.txmode.mq_mode = sys::RTE_ETH_MQ_TX_NONE;
        // SAFETY: valid port and config struct.
        check(unsafe { sys::rte_eth_dev_configure(id, conf.rx_queues, conf.tx_queues, &ec) }, "dev_configure")?;
        // SAFETY: valid port id; the socket lookup has no preconditions.
        let socket = unsafe { sys::rte_eth_dev_socket_id(id) }.max(0) as u32;
        for q in 0..conf.rx_queues {
            // SAFETY: valid port/queue; NULL rxconf = driver defaults; the
            // pool outlives the port (the daemon drops ports first).
            check(
                unsafe { sys::rte_eth_rx_queue_setup(id, q, conf.rx_desc, socket, std::ptr::null(), pool.raw()) },
                "rx_queue_setup",
            )?;
        }
        for q in 0..conf.tx_queues {
            // SAFETY: valid port/queue; NULL txconf = driver defaults.
            check(
                unsafe { sys::rte_eth_tx_queue_setup(id, q, conf.tx_desc, socket, std::ptr::null()) },
                "tx_queue_setup",
            )?;
        }
        // SAFETY: valid port id. Some PMDs refuse MTU changes: not fatal.
        let _ = unsafe { sys::rte_eth_dev_set_mtu(id, conf.mtu) };
        // SAFETY: valid, configured port.
        check(unsafe { sys::rte_eth_dev_start(id) }, "dev_start")?;
        self.started = true;
        if conf.promiscuous {
            // SAFETY: valid started port; failure only means "unsupported".
            let _ = unsafe { sys::rte_eth_promiscuous_enable(id) };
        }
        Ok(())
    }

    pub fn mac(&self) -> [u8; 6] {
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: valid port id and out pointer.
        unsafe { sys::rte_eth_macaddr_get(self.id, &mut a) };
        a.addr_bytes
    }

    pub fn link(&self) -> LinkInfo {
        let mut l = sys::rte_eth_link::default();
        // SAFETY: valid port id and out pointer.
        unsafe { sys::rte_eth_link_get_nowait(self.id, &mut l) };
        LinkInfo { up: l.link_status() != 0, speed_mbps: l.link_speed }
    }

    pub fn stats(&self) -> PortStats {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: valid port id and out pointer.
        unsafe { sys::rte_eth_stats_get(self.id, &mut s) };
        PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Device name as DPDK knows it.
    pub fn dpdk_name(&self) -> String {
        let mut buf = [0 as libc::c_char; 128];
        // SAFETY: buffer of RTE_ETH_NAME_MAX_LEN bytes or more.
        unsafe { sys::rte_eth_dev_get_name_by_port(self.id, buf.as_mut_ptr()) };
        // SAFETY: DPDK NUL-terminates the name.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    }

    pub fn stop(&mut self) {
        if self.started {
            // SAFETY: valid started port.
            unsafe { sys::rte_eth_dev_stop(self.id) };
            self.started = false;
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        self.stop();
        // SAFETY: valid port id; stopped above. Frees queue mbufs.
        unsafe { sys::rte_eth_dev_close(self.id) };
    }
}

fn check(rc: i32, what: &str) -> Result<(), String> {
    if rc < 0 {
        // SAFETY: rte_strerror takes any errno value.
        let msg = unsafe { CStr::from_ptr(sys::rte_strerror(-rc)) }.to_string_lossy().into_owned();
        Err(format!("{what}: {msg} ({rc})"))
    } else {
        Ok(())
    }
}
