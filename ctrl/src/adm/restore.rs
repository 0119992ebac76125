//! `-R` input: one ipvsadm command per line, as `ipvsadm -S` (and
//! `rvsadm -S`) write them.
//!
//! Lines are split like a shell would split them (blanks, '…' and "…"
//! quoting, backslash escapes); a word starting with `#` starts a comment;
//! blank and comment-only lines are skipped; a leading `ipvsadm` or
//! `rvsadm` word is dropped, as ipvsadm's config_stream drops "ipvsadm".
//! Only editing commands may appear (`-A -E -D -C -a -e -d -Z --set`):
//! a listing or a nested `-R` in a restore file is a mistake.
//!
//! Parsing stops at the first bad line and names it; nothing is applied
//! unless every line parses ([`crate::adm::apply::apply_all`] then applies
//! them as one transaction).

use crate::adm::cmd::AdmCommand;
use crate::adm::error::AdmError;
use crate::adm::parse::parse_args;

/// Parse restore text into commands numbered by their 1-based line.
pub fn parse_restore(text: &str) -> Result<Vec<(usize, AdmCommand)>, AdmError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let no = i + 1;
        let mut words = split_line(line).map_err(|e| AdmError::usage(e).at_line(no))?;
        if let Some(first) = words.first() {
            let prog = first.rsplit('/').next().unwrap_or(first);
            if prog == "ipvsadm" || prog == "rvsadm" {
                words.remove(0);
            }
        }
        if words.is_empty() {
            continue;
        }
        let cmd = parse_args(&words).map_err(|e| e.at_line(no))?;
        if !cmd.is_edit() {
            return Err(AdmError::usage(format!(
                "the '{}' command is not allowed in restore input (only -A -E -D -C -a -e -d -Z --set)",
                cmd.name()
            ))
            .at_line(no));
        }
        out.push((no, cmd));
    }
    Ok(out)
}

/// Split one line into words, shell style. Returns the words before a
/// comment.
pub fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("backslash at end of line".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(
            split_line("  -A  -t 1.2.3.4:80\t-s rr  # web").unwrap(),
            vec!["-A", "-t", "1.2.3.4:80", "-s", "rr"]
        );
        assert_eq!(split_line("# only a comment").unwrap(), Vec::<String>::new());
        assert_eq!(split_line("a 'b c' \"d\\\"e\" f\\ g x#y").unwrap(), vec!["a", "b c", "d\"e", "f g", "x#y"]);
        assert_eq!(split_line("''").unwrap(), vec![""]);
        assert!(split_line("'open").is_err());
    }

    #[test]
    fn lines_are_numbered() {
        let text = "# saved\n\n-A -t 1.2.3.4:80 -s wlc\nipvsadm -a -t 1.2.3.4:80 -r 10.0.0.1:80 -m -w 1\n";
        let cmds = parse_restore(text).unwrap();
        assert_eq!(cmds.iter().map(|c| c.0).collect::<Vec<_>>(), vec![3, 4]);
        let e = parse_restore("-C\n-A -t 1.2.3.4:80 -s nope\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with("line 2: unknown scheduler 'nope'"), "{e}");
        let e = parse_restore("-C\n\n-L -n\n").unwrap_err();
        assert_eq!(e.line(), Some(3));
        let e = parse_restore("-R\n").unwrap_err();
        assert_eq!(e.line(), Some(1));
        assert_eq!(parse_restore("-C 'x\n").unwrap_err().line(), Some(1));
    }
}
