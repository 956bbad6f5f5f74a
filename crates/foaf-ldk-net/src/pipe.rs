//! In-memory sockets for LDK's `PeerManager`: real BOLT #8 (Noise handshake, encrypted frames),
//! carried by byte queues the harness moves by hand, so a run is deterministic and needs no
//! ports, threads or timers.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lightning::ln::peer_handler::SocketDescriptor;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One end of a connection: what its `PeerManager` writes waits in `outbox` until the harness
/// delivers it to the other end.
#[derive(Clone)]
pub struct Pipe {
    id: u64,
    outbox: Arc<Mutex<Vec<u8>>>,
    closed: Arc<AtomicBool>,
}

impl Pipe {
    /// Two connected ends (they share the closed flag: closing one closes both).
    pub fn pair() -> (Pipe, Pipe) {
        let closed = Arc::new(AtomicBool::new(false));
        let end = || Pipe {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            outbox: Arc::default(),
            closed: Arc::clone(&closed),
        };
        (end(), end())
    }

    /// Takes what this end wrote.
    pub fn take_written(&self) -> Vec<u8> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Queues bytes as if this end had written them (the handshake's first act).
    pub fn write(&self, data: &[u8]) {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
    }

    /// Closes the connection (both ends), as a failed read does.
    pub fn disconnect_socket_both(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// True once either side closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl SocketDescriptor for Pipe {
    fn send_data(&mut self, data: &[u8], _continue_read: bool) -> usize {
        if self.is_closed() {
            return 0;
        }
        self.write(data);
        data.len()
    }

    fn disconnect_socket(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

impl PartialEq for Pipe {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Pipe {}
impl Hash for Pipe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
