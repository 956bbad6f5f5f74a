//! `foaf pipe`: the implementation-under-test side of the conformance pipe protocol
//! (`docs/conformance-pipe.md`) on stdin/stdout, thin over the `foaf-pipe` library.

use std::io;

use foaf_peer::Fault;

use crate::CliError;

/// Arguments of `foaf pipe`.
#[derive(clap::Args)]
pub struct Args {
    /// Break one requirement on purpose (see --list-faults), to test a conformance suite.
    #[arg(long, value_name = "NAME")]
    fault: Option<String>,
    /// List the faults (name, requirement id, what it does) and exit.
    #[arg(long)]
    list_faults: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    if args.list_faults {
        return crate::output::to_stdout(|out| {
            for f in Fault::ALL {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    f.name(),
                    f.requirement(),
                    f.description()
                )?;
            }
            Ok(())
        });
    }
    let fault = match args.fault {
        Some(name) => Some(
            name.parse::<Fault>()
                .map_err(|e| CliError::BadInput(e.to_string()))?,
        ),
        None => None,
    };
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    // The runner closing our stdout ends the session normally (as for `foaf plan | head`).
    foaf_pipe::run(stdin, stdout, io::stderr(), fault).or_else(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(CliError::Failed(format!("pipe: {e}"))),
    })
}
