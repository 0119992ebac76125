//! The block tree of a keepalived.conf: each statement with its line and,
//! when a `{` follows it, the statements of its block.

use super::lexer::{lex, Kind, Token};

/// One statement: `key args... [{ block }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub key: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The statements of its block (none when it has no block).
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or_default()
    }

    /// The first argument, if any.
    pub fn arg(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }
}

/// Parse `text`; errors are `(line, message)`.
pub fn parse(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let tokens = lex(text)?;
    block(&mut tokens.into_iter(), None)
}

type Tokens = std::vec::IntoIter<Token>;

/// Statements up to the `}` closing a block opened at `open` (or the end
/// of the file at the top level).
fn block(it: &mut Tokens, open: Option<usize>) -> Result<Vec<Node>, (usize, String)> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut cur: Option<Node> = None;
    // Whether the last node was finished by the end of its line (so a `{`
    // on the next line may still open its block, as keepalived allows).
    let mut ended_by_eol = false;
    while let Some(t) = it.next() {
        match t.kind {
            Kind::Word(w) => match &mut cur {
                Some(n) => n.args.push(w),
                None => cur = Some(Node { key: w, args: Vec::new(), line: t.line, block: None }),
            },
            Kind::Eol => {
                if let Some(n) = cur.take() {
                    nodes.push(n);
                    ended_by_eol = true;
                }
            }
            Kind::Open => {
                let mut n = match cur.take() {
                    Some(n) => n,
                    None => match nodes.pop() {
                        Some(prev) if ended_by_eol && prev.block.is_none() => prev,
                        _ => return Err((t.line, "'{' without a keyword before it".into())),
                    },
                };
                n.block = Some(block(it, Some(n.line))?);
                nodes.push(n);
                ended_by_eol = false;
            }
            Kind::Close => {
                if let Some(n) = cur.take() {
                    nodes.push(n);
                }
                return match open {
                    Some(_) => Ok(nodes),
                    None => Err((t.line, "unbalanced '}': no block is open here".into())),
                };
            }
        }
    }
    if let Some(n) = cur.take() {
        nodes.push(n);
    }
    match open {
        Some(line) => Err((line, "the block opened on this line is never closed (missing '}')".into())),
        None => Ok(nodes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_lines() {
        let t =
            parse("virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  real_server 10.0.1.1 80 { weight 2 }\n}\n").unwrap();
        assert_eq!(t.len(), 1);
        let vs = &t[0];
        assert_eq!(
            (vs.key.as_str(), vs.args.clone(), vs.line),
            ("virtual_server", vec!["10.0.0.1".into(), "80".into()], 1)
        );
        assert_eq!(vs.children()[0].key, "lb_algo");
        let rs = &vs.children()[1];
        assert_eq!((rs.line, rs.children()[0].key.as_str(), rs.children()[0].arg()), (3, "weight", Some("2")));
    }

    #[test]
    fn brace_on_the_next_line_opens_the_block_before() {
        let t = parse("global_defs\n{\n router_id x\n}\nurl\n{ path / }\n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].children()[0].key, "router_id");
        assert_eq!(t[1].children()[0].args, ["/"]);
    }

    #[test]
    fn unbalanced_braces_are_errors_at_their_line() {
        let e = parse("a {\n b\n}\n}\n").unwrap_err();
        assert_eq!(e.0, 4, "{e:?}");
        let e = parse("x\nvirtual_server 1.2.3.4 80 {\n real_server 1.1.1.1 80 {\n}\n").unwrap_err();
        assert_eq!(e.0, 2, "{e:?}");
        assert!(e.1.contains("never closed"));
        assert!(parse("{ a }").is_err());
    }
}
