//! `-o`, IPVS's one-packet scheduling: each UDP datagram of the service
//! is scheduled alone and leaves no connection entry behind (DNS, SIP and
//! syslog over UDP, where one client port carries independent requests).

use crate::model::{FwdMethod, Proto, ServiceConf, ServiceKey};

impl ServiceConf {
    /// One-packet scheduling is for UDP (ipvsadm refuses `-o` on a TCP or
    /// SCTP service; a fwmark service applies it to its UDP packets only,
    /// as IPVS does). Its dests must be DR or TUN: a NAT or FULLNAT reply
    /// is translated back by the connection entry, which one-packet
    /// scheduling does not keep (IPVS accepts the combination and leaves
    /// the replies untranslated; rvs refuses what it cannot honour).
    pub(crate) fn check_one_packet(&self) -> Result<(), String> {
        if !self.one_packet {
            return Ok(());
        }
        if let ServiceKey::Inet { proto, .. } = self.key {
            if proto != Proto::Udp {
                return Err("One-Packet Scheduling is only for UDP virtual services".into());
            }
        }
        if let Some(d) = self.dests.iter().find(|d| matches!(d.fwd, FwdMethod::Nat | FwdMethod::FullNat)) {
            return Err(format!(
                "one-packet scheduling: dest {} is {}, whose replies need the connection entry one-packet \
                 scheduling does not keep (use dr or tun)",
                crate::family::bracketed(&d.addr),
                d.fwd.ipvs_name()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::load_str;

    const BASE: &str = r#"
interfaces:
  - name: lan
    device: net_tap0,iface=rvs-l
    addresses: [192.168.0.50/24]
services:
  - { vip: 192.168.0.200, port: 53, proto: PROTO, one_packet: true, laddrs: [192.168.0.101],
      dests: [ { addr: 192.168.0.10, fwd: FWD } ] }
"#;

    fn load(proto: &str, fwd: &str) -> Result<crate::Config, crate::ConfError> {
        load_str("ops.yaml", &BASE.replace("PROTO", proto).replace("FWD", fwd))
    }

    #[test]
    fn udp_with_dr_or_tun_loads() {
        for fwd in ["dr", "tun"] {
            let c = load("udp", fwd).unwrap_or_else(|e| panic!("{fwd}: {e}"));
            assert!(c.services[0].one_packet);
        }
        let c =
            load_str("ops.yaml", &BASE.replace("PROTO", "udp").replace("FWD", "dr").replace("one_packet: true, ", ""))
                .unwrap();
        assert!(!c.services[0].one_packet, "off unless asked");
    }

    #[test]
    fn tcp_sctp_and_translated_replies_are_refused() {
        for proto in ["tcp", "sctp"] {
            let e = load(proto, "dr").unwrap_err().to_string();
            assert!(e.contains("One-Packet Scheduling is only for UDP virtual services"), "{proto}: {e}");
        }
        for fwd in ["nat", "fullnat"] {
            let e = load("udp", fwd).unwrap_err().to_string();
            assert!(e.contains("one-packet scheduling: dest 192.168.0.10 is"), "{fwd}: {e}");
        }
    }
}
