//! # foaf-conformance: the BOLT #14 conformance kit
//!
//! Tells an implementer, requirement by requirement (`requirements.md` ids W01…M02), whether
//! their node speaks BOLT #14 correctly, whatever language it is written in:
//!
//! - [`vector`]: the test-vector format (JSON, one file per scenario under
//!   `vectors/conformance/`);
//! - [`scenarios`]: the scenarios, authored in Rust, one function per scenario, messages built
//!   from field values with `foaf-wire`; `cargo xtask vectors` writes them out;
//! - [`runner`]: starts the implementation under test as a child process, speaks the pipe
//!   protocol (`docs/conformance.md`) to it with a timeout per op, and checks every effect;
//! - [`requirements`]: every id with its level (MUST, SHOULD, MAY, pinned);
//! - [`report`]: the per-requirement and per-level tables, the `N passed, N failed` line,
//!   JSON and JUnit XML, all carrying the suite version (crate version + vector-set hash);
//! - [`cli`]: the command line shared by `foaf conformance` and `cargo xtask conformance`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod cli;
pub mod effect;
pub mod expect;
pub mod files;
pub mod mutation;
pub mod report;
pub mod requirements;
pub mod runner;
pub mod scenarios;
pub mod vector;

pub use report::Report;
pub use runner::{
    run_all, run_parallel, run_vector, run_with_progress, Expectation, Outcome, RunOptions,
    VectorResult,
};
pub use vector::Vector;
