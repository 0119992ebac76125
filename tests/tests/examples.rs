//! Every file in conf/examples/ is a configuration the real rvsd accepts:
//! `rvsd --check --config FILE` (the binary of the release build, as an
//! operator runs it) validates it. The directory is read, not listed
//! here, so a new example is checked the day it is added.

use rvs_tests::rvsd;
use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    rvs_tests::sorted_files(&rvs_tests::root().join("conf/examples"))
}

#[test]
fn every_example_passes_rvsd_check() {
    let files = examples();
    // The examples the configuration reference and operations guide
    // point at; more may come, none may silently vanish.
    assert!(files.len() >= 8, "only {} examples in conf/examples: {files:?}", files.len());
    for p in &files {
        assert_eq!(p.extension().and_then(|e| e.to_str()), Some("yaml"), "{}: examples are .yaml files", p.display());
        let out = Command::new(rvsd::binary("rvsd")).arg("--check").arg("--config").arg(p).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{}: rvsd --check failed:\n{stderr}", p.display());
        assert!(stdout.contains("configuration OK"), "{}: {stdout}", p.display());
        // An example shows a service: one with none would be a mistake.
        assert!(!stdout.contains(" 0 services"), "{}: {stdout}", p.display());
    }
}

#[test]
fn rvsd_check_refuses_a_broken_copy_of_an_example() {
    // The check above means something only if --check can fail on the
    // same kind of file: a typo in a key of a real example is refused,
    // with the file and line.
    let src = examples().into_iter().find(|p| p.ends_with("dr-one-armed.yaml")).expect("dr-one-armed.yaml");
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(text.contains("    scheduler: rr\n"), "dr-one-armed.yaml changed: adjust this test");
    let dir = std::env::temp_dir().join(format!("rvs-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("typo.yaml");
    std::fs::write(&bad, text.replace("    scheduler: rr\n", "    schedular: rr\n")).unwrap();
    let out = Command::new(rvsd::binary("rvsd")).arg("--check").arg("--config").arg(&bad).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a misspelt key passed --check");
    assert!(stderr.contains("schedular") && stderr.contains(&format!("{}:", bad.display())), "{stderr}");
}
