//! The integration recipe (docs/interop.md) on real LDK nodes: the BOLT #14 handler shares the
//! send-only slot with the `ChainMonitor` (`foaf_ldk::SendOnlyPair`), and the disconnects its
//! state machine asks for still happen.

use foaf_ldk::RoutingConfig;
use foaf_ldk_net::triangle_network_with;
use foaf_peer::{Config, Fault};
use foaf_wire::Flow;

#[test]
fn v01_disconnect_goes_through_the_shared_send_only_slot() {
    // R: V01: E (no channel with A) queries A anyway (S02 broken on E on purpose); A fails the
    // connection. The failure travels as a HandleError through the slot A's ChainMonitor also
    // uses; without it A would stay connected and silently ignore nothing.
    let mut foaf = vec![Config::default(); 5];
    foaf[4].fault = Some(Fault::S02SendWithoutChannel);
    let mut net = triangle_network_with(vec![RoutingConfig::new(); 5], foaf).unwrap();
    net.connect(4, 0).unwrap();
    assert!(net.is_connected(4, 0) && net.is_connected(0, 4));
    let a = net.nodes[0].id();
    net.nodes[4]
        .ldk
        .foaf
        .query(&a, Flow::Push, 100_000_000)
        .unwrap();
    net.pump().unwrap();
    assert!(!net.is_connected(0, 4), "A did not fail the connection");
    // A's channel peers are untouched.
    assert!(net.is_connected(0, 1) && net.is_connected(0, 3));
}
