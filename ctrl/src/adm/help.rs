//! `-h` and `-v` texts, in ipvsadm 1.31's layout: `-h` prints ipvsadm's
//! usage text line for line (with the program name and rvs's scheduler
//! list substituted), so whatever a script or an operator reads in
//! `ipvsadm -h` is where it was; the rvs extensions follow in a section of
//! their own, in the same columns.

use rvs_conf::SchedKind;

/// The date `-v` prints after the version, as ipvsadm prints its own.
const RELEASE_DATE: &str = "2026/12/03";

/// `-v`: ipvsadm's `version()` line.
pub fn version() -> String {
    format!(
        "rvsadm v{} {RELEASE_DATE} (compiled with rvs and IPVS v{})\n",
        env!("CARGO_PKG_VERSION"),
        crate::adm::format::IPVS_VERSION
    )
}

/// `-h`: usage. `prog` is how the binary was called.
pub fn usage(prog: &str) -> String {
    let scheds: Vec<&str> = SchedKind::ALL.iter().map(|k| k.name()).collect();
    let mut s = version();
    s.push_str(&format!(
        "Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  {p} -D virtual-service
  {p} -C
  {p} -R
  {p} -S [-n]
  {p} -a|e virtual-service -r server-address [options]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [options]
  {p} -Z [virtual-service]
  {p} --set tcp tcpfin udp
  {p} --start-daemon {{master|backup}} [daemon-options]
  {p} --stop-daemon {{master|backup}}
  {p} -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of {scheds},
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be sip,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)

rvs extensions:
  {p} --workers [--json]
  {p} --drain [seconds]
  {p} --import-keepalived file
  --version      -v                   the version line (ipvsadm's -h does not list it)
  --fullnat                           FULLNAT (full NAT) forwarding: needs --laddr on the service
  --laddr        address              FULLNAT local address of the service (repeatable; -E replaces)
  --match        proto:vip[:ports]    packets a fwmark service takes, e.g. tcp:192.168.0.200:80,443
                                      or tcp:[2001:db8::1]:8000-8010 (repeatable; -E replaces)
  --mhb-c        factor               load bound of the mhb scheduler (default 1.25)
  --proxy-protocol v1|v2|off          PROXY header to FULLNAT TCP real servers (-E keeps it)
  --json                              listings as JSON
  --health                            -L adds each real server's health check verdict (last column)
  --yaml                              -S writes the services: section of rvsd's YAML file
  --dry-run                           -R checks the input and changes nothing
  --workers                           per-worker counters, drops by reason, mempool, ports
                                      (with or without -L; --json too)
  --verbose                           after ipvsadm's error message, what exactly is wrong
  --socket       path                 rvsd's control socket (default $RVSADM_SOCKET, else
                                      /run/rvs/rvsd.sock)
  --import-keepalived file            translate keepalived.conf's virtual servers into the
                                      services: section of rvsd's YAML (stdout; warnings on stderr)
  --drain        [seconds]            withdraw the routes (announce:), serve established connections
                                      until none is left or the time is up, then stop rvsd
--mcast-interface names one of rvsd's interfaces (its YAML interfaces:); the daemons
sync over IPv4.
-R applies its input as one transaction: a bad line changes nothing (ipvsadm applies the lines
before it).
",
        p = prog,
        scheds = scheds.join("|")
    ));
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn texts() {
        let v = super::version();
        assert!(v.starts_with("rvsadm v") && v.ends_with("(compiled with rvs and IPVS v1.2.1)\n"), "{v}");
        let u = super::usage("rvsadm");
        assert!(u.contains("rvsadm -A|E") && u.contains("mhb"));
        // ipvsadm's layout: its sections, in its order.
        let at = |h: &str| u.find(h).unwrap_or_else(|| panic!("{h} missing"));
        assert!(at("Usage:\n") < at("Commands:\nEither long") && at("Commands:") < at("virtual-service:\n"));
        assert!(at("virtual-service:") < at("Options:\n") && at("Options:") < at("Daemon Options:\n"));
        assert!(
            u.contains("\n  --sched-flags  -b flags             scheduler flags (comma-separated)\nDaemon Options:\n")
        );
    }
}
