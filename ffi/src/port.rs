//! Ethernet ports and their queues.
//!
//! DPDK's fast path is not thread-safe per queue: two threads in
//! `rte_eth_rx_burst` on one (port, queue) corrupt it, and a burst on a
//! queue that was never set up (or on a port being closed) reads freed
//! or null driver state. The types carry those rules:
//! - one [`Port`] value per device (a second `by_name` of a port in use
//!   fails), configured once;
//! - configuring yields one [`RxQueue`] and one [`TxQueue`] token per
//!   queue it set up; they are the only way to call rx/tx burst, are
//!   `Send` (a worker takes them to its lcore) but not `Sync` or `Clone`;
//! - each token keeps the port open: the device is stopped and closed
//!   when the `Port` and all its tokens are gone, never under a burst;
//!   and the port keeps its rx pool alive (it refills from it).

use crate::eal::{eal_ref, EalRef};
use crate::rss::{self, RssConf, RssPlan, RSS_KEY_LEN};
use crate::{sys, Mempool};
use std::cell::Cell;
use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// How to set a port up.
#[derive(Debug, Clone)]
pub struct PortConf {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// L3 MTU. Above 1500 the device must accept it and the pool's mbufs
    /// must hold the whole frame (see [`frame_len`]).
    pub mtu: u16,
    pub promiscuous: bool,
    /// Run RSS with this key when the device allows rvs to predict it
    /// (see [`crate::rss`]); `None`: no RSS, whatever the queue count.
    pub rss_key: Option<[u8; RSS_KEY_LEN]>,
}

impl Default for PortConf {
    fn default() -> Self {
        PortConf {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            mtu: 1500,
            promiscuous: true,
            rss_key: None,
        }
    }
}

/// Largest Ethernet frame for an L3 `mtu`: header, one VLAN tag, CRC.
pub const fn frame_len(mtu: u16) -> usize {
    mtu as usize + 14 + 4 + 4
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

/// Port ids with a live `Port` value.
static CLAIMED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

struct PortInner {
    id: u16,
    name: String,
    /// Set once started; the device is stopped and closed on drop.
    started: Mutex<bool>,
    /// The rx queues' pool: freed only after the port closes.
    pool: Mutex<Option<Mempool>>,
    _eal: EalRef,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        let started = *self.started.get_mut().unwrap_or_else(|e| e.into_inner());
        if started {
            // SAFETY: valid started port; no queue token is left (each
            // holds this Arc), so no burst runs.
            unsafe { sys::rte_eth_dev_stop(self.id) };
        }
        // SAFETY: valid port id, stopped, no token left. Frees the queues
        // and the mbufs in them (back into `pool`, still alive here).
        unsafe { sys::rte_eth_dev_close(self.id) };
        if let Some(set) = CLAIMED.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            set.remove(&self.id);
        }
    }
}

/// A DPDK ethdev port (the control side: configure, counters, link).
pub struct Port {
    inner: Arc<PortInner>,
    configured: bool,
    rss: Option<RssConf>,
    /// Not Sync: ethdev's control functions are not all thread-safe, so
    /// one thread at a time calls them.
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port").field("id", &self.inner.id).field("name", &self.inner.name).finish()
    }
}

/// The queues a port was set up with, one token each, and its RSS.
pub struct PortQueues {
    pub rx: Vec<RxQueue>,
    pub tx: Vec<TxQueue>,
    /// The RSS the port runs with, or why it runs without (one queue, a
    /// device without a RETA, ...): then every packet comes to rx queue 0
    /// or wherever the device puts it, and software cannot predict it.
    pub rss: Result<RssConf, String>,
}

/// The right to receive on one (port, queue).
pub struct RxQueue {
    port: Arc<PortInner>,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

/// The right to transmit on one (port, queue).
pub struct TxQueue {
    port: Arc<PortInner>,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for PortQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortQueues")
            .field("rx", &self.rx.len())
            .field("tx", &self.tx.len())
            .field("rss", &self.rss.as_ref().map(|r| r.reta.len()))
            .finish()
    }
}

impl std::fmt::Debug for RxQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RxQueue(port {}, queue {})", self.port.id, self.queue)
    }
}

impl std::fmt::Debug for TxQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TxQueue(port {}, queue {})", self.port.id, self.queue)
    }
}

impl RxQueue {
    pub fn port_id(&self) -> u16 {
        self.port.id
    }
    pub fn queue_id(&self) -> u16 {
        self.queue
    }
}

impl TxQueue {
    pub fn port_id(&self) -> u16 {
        self.port.id
    }
    pub fn queue_id(&self) -> u16 {
        self.queue
    }
}

impl Port {
    /// Find a port by device name (`net_tap0`, a PCI address, ...). Fails
    /// if another `Port` value holds it.
    pub fn by_name(name: &str) -> Result<Port, String> {
        let eal = eal_ref()?;
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        let mut id = 0u16;
        // SAFETY: the EAL is initialised; valid C string and out pointer.
        let rc = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if rc != 0 {
            return Err(format!("no DPDK port named '{name}' (did the device probe?)"));
        }
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        if !claimed.get_or_insert_with(HashSet::new).insert(id) {
            return Err(format!("port '{name}' (id {id}) is already in use"));
        }
        let inner =
            PortInner { id, name: name.to_string(), started: Mutex::new(false), pool: Mutex::new(None), _eal: eal };
        Ok(Port { inner: Arc::new(inner), configured: false, rss: None, _not_sync: PhantomData })
    }

    /// Create a virtual device after EAL init (hotplug) and take its
    /// port: `devargs` is a vdev string whose name (before the first
    /// comma) names the port. The exception path makes its kernel
    /// interfaces this way, once the MACs they must carry are known.
    pub fn probe_vdev(devargs: &str) -> Result<Port, String> {
        eal_ref()?;
        let name = devargs.split(',').next().unwrap_or(devargs);
        let c = CString::new(devargs).map_err(|e| e.to_string())?;
        // SAFETY: the EAL is initialised (checked above); valid C string,
        // which DPDK copies.
        let rc = unsafe { sys::rte_dev_probe(c.as_ptr()) };
        if rc != 0 {
            return Err(format!("cannot create device '{devargs}': {}", crate::last_error_of(-rc)));
        }
        Port::by_name(name)
    }

    pub fn id(&self) -> u16 {
        self.inner.id
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The PMD's name (`net_tap`, `net_memif`, ...).
    pub fn driver_name(&self) -> String {
        let Ok(info) = self.info() else { return String::new() };
        if info.driver_name.is_null() {
            return String::new();
        }
        // SAFETY: a non-null driver_name is the PMD's static C string.
        unsafe { CStr::from_ptr(info.driver_name) }.to_string_lossy().into_owned()
    }

    /// Largest MTU the device accepts.
    pub fn max_mtu(&self) -> Result<u16, String> {
        Ok(self.info()?.max_mtu)
    }

    fn info(&self) -> Result<sys::rte_eth_dev_info, String> {
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: valid port id and out pointer.
        check(unsafe { sys::rte_eth_dev_info_get(self.inner.id, &mut info) }, "dev_info_get")?;
        Ok(info)
    }

    /// Configure queues, MTU and RSS, then start the port: once per port.
    /// The rx queues fill from `pool`, which must hold a whole frame of
    /// `conf.mtu` in one mbuf (rvs does not chain segments).
    ///
    /// With `conf.rss_key` and more than one rx queue, the port runs RSS
    /// over IPv4/IPv6 TCP/UDP with that key and a round-robin RETA when
    /// the device can (see [`crate::rss`]); a device that cannot, or that
    /// refuses the RETA, is brought up again without RSS. The result says
    /// which ([`PortQueues::rss`]).
    pub fn configure_and_start(&mut self, conf: &PortConf, pool: &Mempool) -> Result<PortQueues, String> {
        if self.configured {
            return Err(format!("port {}: already configured", self.inner.name));
        }
        let name = &self.inner.name;
        let info = self.info()?;
        if conf.rx_queues == 0 || conf.tx_queues == 0 {
            return Err(format!("port {name}: needs at least one rx and one tx queue"));
        }
        if conf.rx_queues > info.max_rx_queues || conf.tx_queues > info.max_tx_queues {
            return Err(format!(
                "port {name}: wants {} rx / {} tx queues, device has {} / {}",
                conf.rx_queues, conf.tx_queues, info.max_rx_queues, info.max_tx_queues
            ));
        }
        check_mtu(&info, conf.mtu).map_err(|e| format!("port {name}: {e}"))?;
        if frame_len(conf.mtu) > pool.max_frame() {
            return Err(format!(
                "port {name}: mtu {} needs {}-byte frames, the pool's mbufs hold {}",
                conf.mtu,
                frame_len(conf.mtu),
                pool.max_frame()
            ));
        }
        *self.inner.pool.lock().unwrap_or_else(|e| e.into_inner()) = Some(pool.clone());
        let plan = match &conf.rss_key {
            Some(key) => rss::plan(&info, conf.rx_queues, key),
            None => Err("not asked for".into()),
        };
        let rss = match plan {
            Ok(mut plan) => {
                self.bring_up(conf, pool, Some(&mut plan))?;
                match plan.program(self.inner.id) {
                    Ok(r) => Ok(r),
                    Err(why) => {
                        // The RETA must be set on a started port (some
                        // PMDs reset it in start); without it the spread
                        // is unknown: stop and start again without RSS.
                        self.stop_device();
                        self.bring_up(conf, pool, None)?;
                        Err(why)
                    }
                }
            }
            Err(why) => {
                self.bring_up(conf, pool, None)?;
                Err(why)
            }
        };
        if conf.promiscuous {
            // SAFETY: valid started port; failure only means "unsupported".
            let _ = unsafe { sys::rte_eth_promiscuous_enable(self.inner.id) };
        }
        self.configured = true;
        self.rss = rss.as_ref().ok().cloned();
        let token = |q| (self.inner.clone(), q);
        Ok(PortQueues {
            rx: (0..conf.rx_queues)
                .map(token)
                .map(|(port, queue)| RxQueue { port, queue, _not_sync: PhantomData })
                .collect(),
            tx: (0..conf.tx_queues)
                .map(token)
                .map(|(port, queue)| TxQueue { port, queue, _not_sync: PhantomData })
                .collect(),
            rss,
        })
    }

    /// The RSS the port runs with (`None` before it is configured, or
    /// without RSS).
    pub fn rss(&self) -> Option<&RssConf> {
        self.rss.as_ref()
    }

    /// Configure the device (with RSS when `rss` is given), set its
    /// queues and MTU up, and start it. Callable again after
    /// [`Port::stop_device`]: set-up queues are replaced.
    fn bring_up(&self, conf: &PortConf, pool: &Mempool, rss: Option<&mut RssPlan>) -> Result<(), String> {
        let id = self.inner.id;
        let mut ec = sys::rte_eth_conf::default();
        ec.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_NONE;
        if let Some(plan) = rss {
            ec.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            ec.rx_adv_conf.rss_conf = plan.rss_conf();
        }
        ec.txmode.mq_mode = sys::RTE_ETH_MQ_TX_NONE;
        ec.rxmode.mtu = conf.mtu as u32;
        // The NIC checks IPv4 header checksums where it can (Mbuf::rx_ip_csum).
        // SAFETY: a constant getter.
        let ip_csum = unsafe { sys::rvs_rx_offload_ipv4_cksum() };
        if self.info()?.rx_offload_capa & ip_csum != 0 {
            ec.rxmode.offloads |= ip_csum;
        }
        // SAFETY: valid, stopped port and config struct; the RSS key it
        // may point to is the plan's, alive for this call.
        check(unsafe { sys::rte_eth_dev_configure(id, conf.rx_queues, conf.tx_queues, &ec) }, "dev_configure")?;
        // SAFETY: valid port id; the socket lookup has no preconditions.
        let socket = unsafe { sys::rte_eth_dev_socket_id(id) }.max(0) as u32;
        for q in 0..conf.rx_queues {
            // SAFETY: valid port/queue; NULL rxconf = driver defaults; the
            // pool outlives the port (PortInner holds it until close).
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
        // SAFETY: valid configured port id. -ENOTSUP: the PMD has no MTU
        // control (net_pcap, net_null: no frame limit to set), fine.
        let rc = unsafe { sys::rte_eth_dev_set_mtu(id, conf.mtu) };
        if rc < 0 && rc != -libc::ENOTSUP {
            check(rc, "set_mtu")?;
        }
        // SAFETY: valid, configured port.
        check(unsafe { sys::rte_eth_dev_start(id) }, "dev_start")?;
        *self.inner.started.lock().unwrap_or_else(|e| e.into_inner()) = true;
        Ok(())
    }

    /// Stop the device during configuration (no queue token exists yet:
    /// `configure_and_start` makes them last).
    fn stop_device(&self) {
        let mut started = self.inner.started.lock().unwrap_or_else(|e| e.into_inner());
        if *started {
            // SAFETY: valid started port, no token handed out, no burst.
            unsafe { sys::rte_eth_dev_stop(self.inner.id) };
            *started = false;
        }
    }

    /// The MTU the device runs with now.
    pub fn mtu(&self) -> Result<u16, String> {
        let mut mtu = 0u16;
        // SAFETY: valid port id and out pointer.
        check(unsafe { sys::rte_eth_dev_get_mtu(self.inner.id, &mut mtu) }, "get_mtu")?;
        Ok(mtu)
    }

    pub fn mac(&self) -> [u8; 6] {
        let mut a = sys::rte_ether_addr::default();
        // SAFETY: valid port id and out pointer.
        unsafe { sys::rte_eth_macaddr_get(self.inner.id, &mut a) };
        a.addr_bytes
    }

    /// Link state without waiting (`rte_eth_link_get_nowait`).
    pub fn link(&self) -> LinkInfo {
        let mut l = sys::rte_eth_link::default();
        // SAFETY: valid port id and out pointer.
        unsafe { sys::rte_eth_link_get_nowait(self.inner.id, &mut l) };
        LinkInfo { up: l.link_status() != 0, speed_mbps: l.link_speed }
    }

    pub fn stats(&self) -> PortStats {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: valid port id and out pointer.
        unsafe { sys::rte_eth_stats_get(self.inner.id, &mut s) };
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
        unsafe { sys::rte_eth_dev_get_name_by_port(self.inner.id, buf.as_mut_ptr()) };
        // SAFETY: DPDK NUL-terminates the name.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    }

    /// Stop the device now, if no queue token is left (a stop under a
    /// running burst would pull the queues from under it). Returns whether
    /// the port is stopped; otherwise it stops when the last token goes.
    pub fn stop(&mut self) -> bool {
        if Arc::strong_count(&self.inner) > 1 {
            return false;
        }
        let mut started = self.inner.started.lock().unwrap_or_else(|e| e.into_inner());
        if *started {
            // SAFETY: valid started port; this is the only handle (no token
            // exists and none can be made: configure needs &mut self).
            unsafe { sys::rte_eth_dev_stop(self.inner.id) };
            *started = false;
        }
        true
    }
}

/// Check `mtu` against the device the way ethdev does (frame = MTU +
/// the device's overhead, at most `max_rx_pktlen`), so a refusal names
/// the device's limits. net_tap, for one, states a 1522-byte frame limit
/// and its tx drops anything longer than the ethdev MTU, which ethdev will
/// not raise past that limit: jumbo frames cannot cross it in DPDK 22.11.
fn check_mtu(info: &sys::rte_eth_dev_info, mtu: u16) -> Result<(), String> {
    let overhead = if info.max_mtu != u16::MAX && info.max_rx_pktlen > info.max_mtu as u32 {
        info.max_rx_pktlen - info.max_mtu as u32
    } else {
        18
    };
    if mtu >= info.min_mtu && mtu <= info.max_mtu && mtu as u32 + overhead <= info.max_rx_pktlen {
        return Ok(());
    }
    let driver = if info.driver_name.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null driver_name is the PMD's static C string.
        unsafe { CStr::from_ptr(info.driver_name) }.to_string_lossy().into_owned()
    };
    Err(format!(
        "mtu {mtu} is beyond what the device ({driver}) supports: mtu {}..={}, frames up to {} bytes",
        info.min_mtu,
        info.max_mtu.min((info.max_rx_pktlen.saturating_sub(overhead)).min(u16::MAX as u32) as u16),
        info.max_rx_pktlen
    ))
}

fn check(rc: i32, what: &str) -> Result<(), String> {
    if rc < 0 {
        Err(format!("{what}: {}", errno_text(rc)))
    } else {
        Ok(())
    }
}

/// `"<text> (<rc>)"` for a negative errno return code.
pub(crate) fn errno_text(rc: i32) -> String {
    // SAFETY: rte_strerror takes any errno value and returns a static or
    // thread-local NUL-terminated string.
    let msg = unsafe { CStr::from_ptr(sys::rte_strerror(-rc)) }.to_string_lossy().into_owned();
    format!("{msg} ({rc})")
}

/// Receive up to `max` mbuf pointers from the token's queue.
///
/// # Safety
/// `pkts` has room for `max` pointers; the caller owns what is written.
#[inline(always)]
pub(crate) unsafe fn rx_burst(q: &mut RxQueue, pkts: *mut *mut sys::rte_mbuf, max: u16) -> u16 {
    // SAFETY: the token proves the queue was set up and that this thread
    // alone polls it (&mut, not Sync); it keeps the port open. Room for
    // `max` pointers is the caller's promise.
    unsafe { sys::rvs_rx_burst(q.port.id, q.queue, pkts, max) }
}

/// Transmit `n` mbufs on the token's queue; returns how many the PMD took.
///
/// # Safety
/// `pkts[..n]` are owned mbufs; ownership of the first (return value) of
/// them passes to the PMD.
#[inline(always)]
pub(crate) unsafe fn tx_burst(q: &mut TxQueue, pkts: *mut *mut sys::rte_mbuf, n: u16) -> u16 {
    // SAFETY: as in rx_burst, for the tx side; the mbufs are the caller's.
    unsafe { sys::rvs_tx_burst(q.port.id, q.queue, pkts, n) }
}
