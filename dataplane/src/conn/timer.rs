//! A hashed timer wheel with intrusive lists.
//!
//! Time is an integer tick count chosen by the caller ([`HZ`] ticks per
//! second: IPVS timeouts are whole seconds, and the 2 s NONE timeout wants
//! sub-second precision). Each timer `id` in `0..capacity` owns one node in
//! a flat array; a slot of the wheel is a circular doubly linked list of
//! nodes threaded through that array by index, with one sentinel node per
//! slot. That gives:
//!
//! * O(1) schedule, re-schedule and cancel (unlink, relink), with no stale
//!   entries left behind and no allocation ever after `new`;
//! * 16 bytes per timer, fixed at construction;
//! * [`TimerWheel::poll`] that does a bounded amount of work per call.
//!
//! A deadline further away than one revolution (`slots` ticks) sits in its
//! slot and is looked at once per revolution until it is due. Expiry runs
//! through a "due" list: reaching a tick splices that tick's whole slot
//! onto the due list in O(1); `poll` then pops entries one by one, firing
//! those whose deadline has come and putting the rest back in their slot.
//! Whatever the budget leaves on the due list is continued by the next
//! call, so a worker never stalls on a burst of expiries.

/// Ticks per second the connection tables use.
pub const HZ: u64 = 64;

/// Seconds to ticks.
#[inline(always)]
pub const fn secs(s: u32) -> u64 {
    s as u64 * HZ
}

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    next: u32,
    prev: u32,
    deadline: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct TimerWheel {
    /// `[0, cap)`: timers; `[cap, cap + slots)`: slot sentinels;
    /// `cap + slots`: the due list's sentinel.
    nodes: Vec<Node>,
    cap: u32,
    mask: u64,
    /// The latest tick whose slot has been spliced onto the due list.
    /// Invariant: every scheduled timer with `deadline <= cursor` is on the
    /// due list; those in slots have `deadline > cursor` when linked.
    cursor: u64,
    len: usize,
}

impl TimerWheel {
    /// A wheel for timer ids `0..capacity` with `2^slot_bits` slots, whose
    /// clock starts at tick `now`.
    pub fn new(capacity: usize, slot_bits: u32, now: u64) -> Self {
        assert!(slot_bits <= 24, "slot_bits {slot_bits} too large");
        let slots = 1usize << slot_bits;
        assert!(capacity + slots < NIL as usize, "timer capacity {capacity} too large");
        let cap = capacity as u32;
        let mut nodes = vec![Node { next: NIL, prev: NIL, deadline: 0 }; capacity + slots + 1];
        for (i, n) in nodes.iter_mut().enumerate().skip(capacity) {
            n.next = i as u32;
            n.prev = i as u32;
        }
        TimerWheel { nodes, cap, mask: slots as u64 - 1, cursor: now, len: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// Number of scheduled timers.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tick up to which the wheel has advanced.
    pub fn now(&self) -> u64 {
        self.cursor
    }

    /// Memory held, in bytes.
    pub fn mem_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    #[inline(always)]
    fn due_head(&self) -> u32 {
        self.nodes.len() as u32 - 1
    }

    #[inline(always)]
    fn slot_head(&self, deadline: u64) -> u32 {
        self.cap + (deadline & self.mask) as u32
    }

    #[inline(always)]
    pub fn is_scheduled(&self, id: u32) -> bool {
        self.nodes[id as usize].next != NIL
    }

    /// The deadline `id` is armed for, if it is.
    #[inline]
    pub fn deadline(&self, id: u32) -> Option<u64> {
        let n = &self.nodes[id as usize];
        (n.next != NIL).then_some(n.deadline)
    }

    #[inline(always)]
    fn unlink(&mut self, id: u32) {
        let Node { next, prev, .. } = self.nodes[id as usize];
        self.nodes[prev as usize].next = next;
        self.nodes[next as usize].prev = prev;
        self.nodes[id as usize].next = NIL;
        self.nodes[id as usize].prev = NIL;
    }

    /// Link `id` at the tail of the list whose sentinel is `head`.
    #[inline(always)]
    fn link(&mut self, head: u32, id: u32) {
        let tail = self.nodes[head as usize].prev;
        self.nodes[id as usize].next = head;
        self.nodes[id as usize].prev = tail;
        self.nodes[tail as usize].next = id;
        self.nodes[head as usize].prev = id;
    }

    /// Arm `id` to fire at tick `deadline`, replacing any earlier arming.
    /// A deadline already past fires on the next `poll`.
    #[inline]
    pub fn schedule(&mut self, id: u32, deadline: u64) {
        assert!(id < self.cap, "timer id {id} out of range");
        if self.is_scheduled(id) {
            self.unlink(id);
        } else {
            self.len += 1;
        }
        self.nodes[id as usize].deadline = deadline;
        let head = if deadline <= self.cursor { self.due_head() } else { self.slot_head(deadline) };
        self.link(head, id);
    }

    /// Disarm `id`. Returns whether it was armed.
    #[inline]
    pub fn cancel(&mut self, id: u32) -> bool {
        if !self.is_scheduled(id) {
            return false;
        }
        self.unlink(id);
        self.len -= 1;
        true
    }

    /// The next timer due at `now`, disarmed, or `None` when nothing more
    /// is due or `budget` ran out. Each slot reached and each entry looked
    /// at costs one unit of `budget`; work left over stays queued for the
    /// next call.
    pub fn poll(&mut self, now: u64, budget: &mut usize) -> Option<u32> {
        let due = self.due_head();
        let slots = self.mask + 1;
        while *budget > 0 {
            *budget -= 1;
            let first = self.nodes[due as usize].next;
            if first != due {
                let deadline = self.nodes[first as usize].deadline;
                self.unlink(first);
                if deadline <= now {
                    self.len -= 1;
                    return Some(first);
                }
                // Due in a later revolution: back to its slot, which has
                // already been passed this revolution.
                let head = self.slot_head(deadline);
                self.link(head, first);
                continue;
            }
            if self.cursor >= now {
                *budget += 1;
                return None;
            }
            // After a long pause every slot is visited once, not once per
            // missed tick: the slots of (now - slots, now] are all of them.
            if now - self.cursor > slots {
                self.cursor = now - slots;
            }
            self.cursor += 1;
            let head = self.slot_head(self.cursor);
            self.splice_to_due(head);
        }
        None
    }

    /// Move the whole list of `head` to the tail of the due list.
    #[inline]
    fn splice_to_due(&mut self, head: u32) {
        let first = self.nodes[head as usize].next;
        if first == head {
            return;
        }
        let last = self.nodes[head as usize].prev;
        let due = self.due_head();
        let due_tail = self.nodes[due as usize].prev;
        self.nodes[due_tail as usize].next = first;
        self.nodes[first as usize].prev = due_tail;
        self.nodes[last as usize].next = due;
        self.nodes[due as usize].prev = last;
        self.nodes[head as usize].next = head;
        self.nodes[head as usize].prev = head;
    }

    /// Fire everything due at `now` within `budget` through `f`; returns
    /// the number fired.
    pub fn advance(&mut self, now: u64, mut budget: usize, mut f: impl FnMut(u32)) -> usize {
        let mut n = 0;
        while let Some(id) = self.poll(now, &mut budget) {
            f(id);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut TimerWheel, now: u64) -> Vec<u32> {
        let mut v = Vec::new();
        w.advance(now, usize::MAX, |id| v.push(id));
        v.sort();
        v
    }

    #[test]
    fn fires_at_deadline_not_before() {
        let mut w = TimerWheel::new(8, 4, 0);
        w.schedule(1, 5);
        w.schedule(2, 5);
        w.schedule(3, 7);
        assert!(drain(&mut w, 4).is_empty());
        assert_eq!(drain(&mut w, 5), [1, 2]);
        assert_eq!(drain(&mut w, 6), [] as [u32; 0]);
        assert_eq!(drain(&mut w, 100), [3]);
        assert!(w.is_empty());
    }

    #[test]
    fn deadlines_beyond_one_revolution() {
        let mut w = TimerWheel::new(4, 3, 0); // 8 slots
        w.schedule(0, 3);
        w.schedule(1, 3 + 8);
        w.schedule(2, 3 + 8 * 5);
        assert_eq!(drain(&mut w, 3), [0]);
        assert_eq!(drain(&mut w, 10), [] as [u32; 0]);
        assert_eq!(drain(&mut w, 11), [1]);
        assert_eq!(drain(&mut w, 42), [] as [u32; 0]);
        assert_eq!(drain(&mut w, 43), [2]);
    }

    #[test]
    fn cancel_and_reschedule() {
        let mut w = TimerWheel::new(4, 3, 0);
        w.schedule(0, 2);
        w.schedule(1, 2);
        assert!(w.cancel(0));
        assert!(!w.cancel(0));
        w.schedule(1, 20);
        assert_eq!(w.deadline(1), Some(20));
        assert_eq!(drain(&mut w, 19), [] as [u32; 0]);
        assert_eq!(drain(&mut w, 20), [1]);
        assert_eq!(w.deadline(1), None);
    }

    #[test]
    fn past_deadline_fires_next_poll() {
        let mut w = TimerWheel::new(4, 3, 100);
        w.schedule(2, 50);
        assert_eq!(drain(&mut w, 100), [2]);
    }

    #[test]
    fn budget_bounds_work_and_work_resumes() {
        let mut w = TimerWheel::new(1000, 6, 0);
        for id in 0..1000 {
            w.schedule(id, 10);
        }
        let mut got = 0;
        let mut calls = 0;
        while got < 1000 {
            let n = w.advance(10, 100, |_| ());
            assert!(n <= 100);
            got += n;
            calls += 1;
        }
        assert_eq!(calls, 11); // 10 ticks of splicing cost budget too
        assert!(w.is_empty());
    }

    #[test]
    fn long_pause_visits_each_slot_once() {
        let mut w = TimerWheel::new(4, 4, 0);
        w.schedule(0, 1_000_000);
        let mut budget = 1000;
        assert_eq!(w.poll(999_999, &mut budget), None);
        // 16 slots spliced (+ 1 re-link), not a million ticks.
        assert!(1000 - budget <= 18, "used {}", 1000 - budget);
        assert_eq!(drain(&mut w, 1_000_000), [0]);
    }

    #[test]
    fn cancel_while_on_due_list() {
        let mut w = TimerWheel::new(4, 3, 0);
        w.schedule(0, 1);
        w.schedule(1, 1);
        let mut budget = 2; // splice + first pop
        assert_eq!(w.poll(1, &mut budget), Some(0));
        assert!(w.cancel(1));
        assert_eq!(drain(&mut w, 5), [] as [u32; 0]);
    }
}
