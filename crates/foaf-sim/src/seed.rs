//! Sub-seeds: one master seed per run, split by purpose (initial balances, payments, each
//! node's RNG, each round's order...), so changing one part of a run never shifts another's
//! random choices. Shared by the imbalance experiment, the FOAF network and the payments run.

/// A sub-seed for one purpose, so changing one part of a run never shifts another's RNG.
pub fn seed_for(master: u64, purpose: u64, index: u64) -> u64 {
    // SplitMix64 finaliser over the three inputs.
    let mut z = master
        .wrapping_add(purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
