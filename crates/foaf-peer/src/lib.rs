//! # foaf-peer: a sans-IO BOLT #14 node
//!
//! Holds our channels, the known public graph, the connected peers and per-peer state; every
//! input is a method call with the current time passed in, and every effect (send, disconnect,
//! refuse, log) is returned as a value. No threads, sockets or system clock inside; randomness
//! comes from an injected seed (the quinn-proto pattern).
#![forbid(unsafe_code)]
