//! [`message_error!`](crate::message_error): the adapter's (and its harness's) error types.
//!
//! Their callers only report them (`foaf node` prints the sentence and exits, a test unwraps):
//! a variant per cause would add nothing a caller could act on, so each is a sentence for a
//! person, typed by what failed (`SourceError`: reading a channel or graph file; foaf-ldk-net's
//! `NetError`: building or driving the LDK network).

/// Declares `pub struct $name(pub String)`, the error sentence, with `Debug`, `Clone`,
/// `PartialEq`, `Eq`, `Display` (the sentence) and `std::error::Error`.
#[macro_export]
macro_rules! message_error {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::error::Error for $name {}
    };
}
