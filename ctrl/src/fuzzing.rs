//! Fuzz target bodies for Control's parsers: the YAML file, the control
//! socket's messages and rvsadm's command line. Plain functions, so that
//! libFuzzer (`fuzz/`, nightly) and the corpus replay tests (stable) run
//! the same code; each panics when something that must hold does not.
//!
//! Beyond "no panic", each follows its input as far as rvsd would: a
//! configuration that loads is turned into a data-path snapshot (twice,
//! as a reload does); a request that decodes is re-encoded and must
//! decode to itself, and its edits are planned on a model and published;
//! commands that apply are saved (`-S`) and restored (`-R`) and must give
//! the same table back.

use crate::adm::cmd::SaveOpts;
use crate::adm::view::TableView;
use crate::adm::{self, format, AdmCommand};
use crate::ctl::model::Model;
use crate::ctl::proto::{self, Request};
use crate::daemon::{eal_args, publish};
use rvs_conf::{Config, SchedKind, ServiceConf};

/// Larger configurations are loaded but not turned into snapshots (rvsd
/// refuses more workers than lcores before building one; the limit keeps
/// the fuzzer's memory bounded).
const MAX_BUILD_WORKERS: u16 = 8;
const MAX_BUILD_SERVICES: usize = 256;
/// A Maglev table (mh, mhb) takes milliseconds to build: at most this many
/// per snapshot, or the targets spend their time there.
const MAX_BUILD_MAGLEV: usize = 2;

/// The configuration the control and rvsadm targets start from.
const BASE: &str = "
workers: { count: 2 }
interfaces:
  - { name: client, device: net_null0, addresses: [172.25.254.1/24] }
  - { name: server, device: net_null1, addresses: [192.168.0.100/24] }
services:
  - { vip: 172.25.254.100, port: 80, scheduler: rr, dests: [ { addr: 192.168.0.10, fwd: nat } ] }
  - { vip: 172.25.254.100, port: 443, scheduler: sh, laddrs: [192.168.0.101],
      dests: [ { addr: 192.168.0.10, fwd: fullnat }, { addr: 192.168.0.20, fwd: fullnat, weight: 3 } ] }
";

fn base() -> Model {
    Model::new(rvs_conf::load_str("base", BASE).expect("the base configuration is valid"), 1)
}

/// What rvsd does with a configuration once loaded: EAL arguments and a
/// snapshot, then a second snapshot from the first (a reload).
fn publish_all(cfg: &Config, services: &[ServiceConf]) {
    let maglev = services.iter().filter(|s| matches!(s.scheduler, SchedKind::Mh | SchedKind::Mhb)).count();
    if cfg.workers.count > MAX_BUILD_WORKERS || services.len() > MAX_BUILD_SERVICES || maglev > MAX_BUILD_MAGLEV {
        return;
    }
    let _ = eal_args::build(cfg, 1);
    let n = cfg.interfaces.len();
    let ids: Vec<u16> = (0..n as u16).collect();
    let macs: Vec<[u8; 6]> = (0..n).map(|i| [2, 0, 0, 0, 0, i as u8]).collect();
    let ifaces = publish::ifaces(cfg, &ids, &macs);
    let first = publish::build(1, cfg, services, ifaces.clone(), None);
    let second = publish::build(2, cfg, services, ifaces, Some(&first));
    assert_eq!(second.services.list.len(), services.len());
}

/// Services in a canonical form: each dest's port spelled out (YAML's
/// port 0 means "the service port"; `-S` writes the port itself), and
/// services and dests in `-S`'s sorted order.
fn resolved(services: &[ServiceConf]) -> Vec<ServiceConf> {
    let mut v = services.to_vec();
    for s in &mut v {
        let ports: Vec<u16> = s.dests.iter().map(|d| s.dest_port(d)).collect();
        for (d, p) in s.dests.iter_mut().zip(ports) {
            d.port = p;
        }
        s.dests.sort_by_key(|d| (d.addr, d.port));
    }
    v.sort_by_key(|s| format!("{:?}", s.key));
    v
}

/// `yaml` target: `rvsd --check`, then what rvsd builds from the file.
pub fn yaml(data: &[u8]) {
    let Some(cfg) = rvs_conf::fuzzing::yaml(data) else { return };
    publish_all(&cfg, &cfg.services);
    let m = Model::new(cfg.clone(), 1);
    let p = m.plan_reload(cfg).expect("reloading the same configuration is allowed");
    assert!(!p.publish, "reloading the same configuration publishes nothing");
}

/// `control` target: the bytes a client writes to the control socket,
/// read as rvsd's server reads them (bounded frames), each decoded;
/// editing requests are planned on a model and published.
pub fn control(data: &[u8]) {
    let mut r = std::io::BufReader::with_capacity(64, data);
    let mut model = base();
    for _ in 0..16 {
        let frame = match proto::read_frame(&mut r, 4096) {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(proto::FrameError::TooLarge(_)) => return,
            Err(proto::FrameError::Io(e)) => panic!("reading from memory failed: {e}"),
        };
        let req = match proto::decode_request(&frame) {
            Ok(r) => r,
            Err(e) => {
                let line = proto::ReplyMsg::from_result(Err(e)).to_line();
                assert!(serde_json::from_slice::<proto::ReplyMsg>(&line).is_ok(), "error replies are JSON");
                continue;
            }
        };
        let line = proto::request_line(&req);
        match proto::decode_request(&line[..line.len() - 1]) {
            Ok(back) => assert_eq!(back, req, "a request re-encoded decodes to itself"),
            Err(e) => panic!("re-encoded request {:?} does not decode: {}", String::from_utf8_lossy(&line), e.message),
        }
        let cmds = match req {
            Request::Apply { cmds, .. } => cmds,
            Request::Restore { text, .. } => match adm::parse_restore(&text) {
                Ok(c) => c,
                Err(_) => continue,
            },
            _ => continue,
        };
        if let Ok(plan) = model.plan_cmds(&cmds) {
            publish_all(&plan.cfg, &plan.cfg.services);
            model.commit(&plan);
        }
    }
}

/// `rvsadm` target: each line of the input is a command line (split like
/// a shell would). Edits are applied in order to a model; listings and
/// saves are formatted from it; at the end the table is saved and
/// restored, which must reproduce it exactly.
pub fn rvsadm(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut model = base();
    for line in text.lines().take(32) {
        let words = adm::restore::split_line(line);
        let cmd = match adm::parse_args(&words) {
            Ok(c) => c,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                let _ = e.exit_code();
                continue;
            }
        };
        let view = || TableView::from_model(4096, &model.cfg.services);
        match &cmd {
            AdmCommand::List(o) => {
                let _ = format::list(&view(), o, &format::Numeric);
            }
            AdmCommand::Save(o) => {
                let _ = format::save(&model.cfg.services, o, &format::Numeric);
            }
            c if c.is_edit() => {
                if let Ok(plan) = model.plan_cmds(&[(0, cmd.clone())]) {
                    model.commit(&plan);
                }
            }
            _ => {}
        }
    }
    let services = &model.cfg.services;
    let saved =
        format::save(services, &SaveOpts { numeric: true, yaml: false }, &format::Numeric).expect("the table saves");
    // -S writes what ipvsadm's save writes, which is less than the table
    // holds (format::as_saved); the round trip gives back that much.
    if let Some(kept) = services.iter().map(format::as_saved).collect::<Option<Vec<_>>>() {
        let cmds = adm::parse_restore(&saved).unwrap_or_else(|e| panic!("saved table does not parse: {e}\n{saved}"));
        let back =
            adm::apply_all(&[], &cmds).unwrap_or_else(|(l, e)| panic!("saved line {l} does not apply: {e}\n{saved}"));
        assert_eq!(resolved(&back), resolved(&kept), "-S then -R gives the table back\n{saved}");
    }
    publish_all(&model.cfg, services);
}

#[cfg(test)]
mod tests;
