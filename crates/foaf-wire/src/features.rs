//! The `option_balance_sharing` feature bit pair (W06), the one place the project states it.
//!
//! The draft names 20/21, which BOLT #9 gives to `option_anchor_outputs`; docs/bolt14.md §2.1
//! pins the experimental pair 214/215 until one is assigned. A node sets the odd (optional)
//! bit in `init`; a node that requires the protocol would set the even one.

/// The even ("required") bit of the pair.
pub const OPTION_BALANCE_SHARING_EVEN_BIT: u16 = 214;
/// The odd ("optional") bit of the pair: the one a node advertises in `init`.
pub const OPTION_BALANCE_SHARING_ODD_BIT: u16 = OPTION_BALANCE_SHARING_EVEN_BIT + 1;
