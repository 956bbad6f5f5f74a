//! Caps on inbound connections: per remote IP and in total (issue #17: 300 idle connections from
//! one address held the node's file descriptors and locked legitimate peers out for ~18 s).
//!
//! What LDK already does: `PeerManager::timer_tick_occurred` fails a connection whose BOLT #8
//! handshake and `init` are not done by the second timer tick after it was accepted (10–20 s
//! here, the tick being every 10 s), and a peer that stops answering pings one tick later. It
//! has no limit on how many connections are open. So the accept loop counts them: a connection
//! over a cap is closed at once, before LDK sees it, and one that stalls its handshake holds
//! its slot only until LDK drops it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Limits on inbound connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open inbound connections from one IP address, at most (default 8).
    pub per_ip: usize,
    /// Open inbound connections in all, at most (default 256).
    pub total: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            per_ip: 8,
            total: 256,
        }
    }
}

/// Open inbound connections, by remote IP.
#[derive(Debug, Default)]
pub struct ConnectionCounter {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; its slot is freed when this is dropped (the connection ended).
#[derive(Debug)]
pub struct Slot {
    counter: Arc<ConnectionCounter>,
    ip: IpAddr,
}

impl ConnectionCounter {
    /// Admits a connection from `ip` if both caps allow; `None`: close it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, limits: ConnectionLimits) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = open.values().sum();
        let from_ip = open.get(&ip).copied().unwrap_or(0);
        if total >= limits.total || from_ip >= limits.per_ip {
            return None;
        }
        *open.entry(ip).or_default() += 1;
        Some(Slot {
            counter: Arc::clone(self),
            ip,
        })
    }

    /// Open connections in all.
    pub fn total(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.counter.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue #17 item 16: per-IP and total caps; a slot comes back when its connection ends.
    #[test]
    fn caps_per_ip_and_in_total() {
        let c = Arc::new(ConnectionCounter::default());
        let limits = ConnectionLimits {
            per_ip: 2,
            total: 3,
        };
        let (a, b, d): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let a1 = c.admit(a, limits).unwrap();
        let _a2 = c.admit(a, limits).unwrap();
        assert!(c.admit(a, limits).is_none(), "third from one IP");
        let _b1 = c.admit(b, limits).unwrap();
        assert!(c.admit(d, limits).is_none(), "over the total");
        drop(a1);
        assert_eq!(c.total(), 2);
        assert!(c.admit(d, limits).is_some(), "a freed slot is usable");
    }
}
