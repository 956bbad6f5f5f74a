//! `foaf decode` and `foaf encode`.

use crate::CliError;

/// Arguments of `foaf decode`.
#[derive(clap::Args)]
pub struct DecodeArgs {
    /// The message as hex, or `-` (the default) to read it from stdin.
    #[arg(default_value = "-")]
    pub hex: String,
}

/// Arguments of `foaf encode`.
#[derive(clap::Args)]
pub struct EncodeArgs {
    /// The message as JSON, or `-` (the default) to read it from stdin.
    #[arg(default_value = "-")]
    pub json: String,
}

pub fn decode(_args: DecodeArgs) -> Result<(), CliError> {
    Err(CliError::Failed("decode: not built yet".into()))
}

pub fn encode(_args: EncodeArgs) -> Result<(), CliError> {
    Err(CliError::Failed("encode: not built yet".into()))
}
