//! keepalived's checkers (`TCP_CHECK`, `HTTP_GET`, ...) as rvs health checks.
//!
//! keepalived lets a virtual server set defaults for its real servers and
//! a real server for its checkers ([`Layer`]); what is unset everywhere
//! takes keepalived's documented default, written out explicitly so the
//! behaviour carries over: `delay_loop` 60 s, `connect_timeout` 5 s,
//! `retry` 1 (0 for `MISC_CHECK`), `inhibit_on_failure` off. keepalived's
//! `retry` counts the checks after the first failure, rvs's `fall` all
//! failures in a row, so `fall` is `retry + 1`.

use super::tree::Node;
use super::Ctx;
use rvs_conf::{CheckKind, HealthCheck, Secs};

/// Settings a virtual server, real server or checker may give; the inner
/// level wins.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub interval: Option<Secs>,
    pub timeout: Option<Secs>,
    pub retry: Option<u32>,
    pub alpha: Option<bool>,
    pub inhibit: Option<bool>,
    pub host: Option<String>,
}

impl Layer {
    /// Take `n` if it is one of the layered keys; whether it was.
    pub fn read(&mut self, n: &Node, ctx: &mut Ctx) -> bool {
        match n.key.as_str() {
            "delay_loop" => self.interval = ctx.timer(n),
            "connect_timeout" => self.timeout = ctx.timer(n),
            "retry" | "nb_get_retry" => self.retry = ctx.uint(n),
            "alpha" => self.alpha = ctx.boolean(n),
            "inhibit_on_failure" => self.inhibit = ctx.boolean(n),
            "virtualhost" => self.host = ctx.string(n),
            "delay_before_retry" => ctx.warn(
                n.line,
                "delay_before_retry is not translated: rvs checks again after `interval` (delay_loop), \
                 so a failing dest takes longer to go down",
            ),
            "warmup" => ctx.warn(n.line, "warmup is not translated: rvs starts each check at once"),
            _ => return false,
        }
        true
    }

    /// `self` over `base`.
    pub fn over(&self, base: &Layer) -> Layer {
        Layer {
            interval: self.interval.or(base.interval),
            timeout: self.timeout.or(base.timeout),
            retry: self.retry.or(base.retry),
            alpha: self.alpha.or(base.alpha),
            inhibit: self.inhibit.or(base.inhibit),
            host: self.host.clone().or_else(|| base.host.clone()),
        }
    }
}

/// keepalived's `delay_loop` when none is given.
const DELAY_LOOP: Secs = Secs(60_000);
/// keepalived's `connect_timeout` when none is given.
const CONNECT_TIMEOUT: Secs = Secs(5_000);

/// Whether `key` names a keepalived checker block.
pub fn is_checker(key: &str) -> bool {
    matches!(
        key,
        "TCP_CHECK"
            | "HTTP_GET"
            | "SSL_GET"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "MISC_CHECK"
            | "DNS_CHECK"
            | "SMTP_CHECK"
            | "BFD_CHECK"
            | "FILE_CHECK"
    )
}

/// The rvs check for checker `n`, under the real server's `base` layer;
/// `None` (warned) when rvs has no such check.
pub fn checker(n: &Node, base: &Layer, ctx: &mut Ctx) -> Option<HealthCheck> {
    let kind = match n.key.as_str() {
        "TCP_CHECK" => CheckKind::Tcp,
        "HTTP_GET" => CheckKind::Http,
        "SSL_GET" => CheckKind::Https,
        "UDP_CHECK" => CheckKind::Udp,
        "PING_CHECK" => CheckKind::Icmp,
        "MISC_CHECK" => CheckKind::Exec,
        other => {
            ctx.warn(n.line, &format!("{other} cannot be translated: rvs has no such check"));
            return None;
        }
    };
    let mut c = HealthCheck::new(kind);
    let mut layer = Layer::default();
    let mut misc_timeout = None;
    let mut urls = 0;
    let mut reply = false;
    for k in n.children() {
        if layer.read(k, ctx) {
            continue;
        }
        match (kind, k.key.as_str()) {
            (_, "connect_ip") => c.addr = ctx.parsed(k),
            (_, "connect_port") => c.port = ctx.parsed(k).unwrap_or(0),
            (_, "bindto") => c.bind = ctx.parsed(k),
            (CheckKind::Http | CheckKind::Https, "url") => {
                urls += 1;
                if urls == 1 {
                    url(k, &mut c, &mut layer, ctx);
                } else {
                    ctx.warn(k.line, "only the first url is checked: rvs has one path per check");
                }
            }
            (CheckKind::Exec, "misc_path") => c.command = Some(k.args.join(" ")).filter(|s| !s.is_empty()),
            (CheckKind::Exec, "misc_timeout") => misc_timeout = ctx.timer(k),
            (CheckKind::Exec, "misc_dynamic") => ctx.warn(
                k.line,
                "misc_dynamic is not translated: rvs reads the exit status as alive (0) or not, it sets no weights",
            ),
            (CheckKind::Udp, "payload") => c.send = hex_text(k, false, ctx),
            (CheckKind::Udp, "require_reply") => {
                reply = true;
                c.expect = if k.args.is_empty() { None } else { hex_text(k, true, ctx) };
            }
            (_, key) => ctx.warn(k.line, &format!("'{key}' in {} is not translated", n.key)),
        }
    }
    if kind == CheckKind::Udp && !reply {
        ctx.warn(
            n.line,
            "UDP_CHECK without require_reply passes when no ICMP error comes back; rvs's udp check needs a reply",
        );
    }
    if matches!(kind, CheckKind::Http | CheckKind::Https) && urls == 0 {
        ctx.warn(n.line, &format!("{} has no url: rvs checks the path /", n.key));
    }
    let l = layer.over(base);
    c.interval = l.interval.unwrap_or(DELAY_LOOP);
    c.timeout = match kind {
        // keepalived gives a script delay_loop when misc_timeout is unset.
        CheckKind::Exec => misc_timeout.unwrap_or(c.interval),
        _ => l.timeout.unwrap_or(CONNECT_TIMEOUT),
    };
    let retry = l.retry.unwrap_or(if kind == CheckKind::Exec { 0 } else { 1 });
    c.fall = retry.saturating_add(1);
    c.rise = 1;
    c.alpha = l.alpha.unwrap_or(false);
    c.inhibit_on_failure = l.inhibit.unwrap_or(false);
    if matches!(kind, CheckKind::Http | CheckKind::Https) {
        c.host = c.host.take().or(l.host);
    }
    if matches!(kind, CheckKind::Icmp | CheckKind::Exec) && c.port != 0 {
        ctx.warn(n.line, &format!("connect_port is not used by rvs's {} check", kind.name()));
        c.port = 0;
    }
    if kind == CheckKind::Exec && c.command.is_none() {
        ctx.warn(n.line, "MISC_CHECK without misc_path cannot be translated");
        return None;
    }
    Some(c)
}

/// `url { path; digest; status_code; virtualhost }` into `c`.
fn url(n: &Node, c: &mut HealthCheck, layer: &mut Layer, ctx: &mut Ctx) {
    for k in n.children() {
        match k.key.as_str() {
            "path" => c.path = ctx.string(k),
            "digest" => c.digest = ctx.string(k).map(|d| d.to_ascii_lowercase()),
            "status_code" => c.status = status_codes(k, ctx),
            "virtualhost" => layer.host = ctx.string(k),
            key => ctx.warn(k.line, &format!("'{key}' in url is not translated")),
        }
    }
}

/// `status_code 200 301-302 ...` as a list; keepalived's default
/// (200-299) is rvs's empty list.
fn status_codes(n: &Node, ctx: &mut Ctx) -> Vec<u16> {
    let mut out = Vec::new();
    for a in &n.args {
        let (lo, hi) = a.split_once('-').unwrap_or((a, a));
        match (lo.parse::<u16>(), hi.parse::<u16>()) {
            (Ok(lo), Ok(hi)) if (100..=599).contains(&lo) && (lo..=599).contains(&hi) => out.extend(lo..=hi),
            _ => ctx.warn(n.line, &format!("status_code '{a}' is not a code or range of 100..599; ignored")),
        }
    }
    out.sort_unstable();
    out.dedup();
    if out == (200..=299).collect::<Vec<u16>>() {
        out.clear();
    }
    out
}

/// A keepalived HEX_STR (`payload`, `require_reply`) as text: groups of
/// hex digits read in pairs, a lone last digit as `0X`. rvs's `send` and
/// `expect` are strings, so bytes that are not UTF-8 (or `x` wildcards)
/// are warned and dropped.
fn hex_text(n: &Node, wildcards: bool, ctx: &mut Ctx) -> Option<String> {
    let mut bytes = Vec::new();
    for g in &n.args {
        let d: Vec<char> = g.chars().collect();
        for pair in d.chunks(2) {
            if wildcards && pair.iter().any(|c| *c == 'x' || *c == 'X') {
                ctx.warn(n.line, &format!("{}: 'x' wildcards cannot be translated; dropped", n.key));
                return None;
            }
            let s: String = pair.iter().collect();
            match u8::from_str_radix(&s, 16) {
                Ok(b) => bytes.push(b),
                Err(_) => {
                    ctx.warn(n.line, &format!("{}: '{g}' is not hex; dropped", n.key));
                    return None;
                }
            }
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(_) => {
            ctx.warn(n.line, &format!("{}: binary data cannot be translated (rvs takes text); dropped", n.key));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        super::super::tree::parse(text).unwrap().remove(0)
    }

    #[test]
    fn defaults_are_keepalived_s() {
        let mut ctx = Ctx::new("k.conf");
        let c = checker(&node("TCP_CHECK { connect_port 8080 }"), &Layer::default(), &mut ctx).unwrap();
        assert_eq!((c.interval, c.timeout, c.fall, c.rise), (Secs(60_000), Secs(5_000), 2, 1));
        assert_eq!((c.port, c.inhibit_on_failure, c.alpha), (8080, false, false));
        let m = checker(&node("MISC_CHECK { misc_path \"/bin/true x\" }"), &Layer::default(), &mut ctx).unwrap();
        assert_eq!((m.fall, m.timeout, m.command.as_deref()), (1, Secs(60_000), Some("/bin/true x")));
        assert!(ctx.warnings.is_empty(), "{:?}", ctx.warnings);
    }

    #[test]
    fn status_ranges_and_hex() {
        let mut ctx = Ctx::new("k.conf");
        let c = checker(
            &node("HTTP_GET { url { path /a\n status_code 200-204 301 }\n url { path /b } }"),
            &Layer::default(),
            &mut ctx,
        )
        .unwrap();
        assert_eq!(c.status, [200, 201, 202, 203, 204, 301]);
        assert_eq!(c.path.as_deref(), Some("/a"));
        assert!(ctx.warnings[0].contains("k.conf:3: warning: only the first url"), "{:?}", ctx.warnings);
        let u = checker(&node("UDP_CHECK { payload 7069 6e67\n require_reply 706f6e67 }"), &Layer::default(), &mut ctx)
            .unwrap();
        assert_eq!((u.send.as_deref(), u.expect.as_deref()), (Some("ping"), Some("pong")));
        assert!(status_codes(&node("status_code 200-299"), &mut ctx).is_empty());
        assert_eq!(hex_text(&node("payload Ab12f 3"), false, &mut ctx), None, "binary");
        assert!(ctx.warnings.last().unwrap().contains("binary"));
    }
}
