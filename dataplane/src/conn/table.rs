//! One worker's connection table.
//!
//! Three fixed-size structures, all allocated in [`ConnTable::new`] and
//! never grown, so the packet path does no allocation and has no rehash
//! pauses, and a full table degrades into "new connections refused,
//! existing ones keep flowing":
//!
//! * a slab of [`Conn`] (one 64-byte, cache-line-aligned entry per
//!   connection) with a free stack of slot numbers;
//! * an [`Index`] from both tuples of each connection to (slot, [`Dir`]):
//!   the request tuple CIP:cport→VIP:vport, and the reply tuple as the
//!   director sees it (NAT RIP:rport→CIP:cport, FULLNAT
//!   RIP:rport→LIP:lport); DR and TUN replies bypass the director, so those
//!   connections have only the request tuple;
//! * a [`TimerWheel`] with one timer per slot for idle expiry.
//!
//! Idle timers are lazy. Every packet sets `Conn::expires` to now + the
//! state's timeout, which is a store into the entry the packet path has
//! already loaded; the wheel is touched only when a state change brings
//! the expiry *earlier* than the armed deadline (ESTABLISHED → CLOSE, say).
//! When an armed deadline passes, [`ConnTable::expire`] compares it with
//! `expires` and re-arms the timer if traffic has pushed it later.

use super::index::{Index, Probe};
use super::key::{random_seed, ConnKey};
use super::state::{next_state, Dir, State, Timeouts, Transition, N_STATES};
use super::timer::{secs, TimerWheel};
use crate::addr::Addr;
use rvs_conf::FwdMethod;
use std::fmt;

/// A connection's slot number in its worker's table. Valid until the
/// connection is removed or expires; slots are reused afterwards.
pub type ConnId = u32;

/// `Conn::tmpl` of a connection without a persistence template.
pub const NO_TMPL: u32 = u32::MAX;

/// `Conn::flags` bits owned by this module; bits 8..16 are free for the
/// caller.
pub mod flags {
    /// The director does not see this connection's replies (DR, TUN), so
    /// client packets use IPVS's INPUT-ONLY table. Set by `insert` for
    /// DR/TUN; cleared, as in IPVS, if a reply is ever seen.
    pub const NO_OUTPUT: u16 = 1 << 0;
    /// NAT64 (an IPv6 entry): the real server and local ends are IPv4,
    /// kept zero-extended ([`crate::addr::Addr::widen`]); see
    /// [`crate::modes::nat64`].
    pub const NAT64: u16 = 1 << 1;
    /// Mask of the bits this module owns.
    pub const OWN: u16 = 0x00ff;
}

/// One connection entry, `Conn` (= `Conn<u32>`) for IPv4 and
/// `Conn<u128>` for IPv6, addresses in host order. An IPv4 entry is one
/// 64-byte cache line; an IPv6 one is two.
///
/// The tuple fields (`proto`, the four addresses and ports, `fwd`) are the
/// index keys: change them only through remove + insert. `svc`, `dest`,
/// `tmpl` and `user` belong to the caller; `state` and `expires` are kept
/// by [`ConnTable::on_packet`].
#[repr(align(64))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conn<A: Addr = u32> {
    /// Client (CIP, cport).
    pub caddr: A,
    /// Virtual service (VIP, vport).
    pub vaddr: A,
    /// FULLNAT local address (LIP, lport); unused by other methods.
    pub laddr: A,
    /// Real server (RIP, rport).
    pub daddr: A,
    pub cport: u16,
    pub vport: u16,
    pub lport: u16,
    pub dport: u16,
    pub proto: u8,
    pub fwd: FwdMethod,
    pub state: State,
    pub flags: u16,
    /// Service of this connection; an identifier that stays valid across
    /// snapshots (the caller's choice).
    pub svc: u32,
    /// Dest of this connection, same remark.
    pub dest: u32,
    /// Persistence template this connection holds a reference on, or
    /// [`NO_TMPL`].
    pub tmpl: u32,
    /// Tick after which the entry is idle-expired, absent more packets.
    pub expires: u64,
    /// Free for the caller.
    pub user: u64,
    /// Sequence-number offset of the client → server stream, the
    /// caller's (like IPVS's `ip_vs_seq` for its application helpers):
    /// FULLNAT's Proxy Protocol keeps the client's first data sequence
    /// number (ISN + 1) here, where it inserts its header, so that a
    /// retransmission of that segment gets the header again
    /// ([`crate::modes::proxy_proto`]). A field of its own rather than
    /// half of `user`: both entry sizes had the 5 bytes free in their
    /// cache-line padding (the asserts below hold), and `user` keeps the
    /// full 64-bit snapshot generation.
    pub seq_base: u32,
    /// ... and how many bytes the director inserted at `seq_base`.
    pub seq_delta: u8,
    /// Input packets seen, modulo 2^16: the connection-sync rule counts
    /// them (`crate::sync::path::needed`); in the padding too.
    pub sync_pkts: u16,
}

const _: () = assert!(std::mem::size_of::<Conn>() == 64);
const _: () = assert!(std::mem::size_of::<Conn<u128>>() == 128);

/// All zero, except `tmpl` = [`NO_TMPL`].
impl<A: Addr> Default for Conn<A> {
    fn default() -> Self {
        Conn {
            caddr: A::default(),
            vaddr: A::default(),
            laddr: A::default(),
            daddr: A::default(),
            cport: 0,
            vport: 0,
            lport: 0,
            dport: 0,
            proto: 0,
            fwd: FwdMethod::Nat,
            state: State::None,
            flags: 0,
            svc: 0,
            dest: 0,
            tmpl: NO_TMPL,
            expires: 0,
            user: 0,
            seq_base: 0,
            seq_delta: 0,
            sync_pkts: 0,
        }
    }
}

impl<A: Addr> Conn<A> {
    /// A connection for `fwd` of the request tuple `req` (CIP:cport →
    /// VIP:vport) scheduled to RIP:rport, in its protocol's initial state.
    /// FULLNAT callers set `laddr`/`lport` (see [`Conn::with_local`]).
    pub fn new(fwd: FwdMethod, req: ConnKey<A>, daddr: A, dport: u16) -> Self {
        Conn {
            caddr: req.saddr,
            vaddr: req.daddr,
            daddr,
            cport: req.sport,
            vport: req.dport,
            dport,
            proto: req.proto,
            fwd,
            state: State::initial(req.proto),
            ..Conn::default()
        }
    }

    /// Set the FULLNAT local endpoint (LIP:lport).
    pub fn with_local(mut self, laddr: A, lport: u16) -> Self {
        self.laddr = laddr;
        self.lport = lport;
        self
    }

    /// The real server's address as an operator sees it (IPv4 for NAT64).
    pub fn daddr_ip(&self) -> std::net::IpAddr {
        self.end_ip(self.daddr)
    }

    /// The FULLNAT local address as an operator sees it (IPv4 for NAT64).
    pub fn laddr_ip(&self) -> std::net::IpAddr {
        self.end_ip(self.laddr)
    }

    fn end_ip(&self, a: A) -> std::net::IpAddr {
        if self.flags & flags::NAT64 != 0 {
            std::net::IpAddr::V4((a.widen() as u32).into())
        } else {
            a.to_ip()
        }
    }

    /// The tuple of client → server packets.
    #[inline(always)]
    pub fn request_key(&self) -> ConnKey<A> {
        ConnKey::of(self.proto, self.caddr, self.cport, self.vaddr, self.vport)
    }

    /// The tuple of server → client packets as they reach the director, or
    /// `None` when they do not (DR, TUN).
    #[inline(always)]
    pub fn reply_key(&self) -> Option<ConnKey<A>> {
        match self.fwd {
            FwdMethod::Nat => Some(ConnKey::of(self.proto, self.daddr, self.dport, self.caddr, self.cport)),
            FwdMethod::FullNat => Some(ConnKey::of(self.proto, self.daddr, self.dport, self.laddr, self.lport)),
            FwdMethod::Dr | FwdMethod::Tun => None,
        }
    }

    #[inline(always)]
    fn key(&self, dir: Dir) -> ConnKey<A> {
        match dir {
            Dir::Output => self.reply_key().unwrap_or_default(),
            _ => self.request_key(),
        }
    }
}

/// Why [`ConnTable::insert`] refused an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    /// Every slot is in use: refuse the new connection (count a drop).
    Full,
    /// One of the entry's tuples already belongs to a live connection
    /// (e.g. two VIPs NATed to the same RIP:rport for the same CIP:cport,
    /// whose replies could not be told apart).
    Exists,
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InsertError::Full => "connection table full",
            InsertError::Exists => "connection tuple already in use",
        })
    }
}

impl std::error::Error for InsertError {}

/// Index values: slot << 1 | (1 for the reply tuple).
#[inline(always)]
fn ival(id: ConnId, dir: Dir) -> u32 {
    id << 1 | (dir == Dir::Output) as u32
}

#[inline(always)]
fn idir(v: u32) -> Dir {
    if v & 1 == 0 {
        Dir::Input
    } else {
        Dir::Output
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct ConnTable<A: Addr = u32> {
    slab: Vec<Conn<A>>,
    free: Vec<u32>,
    index: Index,
    wheel: TimerWheel,
    /// Timeout per state, in ticks.
    timeouts: [u64; N_STATES],
    seed: u64,
    /// Inserts and removals so far: a batched lookup's results stay valid
    /// only while this is unchanged (see [`ConnTable::version`]).
    version: u64,
}

impl ConnTable {
    /// An IPv4 table for `capacity` connections with IPVS's default
    /// timeouts and its clock at tick 0.
    pub fn new(capacity: usize) -> Self {
        Self::with_timeouts(capacity, &Timeouts::default(), 0)
    }
}

impl<A: Addr> ConnTable<A> {
    /// A table for `capacity` connections whose clock starts at tick `now`.
    pub fn with_timeouts(capacity: usize, timeouts: &Timeouts, now: u64) -> Self {
        assert!(capacity < 1 << 31, "capacity {capacity} too large");
        // One slot per tick of the longest common timeout would be ideal;
        // 2^16 slots (1024 s at 64 Hz) covers ESTABLISHED and costs 1 MiB,
        // small tables take fewer (longer timers just come round again).
        let slot_bits = (usize::BITS - capacity.max(1).leading_zeros()).clamp(8, 16);
        let mut t = ConnTable {
            slab: vec![Conn::default(); capacity],
            free: (0..capacity as u32).rev().collect(),
            index: Index::new(2 * capacity),
            wheel: TimerWheel::new(capacity, slot_bits, now),
            timeouts: [0; N_STATES],
            seed: random_seed(),
            version: 0,
        };
        t.set_timeouts(timeouts);
        t
    }

    /// Apply `--set` values. They take effect at each entry's next packet
    /// (as in IPVS); an entry whose timer is already armed for a later
    /// deadline keeps that deadline unless its state changes.
    pub fn set_timeouts(&mut self, t: &Timeouts) {
        for s in State::ALL {
            self.timeouts[s as usize] = secs(t.get(s));
        }
    }

    /// Timeout of state `s`, in ticks.
    #[inline(always)]
    pub fn timeout(&self, s: State) -> u64 {
        self.timeouts[s as usize]
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.slab.len()
    }

    /// The connection and direction a packet with tuple `k` belongs to.
    #[inline]
    pub fn lookup(&self, k: &ConnKey<A>) -> Option<(ConnId, Dir)> {
        let h = k.hash64(self.seed);
        let slab = &self.slab;
        self.index.get(h, |v| slab[(v >> 1) as usize].key(idir(v)) == *k).map(|v| (v >> 1, idir(v)))
    }

    /// [`ConnTable::lookup`] for a burst of keys, `out[i]` for `keys[i]`
    /// (`out` at least as long as `keys`). Same results, but the cache
    /// misses of different keys overlap: all home buckets are loaded
    /// first, then all candidate entries, then the keys are compared. At
    /// 1M connections a single lookup waits for two dependent misses
    /// (bucket, then entry); a burst pays them about once per burst.
    pub fn lookup_burst(&self, keys: &[ConnKey<A>], out: &mut [Option<(ConnId, Dir)>]) {
        const B: usize = 32;
        assert!(out.len() >= keys.len(), "output shorter than the burst");
        for (keys, out) in keys.chunks(B).zip(out.chunks_mut(B)) {
            let mut hashes = [0u64; B];
            for (h, k) in hashes.iter_mut().zip(keys) {
                *h = k.hash64(self.seed);
                self.index.touch(*h);
            }
            // First entry with a matching 32-bit hash: almost always the
            // only candidate. Load it, but compare keys in the next pass.
            let mut cand = [u32::MAX; B];
            for (c, h) in cand.iter_mut().zip(&hashes) {
                if let Some(v) = self.index.get(*h, |_| true) {
                    *c = v;
                    std::hint::black_box(self.slab[(v >> 1) as usize].caddr);
                }
            }
            for (i, k) in keys.iter().enumerate() {
                let v = cand[i];
                out[i] = if v == u32::MAX {
                    None
                } else if self.slab[(v >> 1) as usize].key(idir(v)) == *k {
                    Some((v >> 1, idir(v)))
                } else {
                    // A 32-bit hash collision with another entry: do it properly.
                    self.lookup(k)
                };
            }
        }
    }

    /// Changes with every insert and removal. The ids a
    /// [`ConnTable::lookup_burst`] returned are valid only while the
    /// version is the one read before it: a removal frees an id that the
    /// next insert may reuse.
    #[inline(always)]
    pub fn version(&self) -> u64 {
        self.version
    }

    #[inline(always)]
    pub fn get(&self, id: ConnId) -> &Conn<A> {
        &self.slab[id as usize]
    }

    /// Mutable access for the caller's fields; see [`Conn`] for which
    /// fields must not change.
    #[inline(always)]
    pub fn get_mut(&mut self, id: ConnId) -> &mut Conn<A> {
        &mut self.slab[id as usize]
    }

    /// Is `id` a live entry? (Every live entry has an armed timer.)
    #[inline]
    pub fn contains(&self, id: ConnId) -> bool {
        (id as usize) < self.slab.len() && self.wheel.is_scheduled(id)
    }

    /// Add a connection: index its tuples and arm its idle timer for the
    /// timeout of `c.state`. DR/TUN entries get [`flags::NO_OUTPUT`].
    /// The first packet is then applied with [`ConnTable::on_packet`]
    /// (or the caller sets `c.state` beforehand).
    pub fn insert(&mut self, mut c: Conn<A>, now: u64) -> Result<ConnId, InsertError> {
        let Some(&id) = self.free.last() else {
            return Err(InsertError::Full);
        };
        if matches!(c.fwd, FwdMethod::Dr | FwdMethod::Tun) {
            c.flags |= flags::NO_OUTPUT;
        }
        c.expires = now + self.timeout(c.state);
        let rk = c.request_key();
        let h1 = rk.hash64(self.seed);
        let at1 = match self.probe(h1, &rk) {
            Probe::Vacant(at) => at,
            Probe::Found(..) => return Err(InsertError::Exists),
        };
        self.slab[id as usize] = c;
        self.index.fill(at1, h1, ival(id, Dir::Input));
        if let Some(pk) = c.reply_key() {
            let h2 = pk.hash64(self.seed);
            match self.probe(h2, &pk) {
                Probe::Vacant(at) => self.index.fill(at, h2, ival(id, Dir::Output)),
                Probe::Found(..) => {
                    self.index.remove(h1, ival(id, Dir::Input));
                    return Err(InsertError::Exists);
                }
            }
        }
        self.free.pop();
        self.version += 1;
        self.wheel.schedule(id, c.expires);
        Ok(id)
    }

    #[inline(always)]
    fn probe(&self, h: u64, k: &ConnKey<A>) -> Probe {
        let slab = &self.slab;
        self.index.probe(h, |v| slab[(v >> 1) as usize].key(idir(v)) == *k)
    }

    /// Apply one packet from `dir` (as `lookup` returned it) carrying
    /// `tcp_flags` (0 for UDP; for SCTP its [`super::sctp::Event`]) at
    /// tick `now`: move the state, push the
    /// idle expiry out by the new state's timeout. Touches the timer wheel
    /// only when the state changes to one that expires sooner.
    #[inline]
    pub fn on_packet(&mut self, id: ConnId, dir: Dir, tcp_flags: u8, now: u64) -> Transition {
        let c = &mut self.slab[id as usize];
        let mut d = dir;
        if c.flags & flags::NO_OUTPUT != 0 {
            if d == Dir::Output {
                c.flags &= !flags::NO_OUTPUT;
            } else {
                d = Dir::InputOnly;
            }
        }
        let old = c.state;
        let new = next_state(c.proto, old, d, tcp_flags);
        c.state = new;
        let expires = now + self.timeouts[new as usize];
        c.expires = expires;
        if new != old && self.wheel.deadline(id).is_some_and(|armed| expires < armed) {
            self.wheel.schedule(id, expires);
        }
        Transition { old, new }
    }

    /// Set a live entry's idle expiry to tick `expires` (a synced entry
    /// takes the lifetime its master sent).
    pub fn rearm(&mut self, id: ConnId, expires: u64) {
        self.slab[id as usize].expires = expires;
        if self.wheel.deadline(id).is_some_and(|armed| expires < armed) {
            self.wheel.schedule(id, expires);
        }
    }

    /// Remove a live connection now (conn reuse, dest removal, `-C`);
    /// returns the entry. Panics if `id` is not live.
    pub fn remove(&mut self, id: ConnId) -> Conn<A> {
        assert!(self.wheel.cancel(id), "conn {id} is not live");
        self.unindex(id)
    }

    fn unindex(&mut self, id: ConnId) -> Conn<A> {
        let c = self.slab[id as usize];
        let found = self.index.remove(c.request_key().hash64(self.seed), ival(id, Dir::Input));
        debug_assert!(found, "request tuple of {id} missing: tuple fields changed?");
        if let Some(pk) = c.reply_key() {
            let found = self.index.remove(pk.hash64(self.seed), ival(id, Dir::Output));
            debug_assert!(found, "reply tuple of {id} missing: tuple fields changed?");
        }
        self.free.push(id);
        self.version += 1;
        c
    }

    /// Expire idle connections up to tick `now`, doing at most about
    /// `budget` units of work (timers looked at); each expired entry is
    /// removed and handed to `on_expired` (which should settle the dest's
    /// counters and the template reference). Returns how many expired;
    /// what the budget did not cover is continued by the next call.
    pub fn expire(&mut self, now: u64, mut budget: usize, mut on_expired: impl FnMut(Conn<A>)) -> usize {
        let mut n = 0;
        while let Some(id) = self.wheel.poll(now, &mut budget) {
            let expires = self.slab[id as usize].expires;
            if expires > now {
                // Refreshed by traffic since it was armed.
                self.wheel.schedule(id, expires);
                continue;
            }
            on_expired(self.unindex(id));
            n += 1;
        }
        n
    }

    /// All live connections, in slot order. O(capacity): for control
    /// requests (`-Lnc`), not the packet path.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn<A>)> + '_ {
        self.slab.iter().enumerate().filter(|(i, _)| self.wheel.is_scheduled(*i as u32)).map(|(i, c)| (i as ConnId, c))
    }

    /// The live entries among slots `slots` (clamped to the capacity): a
    /// cursor for walking the table a bounded piece at a time across
    /// calls (`rvsadm -c` on a worker, see `crate::dump`). Slots keep
    /// their place while the table changes, so an entry live during the
    /// whole walk is seen exactly once.
    pub fn iter_slots(&self, slots: std::ops::Range<usize>) -> impl Iterator<Item = (ConnId, &Conn<A>)> + '_ {
        let end = slots.end.min(self.slab.len());
        let start = slots.start.min(end);
        self.slab[start..end]
            .iter()
            .enumerate()
            .map(move |(i, c)| ((start + i) as ConnId, c))
            .filter(|(i, _)| self.wheel.is_scheduled(*i))
    }

    /// Mean probe displacement of the index (see `Index::mean_displacement`).
    pub fn index_displacement(&self) -> f64 {
        self.index.mean_displacement()
    }

    /// Bytes held by the table (slab, free stack, index, wheel).
    pub fn mem_bytes(&self) -> usize {
        self.slab.capacity() * std::mem::size_of::<Conn<A>>()
            + self.free.capacity() * 4
            + self.index.mem_bytes()
            + self.wheel.mem_bytes()
    }
}
