//! `-h` and `-v` texts. Same commands and options as ipvsadm's usage
//! (so `rvsadm -h` answers the questions `ipvsadm -h` does), plus the rvs
//! extensions, and a note on what rvs refuses.

use rvs_conf::SchedKind;

/// `-v`: which rvsadm, and which ipvsadm/IPVS it speaks.
pub fn version() -> String {
    format!(
        "rvsadm v{} (ipvsadm v1.31 compatible, IPVS v{})\n",
        env!("CARGO_PKG_VERSION"),
        crate::adm::format::IPVS_VERSION
    )
}

/// `-h`: usage. `prog` is how the binary was called.
pub fn usage(prog: &str) -> String {
    let mut s = version();
    s.push_str(&format!(
        "Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags]
          [--laddr address]... [--match proto:vip[:ports]]... [--mhb-c factor]
          [--proxy-protocol v1|v2|off]
  {p} -D virtual-service
  {p} -C
  {p} -R [--dry-run]
  {p} -S [-n] [--yaml]
  {p} -a|e virtual-service -r server-address [options]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [options]
  {p} -Z [virtual-service]
  {p} --workers [--json]
  {p} --set tcp tcpfin udp
  {p} -h
  {p} -v

Commands (long or short):
  --add-service     -A        add a virtual service
  --edit-service    -E        edit a virtual service (options not given take their defaults)
  --delete-service  -D        delete a virtual service
  --clear           -C        clear the whole table
  --restore         -R        apply commands read from stdin, all or nothing
  --save            -S        write the table to stdout as -R input
  --add-server      -a        add a real server
  --edit-server     -e        edit a real server (options not given take their defaults)
  --delete-server   -d        delete a real server
  --list            -L|-l     list the table
  --zero            -Z        zero the counters of one or all services
  --set tcp tcpfin udp        set connection timeouts (0 keeps a value)
  --help            -h        this text
  --version         -v        version

virtual-service:
  --tcp-service|-t  address:port     TCP service; IPv6 as [address]:port
  --udp-service|-u  address:port     UDP service
  --sctp-service    address:port     SCTP service
  --fwmark-service|-f mark           port group (mark > 0); rvs matches its packets itself,
                                     see --match
Addresses and ports are numeric: rvsadm does not resolve names.

Options:
  --scheduler    -s scheduler   one of {scheds}; default wlc
  --persistent   -p [timeout]   persistent service (default timeout 360 s)
  --netmask      -M netmask     persistence granularity (IPv4 mask, or IPv6 prefix length)
  --sched-flags  -b flags       scheduler flags: flag-1,flag-2,flag-3, sh-fallback,sh-port,
                                mh-fallback,mh-port
  --ipv6         -6             the fwmark service is IPv6
  --real-server  -r address[:port]  real server (port defaults to the service's)
  --gatewaying   -g             direct routing (default)
  --ipip         -i             tunneling
  --masquerading -m             NAT
  --fullnat                     FULLNAT (rvs): needs --laddr on the service
  --tun-type     type           ipip|gue|gre (default ipip)
  --tun-port     port           GUE destination port
  --tun-nocsum                  tunnel without checksum (the only kind rvs sends)
  --weight       -w weight      capacity of the real server, 0..65535 (default 1)
  --u-threshold  -x number      upper connection threshold
  --l-threshold  -y number      lower connection threshold
  --numeric      -n             numeric output (always, in rvsadm)
  --connection   -c             list connection entries
  --timeout                     list timeouts (tcp tcpfin udp)
  --stats                       list statistics
  --rate                        list rates
  --exact                       exact numbers (no K/M/G)
  --thresholds                  list thresholds
  --persistent-conn             list persistent connections
  --tun-info                    list tunnel settings
  --nosort                      IPVS's table order instead of sorted
  --sort                        no effect (sorted is the default)

rvs extensions:
  --laddr address               FULLNAT local address of the service (repeatable; -E replaces)
  --match proto:vip[:ports]     packets a fwmark service takes, e.g. tcp:192.168.0.200:80,443
                                or tcp:[2001:db8::1]:8000-8010 (repeatable; -E replaces)
  --mhb-c factor                load bound of the mhb scheduler (default 1.25)
  --proxy-protocol v1|v2|off    PROXY header to FULLNAT TCP real servers (-E keeps it)
  --json                        listings as JSON
  --health                      -L adds each real server's health check verdict (last column)
  --yaml                        -S writes the services: section of rvsd's YAML file
  --dry-run                     -R checks the input and changes nothing
  --workers                     per-worker counters, drops by reason, mempool, ports
                                (with or without -L; --json too)
  --socket path                 rvsd's control socket (default $RVSADM_SOCKET, else
                                /run/rvs/rvsd.sock)
  --import-keepalived file      translate keepalived.conf's virtual servers into the
                                services: section of rvsd's YAML (stdout; warnings on stderr)
  --drain [seconds]             withdraw the routes (announce:), serve established connections
                                until none is left or the time is up, then stop rvsd

Not supported by rvs: --ops, --pe, --tun-csum, --tun-remcsum; the sync
daemon is configured in rvsd's YAML (sync:), not with --start-daemon/--stop-daemon;
-L --daemon lists it.
",
        p = prog,
        scheds = SchedKind::valid_list()
    ));
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn texts() {
        assert!(super::version().starts_with("rvsadm v"));
        let u = super::usage("rvsadm");
        assert!(u.contains("rvsadm -A|E") && u.contains("mhb"));
    }
}
