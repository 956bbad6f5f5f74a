#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| foaf_policy::fuzzing::planner_and_hop(data));
