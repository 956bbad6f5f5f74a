//! The answer to a `query_foaf_balances` (A01–A10): which of our channels a
//! `reply_foaf_balances` lists, and for which amount.
//!
//! The pinned default ([`DefaultPolicy`]), step by step (formulas and reasons in
//! `docs/policy.md`):
//!
//! 1. **Target ratio** ν = Σ localᵢ / Σ capacityᵢ over all our active (not closing) channels,
//!    announced or not (M01: it is the node's own ratio, whatever it may share).
//! 2. **Groups** (M02): a peer's *operational* channels (A04, A08: `Normal`, announced, peer
//!    connected) are one large channel with local `L` and capacity `K`, ζ = L / K. Unannounced
//!    channels do not count in a group: their balance must not leak through the decision (A08).
//! 3. **Direction** (A01): the reply echoes the query's `flow_value`. `Push` ("I can push `amt`
//!    out on these channels") qualifies a group when ζ > ν and (L − amt) / K ≥ ν; `Receive`
//!    ("I can take `amt` in") when ζ < ν and (L + amt) / K ≤ ν: the move brings the group
//!    toward ν and never past it. Exact integer cross-multiplication in `u128` (no floats).
//! 4. **Listing**: every channel of a qualifying group is listed (one large channel, many
//!    names: with non-strict forwarding any of them carries the payment).
//! 5. **Not the querier** (A01): the querying peer's group is never listed.
//! 6. **Sampling** (A06, A07): more than 1000 eligible: 1000 drawn uniformly without
//!    replacement with the caller's seeded RNG ([`sample_uniform`]).
//! 7. **Obfuscation** (A05, optional): seeded and bounded ([`Obfuscation`]): omits up to
//!    `max_omit` eligible channels and adds up to `max_add` of our own *announced* channels
//!    that were not eligible (never an unannounced channel, never anyone else's: A08, A10).
//! 8. **Amount** (A02): the query's amount.
//!
//! Whatever a [`ReplyPolicy`] returns, [`enforce_reply_invariants`] is the last word before
//! encoding: it keeps only our own announced channels, removes duplicates and caps the list at
//! 1000, so an operator's plug-in policy cannot break A06, A08 or A10.

use foaf_wire::{Flow, ShortChannelId, MAX_REPLY_SCIDS};
use rand::seq::index;
use rand_chacha::ChaCha20Rng;

use crate::channel_set::{totals, ChannelSet};
use crate::model::{Channel, ChannelState, PeerKey};

/// What a policy is asked: a query (or an unsolicited offer, A09) from `querier`.
pub struct ReplyRequest<'a, P> {
    /// Our channels, grouped, with connectivity.
    pub channels: &'a ChannelSet<P>,
    /// The peer the reply goes to; its channels are never listed (A01).
    pub querier: &'a P,
    /// The direction of the query, echoed by the reply (A01).
    pub flow: Flow,
    /// The query's `amt_to_rebalance` in millisatoshi.
    pub amt_msat: u64,
}

/// A policy's answer, before [`enforce_reply_invariants`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPlan {
    /// `amt_to_rebalance` of the reply (A02: the default is the query's).
    pub amt_msat: u64,
    /// The channels offered.
    pub scids: Vec<ShortChannelId>,
}

/// Decides the answer to a query. Operators can plug their own into `foaf-peer`'s node; the
/// node still enforces A06/A08/A10 on the result. Deterministic given the RNG's state.
pub trait ReplyPolicy<P: PeerKey> {
    /// The reply to `req`. Randomness only from `rng` (seeded by the node).
    fn reply(&self, req: &ReplyRequest<'_, P>, rng: &mut ChaCha20Rng) -> ReplyPlan;
}

/// How parallel channels with one peer are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// M02 (the default): all active channels with one peer are one large channel.
    #[default]
    PerPeer,
    /// Each channel on its own. Not M02-conformant; kept for comparison and fault injection.
    PerChannel,
}

/// Bounded, seeded obfuscation (A05). Off unless configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obfuscation {
    /// At most this many eligible channels are left out (the number is drawn uniformly from
    /// `0..=max_omit`, capped by how many there are).
    pub max_omit: usize,
    /// At most this many of our announced, non-eligible channels are added (drawn likewise).
    pub max_add: usize,
}

impl Default for Obfuscation {
    /// Leave out up to 2 eligible channels, add up to 2 ineligible ones: enough that a single
    /// reply cannot be read as an exact balance statement, small enough to stay useful.
    fn default() -> Self {
        Self {
            max_omit: 2,
            max_add: 2,
        }
    }
}

/// The pinned default policy (module docs).
#[derive(Debug, Clone)]
pub struct DefaultPolicy {
    /// A05 obfuscation; `None` (the default, and conformance mode) lists exactly the eligible set.
    pub obfuscation: Option<Obfuscation>,
    /// M02 grouping (default: per peer).
    pub grouping: Grouping,
    /// Most scids listed (A06); values above 1000 are for fault injection only.
    pub max_scids: usize,
}

impl DefaultPolicy {
    /// The conformance-mode default: no obfuscation, M02 grouping, at most 1000 scids.
    pub fn new() -> Self {
        Self {
            obfuscation: None,
            grouping: Grouping::PerPeer,
            max_scids: MAX_REPLY_SCIDS,
        }
    }
}

impl Default for DefaultPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: PeerKey> ReplyPolicy<P> for DefaultPolicy {
    fn reply(&self, req: &ReplyRequest<'_, P>, rng: &mut ChaCha20Rng) -> ReplyPlan {
        let mut scids = eligible(req, self.grouping);
        if let Some(obf) = self.obfuscation {
            scids = obfuscate(&scids, &addable(req.channels.channels(), &scids), obf, rng);
        }
        ReplyPlan {
            amt_msat: req.amt_msat,
            scids: sample_uniform(scids, self.max_scids, rng),
        }
    }
}

/// Whether moving `amt` in direction `flow` on a (merged) channel with local `l` and capacity
/// `k` brings its relative balance toward, and not past, ν = `nu_l / nu_k` (step 3 of the module
/// docs). Exact integer arithmetic.
pub fn moves_toward_target(flow: Flow, l: u128, k: u128, amt: u128, nu: (u128, u128)) -> bool {
    let (nl, nk) = nu;
    if k == 0 || nk == 0 {
        return false;
    }
    match flow {
        // ζ > ν and (l − amt)/k ≥ ν
        Flow::Push => amt <= l && l * nk > nl * k && (l - amt) * nk >= nl * k,
        // ζ < ν and (l + amt)/k ≤ ν
        Flow::Receive => l * nk < nl * k && (l + amt) * nk <= nl * k,
    }
}

/// The eligible channels for `req` under the pinned default (steps 1–5), sorted by scid.
/// (Sorted by the u64 form: comparing `[u8; 8]`s goes through `memcmp`, several times slower.)
pub fn eligible<P: PeerKey>(req: &ReplyRequest<'_, P>, grouping: Grouping) -> Vec<ShortChannelId> {
    let set = req.channels;
    let nu = set.nu();
    let amt = u128::from(req.amt_msat);
    if grouping == Grouping::PerPeer {
        let querier = set.group_of(req.querier);
        let qualifies: Vec<bool> = set
            .groups()
            .iter()
            .enumerate()
            .map(|(i, g)| {
                g.connected
                    && Some(i) != querier
                    && moves_toward_target(req.flow, g.local, g.capacity, amt, nu)
            })
            .collect();
        return set
            .listable_index()
            .iter()
            .filter(|(_, g)| qualifies[*g as usize])
            .map(|(s, _)| ShortChannelId::from_u64(*s))
            .collect();
    }
    // Grouping::PerChannel: each channel judged on its own balance (not M02).
    let mut out = Vec::new();
    for g in set.groups() {
        if !g.connected || set.peer(g) == req.querier {
            continue;
        }
        out.extend(
            set.members(g)
                .iter()
                .filter(|c| c.state == ChannelState::Normal && c.announced)
                .filter(|c| {
                    let (l, k) = totals(std::iter::once(*c));
                    moves_toward_target(req.flow, l, k, amt, nu)
                })
                .map(|c| c.scid),
        );
    }
    out.sort_unstable_by_key(|s| s.to_u64());
    out
}

/// Our own announced channels not in `listed` (sorted): what obfuscation may add (A05 within
/// A08 and A10).
pub fn addable<P>(channels: &[Channel<P>], listed: &[ShortChannelId]) -> Vec<ShortChannelId> {
    let mut v: Vec<ShortChannelId> = channels
        .iter()
        .filter(|c| c.announced && listed.binary_search(&c.scid).is_err())
        .map(|c| c.scid)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A05: leaves out `0..=max_omit` of `eligible` and adds `0..=max_add` of `addable`, both chosen
/// uniformly with `rng`. The result is sorted. Only elements of the two inputs ever appear.
pub fn obfuscate(
    eligible: &[ShortChannelId],
    addable: &[ShortChannelId],
    obf: Obfuscation,
    rng: &mut ChaCha20Rng,
) -> Vec<ShortChannelId> {
    use rand::Rng;
    let omit = rng.gen_range(0..=obf.max_omit).min(eligible.len());
    let add = rng.gen_range(0..=obf.max_add).min(addable.len());
    let keep = eligible.len() - omit;
    let mut out: Vec<ShortChannelId> = index::sample(rng, eligible.len(), keep)
        .into_iter()
        .map(|i| eligible[i])
        .collect();
    out.extend(
        index::sample(rng, addable.len(), add)
            .into_iter()
            .map(|i| addable[i]),
    );
    out.sort_unstable();
    out.dedup();
    out
}

/// A07: at most `max` of `scids`, drawn uniformly without replacement; the result is sorted.
/// With `max` or fewer it returns them unchanged and draws nothing from `rng`.
pub fn sample_uniform(
    scids: Vec<ShortChannelId>,
    max: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<ShortChannelId> {
    if scids.len() <= max {
        return scids;
    }
    let mut out: Vec<ShortChannelId> = index::sample(rng, scids.len(), max)
        .into_iter()
        .map(|i| scids[i])
        .collect();
    out.sort_unstable_by_key(|s| s.to_u64());
    out
}

/// The last check before a reply is encoded (A06, A08, A10): keeps only scids in
/// `own_announced` (the u64 forms of our own announced channels, sorted ascending), sorted and
/// without duplicates; more than 1000 left are sampled uniformly down to 1000 (A07).
/// Linear when `scids` is already sorted (a merge walk, no hashing).
pub fn enforce_reply_invariants(
    mut scids: Vec<ShortChannelId>,
    own_announced: &[u64],
    rng: &mut ChaCha20Rng,
) -> Vec<ShortChannelId> {
    if !scids.is_sorted_by_key(|s| s.to_u64()) {
        scids.sort_unstable_by_key(|s| s.to_u64());
    }
    scids.dedup();
    let mut j = 0;
    scids.retain(|s| {
        let v = s.to_u64();
        while j < own_announced.len() && own_announced[j] < v {
            j += 1;
        }
        own_announced.get(j) == Some(&v)
    });
    sample_uniform(scids, MAX_REPLY_SCIDS, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ch, with_request};
    use rand::SeedableRng;

    fn ask(
        chans: &[Channel<String>],
        querier: &str,
        flow: Flow,
        amt: u64,
        grouping: Grouping,
    ) -> Vec<u64> {
        with_request(chans, querier, flow, amt, |req| {
            eligible(req, grouping).iter().map(|s| s.to_u64()).collect()
        })
    }

    // R: A01 — toward, not past, ν; the querier excluded.
    #[test]
    fn a01_toward_not_past_target() {
        // ν = (900 + 100 + 500) / 3000 = 0.5
        let chans = [
            ch("a", 1, 1000, 900),
            ch("b", 2, 1000, 100),
            ch("q", 3, 1000, 500),
        ];
        assert_eq!(ask(&chans, "q", Flow::Push, 400, Grouping::PerPeer), [1]);
        // 401 would move "a" past ν.
        assert!(ask(&chans, "q", Flow::Push, 401, Grouping::PerPeer).is_empty());
        assert_eq!(ask(&chans, "q", Flow::Receive, 400, Grouping::PerPeer), [2]);
        assert!(ask(&chans, "q", Flow::Receive, 401, Grouping::PerPeer).is_empty());
        // The querier's own channel is never listed.
        assert!(!ask(&chans, "a", Flow::Push, 1, Grouping::PerPeer).contains(&1));
    }

    // R: M02 — parallel channels judged as one group.
    #[test]
    fn m02_parallel_channels_are_one() {
        // ν = 1000/2000 = .5; "a" merged: 500/1000 (at ν: nothing to do), though channel 1 alone
        // is at 0.9. Per channel, channel 1 would qualify for Push.
        let chans = [
            ch("a", 1, 500, 450),
            ch("a", 2, 500, 50),
            ch("b", 3, 1000, 500),
        ];
        assert!(ask(&chans, "q", Flow::Push, 100, Grouping::PerPeer).is_empty());
        assert_eq!(ask(&chans, "q", Flow::Push, 100, Grouping::PerChannel), [1]);
        // "a" at .8 merged (.7 and .9): the group qualifies, all its channels are listed.
        let chans = [
            ch("a", 1, 500, 350),
            ch("a", 2, 500, 450),
            ch("b", 3, 1000, 100),
        ];
        assert_eq!(ask(&chans, "q", Flow::Push, 100, Grouping::PerPeer), [1, 2]);
    }

    // R: A07
    #[test]
    fn a07_sampling_is_uniform_subset() {
        let all: Vec<ShortChannelId> = (0..1500).map(ShortChannelId::from_u64).collect();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut hits = vec![0u32; 1500];
        for _ in 0..200 {
            let s = sample_uniform(all.clone(), 1000, &mut rng);
            assert_eq!(s.len(), 1000);
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            for x in s {
                hits[x.to_u64() as usize] += 1;
            }
        }
        // Each scid is expected 200·2/3 ≈ 133 times; the first and last thirds must both be hit
        // about equally (a "first 1000" sampler would give the last third 0).
        let first: u32 = hits[..500].iter().sum();
        let last: u32 = hits[1000..].iter().sum();
        assert!(
            (first as f64 / last as f64 - 1.0).abs() < 0.05,
            "{first} {last}"
        );
    }

    // R: A05, A08, A10
    #[test]
    fn a05_obfuscation_bounded_and_only_own_announced() {
        let eligible: Vec<ShortChannelId> = (0..10).map(ShortChannelId::from_u64).collect();
        let addable: Vec<ShortChannelId> = (100..110).map(ShortChannelId::from_u64).collect();
        let obf = Obfuscation {
            max_omit: 3,
            max_add: 2,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut changed = false;
        for _ in 0..100 {
            let out = obfuscate(&eligible, &addable, obf, &mut rng);
            let kept = out.iter().filter(|s| eligible.contains(s)).count();
            let added = out.iter().filter(|s| addable.contains(s)).count();
            assert_eq!(kept + added, out.len());
            assert!(kept >= 7 && added <= 2);
            changed |= out != eligible;
        }
        assert!(changed);
    }

    // R: A06, A08, A10
    #[test]
    fn enforce_keeps_only_own_announced_and_caps() {
        let mut chans: Vec<Channel<String>> = (0..1200).map(|i| ch("p", i, 1000, 500)).collect();
        chans[5].announced = false;
        let mut scids: Vec<ShortChannelId> = (0..1300).map(ShortChannelId::from_u64).collect();
        scids.push(ShortChannelId::from_u64(3));
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut own: Vec<u64> = chans
            .iter()
            .filter(|c| c.announced)
            .map(|c| c.scid.to_u64())
            .collect();
        own.sort_unstable();
        let out = enforce_reply_invariants(scids, &own, &mut rng);
        assert_eq!(out.len(), 1000);
        assert!(out.iter().all(|s| s.to_u64() < 1200 && s.to_u64() != 5));
    }
}
