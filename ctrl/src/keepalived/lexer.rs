//! keepalived.conf's words, as keepalived.conf(5) describes them.
//!
//! The file is line oriented: a statement is the words of one line, a
//! `{` opens the block of the statement before it and `}` closes it.
//! `#` and `!` start a comment anywhere outside quotes. A word may hold
//! quoted parts (`"..."` or `'...'`): the quotes are removed and the
//! whitespace inside kept, with the shell-like escapes keepalived
//! documents (`\n`, `\t`, `\xXX`, `\nnn`, `\C`).

/// One token and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Word(String),
    Open,
    Close,
    /// The end of a line: it ends the statement being read.
    Eol,
}

/// Split `text` into tokens; an unterminated quote is an error at its line.
pub fn lex(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        lex_line(line, n + 1, &mut out)?;
        out.push(Token { kind: Kind::Eol, line: n + 1 });
    }
    Ok(out)
}

fn lex_line(line: &str, n: usize, out: &mut Vec<Token>) -> Result<(), (usize, String)> {
    let mut chars = line.chars().peekable();
    let mut word = String::new();
    let mut in_word = false;
    let flush = |word: &mut String, in_word: &mut bool, out: &mut Vec<Token>| {
        if *in_word {
            out.push(Token { kind: Kind::Word(std::mem::take(word)), line: n });
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' => break,
            '{' | '}' => {
                flush(&mut word, &mut in_word, out);
                out.push(Token { kind: if c == '{' { Kind::Open } else { Kind::Close }, line: n });
            }
            '"' | '\'' => {
                in_word = true;
                quoted(&mut chars, c, &mut word).ok_or_else(|| (n, format!("unterminated {c}-quoted string")))?;
            }
            c if c.is_whitespace() => flush(&mut word, &mut in_word, out),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush(&mut word, &mut in_word, out);
    Ok(())
}

/// The rest of a string quoted by `q`, escapes resolved, appended to
/// `word`; `None` when the line ends first.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, q: char, word: &mut String) -> Option<()> {
    loop {
        let c = chars.next()?;
        if c == q {
            return Some(());
        }
        if c != '\\' {
            word.push(c);
            continue;
        }
        let e = chars.next()?;
        match e {
            'a' => word.push('\x07'),
            'b' => word.push('\x08'),
            'E' => word.push('\x1b'),
            'f' => word.push('\x0c'),
            'n' => word.push('\n'),
            'r' => word.push('\r'),
            't' => word.push('\t'),
            'v' => word.push('\x0b'),
            'x' => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                word.push(char::from_u32(v).unwrap_or('?'));
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                word.push(char::from_u32(v).unwrap_or('?'));
            }
            'c' => {
                let c = chars.next()?;
                word.push(char::from_u32(c.to_ascii_uppercase() as u32 ^ 0x40).unwrap_or('?'));
            }
            other => word.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        lex(text)
            .unwrap()
            .into_iter()
            .map(|t| match t.kind {
                Kind::Word(w) => w,
                Kind::Open => "{".into(),
                Kind::Close => "}".into(),
                Kind::Eol => "\\n".into(),
            })
            .collect()
    }

    #[test]
    fn words_braces_comments_quotes() {
        assert_eq!(words("a b{c}d # x { y\n! all\n"), ["a", "b", "{", "c", "}", "d", "\\n", "\\n"]);
        assert_eq!(words("misc_path \"/bin/check -p 80\""), ["misc_path", "/bin/check -p 80", "\\n"]);
        assert_eq!(words("x abcd\" efg h \"mnop 'a#b'"), ["x", "abcd efg h mnop", "a#b", "\\n"]);
        assert_eq!(words(r#"x "a\tb\x41\101\"""#), ["x", "a\tbAA\"", "\\n"]);
        assert_eq!(lex("a\n  \"open").unwrap_err().0, 2);
    }
}
