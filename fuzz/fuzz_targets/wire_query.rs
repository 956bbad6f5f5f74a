#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| foaf_wire::fuzzing::query(data));
