#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| foaf_pipe::fuzzing::session(data));
