//! `cargo xtask …`: project automation written in Rust, so it runs wherever cargo does.
//!
//! Each task lives in its own module with an `Args` struct and a `run` function.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod conformance;
mod csv;
mod fuzz;
mod vectors;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "foaf project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Generate the conformance vectors under vectors/ (or check they are up to date).
    Vectors(vectors::Args),
    /// Extract the message formats of docs/bolt14.md into interop/bolt14.csv (or check it is
    /// up to date).
    Csv(csv::Args),
    /// Replay the conformance vectors against an implementation over the pipe protocol.
    Conformance(conformance::Args),
    /// Build and run the cargo-fuzz targets.
    Fuzz(fuzz::Args),
    /// Regenerate the fuzz seed corpora (fuzz/corpus/) from vectors/ and fuzz/seeds/.
    FuzzCorpus(fuzz::CorpusArgs),
    /// Run the hostile-peer flood test (1,000,000 messages) and report peak memory.
    Flood,
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Vectors(a) => vectors::run(a),
        Task::Csv(a) => csv::run(a),
        Task::Conformance(a) => conformance::run(a),
        Task::Fuzz(a) => fuzz::run(a),
        Task::FuzzCorpus(a) => fuzz::corpus(a),
        Task::Flood => fuzz::flood(),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::from(2)
        }
    }
}
