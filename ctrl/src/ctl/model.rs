//! The configuration Control owns, and how a change to it is planned.
//!
//! rvsadm edits and SIGHUP reloads act on one model: the YAML [`Config`]
//! whose `services` list is the live table. A change is first *planned*
//! on a copy (nothing is touched if any part of it fails), then
//! committed, which gives it the next generation number. Publishing the
//! snapshot is the caller's job; this module stays pure so that every
//! rule here is unit-tested without DPDK.

use crate::adm::{self, AdmCommand, AdmError};
use rvs_conf::{Config, ServiceKey};

/// The live configuration and its generation.
#[derive(Debug, Clone)]
pub struct Model {
    pub cfg: Config,
    /// Generation of the last published snapshot.
    pub generation: u64,
}

/// A checked change, ready to commit.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The configuration after the change.
    pub cfg: Config,
    /// `-Z` targets, applied after the commit (`None` = everything).
    pub zero: Vec<Option<ServiceKey>>,
    /// Whether the data path must see a new snapshot (services, routes
    /// or connection settings changed).
    pub publish: bool,
}

impl Model {
    pub fn new(cfg: Config, generation: u64) -> Self {
        Model { cfg, generation }
    }

    /// Plan rvsadm commands as one transaction. Line 0 means a command
    /// from argv: its error is reported without a line number.
    pub fn plan_cmds(&self, cmds: &[(usize, AdmCommand)]) -> Result<Plan, AdmError> {
        let services = adm::apply_all(&self.cfg.services, cmds).map_err(
            |(line, e)| {
                if line == 0 {
                    e
                } else {
                    e.at_line(line)
                }
            },
        )?;
        refuse_unsupported(&services, cmds)?;
        let mut cfg = Config { services: Vec::new(), ..self.cfg.clone() };
        let mut zero = Vec::new();
        for (_, c) in cmds {
            match c {
                AdmCommand::SetTimeouts(t) => adm::apply::apply_timeouts(&mut cfg.conn, t),
                AdmCommand::Zero(k) => zero.push(*k),
                _ => {}
            }
        }
        cfg.services = services;
        let publish = cfg.services != self.cfg.services || cfg.conn != self.cfg.conn;
        Ok(Plan { cfg, zero, publish })
    }

    /// Plan a reload of the configuration file. Only what a new snapshot
    /// can carry changes live: services, routes and the connection
    /// settings other than the table size. Anything else (EAL, ports,
    /// workers, the table size, the control socket) was fixed at boot;
    /// such a file is refused whole, so the daemon never runs half of it.
    pub fn plan_reload(&self, new: Config) -> Result<Plan, String> {
        let old = &self.cfg;
        let mut fixed = Vec::new();
        if new.dpdk != old.dpdk {
            fixed.push("dpdk");
        }
        if new.interfaces != old.interfaces {
            fixed.push("interfaces");
        }
        if new.workers != old.workers {
            fixed.push("workers");
        }
        if new.conn.table_size != old.conn.table_size {
            fixed.push("conn.table_size");
        }
        if new.conn.table_size6 != old.conn.table_size6 {
            fixed.push("conn.table_size6");
        }
        if new.conn.template_size != old.conn.template_size {
            fixed.push("conn.template_size");
        }
        if new.control != old.control {
            fixed.push("control");
        }
        if new.metrics != old.metrics {
            fixed.push("metrics");
        }
        if new.log != old.log {
            fixed.push("log");
        }
        if new.announce != old.announce {
            fixed.push("announce");
        }
        if new.sync != old.sync {
            fixed.push("sync");
        }
        if !fixed.is_empty() {
            return Err(format!("{} changed: restart required", fixed.join(", ")));
        }
        let publish = new.services != old.services || new.routes != old.routes || new.conn != old.conn;
        Ok(Plan { cfg: new, zero: Vec::new(), publish })
    }

    /// The generation of a snapshot that changes what the health checks
    /// lay over the same configuration.
    pub fn bump(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Make a plan the live configuration. Returns the generation to
    /// publish, or `None` when the data path needs no new snapshot.
    pub fn commit(&mut self, plan: &Plan) -> Option<u64> {
        self.cfg = plan.cfg.clone();
        plan.publish.then(|| {
            self.generation += 1;
            self.generation
        })
    }
}

/// Refuse a transaction whose result the data path cannot honour
/// ([`rvs_conf::ServiceConf::refuse_unwired_families`]), naming the first command
/// that added or edited the offending service.
fn refuse_unsupported(services: &[rvs_conf::ServiceConf], cmds: &[(usize, AdmCommand)]) -> Result<(), AdmError> {
    for s in services {
        let Err(msg) = s.refuse_unwired_families() else { continue };
        let line = cmds
            .iter()
            .find(|(_, c)| match c {
                AdmCommand::AddService(o) | AdmCommand::EditService(o) => o.key == s.key,
                AdmCommand::AddDest(d) | AdmCommand::EditDest(d) => d.service == s.key,
                _ => false,
            })
            .map_or(0, |(l, _)| *l);
        let e = AdmError::Invalid(msg);
        return Err(if line == 0 { e } else { e.at_line(line) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::{parse_args, parse_restore};

    const BASE: &str = "
workers: { count: 2 }
interfaces:
  - { name: a, device: net_null0, addresses: [10.0.0.1/24] }
services:
  - { vip: 10.0.0.100, port: 80, scheduler: rr, dests: [ { addr: 10.0.0.10, fwd: nat } ] }
";

    fn model() -> Model {
        Model::new(rvs_conf::load_str("t", BASE).unwrap(), 1)
    }

    fn cmd(line: &str) -> (usize, AdmCommand) {
        let v: Vec<String> = line.split_whitespace().map(String::from).collect();
        (0, parse_args(&v).unwrap())
    }

    #[test]
    fn commands_commit_with_the_next_generation() {
        let mut m = model();
        let p = m.plan_cmds(&[cmd("-a -t 10.0.0.100:80 -r 10.0.0.11 -m")]).unwrap();
        assert!(p.publish);
        assert_eq!(m.cfg.services[0].dests.len(), 1, "planning touches nothing");
        assert_eq!(m.commit(&p), Some(2));
        assert_eq!(m.cfg.services[0].dests.len(), 2);
        // -Z and a no-op --set need no snapshot.
        let p = m.plan_cmds(&[cmd("-Z"), cmd("--set 0 0 0")]).unwrap();
        assert!(!p.publish);
        assert_eq!(p.zero, vec![None]);
        assert_eq!(m.commit(&p), None);
        assert_eq!(m.generation, 2);
        let p = m.plan_cmds(&[cmd("--set 100 0 0")]).unwrap();
        assert!(p.publish);
        assert_eq!((p.cfg.conn.tcp_timeout, p.cfg.conn.tcpfin_timeout), (100, 120));
    }

    #[test]
    fn a_failing_line_applies_nothing_and_is_named() {
        let m = model();
        let cmds =
            parse_restore("-a -t 10.0.0.100:80 -r 10.0.0.12 -m\n--set 5 5 5\n-a -t 10.0.0.100:80 -r 10.0.0.10 -m\n")
                .unwrap();
        let e = m.plan_cmds(&cmds).unwrap_err();
        assert_eq!(e.line(), Some(3));
        assert_eq!(e.to_string(), "line 3: Destination already exists");
        // From argv: no line number.
        let e = m.plan_cmds(&[cmd("-d -t 10.0.0.100:80 -r 10.0.0.99")]).unwrap_err();
        assert_eq!(e, AdmError::NoSuchDest);
    }

    #[test]
    fn reload_applies_services_and_refuses_fixed_sections() {
        let m = model();
        let same = m.plan_reload(rvs_conf::load_str("t", BASE).unwrap()).unwrap();
        assert!(!same.publish);
        let more = BASE.replace("fwd: nat } ]", "fwd: nat }, { addr: 10.0.0.11, fwd: nat } ]");
        let p = m.plan_reload(rvs_conf::load_str("t", &more).unwrap()).unwrap();
        assert!(p.publish);
        assert_eq!(p.cfg.services[0].dests.len(), 2);
        let timeouts = format!("{BASE}conn: {{ tcp_timeout: 60 }}\n");
        assert!(m.plan_reload(rvs_conf::load_str("t", &timeouts).unwrap()).unwrap().publish);
        let workers = BASE.replace("count: 2", "count: 1");
        let e = m.plan_reload(rvs_conf::load_str("t", &workers).unwrap()).unwrap_err();
        assert_eq!(e, "workers changed: restart required");
        let both = workers.replace("net_null0", "net_null1");
        let e = m.plan_reload(rvs_conf::load_str("t", &both).unwrap()).unwrap_err();
        assert_eq!(e, "interfaces, workers changed: restart required");
        let size = format!("{BASE}conn: {{ table_size: 1024 }}\n");
        assert!(m.plan_reload(rvs_conf::load_str("t", &size).unwrap()).unwrap_err().contains("conn.table_size"));
    }

    #[test]
    fn ipv6_services_apply_and_cross_family_dests_are_refused() {
        let mut m = model();
        let cmds =
            parse_restore("-A -t [2001:db8::1]:80 -s rr\n-a -t [2001:db8::1]:80 -r [2001:db8::10]:80 -m\n").unwrap();
        let p = m.plan_cmds(&cmds).unwrap();
        m.commit(&p);
        assert_eq!(m.cfg.services.len(), 2);
        assert_eq!(m.cfg.services[1].dests.len(), 1);
        // A tunnel from an IPv4 service to an IPv6 real server is well
        // formed, but the data path keeps one family per packet.
        let e = m.plan_cmds(&[cmd("-a -t 10.0.0.100:80 -r [2001:db8::10]:80 -i")]).unwrap_err();
        assert!(e.to_string().contains("dest 2001:db8::10: tunnelling between address families"), "{e}");
        assert_eq!(m.cfg.services[0].dests.len(), 1, "nothing applied");
    }

    #[test]
    fn family_rules_come_before_the_data_path_refusal() {
        let m = model();
        // FULLNAT to IPv6 real servers from IPv4 LIPs cannot work: named
        // as such, not as "IPv6 unsupported".
        let cmds = parse_restore(
            "-A -t [2001:db8::1]:80 -s rr --laddr 10.0.0.5\n-a -t [2001:db8::1]:80 -r [2001:db8::10]:80 --fullnat\n",
        )
        .unwrap();
        let e = m.plan_cmds(&cmds).unwrap_err();
        assert!(e.to_string().contains("fullnat sends from the laddrs, which are IPv4"), "{e}");
        // NAT64 (IPv6 VIP, IPv4 LIPs and real servers) is accepted.
        let cmds = parse_restore(
            "-A -t [2001:db8::1]:80 -s rr --laddr 10.0.0.5\n-a -t [2001:db8::1]:80 -r 10.0.0.10:80 --fullnat\n",
        )
        .unwrap();
        assert!(m.plan_cmds(&cmds).is_ok());
        // NAT46 is well formed and refused only because the data path
        // does not translate that way.
        let cmds = parse_restore(
            "-A -t 10.0.0.1:80 -s rr --laddr 2001:db8::5\n-a -t 10.0.0.1:80 -r [2001:db8::10]:80 --fullnat\n",
        )
        .unwrap();
        let e = m.plan_cmds(&cmds).unwrap_err();
        assert!(e.to_string().contains("(NAT46) is not supported"), "{e}");
        assert_eq!(e.line(), Some(1), "{e}");
    }
}
