//! `--proxy-protocol` (rvs extension) through parse, apply, `-S` and
//! `-R`, and its absence from the ipvsadm-format listing.

use crate::adm::cmd::{ListOpts, SaveOpts};
use crate::adm::format::{list, save};
use crate::adm::view::TableView;
use crate::adm::{apply, apply_all, parse_args, parse_restore, AdmCommand, AdmError};
use rvs_conf::{ProxyProtocol, ServiceConf};

fn cmd(line: &str) -> Result<AdmCommand, AdmError> {
    let v: Vec<String> = line.split_whitespace().map(String::from).collect();
    parse_args(&v)
}

fn run(model: &mut Vec<ServiceConf>, line: &str) -> Result<(), AdmError> {
    apply(model, &cmd(line).unwrap_or_else(|e| panic!("{line}: {e}")))
}

/// A FULLNAT service 10.0.0.1:80 with one real server.
fn fullnat(pp: &str) -> Vec<ServiceConf> {
    let mut m = Vec::new();
    run(&mut m, &format!("-A -t 10.0.0.1:80 -s rr --laddr 192.168.0.100 {pp}")).unwrap();
    run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10:8080 --fullnat").unwrap();
    m
}

#[test]
fn parses_on_add_and_edit_only() {
    for (word, want) in [("v1", ProxyProtocol::V1), ("V2", ProxyProtocol::V2), ("off", ProxyProtocol::Off)] {
        let Ok(AdmCommand::AddService(o)) = cmd(&format!("-A -t 10.0.0.1:80 --proxy-protocol {word}")) else {
            panic!("{word}")
        };
        assert_eq!(o.proxy_protocol, Some(want));
        let Ok(AdmCommand::EditService(o)) = cmd(&format!("-E -t 10.0.0.1:80 --proxy-protocol={word}")) else {
            panic!("{word}")
        };
        assert_eq!(o.proxy_protocol, Some(want));
    }
    let Ok(AdmCommand::EditService(o)) = cmd("-E -t 10.0.0.1:80 -s rr") else { panic!() };
    assert_eq!(o.proxy_protocol, None, "not given");
    let e = cmd("-A -t 10.0.0.1:80 --proxy-protocol v3").unwrap_err().to_string();
    assert!(e.contains("illegal proxy protocol") && e.contains("valid: v1, v2, off"), "{e}");
    let e = cmd("-a -t 10.0.0.1:80 -r 1.1.1.1 --fullnat --proxy-protocol v1").unwrap_err().to_string();
    assert_eq!(e, "Illegal 'proxy-protocol' option with the 'add-server' command");
    assert!(cmd("-A -t 10.0.0.1:80 --proxy-protocol").is_err(), "needs a value");
}

#[test]
fn edit_keeps_it_and_validation_refuses_what_the_data_path_cannot_do() {
    let mut m = fullnat("--proxy-protocol v2");
    assert_eq!(m[0].proxy_protocol, ProxyProtocol::V2);
    // -E without the option keeps it (an extension has no ipvsadm default).
    run(&mut m, "-E -t 10.0.0.1:80 -s wrr").unwrap();
    assert_eq!(m[0].proxy_protocol, ProxyProtocol::V2);
    run(&mut m, "-E -t 10.0.0.1:80 -s wrr --proxy-protocol v1").unwrap();
    assert_eq!(m[0].proxy_protocol, ProxyProtocol::V1);
    // A NAT real server on a PROXY service, and PROXY on a UDP service.
    let before = m.clone();
    let e = run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.11 -m").unwrap_err();
    assert!(matches!(&e, AdmError::Invalid(s) if s.contains("every dest must be fullnat")), "{e}");
    assert_eq!(m, before);
    let e = run(&mut m, "-A -u 10.0.0.1:53 --proxy-protocol v2").unwrap_err();
    assert!(e.to_string().contains("needs a TCP service"), "{e}");
    run(&mut m, "-E -t 10.0.0.1:80 --proxy-protocol off").unwrap();
    run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.11 -m").unwrap();
    let e = run(&mut m, "-E -t 10.0.0.1:80 --proxy-protocol v1").unwrap_err();
    assert!(e.to_string().contains("dest 192.168.0.11 is Masq"), "{e}");
}

#[test]
fn save_restore_round_trip_and_not_in_the_listing() {
    for (pp, want) in [("v1", ProxyProtocol::V1), ("v2", ProxyProtocol::V2)] {
        let m = fullnat(&format!("--proxy-protocol {pp}"));
        let saved = save(&m, &SaveOpts::default(), &crate::adm::format::Numeric).unwrap();
        assert_eq!(
            saved,
            format!(
                "-A -t 10.0.0.1:80 -s rr --laddr 192.168.0.100 --proxy-protocol {pp}\n\
                 -a -t 10.0.0.1:80 -r 192.168.0.10:8080 --fullnat -w 1\n"
            )
        );
        let cmds = parse_restore(&format!("-C\n{saved}")).unwrap();
        let back = apply_all(&m, &cmds).unwrap();
        assert_eq!(back, m);
        assert_eq!(back[0].proxy_protocol, want);
        // -S --yaml spells it as the file does, and reads back.
        let yaml = save(&m, &SaveOpts { yaml: true, numeric: true }, &crate::adm::format::Numeric).unwrap();
        assert!(yaml.contains(&format!("proxy_protocol: {pp}")), "{yaml}");
        // ipvsadm's -L has no column for it.
        let out = list(&TableView::from_model(1, &m), &ListOpts::default(), &crate::adm::format::Numeric).unwrap();
        assert!(!out.to_lowercase().contains("proxy"), "{out}");
        assert!(out.contains("TCP  10.0.0.1:80 rr"), "{out}");
    }
    // Off is not written: a table without extensions saves as ipvsadm does.
    let saved = save(&fullnat(""), &SaveOpts::default(), &crate::adm::format::Numeric).unwrap();
    assert!(!saved.contains("proxy"), "{saved}");
}
