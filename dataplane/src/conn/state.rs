//! IPVS connection states, their timeouts and the TCP transition tables
//! (SCTP's are in [`super::sctp`]).
//!
//! IPVS does not track TCP the way a firewall does: it keeps a coarse
//! state per connection, driven only by which flag a packet carries and
//! from which side it came, and uses the state for two things: how long an
//! idle entry lives (the timeout of its state) and whether it counts as
//! ActiveConn or InActConn for the schedulers. rvs keeps exactly that model
//! (same states, same tables, same defaults) so that `rvsadm -Lnc` and the
//! lc/wlc family behave as operators know them from LVS.

use crate::packet::l4::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use std::fmt;

/// A connection's state. The TCP states are IPVS's, in IPVS's order (the
/// order indexes the transition tables); UDP has the single state `Udp`
/// (IPVS's `UDP`/`NORMAL`); the SCTP states follow, in IPVS's order too
/// ([`super::sctp::STATES`]).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum State {
    #[default]
    None = 0,
    Established,
    SynSent,
    SynRecv,
    FinWait,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    SynAck,
    Udp,
    SctpNone,
    SctpInit1,
    SctpInit,
    SctpCookieSent,
    SctpCookieReplied,
    SctpCookieWait,
    SctpCookie,
    SctpCookieEchoed,
    SctpEstablished,
    SctpShutdownSent,
    SctpShutdownReceived,
    SctpShutdownAckSent,
    SctpRejected,
    SctpClosed,
}

/// Number of states (the length of a [`Timeouts`] table).
pub const N_STATES: usize = 26;

impl State {
    pub const ALL: [State; N_STATES] = [
        State::None,
        State::Established,
        State::SynSent,
        State::SynRecv,
        State::FinWait,
        State::TimeWait,
        State::Close,
        State::CloseWait,
        State::LastAck,
        State::Listen,
        State::SynAck,
        State::Udp,
        State::SctpNone,
        State::SctpInit1,
        State::SctpInit,
        State::SctpCookieSent,
        State::SctpCookieReplied,
        State::SctpCookieWait,
        State::SctpCookie,
        State::SctpCookieEchoed,
        State::SctpEstablished,
        State::SctpShutdownSent,
        State::SctpShutdownReceived,
        State::SctpShutdownAckSent,
        State::SctpRejected,
        State::SctpClosed,
    ];

    /// The name `ipvsadm -Lnc` prints (for SCTP, the kernel's short
    /// names: `C-SENT`, `S-ACK-SENT`...).
    pub fn name(self) -> &'static str {
        match self {
            State::None => "NONE",
            State::Established => "ESTABLISHED",
            State::SynSent => "SYN_SENT",
            State::SynRecv => "SYN_RECV",
            State::FinWait => "FIN_WAIT",
            State::TimeWait => "TIME_WAIT",
            State::Close => "CLOSE",
            State::CloseWait => "CLOSE_WAIT",
            State::LastAck => "LAST_ACK",
            State::Listen => "LISTEN",
            State::SynAck => "SYNACK",
            State::Udp => "UDP",
            State::SctpNone => "NONE",
            State::SctpInit1 => "INIT1",
            State::SctpInit => "INIT",
            State::SctpCookieSent => "C-SENT",
            State::SctpCookieReplied => "C-REPLIED",
            State::SctpCookieWait => "C-WAIT",
            State::SctpCookie => "COOKIE",
            State::SctpCookieEchoed => "C-ECHOED",
            State::SctpEstablished => "ESTABLISHED",
            State::SctpShutdownSent => "S-SENT",
            State::SctpShutdownReceived => "S-RECEIVED",
            State::SctpShutdownAckSent => "S-ACK-SENT",
            State::SctpRejected => "REJECTED",
            State::SctpClosed => "CLOSED",
        }
    }

    /// The state a new connection of protocol `proto` starts in, before its
    /// first packet is applied with [`next_state`] (IPVS: a new TCP or
    /// SCTP entry is NONE, a UDP entry is NORMAL).
    pub fn initial(proto: u8) -> State {
        match proto {
            PROTO_TCP => State::None,
            PROTO_SCTP => State::SctpNone,
            _ => State::Udp,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_SCTP: u8 = 132;

/// From which side a packet came, as IPVS's `IP_VS_DIR_*`.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client → server (matches the request tuple).
    Input = 0,
    /// Server → client (matches the reply tuple); only NAT and FULLNAT
    /// see these.
    Output = 1,
    /// Client → server on a connection whose replies the director never
    /// sees (DR, TUN): IPVS's INPUT-ONLY table, which must guess the end of
    /// the conversation from the client's packets alone.
    InputOnly = 2,
}

/// Counts as ActiveConn? Follows Linux ≥ 4.10 ("count pre-established TCP
/// states as active"): ESTABLISHED and the handshake states SYN_SENT,
/// SYN_RECV and SYNACK are active, so that a burst of new connections
/// weighs on lc/wlc as the load it is about to become; all closing states,
/// NONE, LISTEN and UDP are inactive (IPVS never marks a UDP entry active).
/// An SCTP entry is active in ESTABLISHED only, as IPVS counts it.
#[inline(always)]
pub fn is_active(s: State) -> bool {
    matches!(s, State::Established | State::SynSent | State::SynRecv | State::SynAck | State::SctpEstablished)
}

/// Would a SYN arriving on an entry in state `s` start a new connection
/// (expire the old entry, schedule afresh) rather than continue the old
/// one? IPVS with the default `conn_reuse_mode = 1`: only TIME_WAIT and
/// CLOSE, i.e. once both sides are done. See [`syn_reuses_with`].
#[inline]
pub fn syn_reuses(s: State) -> bool {
    syn_reuses_with(s, 1, false)
}

/// [`syn_reuses`] for any `conn_reuse_mode`: 0 never reschedules; bit 1
/// (value 2) also reschedules a FIN_WAIT entry of a connection whose
/// replies the director does not see (DR/TUN, `input_only`), where the
/// client's FIN may well be the last thing it ever sends. Callers also skip
/// the rule for connections controlled by a persistence template (IPVS
/// does: the template would send the client to the same dest anyway).
#[inline]
pub fn syn_reuses_with(s: State, conn_reuse_mode: u8, input_only: bool) -> bool {
    if conn_reuse_mode == 0 {
        return false;
    }
    match s {
        State::TimeWait | State::Close => true,
        State::FinWait => conn_reuse_mode & 2 != 0 && input_only,
        // An INIT on an association that is over (IPVS: SCTP CLOSED).
        State::SctpClosed => true,
        _ => false,
    }
}

/// Does this packet open a new connection, so that [`syn_reuses_with`]
/// applies (IPVS's `is_new_conn`)? A TCP SYN without ACK (rvs keeps the
/// ACK test: a SYN+ACK belongs to the handshake in progress), an SCTP
/// INIT. `flags` is [`crate::pipeline::Meta::flags`]: TCP flags, or the
/// SCTP event.
#[inline(always)]
pub fn opens_conn(proto: u8, flags: u8) -> bool {
    match proto {
        PROTO_TCP => is_syn(flags) && flags & TCP_ACK == 0,
        PROTO_SCTP => flags == super::sctp::Event::Init as u8,
        _ => false,
    }
}

/// Does a TCP packet with these flags open a connection (IPVS's
/// `is_new_conn`: SYN set, whatever else)? Used with [`syn_reuses`].
#[inline(always)]
pub fn is_syn(tcp_flags: u8) -> bool {
    tcp_flags & TCP_SYN != 0
}

/// Which row of a transition table a packet selects. One flag decides, in
/// the priority RST > SYN > FIN > ACK (so SYN+ACK is a SYN, FIN+ACK a FIN).
/// `None` for a packet with none of the four.
#[inline(always)]
fn flag_row(tcp_flags: u8) -> Option<usize> {
    if tcp_flags & TCP_RST != 0 {
        Some(3)
    } else if tcp_flags & TCP_SYN != 0 {
        Some(0)
    } else if tcp_flags & TCP_FIN != 0 {
        Some(1)
    } else if tcp_flags & TCP_ACK != 0 {
        Some(2)
    } else {
        None
    }
}

// (NONE and SYNACK are never the result of a default-table transition.)
use State::{
    Close as CL, CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA, Listen as LI, SynRecv as SR,
    SynSent as SS, TimeWait as TW,
};

/// `TABLES[dir][row][state]`: the next TCP state. The facts are IPVS's
/// default (non-`secure_tcp`) tables from Linux's ip_vs_proto_tcp.c;
/// rows are syn, fin, ack, rst; columns the current state in
/// [`State`] order NONE .. SYNACK.
#[rustfmt::skip]
static TABLES: [[[State; 11]; 4]; 3] = [
    // Input (client → server, replies seen)
    [
        //        NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
        /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
        /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
        /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
    ],
    // Output (server → client)
    [
        /* syn */ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
        /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
        /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
    ],
    // InputOnly (client → server, replies never seen: DR, TUN)
    [
        /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
        /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
        /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
    ],
];

/// The state after a packet of protocol `proto` with `tcp_flags` (ignored
/// for UDP; for SCTP the packet's [`super::sctp::Event`]) arrives from
/// `dir` on an entry in state `cur`.
///
/// As IPVS: a TCP packet carrying none of RST/SYN/FIN/ACK moves the entry
/// to CLOSE (IPVS's `set_tcp_state` defaults to CLOSE when no row
/// applies), so a stray flag-less segment ends a connection after 10 s
/// unless more traffic follows. Non-TCP protocols have the one state `Udp`.
#[inline]
pub fn next_state(proto: u8, cur: State, dir: Dir, tcp_flags: u8) -> State {
    if proto == PROTO_SCTP {
        return super::sctp::next(cur, dir, tcp_flags);
    }
    if proto != PROTO_TCP {
        return State::Udp;
    }
    let col = cur as usize;
    if col >= 11 {
        // A TCP entry never holds `Udp`; be total anyway.
        return State::Close;
    }
    match flag_row(tcp_flags) {
        Some(row) => TABLES[dir as usize][row][col],
        None => State::Close,
    }
}

/// The result of applying one packet to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub old: State,
    pub new: State,
}

impl Transition {
    #[inline(always)]
    pub fn changed(&self) -> bool {
        self.old != self.new
    }

    /// +1 when the entry moved from InActConn to ActiveConn, -1 for the
    /// reverse, 0 otherwise: add it to the dest's ActiveConn and subtract
    /// it from InActConn.
    #[inline(always)]
    pub fn active_delta(&self) -> i32 {
        is_active(self.new) as i32 - is_active(self.old) as i32
    }
}

/// Idle timeouts per state, in seconds. Defaults are IPVS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    secs: [u32; N_STATES],
}

impl Default for Timeouts {
    fn default() -> Self {
        let mut secs = [0u32; N_STATES];
        for s in State::ALL {
            secs[s as usize] = match s {
                State::None => 2,
                State::Established => 900,
                State::SynSent => 120,
                State::SynRecv => 60,
                State::FinWait => 120,
                State::TimeWait => 120,
                State::Close => 10,
                State::CloseWait => 60,
                State::LastAck => 30,
                State::Listen => 120,
                State::SynAck => 120,
                State::Udp => 300,
                s => super::sctp::default_timeout(s),
            };
        }
        Timeouts { secs }
    }
}

impl Timeouts {
    /// Idle timeout of state `s`, seconds.
    #[inline(always)]
    pub fn get(&self, s: State) -> u32 {
        self.secs[s as usize]
    }

    /// Set one state's timeout (seconds, at least 1).
    pub fn set(&mut self, s: State, secs: u32) {
        self.secs[s as usize] = secs.max(1);
    }

    /// `ipvsadm --set tcp tcpfin udp`: tcp is ESTABLISHED, tcpfin is
    /// FIN_WAIT, udp is UDP; 0 leaves a value unchanged, as ipvsadm.
    pub fn set_ipvsadm(&mut self, tcp: u32, tcpfin: u32, udp: u32) {
        if tcp != 0 {
            self.set(State::Established, tcp);
        }
        if tcpfin != 0 {
            self.set(State::FinWait, tcpfin);
        }
        if udp != 0 {
            self.set(State::Udp, udp);
        }
    }

    /// `(tcp, tcpfin, udp)` as `ipvsadm -L --timeout` prints them.
    pub fn ipvsadm(&self) -> (u32, u32, u32) {
        (self.get(State::Established), self.get(State::FinWait), self.get(State::Udp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const S: u8 = TCP_SYN;
    const A: u8 = TCP_ACK;
    const F: u8 = TCP_FIN;
    const R: u8 = TCP_RST;
    const T: u8 = PROTO_TCP;

    /// Apply a sequence of (dir, flags) to a fresh entry, returning every
    /// state reached.
    fn run(start: State, steps: &[(Dir, u8)]) -> Vec<State> {
        let mut s = start;
        steps
            .iter()
            .map(|&(d, f)| {
                s = next_state(T, s, d, f);
                s
            })
            .collect()
    }

    #[test]
    fn nat_full_conversation_client_closes_first() {
        use Dir::*;
        let got = run(
            State::None,
            &[
                (Input, S),      // SYN
                (Output, S | A), // SYN-ACK
                (Input, A),      // ACK
                (Input, A),      // data
                (Output, A),     // data
                (Input, F | A),  // client FIN
                (Output, A),     // its ACK
                (Output, F | A), // server FIN
                (Input, A),      // last ACK
            ],
        );
        use State::*;
        assert_eq!(
            got,
            [SynRecv, SynRecv, Established, Established, Established, CloseWait, CloseWait, TimeWait, TimeWait]
        );
    }

    #[test]
    fn nat_server_closes_first() {
        use Dir::*;
        use State::*;
        let got = run(Established, &[(Output, F | A), (Input, A), (Input, F | A), (Output, A)]);
        assert_eq!(got, [FinWait, FinWait, TimeWait, TimeWait]);
    }

    #[test]
    fn rst_handling() {
        use Dir::*;
        use State::*;
        assert_eq!(next_state(T, Established, Input, R), Close);
        assert_eq!(next_state(T, Established, Output, R | A), Close);
        // RST wins over SYN.
        assert_eq!(next_state(T, None, Input, R | S), Close);
        // A RST during the handshake leaves SYN_RECV (IPVS: a spoofed RST
        // must not end a half-open entry early), and LAST_ACK ignores an
        // inbound RST.
        assert_eq!(next_state(T, SynRecv, Input, R), SynRecv);
        assert_eq!(next_state(T, LastAck, Input, R), LastAck);
        assert_eq!(next_state(T, TimeWait, Output, R), TimeWait);
        assert_eq!(next_state(T, SynAck, InputOnly, R), Close);
        assert_eq!(next_state(T, SynAck, Input, R), SynRecv);
    }

    #[test]
    fn dr_input_only_sequence() {
        use Dir::*;
        use State::*;
        let got = run(None, &[(InputOnly, S), (InputOnly, A), (InputOnly, A), (InputOnly, F | A), (InputOnly, A)]);
        assert_eq!(got, [SynRecv, Established, Established, FinWait, FinWait]);
        // The differences to the Input table: FIN on ESTABLISHED and RST on SYNACK.
        assert_eq!(next_state(T, Established, Input, F), CloseWait);
        assert_eq!(next_state(T, Established, InputOnly, F), FinWait);
    }

    #[test]
    fn flagless_packet_closes_and_udp_is_single_state() {
        assert_eq!(next_state(T, State::Established, Dir::Input, 0), State::Close);
        assert_eq!(next_state(PROTO_UDP, State::Udp, Dir::Output, 0xff), State::Udp);
        assert_eq!(State::initial(PROTO_UDP), State::Udp);
        assert_eq!(State::initial(T), State::None);
    }

    #[test]
    fn every_transition_is_total_and_tcp_stays_tcp() {
        for s in &State::ALL[..11] {
            for d in [Dir::Input, Dir::Output, Dir::InputOnly] {
                for f in 0..=0xffu8 {
                    assert_ne!(next_state(T, *s, d, f), State::Udp);
                }
            }
        }
    }

    #[test]
    fn timeouts_defaults_and_set() {
        let mut t = Timeouts::default();
        let want = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 300];
        for (s, w) in State::ALL.iter().zip(want) {
            assert_eq!(t.get(*s), w, "{s}");
        }
        assert_eq!(t.ipvsadm(), (900, 120, 300));
        t.set_ipvsadm(3600, 0, 60);
        assert_eq!(t.ipvsadm(), (3600, 120, 60));
        assert_eq!(t.get(State::TimeWait), 120);
    }

    #[test]
    fn activity_and_reuse() {
        use State::*;
        let active: Vec<State> = State::ALL.iter().copied().filter(|&s| is_active(s)).collect();
        assert_eq!(active, [Established, SynSent, SynRecv, SynAck, SctpEstablished]);
        let t = Transition { old: SynRecv, new: CloseWait };
        assert_eq!(t.active_delta(), -1);
        assert_eq!(Transition { old: None, new: SynRecv }.active_delta(), 1);
        assert_eq!(Transition { old: SynRecv, new: Established }.active_delta(), 0);

        assert!(syn_reuses(TimeWait) && syn_reuses(Close));
        assert!(!syn_reuses(FinWait) && !syn_reuses(Established) && !syn_reuses(Udp));
        assert!(syn_reuses_with(FinWait, 2, true));
        assert!(!syn_reuses_with(FinWait, 2, false));
        assert!(!syn_reuses_with(TimeWait, 0, false));
        assert!(is_syn(S | A) && !is_syn(A));
    }
}
