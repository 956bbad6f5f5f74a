//! `foaf demo` end to end: the LDK network comes up, the rebalances and the JIT forward are real
//! payments, and the summary says so (JSON form, a short payment stream to keep it quick).

mod common;

use common::{foaf, foaf_ok};

#[test]
fn demo_moves_money_and_reports_it() {
    // R: R-REB-8, R-JIT-6, R-JIT-5: at least one zero-fee rebalance settled, funds conserved on
    // every channel, the JIT forward fails without offers and succeeds with them.
    let out = foaf_ok(&["demo", "--json", "--payments", "4"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["funds_conserved"], true);
    let settled: Vec<_> = v["rebalances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["settled"] == true)
        .collect();
    assert!(!settled.is_empty(), "{v}");
    for r in &settled {
        assert_eq!(r["fees_msat"], 0);
        assert!(r["g_after"].as_f64() < r["g_before"].as_f64());
    }
    assert_eq!(v["jit_forward"]["without_foaf"], "failed");
    assert_eq!(v["jit_forward"]["with_foaf"], "forwarded");
    assert_eq!(v["payments"]["sent"], 4);
}

#[test]
fn demo_rejects_a_bad_offer_amount() {
    let out = foaf(&["demo", "--offer-sat", "0"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--offer-sat"));
}
