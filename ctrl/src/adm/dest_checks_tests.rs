//! The real servers IPVS refuses, refused by rvsadm with ipvsadm's
//! words and exit status, and by the YAML loader with a clear message.

use crate::adm::{apply, apply_all, parse_args, parse_restore, AdmCommand, AdmError};
use rvs_conf::ServiceConf;

fn cmd(line: &str) -> AdmCommand {
    let v: Vec<String> = line.split_whitespace().map(String::from).collect();
    parse_args(&v).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn run(model: &mut Vec<ServiceConf>, line: &str) -> Result<(), AdmError> {
    apply(model, &cmd(line))
}

fn table() -> Vec<ServiceConf> {
    let mut m = Vec::new();
    run(&mut m, "-A -t 10.0.0.1:80").unwrap();
    run(&mut m, "-A -t [2001:db8::1]:80").unwrap();
    m
}

#[test]
fn non_unicast_real_servers_are_einval() {
    let mut m = table();
    let before = m.clone();
    for (svc, r) in [
        ("10.0.0.1:80", "224.0.0.1"),
        ("10.0.0.1:80", "239.255.255.250"),
        ("10.0.0.1:80", "0.0.0.0"),
        ("10.0.0.1:80", "0.1.2.3"),
        ("10.0.0.1:80", "255.255.255.255"),
        ("[2001:db8::1]:80", "[::]"),
        ("[2001:db8::1]:80", "[ff02::1]"),
        ("[2001:db8::1]:80", "[fe80::1]"),
        ("[2001:db8::1]:80", "[febf::1]"),
        ("[2001:db8::1]:80", "[::ffff:1.2.3.4]"),
    ] {
        let e = run(&mut m, &format!("-a -t {svc} -r {r}:80 -m")).unwrap_err();
        assert_eq!(e, AdmError::InvalidOperation, "{r}");
        assert_eq!(e.to_string(), "Invalid operation.  Possibly wrong module version, address not unicast, ...");
        assert_eq!(e.exit_code(), 255);
    }
    assert_eq!(m, before);
    // What IPVS takes: unicast (class E too, when routed), loopback,
    // site-local, unique-local, IPv4-compatible.
    for (svc, r) in [
        ("10.0.0.1:80", "192.168.0.10"),
        ("10.0.0.1:80", "127.0.0.1"),
        ("10.0.0.1:80", "240.0.0.1"),
        ("10.0.0.1:80", "1.0.0.0"),
        ("[2001:db8::1]:80", "[::1]"),
        ("[2001:db8::1]:80", "[fec0::1]"),
        ("[2001:db8::1]:80", "[fd00::1]"),
        ("[2001:db8::1]:80", "[::1.2.3.4]"),
    ] {
        let line = format!("-a -t {svc} -r {r}:80 -m");
        let r = run(&mut m, &line);
        assert!(r.is_ok() || r == Err(AdmError::DestExists), "{line}: {r:?}");
    }
    // A missing service is reported before the address.
    let mut m = table();
    assert_eq!(run(&mut m, "-a -t 10.0.0.9:80 -r 224.0.0.1:80 -m"), Err(AdmError::ServiceNotDefined));
    // -e of one can only find nothing.
    assert_eq!(run(&mut m, "-e -t 10.0.0.1:80 -r 224.0.0.1:80 -m"), Err(AdmError::NoSuchDest));
}

#[test]
fn restore_of_a_multicast_real_server_names_its_line() {
    let text =
        "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.0.10:80 -m\n-a -t 10.0.0.1:80 -r 224.0.0.5:80 -m\n";
    let e = apply_all(&[], &parse_restore(text).unwrap()).unwrap_err();
    assert_eq!(e, (3, AdmError::InvalidOperation));
}

#[test]
fn lower_threshold_above_upper_is_erange() {
    let mut m = table();
    run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.10:80 -m").unwrap();
    // -y without -x: the upper threshold is 0, and IPVS wants l <= u.
    for line in [
        "-a -t 10.0.0.1:80 -r 192.168.0.11:80 -m -y 10",
        "-a -t 10.0.0.1:80 -r 192.168.0.11:80 -m -x 5 -y 6",
        "-e -t 10.0.0.1:80 -r 192.168.0.10:80 -m -y 1",
        // Checked before IPVS looks for the real server.
        "-a -t 10.0.0.1:80 -r 192.168.0.10:80 -m -y 1",
        "-e -t 10.0.0.1:80 -r 192.168.0.99:80 -m -y 1",
    ] {
        let e = run(&mut m, line).unwrap_err();
        assert_eq!(e, AdmError::OutOfRange, "{line}");
        assert_eq!((e.to_string().as_str(), e.exit_code()), ("Numerical result out of range", 255));
    }
    assert_eq!(run(&mut m, "-a -t 10.0.0.9:80 -r 192.168.0.11:80 -y 1"), Err(AdmError::ServiceNotDefined));
    run(&mut m, "-a -t 10.0.0.1:80 -r 192.168.0.11:80 -m -x 5 -y 5").unwrap();
    run(&mut m, "-e -t 10.0.0.1:80 -r 192.168.0.10:80 -m -x 7").unwrap();
    assert_eq!((m[0].dests[0].upper, m[0].dests[0].lower), (7, 0));
}

#[test]
fn yaml_refuses_them_too() {
    let svc = |dests: &str| {
        let y = format!("interfaces: [ {{ name: a, device: b, addresses: [10.0.0.2/24] }} ]\nservices:\n  - {{ vip: 10.0.0.1, port: 80, dests: [ {dests} ] }}\n");
        rvs_conf::load_str("t.yaml", &y).map(|_| ()).map_err(|e| e.message)
    };
    svc("{ addr: 192.168.0.10, fwd: nat }").unwrap();
    let e = svc("{ addr: 224.0.0.1, fwd: nat }").unwrap_err();
    assert!(e.contains("real server 224.0.0.1 is not a unicast address"), "{e}");
    let e = svc("{ addr: 192.168.0.10, fwd: nat, lower: 10 }").unwrap_err();
    assert!(e.contains("lower threshold 10 is above upper threshold 0 (none)"), "{e}");
    svc("{ addr: 192.168.0.10, fwd: nat, upper: 10, lower: 10 }").unwrap();
}

#[test]
fn fwmark_commands_name_a_family() {
    let mut m = Vec::new();
    run(&mut m, "-A -f 2 -6 -s rr").unwrap();
    // -E -f 2 names the IPv4 service 2, which is not there: the IPv6 one
    // is not converted.
    assert_eq!(run(&mut m, "-E -f 2 -s wlc"), Err(AdmError::NoSuchService));
    assert!(m[0].is_ipv6());
    run(&mut m, "-E -f 2 -6 -s wlc -p").unwrap();
    assert!(m[0].is_ipv6() && m[0].persistent == Some(360));
    // Real servers: the IPv4 service 2 is not defined; an IPv4 real
    // server on the IPv6 service is ipvsadm's "Different address family".
    assert_eq!(run(&mut m, "-a -f 2 -r 10.0.0.1 -m"), Err(AdmError::ServiceNotDefined));
    let v: Vec<String> = "-a -f 2 -6 -r 10.0.0.1 -m".split_whitespace().map(String::from).collect();
    let e = parse_args(&v).unwrap_err();
    assert!(e.to_string().starts_with("Different address family is allowed only for tunneling"), "{e}");
    assert_eq!(e.exit_code(), 2);
    run(&mut m, "-a -f 2 -6 -r 2001:db8::10 -m").unwrap();
    // (-i: a tunnel may cross families, so ipvsadm's parser lets it by.)
    assert_eq!(run(&mut m, "-e -f 2 -r 2001:db8::10 -i -w 3"), Err(AdmError::ServiceNotDefined));
    assert_eq!(run(&mut m, "-d -f 2 -r 2001:db8::10"), Err(AdmError::ServiceNotDefined));
    run(&mut m, "-e -f 2 -6 -r 2001:db8::10 -m -w 3").unwrap();
    assert_eq!(m[0].dests[0].weight, 3);
    // IPVS would add the IPv4 fwmark service 2 beside the IPv6 one; rvs
    // keys fwmark services by mark alone and says so.
    let e = run(&mut m, "-A -f 2").unwrap_err();
    assert!(e.to_string().contains("FWM 2 exists as an IPv6 service"), "{e}");
    assert_eq!(run(&mut m, "-A -f 2 -6"), Err(AdmError::ServiceExists));
    run(&mut m, "-d -f 2 -6 -r 2001:db8::10").unwrap();
    assert!(m[0].dests.is_empty());
}
