//! `-R` input: one ipvsadm command per line, as `ipvsadm -S` (and
//! `rvsadm -S`) write them.
//!
//! Lines are read as ipvsadm's `config_stream_read` reads them: words
//! are separated by blanks (no quoting, no escapes); every word that is
//! exactly `ipvsadm` (or `rvsadm`) is dropped; `#` is an ordinary
//! character, so a `# comment` line is a command line without a command
//! (ipvsadm: its "Try" line, exit 255) and a trailing `# x` is an
//! unexpected argument. Blank lines are skipped. Only editing commands
//! may appear (`-A -E -D -C -a -e -d -Z --set`); a nested `-R` is
//! ipvsadm's "Try" line too.
//!
//! Parsing stops at the first bad line and names it (in the error's
//! detail); nothing is applied unless every line parses
//! ([`crate::adm::apply::apply_all`] then applies them as one
//! transaction, the one deliberate difference from ipvsadm, which applies
//! the lines before a bad one).

use crate::adm::cmd::AdmCommand;
use crate::adm::error::AdmError;
use crate::adm::parse::parse_args;

/// Parse restore text into commands numbered by their 1-based line.
pub fn parse_restore(text: &str) -> Result<Vec<(usize, AdmCommand)>, AdmError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let no = i + 1;
        let words = split_line(line);
        if words.is_empty() {
            continue;
        }
        let cmd = parse_args(&words).map_err(|e| e.at_line(no))?;
        if matches!(cmd, AdmCommand::Restore(_)) {
            return Err(AdmError::TryHelp.at_line(no));
        }
        if !cmd.is_edit() {
            return Err(AdmError::usage(format!(
                "the '{}' command is not allowed in restore input\nrvsadm -R applies -A -E -D -C -a -e -d -Z --set only",
                cmd.name()
            ))
            .at_line(no));
        }
        out.push((no, cmd));
    }
    Ok(out)
}

/// Split one line into words as ipvsadm's restore does: at blanks, with
/// the words `ipvsadm` and `rvsadm` left out.
pub fn split_line(line: &str) -> Vec<String> {
    line.split([' ', '\t', '\r'])
        .filter(|w| !w.is_empty() && *w != "ipvsadm" && *w != "rvsadm")
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(split_line("  -A  -t 1.2.3.4:80\t-s rr\r"), vec!["-A", "-t", "1.2.3.4:80", "-s", "rr"]);
        assert_eq!(split_line("ipvsadm -C ipvsadm /sbin/ipvsadm"), vec!["-C", "/sbin/ipvsadm"]);
        assert_eq!(split_line("a 'b c' x#y"), vec!["a", "'b", "c'", "x#y"]);
        assert!(split_line(" \t ").is_empty());
    }

    #[test]
    fn lines_are_numbered() {
        let text = "\n-A -t 1.2.3.4:80 -s wlc\nipvsadm -a -t 1.2.3.4:80 -r 10.0.0.1:80 -m -w 1\n";
        let cmds = parse_restore(text).unwrap();
        assert_eq!(cmds.iter().map(|c| c.0).collect::<Vec<_>>(), vec![2, 3]);
        let e = parse_restore("-C\n-A -t 1.2.3.4:80 -s nope -b x\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert_eq!(e.text("ipvsadm"), "invalid scheduler flag `x'");
        assert!(e.detail().unwrap().starts_with("-R input line 2: valid: flag-1"), "{e}");
        let e = parse_restore("-C\n\n-L -n\n").unwrap_err();
        assert_eq!(e.line(), Some(3));
        let e = parse_restore("-R\n").unwrap_err();
        assert_eq!((e.line(), e.text("ipvsadm")), (Some(1), AdmError::TryHelp.text("ipvsadm")));
        // '#' is not a comment to ipvsadm.
        let e = parse_restore("# saved by ipvsadm\n").unwrap_err();
        assert_eq!(e.text("ipvsadm"), "Try `ipvsadm -h' or 'ipvsadm --help' for more information.");
        assert_eq!(e.exit_code(), 255);
        let e = parse_restore("-C # flush\n").unwrap_err();
        assert_eq!((e.text("x"), e.exit_code()), ("unexpected argument #".to_string(), 2));
    }
}
