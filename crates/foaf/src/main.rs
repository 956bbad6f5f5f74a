//! `foaf`: the command line of the BOLT #14 reference implementation.
//!
//! Each subcommand lives in its own module with an `Args` struct and a `run` function; `main`
//! only dispatches. Exit status: 0 on success, 2 on bad input (one line on stderr), 1 on other
//! failures. Results go to stdout through [`output`]: a closed stdout (`| head -1`) ends the
//! command normally, a full disk is one error line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod codec;
mod conformance;
mod demo;
mod node;
mod output;
mod pipe;
mod plan;
mod sim;
mod sweep;

/// BOLT #14 (friend-of-a-friend balance sharing): reference implementation and tools.
#[derive(Parser)]
#[command(name = "foaf", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a hex BOLT #1 message and print it as JSON.
    Decode(codec::DecodeArgs),
    /// Encode a JSON message and print it as hex.
    Encode(codec::EncodeArgs),
    /// Speak the conformance pipe protocol on stdin/stdout (the implementation under test).
    Pipe(pipe::Args),
    /// Show a node's imbalance, target ratio ν and proposed circular rebalances.
    Plan(plan::Args),
    /// Run network simulations on a channel graph.
    Sim(sim::Args),
    /// Run a BOLT #8 node that speaks BOLT #14 to real Lightning peers.
    Node(node::Args),
    /// Run the BOLT #14 conformance suite (vectors built in) against an implementation.
    Conformance(conformance::Args),
    /// Show fee-free rebalancing and JIT routing moving real money on an in-process LDK network.
    Demo(demo::Args),
}

/// A failure a subcommand reports: bad input (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub enum CliError {
    /// The input was wrong: exit status 2.
    BadInput(String),
    /// Something else failed: exit status 1.
    Failed(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Its own exit codes: 1 means "the implementation does not meet --require".
        Command::Conformance(a) => return conformance::run(a),
        Command::Decode(a) => codec::decode(a),
        Command::Encode(a) => codec::encode(a),
        Command::Pipe(a) => pipe::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Sim(a) => sim::run(a),
        Command::Node(a) => node::run(a),
        Command::Demo(a) => demo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::BadInput(msg)) => {
            eprintln!("foaf: {msg}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(msg)) => {
            eprintln!("foaf: {msg}");
            ExitCode::from(1)
        }
    }
}
