//! `rvsadm --import-keepalived` as operators run it: the built binary on
//! the fixtures in tests/keepalived, no daemon anywhere.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keepalived").join(name).display().to_string()
}

fn rvsadm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rvsadm"))
        .args(args)
        // A socket that does not exist: the import must not need one.
        .env("RVSADM_SOCKET", "/nonexistent/rvsd.sock")
        .output()
        .expect("run rvsadm");
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const HEADER: &str = "interfaces: [ { name: a, device: net_null0, addresses: [192.168.200.1/24] } ]\n";

#[test]
fn keepalived_import_translates_a_dr_setup() {
    let f = fixture("dr_tcp.conf");
    let (code, out, err) = rvsadm(&["--import-keepalived", &f]);
    assert_eq!(code, 0, "stderr: {err}");
    let cfg = rvs_conf::load_str("out", &format!("{HEADER}{out}")).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(cfg.services.len(), 1);
    assert_eq!(cfg.services[0].dests.len(), 2);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines.iter().all(|l| l.starts_with(&format!("rvsadm: {f}:")) && l.contains(": warning: ")), "{err}");
    assert!(err.contains(&format!("rvsadm: {f}:10: warning: 'vrrp_instance' skipped")), "{err}");
    // The = spelling does the same.
    let (code, out2, _) = rvsadm(&[&format!("--import-keepalived={f}")]);
    assert_eq!((code, out2), (0, out));
}

#[test]
fn keepalived_import_errors() {
    let f = fixture("broken.conf");
    let (code, out, err) = rvsadm(&["--import-keepalived", &f]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim_end(), format!("rvsadm: {f}:7: unbalanced '}}': no block is open here"));
    let (code, _, err) = rvsadm(&["--import-keepalived", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("rvsadm: /nonexistent/keepalived.conf: cannot read:"), "{err}");
    let (code, _, err) = rvsadm(&["--import-keepalived"]);
    assert_eq!(code, 1);
    assert!(err.contains("missing argument"), "{err}");
}
