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
            // The YAML parser (libyaml's rules) breaks lines at "\n",
            // "\r\n", a lone "\r", and also at NEL, LS and PS (U+0085,
            // U+2028, U+2029).
            let breaks = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];
            let lines = 1 + text.replace("\r\n", "\n").chars().filter(|c| breaks.contains(c)).count();
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

    /// Found by `scripts/fuzz.sh 60 yaml` (2026-12-02): an error past the
    /// last "\n" line, because U+2028 breaks lines for the parser too.
    #[test]
    fn unicode_line_separators_count_as_lines() {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/yaml/unicode-line-separator");
        assert!(super::yaml(&std::fs::read(&p).unwrap()).is_none());
    }
}
