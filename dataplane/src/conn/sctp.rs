//! IPVS's SCTP association states and their transition table.
//!
//! Like TCP's, the model is IPVS's, not a firewall's: a coarse state per
//! connection, moved by the chunk type of each packet and the side it
//! came from, deciding how long an idle entry lives and whether it counts
//! as ActiveConn (ESTABLISHED only). The states are named from the real
//! server's point of view; besides RFC 9260's diagram IPVS has INIT1
//! (a first INIT, short timeout, so that unanswered INITs do not linger),
//! REJECTED (an INIT answered by ABORT) and INIT, C-SENT, C-REPLIED,
//! COOKIE for the handshake steps. The facts — states, table, timeouts,
//! names `ipvsadm -Lnc` prints — are Linux's (ip_vs_proto_sctp.c).

use super::state::{Dir, State};

/// What a packet's deciding chunk means to the state machine (IPVS's
/// SCTP events). Carried in [`crate::pipeline::Meta::flags`] for SCTP.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// DATA, SACK, HEARTBEAT (ACK), ECNE, CWR and any chunk type IPVS
    /// does not name.
    Data = 0,
    Init,
    InitAck,
    CookieEcho,
    CookieAck,
    Shutdown,
    ShutdownAck,
    ShutdownComplete,
    Error,
    Abort,
}

const N_EVENTS: usize = 10;

impl Event {
    /// The event of a packet whose deciding chunk
    /// ([`crate::wire::Sctp::deciding_chunk`]) has type `chunk`.
    pub fn of_chunk(chunk: u8) -> Event {
        use crate::wire::sctp::chunk as c;
        match chunk {
            c::INIT => Event::Init,
            c::INIT_ACK => Event::InitAck,
            c::ABORT => Event::Abort,
            c::SHUTDOWN => Event::Shutdown,
            c::SHUTDOWN_ACK => Event::ShutdownAck,
            c::ERROR => Event::Error,
            c::COOKIE_ECHO => Event::CookieEcho,
            c::COOKIE_ACK => Event::CookieAck,
            c::SHUTDOWN_COMPLETE => Event::ShutdownComplete,
            _ => Event::Data,
        }
    }
}

/// The SCTP states in IPVS's order (`IP_VS_SCTP_S_*`): the index of a
/// state here is its number in the kernel's sync messages and the
/// column of [`TABLE`].
pub const STATES: [State; 14] = [
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

/// The kernel's number of an SCTP state (its index in [`STATES`]), or
/// `None` for a TCP/UDP state.
#[inline(always)]
pub fn index(s: State) -> Option<usize> {
    (s as usize).checked_sub(State::SctpNone as usize).filter(|&i| i < STATES.len())
}

use State::{
    SctpClosed as CL, SctpCookie as CO, SctpCookieEchoed as CE, SctpCookieReplied as CR, SctpCookieSent as CS,
    SctpCookieWait as CW, SctpEstablished as ES, SctpInit as IN, SctpInit1 as I1, SctpRejected as RJ,
    SctpShutdownAckSent as SA, SctpShutdownReceived as SR, SctpShutdownSent as SS,
};

/// `TABLE[dir][event][state]`: the next state. Rows are [`Event`]s in
/// order; columns the current state in [`STATES`] order (NONE first).
/// Input is client → server with replies seen (NAT, FULLNAT), Output
/// server → client, InputOnly client → server when replies bypass the
/// director (DR, TUN).
#[rustfmt::skip]
static TABLE: [[[State; 14]; N_EVENTS]; 3] = [
    // Input
    [
        //          NO  I1  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
        /* data  */ [ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* init  */ [I1, IN, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, IN, IN],
        /* i-ack */ [CW, CW, CW, CS, CR, CO, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* c-ech */ [CR, IN, IN, CR, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* c-ack */ [ES, I1, IN, CS, CR, CW, CO, ES, ES, SS, SR, SA, RJ, CL],
        /* shut  */ [SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL],
        /* s-ack */ [CL, IN, IN, CS, CR, CW, CO, CE, ES, CL, SR, CL, RJ, CL],
        /* s-cmp */ [CL, CL, CL, CS, CR, CW, CO, CE, ES, SS, SR, CL, RJ, CL],
        /* error */ [CL, I1, IN, CS, CR, CW, CO, CL, ES, SS, SR, SA, RJ, CL],
        /* abort */ [CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL],
    ],
    // Output
    [
        /* data  */ [ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* init  */ [CW, CW, CW, CW, CW, CW, CW, CW, ES, CW, CW, CW, CW, CW],
        /* i-ack */ [CS, CS, CS, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* c-ech */ [CE, CE, CE, CE, CE, CE, CE, CE, ES, SS, SR, SA, RJ, CL],
        /* c-ack */ [ES, ES, ES, ES, ES, ES, ES, ES, ES, SS, SR, SA, RJ, CL],
        /* shut  */ [SS, SS, SS, SS, SS, SS, SS, SS, SS, SS, SR, SA, RJ, CL],
        /* s-ack */ [SA, SA, SA, SA, SA, CW, CO, CE, ES, SA, SA, SA, RJ, CL],
        /* s-cmp */ [CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* error */ [CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* abort */ [CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    ],
    // InputOnly
    [
        /* data  */ [ES, I1, IN, CS, CR, ES, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* init  */ [I1, IN, IN, IN, IN, IN, CO, CE, ES, SS, SR, SA, IN, IN],
        /* i-ack */ [CE, CE, CE, CE, CE, CE, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* c-ech */ [ES, ES, ES, ES, ES, ES, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* c-ack */ [ES, I1, IN, ES, ES, CW, ES, ES, ES, SS, SR, SA, RJ, CL],
        /* shut  */ [SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL],
        /* s-ack */ [CL, IN, IN, CS, CR, CW, CO, CE, CL, CL, SR, CL, RJ, CL],
        /* s-cmp */ [CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, CL, CL, RJ, CL],
        /* error */ [CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL],
        /* abort */ [CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL],
    ],
];

/// The state after a packet carrying `event` (an [`Event`] as a byte;
/// anything out of range counts as DATA) arrives from `dir` on an entry
/// in state `cur`. An entry that is not in an SCTP state is treated as
/// NONE (never the case: SCTP entries start there).
#[inline]
pub fn next(cur: State, dir: Dir, event: u8) -> State {
    let col = index(cur).unwrap_or(0);
    let row = if (event as usize) < N_EVENTS { event as usize } else { Event::Data as usize };
    TABLE[dir as usize][row][col]
}

/// Idle timeout of an SCTP state, seconds: IPVS's defaults. The
/// handshake and shutdown states wait for SCTP's longest retransmission
/// (RTO.Max 60 s, + 1); a first INIT and a rejected one only 4 s.
pub fn default_timeout(s: State) -> u32 {
    match s {
        State::SctpNone => 2,
        State::SctpInit1 | State::SctpRejected => 4,
        State::SctpEstablished => 900,
        _ => 61,
    }
}

#[cfg(test)]
mod tests {
    use super::Event::*;
    use super::*;
    use crate::wire::sctp::chunk;
    use Dir::*;

    fn walk(start: State, steps: &[(Dir, Event)]) -> Vec<State> {
        let mut s = start;
        steps
            .iter()
            .map(|&(d, ev)| {
                s = next(s, d, ev as u8);
                s
            })
            .collect()
    }

    #[test]
    fn chunk_types_map_to_ipvs_events() {
        let want = [
            (chunk::DATA, Data),
            (chunk::INIT, Init),
            (chunk::INIT_ACK, InitAck),
            (chunk::SACK, Data),
            (chunk::HEARTBEAT, Data),
            (chunk::HEARTBEAT_ACK, Data),
            (chunk::ABORT, Abort),
            (chunk::SHUTDOWN, Shutdown),
            (chunk::SHUTDOWN_ACK, ShutdownAck),
            (chunk::ERROR, Error),
            (chunk::COOKIE_ECHO, CookieEcho),
            (chunk::COOKIE_ACK, CookieAck),
            (12, Data),
            (13, Data),
            (chunk::SHUTDOWN_COMPLETE, ShutdownComplete),
            (15, Data),
            (64, Data),
            (0xc1, Data),
            (0xff, Data),
        ];
        for (c, e) in want {
            assert_eq!(Event::of_chunk(c), e, "chunk {c}");
        }
    }

    #[test]
    fn nat_association_setup_data_and_shutdown() {
        use State::*;
        let got = walk(
            SctpNone,
            &[
                (Input, Init),
                (Output, InitAck),
                (Input, CookieEcho),
                (Output, CookieAck),
                (Input, Data),
                (Output, Data),
                (Input, Shutdown),
                (Output, ShutdownAck),
                (Input, ShutdownComplete),
            ],
        );
        assert_eq!(
            got,
            [
                SctpInit1,
                SctpCookieSent,
                SctpCookieReplied,
                SctpEstablished,
                SctpEstablished,
                SctpEstablished,
                SctpShutdownReceived,
                SctpShutdownAckSent,
                SctpClosed,
            ]
        );
        // The server shuts down first.
        let got = walk(SctpEstablished, &[(Output, Shutdown), (Input, ShutdownAck)]);
        assert_eq!(got, [SctpShutdownSent, SctpClosed]);
    }

    #[test]
    fn retransmitted_inits_rejection_and_abort() {
        use State::*;
        assert_eq!(walk(SctpNone, &[(Input, Init), (Input, Init), (Input, Init)]), [SctpInit1, SctpInit, SctpInit]);
        // An INIT answered by ABORT: REJECTED (short timeout), and a new
        // INIT starts over.
        assert_eq!(
            walk(SctpNone, &[(Input, Init), (Output, Abort), (Input, Init)]),
            [SctpInit1, SctpRejected, SctpInit]
        );
        assert_eq!(next(SctpEstablished, Input, Abort as u8), SctpClosed);
        assert_eq!(next(SctpEstablished, Output, Abort as u8), SctpClosed);
        assert_eq!(next(SctpClosed, Input, Init as u8), SctpInit);
    }

    #[test]
    fn dr_input_only_handshake() {
        use State::*;
        let got =
            walk(SctpNone, &[(InputOnly, Init), (InputOnly, CookieEcho), (InputOnly, Data), (InputOnly, Shutdown)]);
        assert_eq!(got, [SctpInit1, SctpEstablished, SctpEstablished, SctpShutdownReceived]);
        // The client's SHUTDOWN COMPLETE ends it (after the server's
        // SHUTDOWN ACK, which the director never sees).
        assert_eq!(next(SctpShutdownReceived, InputOnly, ShutdownComplete as u8), SctpClosed);
    }

    #[test]
    fn total_and_stays_sctp() {
        for &s in &STATES {
            for d in [Input, Output, InputOnly] {
                for ev in 0..=255u8 {
                    assert!(index(next(s, d, ev)).is_some());
                }
            }
        }
        assert_eq!(next(State::Established, Input, Init as u8), State::SctpInit1, "a TCP state reads as NONE");
        assert_eq!(next(State::SctpNone, Input, 200), State::SctpEstablished, "an unknown event is DATA");
        assert_eq!(index(State::Udp), None);
        assert_eq!(index(State::SctpClosed), Some(13));
    }

    #[test]
    fn timeouts() {
        let want = [2, 4, 61, 61, 61, 61, 61, 61, 900, 61, 61, 61, 4, 61];
        for (s, w) in STATES.iter().zip(want) {
            assert_eq!(default_timeout(*s), w, "{s}");
        }
    }
}
