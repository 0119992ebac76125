//! The connection sync daemon: IPVS's master and backup threads, over
//! kernel sockets on the exception path.
//!
//! The master thread empties each worker's event ring (see
//! `rvs_dataplane::sync::path`) every few milliseconds, packs the
//! connections into version-1 messages no larger than the interface MTU
//! allows (or `sync.maxlen`) and sends them to the group (or each peer).
//! The backup thread receives, decodes (versions 0 and 1), keeps the
//! messages of its syncid, and hands each connection to the worker that
//! owns its flow, on that worker's inbox ring; the worker installs it.
//! Nothing here touches a connection table.
//!
//! Master and backup are separate daemons, as in IPVS: each is started
//! and stopped on its own (`sync:` in the YAML at boot, `rvsadm
//! --start-daemon`/`--stop-daemon` at run time). The workers' rings exist
//! from boot whichever runs; a daemon's thread holds its side of them
//! (the lock in [`Rings`]) for as long as it runs, so a restarted daemon
//! takes them over.

mod running;
pub use running::Running;

use rvs_conf::{SyncConf, SyncRole};
use rvs_dataplane::conn::State;
use rvs_dataplane::sync::path::{self, SyncEvent, SyncPort};
use rvs_dataplane::sync::{decode, Encoder};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Events per ring, each way.
const RING: usize = 16384;
/// How often the master looks at the rings when they were empty.
const IDLE: Duration = Duration::from_millis(5);

/// Control's ends of the workers' sync rings: the master's thread holds
/// `out` locked while it runs, the backup's `inbox` (one thread per side,
/// as the single-producer/single-consumer rings want).
#[derive(Clone)]
pub struct Rings {
    pub out: Arc<Mutex<Vec<rtrb::Consumer<SyncEvent>>>>,
    pub inbox: Arc<Mutex<Vec<rtrb::Producer<SyncEvent>>>>,
}

/// Rings for `workers` workers: Control's ends, and each worker's port.
pub fn rings(workers: usize) -> (Rings, Vec<SyncPort>) {
    let (mut out, mut inbox, mut ports) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..workers {
        let (otx, orx) = rtrb::RingBuffer::new(RING);
        let (itx, irx) = rtrb::RingBuffer::new(RING);
        out.push(orx);
        inbox.push(itx);
        ports.push(SyncPort { out: Some(otx), inbox: Some(irx) });
    }
    (Rings { out: Arc::new(Mutex::new(out)), inbox: Arc::new(Mutex::new(inbox)) }, ports)
}

/// What the daemon did, for `rvsadm -L --daemon` and metrics.
#[derive(Debug, Default)]
pub struct Counters {
    pub msgs_sent: AtomicU64,
    pub conns_sent: AtomicU64,
    pub send_errors: AtomicU64,
    pub msgs_received: AtomicU64,
    pub conns_received: AtomicU64,
    /// Datagrams that did not decode.
    pub bad_messages: AtomicU64,
    /// Messages of another syncid.
    pub other_syncid: AtomicU64,
    /// Records that are not connections we keep (templates, other
    /// protocols or states) or lost to a full worker inbox.
    pub conns_skipped: AtomicU64,
}

/// A running daemon: a master or a backup (`conf.state` says which).
pub struct Daemon {
    pub conf: SyncConf,
    /// The largest message the master sends (`sync.maxlen`, else what the
    /// interface's MTU leaves after the IPv4 and UDP headers): what IPVS
    /// reports as `sync_maxlen`.
    pub maxlen: u16,
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Seconds a connection in `state` lives when a (version 0) message says
/// nothing: the `conn:` timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

impl Timeouts {
    fn of(&self, s: State) -> u32 {
        match s {
            State::Established => self.tcp,
            State::FinWait | State::TimeWait | State::CloseWait | State::LastAck => self.tcpfin,
            State::Udp => self.udp,
            // SCTP: IPVS's defaults (ipvsadm --set has no SCTP values).
            s if rvs_dataplane::conn::sctp::index(s).is_some() => rvs_dataplane::conn::sctp::default_timeout(s),
            _ => 60,
        }
    }
}

impl Daemon {
    /// Start the daemon `role` (master or backup, not both) on address
    /// `local` of an interface of `mtu`. The sockets are made first, so a
    /// failure leaves nothing behind.
    pub fn start(
        role: SyncRole,
        conf: &SyncConf,
        local: Ipv4Addr,
        mtu: u16,
        rings: &Rings,
        t: Timeouts,
    ) -> std::io::Result<Daemon> {
        let conf = SyncConf { state: role, ..conf.clone() };
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let maxlen = conf.maxlen.unwrap_or(mtu.saturating_sub(28));
        let (c, s, syncid) = (counters.clone(), stop.clone(), conf.syncid);
        let thread = match role {
            SyncRole::Master => {
                let sock = send_socket(&conf, local)?;
                let to: Vec<SocketAddr> = if conf.peers.is_empty() {
                    vec![SocketAddrV4::new(conf.group, conf.port).into()]
                } else {
                    conf.peers.iter().map(|p| SocketAddrV4::new(*p, conf.port).into()).collect()
                };
                let out = rings.out.clone();
                std::thread::Builder::new().name("sync-master".into()).spawn(move || {
                    let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
                    master(&sock, &to, syncid, usize::from(maxlen), &mut out, &c, &s)
                })?
            }
            SyncRole::Backup => {
                let sock = recv_socket(&conf, local)?;
                let inbox = rings.inbox.clone();
                std::thread::Builder::new().name("sync-backup".into()).spawn(move || {
                    let mut inbox = inbox.lock().unwrap_or_else(|e| e.into_inner());
                    backup(&sock, local, syncid, &mut inbox, t, &c, &s)
                })?
            }
            SyncRole::Both => {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "start master and backup apart"))
            }
        };
        tracing::info!(
            "sync: {} daemon on {} ({local}), syncid {}, {}:{}",
            if role == SyncRole::Master { "master" } else { "backup" },
            conf.interface,
            conf.syncid,
            if conf.peers.is_empty() { conf.group.to_string() } else { format!("peers {:?}", conf.peers) },
            conf.port
        );
        Ok(Daemon { conf, maxlen, counters, stop, thread })
    }

    /// Stop the thread and wait for it (within the backup's 200 ms read
    /// timeout or the master's idle sleep); its rings are free again then.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        tracing::info!(
            "sync: {} daemon stopped",
            if self.conf.state == SyncRole::Master { "master" } else { "backup" }
        );
    }
}

fn send_socket(conf: &SyncConf, local: Ipv4Addr) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.bind(&SocketAddr::from((local, 0)).into())?;
    s.set_multicast_if_v4(&local)?;
    s.set_multicast_ttl_v4(u32::from(conf.ttl))?;
    s.set_ttl(u32::from(conf.ttl))?;
    s.set_multicast_loop_v4(false)?;
    Ok(s.into())
}

fn recv_socket(conf: &SyncConf, local: Ipv4Addr) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, conf.port)).into())?;
    if conf.peers.is_empty() {
        s.join_multicast_v4(&conf.group, &local)?;
    }
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(s.into())
}

fn master(
    sock: &UdpSocket,
    to: &[SocketAddr],
    syncid: u8,
    maxlen: usize,
    out: &mut [rtrb::Consumer<SyncEvent>],
    c: &Counters,
    stop: &AtomicBool,
) {
    let mut enc = Encoder::new(maxlen);
    let send = |enc: &mut Encoder| {
        let n = enc.conns() as u64;
        let msg = enc.finish(syncid);
        for a in to {
            match sock.send_to(msg, a) {
                Ok(_) => {
                    c.msgs_sent.fetch_add(1, Ordering::Relaxed);
                    c.conns_sent.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    if c.send_errors.fetch_add(1, Ordering::Relaxed) == 0 {
                        tracing::warn!("sync: sending to {a}: {e}");
                    }
                }
            }
        }
        enc.clear();
    };
    while !stop.load(Ordering::Relaxed) {
        let mut any = false;
        for ring in out.iter_mut() {
            while let Ok(ev) = ring.pop() {
                any = true;
                let w = path::to_wire(&ev);
                match enc.push(&w) {
                    Ok(true) => {}
                    Ok(false) => {
                        send(&mut enc);
                        if !matches!(enc.push(&w), Ok(true)) {
                            c.conns_skipped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        c.conns_skipped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        if !enc.is_empty() {
            send(&mut enc);
        }
        if !any {
            std::thread::sleep(IDLE);
        }
    }
}

fn backup(
    sock: &UdpSocket,
    local: Ipv4Addr,
    syncid: u8,
    inbox: &mut [rtrb::Producer<SyncEvent>],
    t: Timeouts,
    c: &Counters,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 65536];
    let workers = inbox.len();
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(v) => v,
            Err(_) => continue, // the read timeout: look at `stop`
        };
        if from.ip() == std::net::IpAddr::V4(local) {
            continue;
        }
        let msg = match decode(&buf[..n]) {
            Ok(m) => m,
            Err(e) => {
                if c.bad_messages.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("sync: a message from {from} does not decode: {e:?}");
                }
                continue;
            }
        };
        if syncid != 0 && msg.syncid != syncid {
            c.other_syncid.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        c.msgs_received.fetch_add(1, Ordering::Relaxed);
        c.conns_received.fetch_add(msg.conns.len() as u64, Ordering::Relaxed);
        c.conns_skipped.fetch_add(msg.skipped.len() as u64, Ordering::Relaxed);
        for r in &msg.conns {
            let pushed =
                path::from_wire(r, |s| t.of(s)).ok().and_then(|ev| inbox[path::owner(workers, &ev)].push(ev).ok());
            if pushed.is_none() {
                c.conns_skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
