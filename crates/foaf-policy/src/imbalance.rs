//! The imbalance measure of arXiv 1912.09555 (M01), with several channels to one peer counted
//! as one channel (M02).
//!
//! For a node with channels i = 1…n to distinct peers (parallel channels merged):
//! - relative balance ζᵢ = localᵢ / capacityᵢ;
//! - target ratio ν = Σ localᵢ / Σ capacityᵢ (the ratio every channel would have if the node's
//!   funds were spread evenly; rebalancing never changes it, since circular payments keep
//!   the node's total local balance);
//! - imbalance G = Σᵢ Σⱼ |ζᵢ − ζⱼ| / (2 n² ζ̄), the Gini coefficient of the ζᵢ, where ζ̄ is
//!   their mean; 0 when every channel has the same relative balance. G is 0 for n = 0 and
//!   when ζ̄ = 0 (all ζ are 0: perfectly equal).

use std::collections::BTreeMap;

use crate::model::{Channel, PeerKey};

/// Local and capacity per peer, parallel channels merged (M02). Only channels that pass
/// `include` are counted.
pub fn per_peer_totals<'a, P: PeerKey + 'a>(
    channels: impl IntoIterator<Item = &'a Channel<P>>,
    include: impl Fn(&Channel<P>) -> bool,
) -> BTreeMap<P, (u64, u64)> {
    let mut totals: BTreeMap<P, (u64, u64)> = BTreeMap::new();
    for c in channels.into_iter().filter(|c| include(c)) {
        let e = totals.entry(c.peer.clone()).or_default();
        e.0 = e.0.saturating_add(c.local_msat.min(c.capacity_msat));
        e.1 = e.1.saturating_add(c.capacity_msat);
    }
    totals
}

/// ν = Σ local / Σ capacity over active channels; `None` with no capacity.
pub fn target_ratio<'a, P: PeerKey + 'a>(
    channels: impl IntoIterator<Item = &'a Channel<P>>,
) -> Option<f64> {
    let (local, cap) =
        channels
            .into_iter()
            .filter(|c| c.is_active())
            .fold((0u128, 0u128), |(l, k), c| {
                (
                    l + u128::from(c.local_msat.min(c.capacity_msat)),
                    k + u128::from(c.capacity_msat),
                )
            });
    (cap > 0).then(|| local as f64 / cap as f64)
}

/// Relative balances ζ per peer (parallel channels merged, M02), over active channels with
/// non-zero capacity.
pub fn relative_balances<'a, P: PeerKey + 'a>(
    channels: impl IntoIterator<Item = &'a Channel<P>>,
) -> BTreeMap<P, f64> {
    per_peer_totals(channels, |c| c.is_active() && c.capacity_msat > 0)
        .into_iter()
        .map(|(p, (l, k))| (p, l as f64 / k as f64))
        .collect()
}

/// The Gini coefficient of a list of values in [0, 1] (O(n log n), by sorting).
pub fn gini(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    gini_of_sorted(&v)
}

/// [`gini`] of values already sorted ascending (by `f64::total_cmp`): O(n), no allocation.
/// The same sorted list gives the same bits as [`gini`].
pub(crate) fn gini_of_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = v.iter().sum();
    if sum <= 0.0 {
        return 0.0;
    }
    // Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σₖ (2k − n + 1) x₍ₖ₎ for sorted x (k from 0).
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(k, x)| (2.0 * k as f64 - n as f64 + 1.0) * x)
        .sum();
    // G = (2 Σ …) / (2 n² mean) = Σ(…) / (n · sum)
    (weighted / (n as f64 * sum)).max(0.0)
}

/// The node's imbalance: the Gini coefficient of its per-peer relative balances (M01, M02).
pub fn imbalance<'a, P: PeerKey + 'a>(channels: impl IntoIterator<Item = &'a Channel<P>>) -> f64 {
    let zeta: Vec<f64> = relative_balances(channels).into_values().collect();
    gini(&zeta)
}

/// [`per_peer_totals`] over active channels with capacity, as a vector sorted by peer:
/// (peer, Σ local, Σ capacity). For checks that run per HTLC or per reply, where a map per
/// call would dominate; look a peer up with a binary search on the first field.
pub(crate) fn merged_by_peer<P: PeerKey>(channels: &[Channel<P>]) -> Vec<(&P, u64, u64)> {
    let mut totals: Vec<(&P, u64, u64)> = channels
        .iter()
        .filter(|c| c.is_active() && c.capacity_msat > 0)
        .map(|c| (&c.peer, c.local_msat.min(c.capacity_msat), c.capacity_msat))
        .collect();
    totals.sort_unstable_by(|x, y| x.0.cmp(y.0));
    totals.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 = kept.1.saturating_add(later.1);
            kept.2 = kept.2.saturating_add(later.2);
        }
        same
    });
    totals
}

/// a·b as a 256-bit number (high, low 128 bits).
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & M);
    let (b1, b0) = (b >> 64, b & M);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // The middle column, with its carry: at most three 64-bit terms.
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// Compares a·b with c·d exactly, whatever the sizes (sums of u64 balances can pass 2⁶⁴, so
/// their products can pass 2¹²⁸): the cross-multiplications that decide "above / below ν".
pub fn cmp_products(a: u128, b: u128, c: u128, d: u128) -> std::cmp::Ordering {
    mul_wide(a, b).cmp(&mul_wide(c, d))
}

/// ⌊a·b / d⌋ for a·b ≤ d·2⁶⁴ (the result fits a u64: a share of a u64 amount), exact; `None`
/// when d = 0 or the quotient does not fit. Long division in base 2: 256 steps at most, taken
/// only when the product does not fit in 128 bits.
pub fn mul_div_floor(a: u128, b: u128, d: u128) -> Option<u64> {
    if d == 0 {
        return None;
    }
    let (hi, lo) = mul_wide(a, b);
    if hi == 0 {
        return u64::try_from(lo / d).ok();
    }
    let (mut rem, mut q) = (0u128, 0u128);
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        // rem < d, so 2·rem + bit < 2d: compare before shifting to stay within 128 bits.
        let overflow = rem >> 127 == 1;
        rem = (rem << 1) | bit;
        q <<= 1;
        if overflow || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
        if q > u128::from(u64::MAX) {
            return None;
        }
    }
    u64::try_from(q).ok()
}

/// G of a list of values, and G after two of them change, in O(log n) per evaluation:
/// changing two values only changes their rows of Σᵢ Σⱼ |xᵢ − xⱼ|, and Σⱼ |x − xⱼ| takes a
/// binary search over the sorted values and their prefix sums. For policies that must try
/// many moves (floating-point: within rounding of [`gini`], which stays the exact check).
#[derive(Debug, Clone)]
pub struct Spread {
    sorted: Vec<f64>,
    /// prefix[k] = Σ of the k smallest values
    prefix: Vec<f64>,
    /// Σᵢ Σⱼ |xᵢ − xⱼ| over ordered pairs
    pairs: f64,
}

impl Spread {
    /// The structure for `values`: O(n log n).
    pub fn new(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut prefix = Vec::with_capacity(sorted.len() + 1);
        prefix.push(0.0);
        for x in &sorted {
            prefix.push(prefix[prefix.len() - 1] + x);
        }
        let mut s = Self {
            sorted,
            prefix,
            pairs: 0.0,
        };
        s.pairs = s.sorted.iter().map(|&x| s.abs_sum(x)).sum();
        s
    }

    /// Σⱼ |x − xⱼ|.
    fn abs_sum(&self, x: f64) -> f64 {
        let n = self.sorted.len();
        let k = self.sorted.partition_point(|v| *v < x);
        let below = self.prefix[k];
        let above = self.prefix[n] - below;
        x * k as f64 - below + above - x * (n - k) as f64
    }

    fn of(&self, pairs: f64, sum: f64) -> f64 {
        let n = self.sorted.len() as f64;
        if sum <= 0.0 {
            0.0
        } else {
            (pairs / (2.0 * n * sum)).max(0.0)
        }
    }

    /// G of the values.
    pub fn gini(&self) -> f64 {
        self.of(self.pairs, self.prefix[self.sorted.len()])
    }

    /// G after two distinct entries change: `a` = (old value, new value), likewise `b`.
    pub fn gini_after(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        self.gini_after_rows(a, b, (self.row(a.0), self.row(b.0)))
    }

    /// The row of value `x`, Σⱼ |x − xⱼ| (a binary search): what [`Spread::gini_after`]
    /// computes for each old value. A caller trying many moves of the same two entries
    /// computes the two rows once and passes them to [`Spread::gini_after_rows`].
    pub fn row(&self, x: f64) -> f64 {
        self.abs_sum(x)
    }

    /// [`Spread::gini_after`] given the old values' rows, `(self.row(a.0), self.row(b.0))`:
    /// the same operations, so the same bits.
    pub fn gini_after_rows(&self, a: (f64, f64), b: (f64, f64), old_rows: (f64, f64)) -> f64 {
        let ((a0, a1), (b0, b1)) = (a, b);
        // Rows of a and b: the old ones out, the new ones (against everyone else) in.
        let (old_a, old_b) = old_rows;
        let new_a = self.abs_sum(a1) - (a1 - a0).abs() - (a1 - b0).abs();
        let new_b = self.abs_sum(b1) - (b1 - a0).abs() - (b1 - b0).abs();
        let pairs = self.pairs - 2.0 * (old_a + old_b - (a0 - b0).abs())
            + 2.0 * (new_a + new_b + (a1 - b1).abs());
        let sum = self.prefix[self.sorted.len()] - a0 - b0 + a1 + b1;
        self.of(pairs, sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelState;
    use crate::test_support::ch;

    /// Brute-force definition, to check the sorted formula against.
    fn gini_pairs(v: &[f64]) -> f64 {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let s: f64 = v
            .iter()
            .flat_map(|a| v.iter().map(move |b| (a - b).abs()))
            .sum();
        s / (2.0 * n * n * mean)
    }

    /// The 256-bit helpers against u128 where it suffices, and at the extremes.
    #[test]
    fn wide_products_and_division_are_exact() {
        use std::cmp::Ordering::*;
        let m = u128::from(u64::MAX);
        assert_eq!(cmp_products(3, 4, 2, 6), Equal);
        assert_eq!(cmp_products(m * 3, m, m, m * 2), Greater);
        assert_eq!(
            cmp_products(u128::MAX, u128::MAX, u128::MAX, u128::MAX - 1),
            Greater
        );
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_div_floor(10, 7, 3), Some(23));
        assert_eq!(mul_div_floor(1, 1, 0), None);
        // m·(3m) / (4m) = ⌊3m/4⌋, through the long division.
        assert_eq!(mul_div_floor(m, 3 * m, 4 * m), Some((3 * m / 4) as u64));
        assert_eq!(mul_div_floor(m * m, 5, 5 * m), Some(u64::MAX));
        assert_eq!(mul_div_floor(m * m, 6, 5 * m), None);
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        for _ in 0..2000 {
            let (a, b, d) = (
                u128::from(rng.gen::<u64>()),
                u128::from(rng.gen::<u64>()),
                u128::from(rng.gen::<u64>()).max(1),
            );
            assert_eq!(
                mul_div_floor(a, b, d),
                u64::try_from(a * b / d).ok(),
                "{a} {b} {d}"
            );
            let (x, y) = (rng.gen::<u128>(), rng.gen::<u128>());
            let (h, l) = mul_wide(x, y);
            assert_eq!(l, x.wrapping_mul(y));
            assert!(h <= x.max(y));
        }
    }

    // R: M01
    #[test]
    fn gini_matches_the_pairwise_definition() {
        for v in [
            vec![0.5, 0.5],
            vec![1.0, 0.0],
            vec![0.1, 0.4, 0.9, 0.3],
            vec![1.0, 0.0, 0.0, 0.0],
        ] {
            assert!((gini(&v) - gini_pairs(&v)).abs() < 1e-12, "{v:?}");
        }
        assert_eq!(gini(&[0.3, 0.3, 0.3]), 0.0);
        assert_eq!(gini(&[]), 0.0);
        assert_eq!(gini(&[0.0, 0.0]), 0.0);
    }

    // R: M01
    #[test]
    fn target_ratio_is_total_local_over_total_capacity() {
        let chans = [ch("a", 1, 100, 100), ch("b", 2, 300, 0)];
        assert_eq!(target_ratio(&chans), Some(0.25));
        // ζ = (1, 0): maximal inequality for two channels.
        assert!((imbalance(&chans) - 0.5).abs() < 1e-12);
    }

    // R: M02
    #[test]
    fn parallel_channels_count_as_one() {
        // Two channels with "a" (ζ 1 and 0, merged: 100/200 = 0.5) and one with "b" at 0.5:
        // merged, the node is perfectly balanced.
        let chans = [
            ch("a", 1, 100, 100),
            ch("a", 2, 100, 0),
            ch("b", 3, 200, 100),
        ];
        assert_eq!(imbalance(&chans), 0.0);
        assert_eq!(relative_balances(&chans).len(), 2);
    }

    #[test]
    fn closing_channels_are_not_counted() {
        let mut c = ch("b", 2, 300, 0);
        c.state = ChannelState::Closing;
        let chans = [ch("a", 1, 100, 100), c];
        assert_eq!(target_ratio(&chans), Some(1.0));
        assert_eq!(imbalance(&chans), 0.0);
    }

    /// The O(log n) evaluation agrees with the exact G, before and after a two-value move.
    // R: M01
    #[test]
    fn spread_agrees_with_gini() {
        let v = [0.0, 0.1, 0.1, 0.5, 0.9, 1.0, 0.3];
        let s = Spread::new(&v);
        assert!((s.gini() - gini(&v)).abs() < 1e-12);
        for (i, j, ni, nj) in [(0, 4, 0.4, 0.6), (1, 2, 0.2, 0.0), (5, 6, 0.3, 1.0)] {
            let mut w = v;
            w[i] = ni;
            w[j] = nj;
            let fast = s.gini_after((v[i], ni), (v[j], nj));
            assert!(
                (fast - gini(&w)).abs() < 1e-12,
                "{i} {j}: {fast} vs {}",
                gini(&w)
            );
        }
    }
}
