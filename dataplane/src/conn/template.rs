//! Persistence templates (`ipvsadm -p timeout -M netmask`).
//!
//! A template remembers which dest a client network was sent to for a
//! service, so that its next connections within `timeout` go to the same
//! dest. As in IPVS:
//!
//! * every *new* connection that uses a template restarts its timeout
//!   ([`TemplateTable::touch`]); packets of existing connections do not;
//! * a template outlives the connections that refer to it: while its
//!   reference count ([`TemplateTable::hold`] / [`TemplateTable::release`])
//!   is non-zero, expiry re-arms it for another `timeout` instead;
//! * a template whose dest went away is dropped on its next use
//!   ([`TemplateTable::unhash`]): lookups stop finding it at once, a new
//!   template may take its key, and the old one is freed only when its
//!   last connection has let go, so a connection's template id is never
//!   reused under it.
//!
//! Same building blocks as the connection table: slab, [`Index`], lazy
//! [`TimerWheel`], all sized once.

use super::index::{Index, Probe};
use super::key::{mix2, random_seed};
use super::table::InsertError;
use super::timer::{secs, TimerWheel};
use rvs_conf::ServiceKey;
use std::net::IpAddr;

/// A template's slot number.
pub type TmplId = u32;

/// What a template is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateKey {
    /// The service's identity (its VIP:port/proto or fwmark): stable
    /// across snapshots, and two services never share templates.
    pub svc: ServiceKey,
    /// Client address masked with the service's `-M` netmask, widened to
    /// 128 bits (see [`crate::addr::Addr::widen`]; the service says the
    /// family).
    pub client: u128,
}

impl TemplateKey {
    #[inline(always)]
    fn hash64(&self, seed: u64) -> u64 {
        let svc = match self.svc {
            ServiceKey::Fwmark(m) => u64::from(m) | 1 << 63,
            ServiceKey::Inet { proto, addr, port } => {
                let a = match addr {
                    IpAddr::V4(a) => u64::from(u32::from(a)),
                    IpAddr::V6(a) => {
                        let v = u128::from(a);
                        (v as u64) ^ ((v >> 64) as u64).rotate_left(17)
                    }
                };
                a ^ u64::from(port) << 32 ^ u64::from(proto.number()) << 48
            }
        };
        let client = (self.client as u64) ^ ((self.client >> 64) as u64).rotate_left(17);
        mix2(svc ^ client.rotate_left(40), 0x7e, seed)
    }
}

impl Default for TemplateKey {
    fn default() -> Self {
        TemplateKey { svc: ServiceKey::Fwmark(0), client: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Template {
    pub key: TemplateKey,
    /// The dest clients of `key` stick to (its address, widened).
    pub dest: u128,
    /// Connections currently referring to this template.
    pub refs: u32,
    /// Persistence timeout, ticks.
    pub timeout: u64,
    /// Tick after which it expires unless used again (or referenced).
    pub expires: u64,
    /// Still findable by lookup (false after `unhash`).
    pub hashed: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct TemplateTable {
    slab: Vec<Template>,
    free: Vec<u32>,
    index: Index,
    wheel: TimerWheel,
    seed: u64,
}

impl TemplateTable {
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, 0)
    }

    /// A table whose clock starts at tick `now`.
    pub fn with_clock(capacity: usize, now: u64) -> Self {
        assert!(capacity < u32::MAX as usize, "capacity {capacity} too large");
        TemplateTable {
            slab: vec![Template::default(); capacity],
            free: (0..capacity as u32).rev().collect(),
            index: Index::new(capacity),
            // 2^14 slots: 256 s at 64 Hz; longer persistence just comes round again.
            wheel: TimerWheel::new(capacity, 14, now),
            seed: random_seed(),
        }
    }

    pub fn len(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.slab.len()
    }

    #[inline]
    pub fn lookup(&self, key: &TemplateKey) -> Option<TmplId> {
        let slab = &self.slab;
        self.index.get(key.hash64(self.seed), |v| slab[v as usize].key == *key)
    }

    #[inline(always)]
    pub fn get(&self, id: TmplId) -> &Template {
        &self.slab[id as usize]
    }

    /// Create a template sending `key` to `dest` for `timeout_secs`.
    pub fn insert(&mut self, key: TemplateKey, dest: u128, timeout_secs: u32, now: u64) -> Result<TmplId, InsertError> {
        let Some(&id) = self.free.last() else {
            return Err(InsertError::Full);
        };
        let h = key.hash64(self.seed);
        let slab = &self.slab;
        let at = match self.index.probe(h, |v| slab[v as usize].key == key) {
            Probe::Vacant(at) => at,
            Probe::Found(..) => return Err(InsertError::Exists),
        };
        self.free.pop();
        let timeout = secs(timeout_secs.max(1));
        self.slab[id as usize] = Template { key, dest, refs: 0, timeout, expires: now + timeout, hashed: true };
        self.index.fill(at, h, id);
        self.wheel.schedule(id, now + timeout);
        Ok(id)
    }

    /// A new connection used the template: restart its timeout.
    #[inline]
    pub fn touch(&mut self, id: TmplId, now: u64) {
        let t = &mut self.slab[id as usize];
        t.expires = now + t.timeout;
    }

    /// A connection now refers to the template (store `id` in `Conn::tmpl`).
    #[inline]
    pub fn hold(&mut self, id: TmplId) {
        self.slab[id as usize].refs += 1;
    }

    /// A connection referring to the template ended.
    #[inline]
    pub fn release(&mut self, id: TmplId) {
        let t = &mut self.slab[id as usize];
        debug_assert!(t.refs > 0, "template {id} released more than held");
        t.refs = t.refs.saturating_sub(1);
    }

    /// Stop finding the template (its dest is gone or quiesced, or `-C`).
    /// It is freed, and handed to `expire`'s callback, once unreferenced
    /// and past its expiry; `unhash` sets that expiry to `now`.
    pub fn unhash(&mut self, id: TmplId, now: u64) {
        let t = &mut self.slab[id as usize];
        if !t.hashed {
            return;
        }
        t.hashed = false;
        t.expires = now;
        let h = t.key.hash64(self.seed);
        self.index.remove(h, id);
        self.wheel.schedule(id, now);
    }

    /// Expire templates up to tick `now` within about `budget` units of
    /// work; each freed template goes to `on_expired`. Returns how many.
    pub fn expire(&mut self, now: u64, mut budget: usize, mut on_expired: impl FnMut(Template)) -> usize {
        let mut n = 0;
        while let Some(id) = self.wheel.poll(now, &mut budget) {
            let t = self.slab[id as usize];
            if t.expires > now {
                self.wheel.schedule(id, t.expires);
            } else if t.refs > 0 {
                // IPVS keeps a template alive while connections use it,
                // looking again one timeout later.
                self.wheel.schedule(id, now + t.timeout);
            } else {
                if t.hashed {
                    self.index.remove(t.key.hash64(self.seed), id);
                }
                self.free.push(id);
                on_expired(t);
                n += 1;
            }
        }
        n
    }

    pub fn mem_bytes(&self) -> usize {
        self.slab.capacity() * std::mem::size_of::<Template>()
            + self.free.capacity() * 4
            + self.index.mem_bytes()
            + self.wheel.mem_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: TemplateKey = TemplateKey { svc: ServiceKey::Fwmark(1), client: 0x0a00_0000 };

    fn drain(t: &mut TemplateTable, now: u64) -> Vec<Template> {
        let mut v = Vec::new();
        t.expire(now, usize::MAX, |x| v.push(x));
        v
    }

    #[test]
    fn sticky_until_idle_timeout() {
        let mut t = TemplateTable::new(4);
        let id = t.insert(K, 7, 300, 0).unwrap();
        assert_eq!(t.lookup(&K), Some(id));
        assert_eq!(t.get(id).dest, 7);
        assert_eq!(t.insert(K, 8, 300, 0), Err(InsertError::Exists));
        assert_eq!(t.lookup(&TemplateKey { svc: ServiceKey::Fwmark(2), ..K }), None);
        // A new connection at 200 s keeps it until 500 s.
        t.touch(id, secs(200));
        assert!(drain(&mut t, secs(300)).is_empty());
        assert_eq!(t.lookup(&K), Some(id));
        assert!(drain(&mut t, secs(500) - 1).is_empty());
        let gone = drain(&mut t, secs(500));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].dest, 7);
        assert_eq!(t.lookup(&K), None);
        assert!(t.is_empty());
    }

    #[test]
    fn lives_as_long_as_its_connections() {
        let mut t = TemplateTable::new(4);
        let id = t.insert(K, 7, 60, 0).unwrap();
        t.hold(id);
        assert!(drain(&mut t, secs(1000)).is_empty());
        assert_eq!(t.lookup(&K), Some(id));
        t.release(id);
        assert!(drain(&mut t, secs(1000) + secs(60) - 1).is_empty());
        assert_eq!(drain(&mut t, secs(1060)).len(), 1);
    }

    #[test]
    fn unhash_frees_after_last_reference() {
        let mut t = TemplateTable::new(2);
        let old = t.insert(K, 7, 60, 0).unwrap();
        t.hold(old);
        t.unhash(old, secs(10));
        assert_eq!(t.lookup(&K), None);
        // A new template for the same key while the old one lingers.
        let new = t.insert(K, 8, 60, secs(10)).unwrap();
        assert_ne!(new, old);
        assert_eq!(t.lookup(&K), Some(new));
        t.hold(new);
        assert_eq!(t.insert(TemplateKey { svc: ServiceKey::Fwmark(9), client: 0 }, 1, 60, 0), Err(InsertError::Full));
        assert!(drain(&mut t, secs(20)).is_empty());
        t.release(old);
        // Re-armed at 20 s for one more timeout.
        assert!(drain(&mut t, secs(79)).is_empty());
        let gone = drain(&mut t, secs(80));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].dest, 7);
        assert_eq!(t.lookup(&K), Some(new));
    }
}
