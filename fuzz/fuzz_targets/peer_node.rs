#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| foaf_peer::fuzzing::node_sequence(data));
