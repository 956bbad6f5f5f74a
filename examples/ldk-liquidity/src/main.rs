//! Runs the example: three LDK nodes whose custom-message slot holds BOLT #14 and LSPS side by
//! side; the client asks the LSP over one connection with both protocols and prints what came
//! back. Exit status 1 when any answer is missing.

use std::process::ExitCode;
use std::sync::Arc;

use foaf_ldk_liquidity::{
    exchange, lsp_network, pay_through_jit_channel, JitOpen, MemoryStore, Transcript,
};

fn main() -> ExitCode {
    eprintln!("building three LDK nodes (client, LSP, peer) and their channels ...");
    let stores = [(); 3].map(|()| Arc::new(MemoryStore::new()));
    let result = lsp_network(&stores).and_then(|mut net| {
        let t = exchange(&mut net)?;
        let open = match t.lsps2_intercept_scid {
            Some(scid) => pay_through_jit_channel(&mut net, scid)?.1,
            None => None,
        };
        Ok((t, open))
    });
    match result {
        Ok((t, open)) => {
            print(&t);
            match &open {
                Some(o) => print_open(o),
                None => println!("payment to the intercept scid -> LSPS2 asked for nothing"),
            }
            if complete(&t) && open.is_some() {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: an answer did not arrive");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn complete(t: &Transcript) -> bool {
    t.lsps0_protocols.is_some()
        && !t.foaf_offers.is_empty()
        && t.lsps2_menu.is_some()
        && t.lsps2_intercept_scid.is_some()
}

fn print(t: &Transcript) {
    println!("LSP {}", t.lsp);
    println!(
        "client's peers before: {}, after: {} (one BOLT #8 connection, never re-made)",
        t.client_peers_before.len(),
        t.client_peers_after.len()
    );
    match &t.lsps0_protocols {
        Some(p) => println!("LSPS0 list_protocols (type 37913) -> {p:?}"),
        None => println!("LSPS0 list_protocols (type 37913) -> no answer"),
    }
    println!(
        "BOLT #14 query_foaf_balances (347) -> reply_foaf_balances (349) with {} offer(s)",
        t.foaf_offers.len()
    );
    for o in &t.foaf_offers {
        println!(
            "    channel {} flow {:?} amt {} msat",
            o.scid, o.flow, o.amt_msat
        );
    }
    match &t.lsps2_menu {
        Some(menu) => {
            println!(
                "LSPS2 get_info (type 37913) -> fee menu of {} entry/entries",
                menu.len()
            );
            for p in menu {
                println!(
                    "    min_fee {} msat, {} ppm, payment {}..{} msat",
                    p.min_fee_msat,
                    p.proportional,
                    p.min_payment_size_msat,
                    p.max_payment_size_msat
                );
            }
        }
        None => println!("LSPS2 get_info (type 37913) -> no answer"),
    }
    match t.lsps2_intercept_scid {
        Some(scid) => println!(
            "LSPS2 buy (type 37913) -> intercept scid {} for the invoice's route hint",
            foaf_wire::ShortChannelId::from_u64(scid)
        ),
        None => println!("LSPS2 buy (type 37913) -> no answer"),
    }
    for (client, method) in &t.lsp_answered {
        println!("the LSP's application answered {method} from {client}");
    }
}

fn print_open(o: &JitOpen) {
    println!(
        "payment of {} msat to intercept scid {} -> LSPS2 asks the LSP to open a JIT channel to \
         {}: forward {} msat, opening fee {} msat",
        o.amt_to_forward_msat + o.opening_fee_msat,
        foaf_wire::ShortChannelId::from_u64(o.intercept_scid),
        o.client,
        o.amt_to_forward_msat,
        o.opening_fee_msat
    );
}
