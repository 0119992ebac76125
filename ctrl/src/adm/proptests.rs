//! Property: any valid table survives `-S` → `-C` → `-R` (and the JSON
//! wire form) unchanged, up to what ipvsadm's format does not carry by
//! design (dest port 0 meaning "the service port" is written resolved).

use crate::adm::cmd::{AdmCommand, SaveOpts};
use crate::adm::format;
use crate::adm::view::TableView;
use crate::adm::{apply_all, parse_restore, values};
use proptest::prelude::*;
use rvs_conf::{
    DestConf, FwdMethod, FwmarkMatch, Proto, ProxyProtocol, SchedFlags, SchedKind, ServiceConf, ServiceKey, TunType,
};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Turns proptest's random words into a table that passes validation.
struct Gen<'a> {
    words: &'a [u64],
    i: usize,
}

impl Gen<'_> {
    fn next(&mut self) -> u64 {
        let w = self.words[self.i % self.words.len()].rotate_left((self.i / self.words.len()) as u32 * 7);
        self.i += 1;
        w
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn addr(&mut self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, self.below(0xffff) as u16 + 1))
        } else {
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (self.below(0x00ff_ffff) as u32 + 1)))
        }
    }

    fn service(&mut self, mark_seq: u32) -> ServiceConf {
        let fwmark = self.chance(25);
        let v6 = self.chance(30);
        let key = if fwmark {
            ServiceKey::Fwmark(mark_seq)
        } else {
            ServiceKey::Inet {
                proto: if self.chance(50) { Proto::Tcp } else { Proto::Udp },
                addr: self.addr(v6),
                port: self.below(65536) as u16,
            }
        };
        let mut s = ServiceConf::new(key);
        s.scheduler = SchedKind::ALL[self.below(SchedKind::ALL.len() as u64) as usize];
        s.sched_flags = SchedFlags(self.below(8) as u32);
        let port0 = matches!(key, ServiceKey::Inet { port: 0, .. });
        if port0 || self.chance(40) {
            s.persistent = Some(self.below(u64::from(crate::adm::parse::MAX_TIMEOUT)) as u32 + 1);
        }
        s.netmask = values::full_mask(v6);
        if s.persistent.is_some() && self.chance(50) {
            s.netmask = if v6 {
                values::v6_mask(self.below(128) as u8 + 1)
            } else {
                IpAddr::V4(Ipv4Addr::from(self.next() as u32))
            };
        }
        if self.chance(30) {
            s.mhb_c = 1.0 + self.below(400) as f64 / 8.0;
        }
        if fwmark {
            // One match per service, on a VIP of its own: no overlaps.
            let vip = if v6 {
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, mark_seq as u16))
            } else {
                IpAddr::V4(Ipv4Addr::from(0xc0a8_0000 | mark_seq))
            };
            let ports: BTreeSet<u16> = (0..self.below(6)).map(|_| self.below(65535) as u16 + 1).collect();
            s.matches.push(FwmarkMatch {
                proto: if self.chance(50) { Proto::Tcp } else { Proto::Udp },
                vip,
                ports: ports.into_iter().collect(),
            });
        }
        let nd = self.below(5);
        let mut seen = BTreeSet::new();
        for _ in 0..nd {
            let fwd = [FwdMethod::Nat, FwdMethod::Dr, FwdMethod::Tun, FwdMethod::FullNat][self.below(4) as usize];
            let addr = self.addr(v6);
            let sport = match key {
                ServiceKey::Inet { port, .. } => port,
                ServiceKey::Fwmark(_) => 0,
            };
            let port = match (fwd, key) {
                (FwdMethod::Dr | FwdMethod::Tun, ServiceKey::Inet { .. }) => sport,
                _ => self.below(65536) as u16,
            };
            let mut d = DestConf::new(addr, port, fwd, self.below(65536) as u32);
            if self.chance(30) {
                d.upper = self.below(100_000) as u32 + 1;
                d.lower = self.below(u64::from(d.upper) + 1) as u32;
            }
            if fwd == FwdMethod::Tun {
                d.tun_type = [TunType::Ipip, TunType::Gue, TunType::Gre][self.below(3) as usize];
                if d.tun_type == TunType::Gue {
                    d.tun_port = self.below(65535) as u16 + 1;
                }
            }
            if fwd == FwdMethod::FullNat && s.laddrs.is_empty() {
                s.laddrs.push(self.addr(false));
            }
            if seen.insert((d.addr, s.dest_port(&d))) {
                s.dests.push(d);
            }
        }
        if self.chance(20) {
            let a = self.addr(false);
            if !s.laddrs.contains(&a) {
                s.laddrs.push(a);
            }
        }
        // A PROXY header where the service can take one (TCP, FULLNAT).
        if self.chance(30) {
            let mut pp = s.clone();
            pp.proxy_protocol = [ProxyProtocol::V1, ProxyProtocol::V2][self.below(2) as usize];
            if pp.validate().is_ok() {
                s = pp;
            }
        }
        s
    }

    fn table(&mut self) -> Vec<ServiceConf> {
        let n = self.below(8);
        let mut out: Vec<ServiceConf> = Vec::new();
        for i in 0..n {
            let s = self.service(i as u32 + 1);
            if s.validate().is_ok() && !out.iter().any(|o| o.key == s.key) {
                out.push(s);
            }
        }
        out
    }
}

/// Same services, order-free, dest ports resolved.
fn normal(m: &[ServiceConf]) -> Vec<ServiceConf> {
    let mut v: Vec<ServiceConf> = m
        .iter()
        .map(|s| {
            let mut s = s.clone();
            for i in 0..s.dests.len() {
                s.dests[i].port = s.dest_port(&s.dests[i]);
            }
            s.dests.sort_by_key(|d| (d.addr, d.port));
            s
        })
        .collect();
    v.sort_by_key(|s| s.key);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn save_restore_round_trip(words in prop::collection::vec(any::<u64>(), 1..64)) {
        let table = Gen { words: &words, i: 0 }.table();
        // -S keeps what ipvsadm's save keeps (format::as_saved).
        let Some(model) = table.iter().map(format::as_saved).collect::<Option<Vec<_>>>() else {
            return Ok(());
        };
        let saved = format::save(&model, &SaveOpts::default(), &format::Numeric).unwrap();
        prop_assert_eq!(format::save(&table, &SaveOpts::default(), &format::Numeric).unwrap(), saved.clone());
        let cmds = parse_restore(&format!("-C\n{saved}"))
            .unwrap_or_else(|e| panic!("{e}\n{saved}"));
        let back = apply_all(&model, &cmds).unwrap_or_else(|(l, e)| panic!("line {l}: {e}\n{saved}"));
        prop_assert_eq!(normal(&back), normal(&model), "{}", saved);
        prop_assert_eq!(format::save(&back, &SaveOpts::default(), &format::Numeric).unwrap(), saved);

        // The listing view survives JSON (rvsd → rvsadm).
        let view = TableView::from_model(4096, &model);
        let json = serde_json::to_string(&view).unwrap();
        let view2: TableView = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(view2, view);
        // So do the commands (rvsadm → rvsd).
        for (_, c) in &cmds {
            let j = serde_json::to_string(c).unwrap();
            let c2: AdmCommand = serde_json::from_str(&j).unwrap();
            prop_assert_eq!(&c2, c);
        }
    }
}
