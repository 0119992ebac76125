//! The seeds run clean, each target's checks can fail, and the committed
//! corpora of the Control targets replay clean (inside `cargo test`, so
//! `./scripts/test.sh` replays them on stable).

use super::*;
use std::path::PathBuf;

/// rvsadm command lines: the ipvsadm grammar's corners and every command.
const RVSADM_LINES: &[&str] = &[
    "-A -t 10.0.0.1:80 -s wrr",
    "-a -t 10.0.0.1:80 -r 192.168.0.10:8080 -m -w 3",
    "-a -t 10.0.0.1:80 -r 192.168.0.11 -m -x 100 -y 10",
    "-e -t 10.0.0.1:80 -r 192.168.0.10:8080 -m -w 0",
    "-E -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback -p 120 -M 255.255.255.0",
    "-A -u 10.0.0.1:53 -s rr",
    "-a -u 10.0.0.1:53 -r 192.168.0.10 -g",
    "-A -t 10.0.0.2:0 -s wlc -p",
    "-a -t 10.0.0.2:0 -r 192.168.0.12 -i --tun-type gue --tun-port 6080",
    "-A -f 66 -s mh -b mh-port --match tcp:10.0.0.3:80,443",
    "-a -f 66 -r 192.168.0.10:0 -g",
    "-A -t 10.0.0.4:80 -s mhb --mhb-c 1.5 --laddr 192.168.0.101 --laddr 192.168.0.102",
    "-a -t 10.0.0.4:80 -r 192.168.0.20:8080 --fullnat -w 2",
    "-d -t 10.0.0.1:80 -r 192.168.0.11",
    "-D -u 10.0.0.1:53",
    "--set 900 120 300",
    "-Z -t 10.0.0.1:80",
    "-Ln",
    "-L -n --stats --exact",
    "-L -n --rate -t 10.0.0.1:80",
    "-L -n --thresholds --persistent-conn --tun-info",
    "-Lnc",
    "-L --timeout",
    "-S -n",
    "-S --yaml",
    "-At 10.0.0.5:80 -s lblcr",
    "-h",
    "-v",
    "-C",
];

/// Each seed's lines, for `write_seeds`.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for f in ["fullnat.yaml", "nat-lab.yaml"] {
        v.push(("yaml", format!("seed-{f}"), std::fs::read(root.join("../conf/examples").join(f)).unwrap()));
    }
    v.push(("yaml", "seed-base.yaml".into(), BASE.as_bytes().to_vec()));
    let rules = std::fs::read_to_string(root.join("tests/golden/ipvsadm_saved.rules")).unwrap();
    v.push(("rvsadm", "seed-saved-rules".into(), rules.clone().into_bytes()));
    v.push(("rvsadm", "seed-lines".into(), RVSADM_LINES.join("\n").into_bytes()));
    for (i, l) in RVSADM_LINES.iter().enumerate() {
        v.push(("rvsadm", format!("seed-line-{i:02}"), l.as_bytes().to_vec()));
    }
    let cmds: Vec<(usize, AdmCommand)> =
        RVSADM_LINES[..16].iter().map(|l| (0, adm::parse_args(&adm::restore::split_line(l)).unwrap())).collect();
    let reqs = [
        Request::Apply { cmds, dry_run: false },
        Request::Restore { text: rules, dry_run: true },
        Request::Get,
        Request::Conns { max: 10 },
        Request::Timeouts,
        Request::SetTimeouts(crate::adm::view::Timeouts { tcp: 1, tcpfin: 2, udp: 3 }),
        Request::Zero(None),
        Request::Workers,
        Request::Save,
    ];
    let mut all = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let line = proto::request_line(r);
        all.extend_from_slice(&line);
        v.push(("control", format!("seed-request-{i}"), line));
    }
    v.push(("control", "seed-all-requests".into(), all));
    v
}

#[test]
fn seeds_run_clean() {
    for (target, name, data) in seeds() {
        eprintln!("{target} {name}");
        match target {
            "yaml" => yaml(&data),
            "control" => control(&data),
            _ => rvsadm(&data),
        }
    }
}

#[test]
fn targets_follow_their_input_through() {
    // The YAML seed loads, a broken one does not (and must not panic).
    assert!(rvs_conf::fuzzing::yaml(BASE.as_bytes()).is_some());
    yaml(b"interfaces: [ { name: a, device: b, addresses: [1.2.3.4/33] } ]");
    // A control request that plans and commits changes the model.
    let line = br#"{"version":1,"request":{"restore":{"text":"-A -t 1.2.3.4:80 -s rr\n"}}}"#;
    control(line);
    // A save/restore mismatch is caught: restoring into a non-empty
    // table fails where the fuzz body expects the exact table back.
    let m = base();
    let saved = format::save(&m.cfg.services, &SaveOpts { numeric: true, yaml: false }, &format::Numeric).unwrap();
    let cmds = adm::parse_restore(&saved).unwrap();
    assert!(adm::apply_all(&m.cfg.services, &cmds).is_err(), "services already exist");
    assert_eq!(resolved(&adm::apply_all(&[], &cmds).unwrap()), resolved(&m.cfg.services));
    assert_ne!(adm::apply_all(&[], &cmds).unwrap(), m.cfg.services, "ports are spelled out by -S");
}

fn fuzz_dir(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(rel)
}

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = fuzz_dir(&format!("corpus/{target}"));
    let files = rvs_tests::sorted_files(&dir);
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for p in &files {
        let b = std::fs::read(p).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| f(&b)) {
            eprintln!("failing input: {}", p.display());
            std::panic::resume_unwind(e);
        }
    }
    files.len()
}

#[test]
fn corpus_yaml_replays_clean() {
    assert!(replay("yaml", yaml) > 0);
}

#[test]
fn corpus_control_replays_clean() {
    assert!(replay("control", control) > 0);
}

#[test]
fn corpus_rvsadm_replays_clean() {
    assert!(replay("rvsadm", rvsadm) > 0);
}

/// Write the seeds into `fuzz/corpus/` (by hand: `cargo test -p rvs-ctrl
/// --lib write_seeds -- --ignored`).
#[test]
#[ignore = "writes files: run by hand to (re)create the seeds"]
fn write_seeds() {
    for (target, name, data) in seeds() {
        let dir = fuzz_dir(&format!("corpus/{target}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    }
}
