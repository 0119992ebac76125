//! Fuzz target body for the YAML loader (`fuzz/fuzz_targets/yaml.rs`
//! goes through `rvs_ctrl::fuzzing::yaml`, which builds on this), as a
//! plain function so the corpus replays on stable Rust.

use crate::{load_str, Config};

/// Load `data` the way `rvsd --check` loads a file: text that is not
/// UTF-8 is refused before parsing (as `read_to_string` refuses it). A
/// loaded configuration must validate again unchanged, and an error must
/// point inside the text. Panics when either does not hold.
pub fn yaml(data: &[u8]) -> Option<Config> {
    let text = std::str::from_utf8(data).ok()?;
    match load_str("fuzz.yaml", text) {
        Ok(cfg) => {
            if let Err(e) = cfg.validate() {
                panic!("a loaded configuration fails validation: {e}");
            }
            Some(cfg)
        }
        Err(e) => {
            // YAML breaks lines at "\n", "\r\n" and a lone "\r".
            let lines = 1 + text.replace("\r\n", "\n").bytes().filter(|b| *b == b'\n' || *b == b'\r').count();
            assert!(e.line <= lines + 1, "error at line {} of a {lines}-line text: {e}", e.line);
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn examples_load_and_garbage_does_not() {
        for f in ["fullnat.yaml", "nat-lab.yaml", "dual-stack.yaml"] {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(f);
            assert!(super::yaml(&std::fs::read(&p).unwrap()).is_some(), "{}", p.display());
        }
        assert!(super::yaml(b"services: [").is_none());
        assert!(super::yaml(b"\xff").is_none());
    }
}
