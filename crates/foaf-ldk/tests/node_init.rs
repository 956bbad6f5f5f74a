//! What `foaf node`'s transport says in `init` and how many inbound connections it takes
//! (issue #17 items 10 and 16).

use std::sync::Arc;
use std::time::Duration;

use foaf_ldk::{system_clock, ConnectionLimits, FoafEvent, FoafNode, NodeConfig, StaticChannels};
use foaf_peer::{Config, Node};
use foaf_wire::ChainHash;
use lightning::bitcoin::secp256k1::PublicKey;
use std::io::Read;
use std::net::TcpStream;

async fn node(
    seed: u8,
    chain: ChainHash,
    limits: ConnectionLimits,
) -> FoafNode<Node<PublicKey>, StaticChannels> {
    let mut config = NodeConfig::new([seed; 32]);
    config.listen = Some("127.0.0.1:0".parse().unwrap());
    config.chain_hash = chain;
    config.limits = limits;
    let core = Node::new(
        Config {
            chain_hash: chain,
            ..Config::default()
        },
        1,
    );
    FoafNode::start(
        config,
        core,
        StaticChannels::default(),
        system_clock(),
        Arc::new(|_: &FoafEvent| {}),
    )
    .await
    .unwrap()
}

// Item 10: `init` names the chain we serve in `networks` (BOLT #1). LDK fails a connection
// whose `networks` has no chain in common with its own, so two nodes on different chains do not
// connect, and two on the same chain do; without `networks` both pairs connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_networks_is_the_chain_we_serve() {
    let l = ConnectionLimits::default();
    let signet = node(1, ChainHash::SIGNET, l).await;
    let other_signet = node(2, ChainHash::SIGNET, l).await;
    let bitcoin = node(3, ChainHash::BITCOIN, l).await;
    let timeout = Duration::from_secs(5);
    other_signet
        .connect(signet.node_id(), signet.local_addr().unwrap(), timeout)
        .await
        .expect("same chain: connected");
    let r = bitcoin
        .connect(
            signet.node_id(),
            signet.local_addr().unwrap(),
            Duration::from_secs(3),
        )
        .await;
    assert!(r.is_err(), "no chain in common, yet connected");
    assert!(!signet.is_connected(&bitcoin.node_id()));
}

/// Whether the node closed `s` within `wait` (EOF or reset), rather than waiting for act one.
/// Blocking reads, off the runtime's worker threads.
async fn closed_by_node(s: &TcpStream, wait: Duration) -> bool {
    let mut s = s.try_clone().unwrap();
    tokio::task::spawn_blocking(move || {
        s.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 1];
        match s.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    })
    .await
    .unwrap()
}

// Item 16: inbound connections are capped per IP; one over the cap is closed at once, the
// others stay open (waiting for their handshake), and a slot is free again when its connection
// ends. Without the cap every one of them stayed open until LDK's handshake timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_connections_are_capped_per_ip() {
    let n = node(
        4,
        ChainHash::BITCOIN,
        ConnectionLimits {
            per_ip: 3,
            total: 100,
        },
    )
    .await;
    let addr = n.local_addr().unwrap();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(TcpStream::connect(addr).unwrap());
    }
    let fourth = TcpStream::connect(addr).unwrap();
    assert!(
        closed_by_node(&fourth, Duration::from_secs(2)).await,
        "4th from one IP kept"
    );
    for s in &open {
        assert!(
            !closed_by_node(s, Duration::from_millis(200)).await,
            "an admitted one closed"
        );
    }
    drop(open.pop());
    // The freed slot is taken again (the close reaches the node asynchronously).
    let mut admitted = false;
    for _ in 0..50 {
        let s = TcpStream::connect(addr).unwrap();
        if !closed_by_node(&s, Duration::from_millis(200)).await {
            admitted = true;
            break;
        }
    }
    assert!(
        admitted,
        "a slot freed by a closed connection is not reused"
    );
}
