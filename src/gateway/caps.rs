//! How many WebSockets one user, and one client address, may hold open on
//! this node (`--max-connections-per-user`, `--max-connections-per-address`).
//! Counted per node: a user behind a load balancer may hold the cap on each
//! node, which bounds what one account or one address can pin on any one
//! machine.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Default)]
struct Counts {
    users: HashMap<i64, u32>,
    addresses: HashMap<IpAddr, u32>,
}

pub struct SocketCaps {
    per_user: u32,
    per_address: u32,
    counts: Mutex<Counts>,
}

/// Which cap a new socket would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverCap {
    User(u32),
    Address(u32),
}

/// One admitted socket; the count goes down when it is dropped.
pub struct Slot {
    caps: Arc<SocketCaps>,
    user: i64,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .caps
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        release(&mut counts.users, self.user);
        release(&mut counts.addresses, self.address);
    }
}

fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K) {
    if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

impl SocketCaps {
    /// 0 turns a cap off.
    pub fn new(per_user: u32, per_address: u32) -> Arc<Self> {
        Arc::new(Self {
            per_user,
            per_address,
            counts: Mutex::default(),
        })
    }

    /// A slot for a new socket of `user` from `address`, unless that would
    /// pass a cap.
    pub fn admit(self: &Arc<Self>, user: i64, address: IpAddr) -> Result<Slot, OverCap> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let by_user = counts.users.get(&user).copied().unwrap_or(0);
        if self.per_user > 0 && by_user >= self.per_user {
            return Err(OverCap::User(self.per_user));
        }
        let by_address = counts.addresses.get(&address).copied().unwrap_or(0);
        if self.per_address > 0 && by_address >= self.per_address {
            return Err(OverCap::Address(self.per_address));
        }
        *counts.users.entry(user).or_insert(0) += 1;
        *counts.addresses.entry(address).or_insert(0) += 1;
        Ok(Slot {
            caps: self.clone(),
            user,
            address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn caps_count_open_sockets_and_free_on_close() {
        let caps = SocketCaps::new(2, 3);
        let a = caps.admit(1, HOME).expect("first");
        let _b = caps.admit(1, AWAY).expect("second");
        assert_eq!(caps.admit(1, HOME).err(), Some(OverCap::User(2)));
        let _c = caps.admit(2, HOME).expect("another user");
        let _d = caps.admit(3, HOME).expect("third on the address");
        assert_eq!(caps.admit(4, HOME).err(), Some(OverCap::Address(3)));
        drop(a);
        assert!(
            caps.admit(1, AWAY).is_ok(),
            "a closed socket frees its place"
        );
    }

    #[test]
    fn zero_is_no_cap() {
        let caps = SocketCaps::new(0, 0);
        let slots: Vec<_> = (0..100)
            .map(|_| caps.admit(1, HOME).expect("admitted"))
            .collect();
        assert_eq!(slots.len(), 100);
        drop(slots);
        assert!(
            caps.counts.lock().expect("lock").users.is_empty(),
            "nothing left behind"
        );
    }
}
