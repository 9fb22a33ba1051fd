//! The bench's correctness checks: what one receiver saw, judged against
//! what the senders sent. Every run reports loss, duplicates and order
//! violations; a number above zero is a bug in the server (or the bench).

/// One delivered chat message as the bench encodes it in the content:
/// `b<sender>:<seq>:<planned send time in ns since the run's start>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub sender: usize,
    pub seq: u64,
    pub sent_ns: u64,
}

impl Probe {
    pub fn encode(&self) -> String {
        format!("b{}:{}:{}", self.sender, self.seq, self.sent_ns)
    }

    /// The probe, padded to `size` bytes (when it is shorter) after a `:`
    /// that `decode` stops at.
    pub fn encode_padded(&self, size: usize) -> String {
        let mut text = self.encode();
        if text.len() + 1 < size {
            text.push(':');
            let pad = size - text.len();
            text.extend(std::iter::repeat_n('x', pad));
        }
        text
    }

    pub fn decode(content: &str) -> Option<Self> {
        let mut parts = content.strip_prefix('b')?.split(':');
        let sender = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        let sent_ns = parts.next()?.parse().ok()?;
        Some(Self {
            sender,
            seq,
            sent_ns,
        })
    }
}

/// What one receiver saw of the senders of its room.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    /// Per sender (by global index), the highest sequence number seen.
    last_seq: Vec<Option<u64>>,
    last_id: i64,
    pub received: u64,
    pub duplicates: u64,
    /// Messages skipped over: a sequence number jumped by more than one.
    pub gaps: u64,
    /// Messages that arrived with an id lower than one already seen.
    pub out_of_order: u64,
}

impl Tracker {
    pub fn new(senders: usize) -> Self {
        Self {
            last_seq: vec![None; senders],
            ..Self::default()
        }
    }

    /// Records a message with store id `id` (0 when the protocol has none).
    pub fn see(&mut self, id: i64, probe: Probe) {
        self.received += 1;
        if id != 0 {
            if id == self.last_id {
                self.duplicates += 1;
                return;
            }
            if id < self.last_id {
                self.out_of_order += 1;
            } else {
                self.last_id = id;
            }
        }
        let Some(slot) = self.last_seq.get_mut(probe.sender) else {
            return;
        };
        match *slot {
            Some(last) if probe.seq <= last => self.duplicates += 1,
            Some(last) => {
                self.gaps += probe.seq - last - 1;
                *slot = Some(probe.seq);
            }
            None => {
                self.gaps += probe.seq;
                *slot = Some(probe.seq);
            }
        }
    }

    /// Messages this receiver never got, given how many each sender of its
    /// room sent (`sent[i]` for sender index `first + i`).
    pub fn lost(&self, first: usize, sent: &[u64]) -> u64 {
        self.missing_tails(first, sent).iter().sum::<u64>() + self.gaps
    }

    /// Per sender of the room, how many of its last messages never came.
    pub fn missing_tails(&self, first: usize, sent: &[u64]) -> Vec<u64> {
        sent.iter()
            .enumerate()
            .map(
                |(i, &n)| match self.last_seq.get(first + i).copied().flatten() {
                    Some(last) => n.saturating_sub(last + 1),
                    None => n,
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(sender: usize, seq: u64) -> Probe {
        Probe {
            sender,
            seq,
            sent_ns: 0,
        }
    }

    #[test]
    fn probe_round_trip() {
        let p = Probe {
            sender: 3,
            seq: 17,
            sent_ns: 123_456_789,
        };
        assert_eq!(Probe::decode(&p.encode()), Some(p));
        let padded = p.encode_padded(1000);
        assert_eq!(padded.len(), 1000);
        assert_eq!(Probe::decode(&padded), Some(p));
        assert_eq!(p.encode_padded(3), p.encode(), "never cut");
        assert_eq!(Probe::decode("hello"), None);
        assert_eq!(Probe::decode("b1:2"), None);
    }

    #[test]
    fn a_clean_stream_has_no_faults() {
        let mut t = Tracker::new(2);
        let mut id = 0;
        for seq in 0..5 {
            for sender in 0..2 {
                id += 1;
                t.see(id, probe(sender, seq));
            }
        }
        assert_eq!((t.duplicates, t.gaps, t.out_of_order), (0, 0, 0));
        assert_eq!(t.lost(0, &[5, 5]), 0);
    }

    #[test]
    fn losses_at_the_start_middle_and_end_are_counted() {
        let mut t = Tracker::new(1);
        t.see(1, probe(0, 1)); // seq 0 never came
        t.see(2, probe(0, 2));
        t.see(3, probe(0, 5)); // 3 and 4 skipped
        assert_eq!(t.gaps, 3);
        assert_eq!(t.lost(0, &[8]), 3 + 2); // 6 and 7 never came
    }

    #[test]
    fn duplicates_and_reordering_are_counted() {
        let mut t = Tracker::new(2);
        t.see(1, probe(0, 0));
        t.see(1, probe(0, 0)); // same id again
        t.see(3, probe(1, 0));
        t.see(2, probe(0, 1)); // lower id after a higher one
        t.see(4, probe(0, 1)); // a re-delivery under a new id
        assert_eq!(t.duplicates, 2);
        assert_eq!(t.out_of_order, 1);
        assert_eq!(t.lost(0, &[2, 1]), 0);
    }

    #[test]
    fn a_silent_sender_counts_as_all_lost() {
        let t = Tracker::new(2);
        assert_eq!(t.lost(0, &[3, 4]), 7);
    }
}
