//! Whatever the runner writes, the session answers every line with effects ending in exactly
//! one `done`, and never panics (docs/conformance-pipe.md: malformed lines get a `log`).

use foaf_pipe::Session;
use proptest::prelude::*;

fn assert_one_done(effects: &[serde_json::Value]) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        effects.last().map(|e| e["effect"].clone()),
        Some("done".into())
    );
    let dones = effects.iter().filter(|e| e["effect"] == "done").count();
    prop_assert_eq!(dones, 1);
    Ok(())
}

/// Lines shaped like ops, with fields of the wrong types or values mixed in.
fn op_line() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("init"),
        Just("connect"),
        Just("disconnect"),
        Just("recv"),
        Just("tick"),
        Just("query"),
        Just("offer"),
        Just("set_channel"),
        Just("offers"),
        Just("bogus"),
    ];
    let value = prop_oneof![
        Just("\"alice\"".to_string()),
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        "[0-9a-f]{0,80}".prop_map(|h| format!("\"{h}\"")),
    ];
    let field = prop_oneof![
        Just("peer"),
        Just("msg"),
        Just("now"),
        Just("now_ms"),
        Just("flow_value"),
        Just("amt"),
        Just("channel"),
        Just("chain_hash"),
        Just("seed"),
        Just("graph"),
        Just("channels"),
        Just("config"),
    ];
    (op, proptest::collection::vec((field, value), 0..6)).prop_map(|(op, fields)| {
        let mut s = format!("{{\"op\":\"{op}\"");
        for (k, v) in fields {
            s.push_str(&format!(",\"{k}\":{v}"));
        }
        s.push('}');
        s
    })
}

proptest! {
    #[test]
    fn any_text_gets_effects_then_one_done(lines in proptest::collection::vec(".{0,200}", 1..20)) {
        let mut s = Session::new(None);
        for line in lines {
            assert_one_done(&s.handle_line(&line).effects)?;
        }
    }

    #[test]
    fn op_shaped_lines_get_effects_then_one_done(lines in proptest::collection::vec(op_line(), 1..30)) {
        let mut s = Session::new(None);
        for line in lines {
            assert_one_done(&s.handle_line(&line).effects)?;
        }
    }
}
