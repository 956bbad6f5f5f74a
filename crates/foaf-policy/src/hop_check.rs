//! The hop's side of fee-free rebalancing (docs/bolt14.md §4.2, R-REB-5…R-REB-7): whether to
//! forward an HTLC that pays us no fee. Pure: the caller passes our channels, the HTLC's two
//! channels and amount, what we offered and what the upstream peer already used of its budget.

use foaf_wire::ShortChannelId;

use crate::imbalance::{gini_of_sorted, merged_by_peer};
use crate::model::{Channel, PeerKey};

/// Why a hop refuses to forward a rebalance at zero fee (R-REB-5…R-REB-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeFreeRefusal {
    /// One of the two channels is not ours, not active, or has no capacity.
    UnknownChannel,
    /// Both channels go to the same peer: merged (M02) the move changes nothing.
    SamePeer,
    /// Not enough local balance on the outgoing channel (or remote on the incoming one).
    Liquidity,
    /// The move would take a channel away from, or past, our target ν (R-REB-5).
    AwayFromTarget,
    /// The move would not strictly lower our imbalance G (R-REB-5).
    NoImprovement,
    /// We required an offer for this move and have none that is fresh (R-REB-6).
    NoFreshOffer,
    /// The upstream peer's fee-free budget for the window is spent (R-REB-7).
    BudgetExhausted,
}

/// The balance condition R-REB-5 (b) puts on the two peers of a move, the incoming one
/// (our local balance with it rises) and the outgoing one (it drops), merged per peer (M02).
/// The G test (c) is separate ([`HopConfig::require_gini_drop`]). The planner applies the same
/// rule to the initiator's own two legs (R-REB-1). docs/bolt14.md §4.2 says which one the
/// protocol pins, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HopRule {
    /// The outgoing peer starts above our target ν and is not taken below it; the incoming
    /// side is free (our G must still drop). Every hop sheds surplus, as in the paper's code.
    #[default]
    Sender,
    /// Both peers move toward ν and neither passes it: the incoming one must also end at or
    /// below ν (the rule before measurement; every receiver must be a sink).
    BothSides,
    /// No balance condition: only the G test (c). For experiments.
    GiniOnly,
}

impl HopRule {
    /// Every rule, in report order.
    pub const ALL: [HopRule; 3] = [HopRule::Sender, HopRule::BothSides, HopRule::GiniOnly];

    /// The name used on command lines and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            HopRule::Sender => "sender",
            HopRule::BothSides => "both-sides",
            HopRule::GiniOnly => "gini-only",
        }
    }

    /// Whether the move passes the rule: the outgoing peer goes from `out` = (Σ local,
    /// Σ capacity) to `out.0 − amt`, the incoming one from `inc` to `inc.0 + amt`; our target
    /// is ν = `nu.0 / nu.1`. Exact: integer cross-multiplication, no float decides a boundary.
    pub fn allows(self, out: (u64, u64), inc: (u64, u64), amt: u64, nu: (u128, u128)) -> bool {
        let out_after = out.0.checked_sub(amt);
        let out_ok = || out_after.is_some_and(|l| !below_ratio(l, out.1, nu));
        let in_ok = || {
            inc.0
                .checked_add(amt)
                .is_some_and(|l| !above_ratio(l, inc.1, nu))
        };
        match self {
            HopRule::Sender => out_ok(),
            HopRule::BothSides => out_ok() && in_ok(),
            HopRule::GiniOnly => out_after.is_some(),
        }
    }
}

/// l / k < n / d, exactly (k, d > 0 expected; k = 0 counts as not below).
pub(crate) fn below_ratio(l: u64, k: u64, (n, d): (u128, u128)) -> bool {
    crate::imbalance::cmp_products(u128::from(l), d, n, u128::from(k)).is_lt()
}

/// l / k > n / d, exactly.
pub(crate) fn above_ratio(l: u64, k: u64, (n, d): (u128, u128)) -> bool {
    crate::imbalance::cmp_products(u128::from(l), d, n, u128::from(k)).is_gt()
}

/// A zero-fee HTLC a hop is asked to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeFreeForward {
    /// Our channel it arrives on.
    pub in_scid: ShortChannelId,
    /// Our channel it is to leave on.
    pub out_scid: ShortChannelId,
    /// The amount.
    pub amount_msat: u64,
    /// When we last offered this move (a `reply_foaf_balances` naming the channel), if ever.
    pub offered_at: Option<u64>,
    /// Fee-free volume already forwarded for the upstream peer in the current window.
    pub budget_used_msat: u64,
}

/// Knobs of the hop check. `Default` gives the values docs/bolt14.md pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopConfig {
    /// Only forward moves we offered within `max_offer_age_secs` (off by default: the middle
    /// hop of a 4-cycle never made an offer, and the balance check already protects us).
    pub require_offer: bool,
    /// How long an offer we made binds us. 600 s.
    pub max_offer_age_secs: u64,
    /// Fee-free volume per upstream peer per window, as a percentage of the merged capacity
    /// of our channels with that peer. 100 (one channel's worth per window).
    pub budget_percent_of_capacity: u64,
    /// The budget window, seconds. 3600.
    pub budget_window_secs: u64,
    /// Refuse a move that does not strictly lower our G (R-REB-5). On by default and required
    /// for conformance; turning it off (only "toward ν, not past it" is checked) exists for
    /// experiments that measure what the G rule costs (`foaf sim … --lenient-hops`).
    pub require_gini_drop: bool,
    /// The balance condition on the two legs (R-REB-5 (b)). Default: [`HopRule::Sender`].
    pub rule: HopRule,
}

impl Default for HopConfig {
    fn default() -> Self {
        Self {
            require_offer: false,
            max_offer_age_secs: 600,
            budget_percent_of_capacity: 100,
            budget_window_secs: 3600,
            require_gini_drop: true,
            rule: HopRule::default(),
        }
    }
}

/// The check a hop makes before forwarding a rebalance at zero fee (R-REB-5…R-REB-7): the move
/// (in on `in_scid`, out on `out_scid`) must bring both peers' merged ζ toward our ν without
/// passing it, strictly lower our G, fit in the upstream peer's budget, and, if `cfg` asks,
/// be one we offered recently. `Ok(())` means forward with fee 0.
///
/// One call prepares `channels` ([`HopChannels::new`]) and checks once; a caller that checks
/// many forwards against unchanged balances keeps the [`HopChannels`] instead.
pub fn check_fee_free_forward<P: PeerKey>(
    channels: &[Channel<P>],
    fwd: &FeeFreeForward,
    now: u64,
    cfg: &HopConfig,
) -> Result<(), FeeFreeRefusal> {
    HopChannels::new(channels).check(fwd, now, cfg)
}

/// Our channels as the hop check reads them, prepared once: the usable ones (active, with
/// capacity), merged per peer (M02), and our sorted ζ with G before any move. Preparing sorts
/// (O(n log n)); each [`HopChannels::check`] after that is O(n) without a sort. It exists for
/// callers that check many forwards between two balance changes (the simulator tries many
/// cycles through one hub): it is a snapshot, so it must be rebuilt whenever one of the
/// channels it was made from changes. [`check_fee_free_forward`] is `new` then `check`.
#[derive(Debug, Clone, PartialEq)]
pub struct HopChannels<P> {
    /// The usable channels, in the caller's order (the first one with a scid is the one used).
    usable: Vec<Channel<P>>,
    /// Per peer, sorted by peer: (peer, Σ local, Σ capacity) (`imbalance::merged_by_peer`).
    totals: Vec<(P, u64, u64)>,
    /// (Σ local, Σ capacity) over `totals`: our ν as a fraction.
    sum: (u128, u128),
    /// Every peer's merged ζ, sorted by `f64::total_cmp`, and their G.
    zeta: Vec<f64>,
    gini: f64,
    /// No peer's Σ capacity reached `u64::MAX`, so no merged sum saturated and a move can be
    /// applied to the totals by subtracting and adding ([`HopChannels::forwarded`]).
    exact: bool,
}

impl<P: PeerKey> HopChannels<P> {
    /// Prepares `channels` (see the type's docs).
    pub fn new(channels: &[Channel<P>]) -> Self {
        let usable: Vec<Channel<P>> = channels
            .iter()
            .filter(|c| c.is_active() && c.capacity_msat > 0)
            .cloned()
            .collect();
        // A sorted vector rather than a map: every hop of every rebalance runs this check.
        let totals: Vec<(P, u64, u64)> = merged_by_peer(&usable)
            .into_iter()
            .map(|(p, l, c)| (p.clone(), l, c))
            .collect();
        let sum = totals.iter().fold((0u128, 0u128), |(l, k), t| {
            (l + u128::from(t.1), k + u128::from(t.2))
        });
        let mut zeta: Vec<f64> = totals.iter().map(|t| t.1 as f64 / t.2 as f64).collect();
        zeta.sort_by(f64::total_cmp);
        let gini = gini_of_sorted(&zeta);
        let exact = totals.iter().all(|t| t.2 < u64::MAX);
        Self {
            usable,
            totals,
            sum,
            zeta,
            gini,
            exact,
        }
    }

    /// Records a forward that completed: `amt` came in on `in_scid` (our local balance there
    /// rose) and left on `out_scid` (it dropped). Afterwards `self` equals
    /// [`HopChannels::new`] of the channels after the move, at O(n) instead of a sort: the
    /// two channels, their peers' merged totals and ζ, and G are updated in place (integer
    /// totals exactly, since no sum saturates; ζ recomputed from them as `new` computes it;
    /// the sorted list of a set of values is unique, so moving two entries gives the list a
    /// fresh sort gives, and G is computed from it the same way). A channel that is not held
    /// (not active, or without capacity) changes nothing here, as it changes nothing in `new`.
    pub fn forwarded(&mut self, in_scid: ShortChannelId, out_scid: ShortChannelId, amt: u64) {
        self.moved(in_scid, |l| l.saturating_add(amt));
        self.moved(out_scid, |l| l.saturating_sub(amt));
        self.gini = gini_of_sorted(&self.zeta);
    }

    /// Our local balance on `scid` becomes `f(local)`; the merged figures follow.
    fn moved(&mut self, scid: ShortChannelId, f: impl Fn(u64) -> u64) {
        let Some(c) = self.usable.iter_mut().find(|c| c.scid == scid) else {
            return;
        };
        let old = c.local_msat.min(c.capacity_msat);
        c.local_msat = f(c.local_msat);
        let new = c.local_msat.min(c.capacity_msat);
        if !self.exact {
            *self = Self::new(&self.usable);
            return;
        }
        let peer = &c.peer;
        let Ok(i) = self.totals.binary_search_by(|t| t.0.cmp(peer)) else {
            // Cannot happen (`totals` is merged from `usable`); rebuilding keeps it total.
            *self = Self::new(&self.usable);
            return;
        };
        let t = &mut self.totals[i];
        let z_old = t.1 as f64 / t.2 as f64;
        // The old contribution is part of the sum, and the new sum is at most Σ capacity.
        t.1 = t.1 - old + new;
        let z_new = t.1 as f64 / t.2 as f64;
        self.sum.0 = self.sum.0 - u128::from(old) + u128::from(new);
        replace_sorted(&mut self.zeta, z_old, z_new);
    }

    /// [`check_fee_free_forward`] against the prepared channels.
    pub fn check(
        &self,
        fwd: &FeeFreeForward,
        now: u64,
        cfg: &HopConfig,
    ) -> Result<(), FeeFreeRefusal> {
        let find = |s: ShortChannelId| self.usable.iter().find(|c| c.scid == s);
        let (Some(cin), Some(cout)) = (find(fwd.in_scid), find(fwd.out_scid)) else {
            return Err(FeeFreeRefusal::UnknownChannel);
        };
        if cin.peer == cout.peer {
            return Err(FeeFreeRefusal::SamePeer);
        }
        // The HTLC needs our local balance on the way out and the peer's on the way in (an
        // HTLC that arrived proves the latter; the check keeps the function total on any
        // input).
        let remote_in = cin.capacity_msat - cin.local_msat.min(cin.capacity_msat);
        if cout.local_msat.min(cout.capacity_msat) < fwd.amount_msat || remote_in < fwd.amount_msat
        {
            return Err(FeeFreeRefusal::Liquidity);
        }
        if cfg.require_offer
            && !fwd
                .offered_at
                .is_some_and(|t| t <= now && now - t <= cfg.max_offer_age_secs)
        {
            return Err(FeeFreeRefusal::NoFreshOffer);
        }
        // Merged per peer (M02).
        let totals = &self.totals;
        let merged = |p: &P| {
            totals
                .binary_search_by(|t| t.0.cmp(p))
                .map(|i| (totals[i].1, totals[i].2))
                .unwrap_or((0, 0))
        };
        let (il, ic) = merged(&cin.peer);
        let (ol, oc) = merged(&cout.peer);
        let amt = fwd.amount_msat;
        if !cfg.rule.allows((ol, oc), (il, ic), amt, self.sum) {
            return Err(FeeFreeRefusal::AwayFromTarget);
        }
        let in_after = il.saturating_add(amt);
        let out_after = ol - amt; // the rule checked that the merged peer holds it
        if cfg.require_gini_drop {
            // Only two peers' ζ change: swap them in a copy of the sorted list, keeping it
            // sorted (no sort per check).
            let mut zeta = self.zeta.clone();
            replace_sorted(
                &mut zeta,
                il as f64 / ic as f64,
                in_after as f64 / ic as f64,
            );
            replace_sorted(
                &mut zeta,
                ol as f64 / oc as f64,
                out_after as f64 / oc as f64,
            );
            let after = gini_of_sorted(&zeta);
            if after >= self.gini {
                return Err(FeeFreeRefusal::NoImprovement);
            }
        }
        let budget = (u128::from(ic) * u128::from(cfg.budget_percent_of_capacity) / 100) as u64;
        if fwd.budget_used_msat.saturating_add(amt) > budget {
            return Err(FeeFreeRefusal::BudgetExhausted);
        }
        Ok(())
    }
}

/// In `zeta`, sorted by `f64::total_cmp`, one entry `old` becomes `new`; the list stays sorted.
fn replace_sorted(zeta: &mut Vec<f64>, old: f64, new: f64) {
    if let Ok(i) = zeta.binary_search_by(|z| z.total_cmp(&old)) {
        zeta.remove(i);
    }
    let j = zeta.partition_point(|z| z.total_cmp(&new).is_lt());
    zeta.insert(j, new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ch, scid};

    // R: R-REB-5, R-REB-6, R-REB-7
    #[test]
    fn hop_check() {
        let chans = vec![ch("a", 1, 1_000_000, 0), ch("b", 2, 1_000_000, 1_000_000)];
        let cfg = HopConfig::default();
        let fwd = |amt, used| FeeFreeForward {
            in_scid: scid(1),
            out_scid: scid(2),
            amount_msat: amt,
            offered_at: Some(50),
            budget_used_msat: used,
        };
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(500_000, 0), 100, &cfg),
            Ok(())
        );
        // Past the target: a would end above ν = 0.5.
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(500_001, 0), 100, &cfg),
            Err(FeeFreeRefusal::AwayFromTarget)
        );
        // The wrong way round.
        let back = FeeFreeForward {
            in_scid: scid(2),
            out_scid: scid(1),
            ..fwd(1, 0)
        };
        assert_eq!(
            check_fee_free_forward(&chans, &back, 100, &cfg),
            Err(FeeFreeRefusal::Liquidity)
        );
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(400_000, 700_000), 100, &cfg),
            Err(FeeFreeRefusal::BudgetExhausted)
        );
        let strict = HopConfig {
            require_offer: true,
            ..cfg.clone()
        };
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(1000, 0), 100, &strict),
            Ok(())
        );
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(1000, 0), 651, &strict),
            Err(FeeFreeRefusal::NoFreshOffer)
        );
    }

    fn fwd(in_scid: u64, out_scid: u64, amt: u64) -> FeeFreeForward {
        FeeFreeForward {
            in_scid: scid(in_scid),
            out_scid: scid(out_scid),
            amount_msat: amt,
            offered_at: None,
            budget_used_msat: 0,
        }
    }

    fn with(rule: HopRule) -> HopConfig {
        HopConfig {
            rule,
            ..HopConfig::default()
        }
    }

    /// The pinned sender rule: the outgoing peer sheds surplus (starts above ν, is not taken
    /// below it); the incoming peer may end above ν, as long as our G strictly drops. The
    /// both-sides rule refuses the same move.
    // R: R-REB-5
    #[test]
    fn sender_rule_leaves_the_incoming_side_free_but_not_g() {
        // ν = 2_600 / 4_000 = 0.65: "o" at 0.9 (a source), "i" at 0.7 (already above ν), "z" at
        // 0.3 (a sink). G = 0.211.
        let chans = vec![
            ch("o", 1, 1_000, 900),
            ch("i", 2, 2_000, 1_400),
            ch("z", 3, 1_000, 300),
        ];
        assert_eq!(HopConfig::default().rule, HopRule::Sender);
        // In from i (0.7 → 0.75, away from ν), out to o (0.9 → 0.8): G 0.211 → 0.180.
        let m = fwd(2, 1, 100);
        assert_eq!(
            check_fee_free_forward(&chans, &m, 0, &with(HopRule::Sender)),
            Ok(())
        );
        assert_eq!(
            check_fee_free_forward(&chans, &m, 0, &with(HopRule::BothSides)),
            Err(FeeFreeRefusal::AwayFromTarget)
        );
        // In from z (0.3 → 0.4), out to i (0.7 → 0.65): i ends on target exactly, allowed.
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(3, 2, 100), 0, &with(HopRule::Sender)),
            Ok(())
        );
        // One msat more takes i below ν: refused by every rule that guards the out side.
        for rule in [HopRule::Sender, HopRule::BothSides] {
            assert_eq!(
                check_fee_free_forward(&chans, &fwd(3, 2, 101), 0, &with(rule)),
                Err(FeeFreeRefusal::AwayFromTarget),
                "{rule:?}"
            );
        }
        // Out to z, which is below ν: not a sender's move.
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(1, 3, 100), 0, &with(HopRule::Sender)),
            Err(FeeFreeRefusal::AwayFromTarget)
        );
        // In from o (0.9 → 1.0), out to i (0.7 → 0.65): the out side sheds surplus, but G
        // rises (0.211 → 0.239): refused for G (both-sides refuses it already for o).
        for rule in [HopRule::Sender, HopRule::GiniOnly] {
            assert_eq!(
                check_fee_free_forward(&chans, &fwd(1, 2, 100), 0, &with(rule)),
                Err(FeeFreeRefusal::NoImprovement),
                "{rule:?}"
            );
        }
        // gini-only lets the out side go below ν when G drops. ν = 0.6; in from z (0.3 →
        // 0.4), out to y (0.6 → 0.5): G 0.222 → 0.185.
        let three = vec![
            ch("o", 1, 1_000, 900),
            ch("z", 2, 1_000, 300),
            ch("y", 3, 1_000, 600),
        ];
        assert_eq!(
            check_fee_free_forward(&three, &fwd(2, 3, 100), 0, &with(HopRule::GiniOnly)),
            Ok(())
        );
        assert_eq!(
            check_fee_free_forward(&three, &fwd(2, 3, 100), 0, &with(HopRule::Sender)),
            Err(FeeFreeRefusal::AwayFromTarget)
        );
    }

    /// Prepared channels that follow completed forwards ([`HopChannels::forwarded`]) equal
    /// channels prepared afresh after each move, G to the bit, and so give the same verdicts:
    /// parallel channels, a closing channel, and sums past 2⁶⁴ (rebuilt) included.
    // R: R-REB-5, M02
    #[test]
    fn prepared_channels_follow_forwards_exactly() {
        use crate::model::ChannelState;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let cfg = HopConfig::default();
        for round in 0..300 {
            let huge = round % 10 == 9;
            let n = rng.gen_range(2..10u64);
            let mut chans: Vec<Channel<String>> = (1..=n)
                .map(|i| {
                    let cap = if huge {
                        u64::MAX - rng.gen_range(0..3)
                    } else {
                        rng.gen_range(1..1_000_000u64)
                    };
                    // Few peers: parallel channels are common.
                    let peer = format!("p{}", rng.gen_range(0..4));
                    ch(&peer, i, cap, rng.gen_range(0..=cap))
                })
                .collect();
            if rng.gen_bool(0.3) {
                chans[0].state = ChannelState::Closing;
            }
            let mut view = HopChannels::new(&chans);
            for _ in 0..20 {
                let (i, o) = (rng.gen_range(0..chans.len()), rng.gen_range(0..chans.len()));
                if i == o {
                    continue;
                }
                let room = (chans[i].capacity_msat - chans[i].local_msat).min(chans[o].local_msat);
                let amt = rng.gen_range(0..=room);
                let (si, so) = (chans[i].scid, chans[o].scid);
                chans[i].local_msat += amt;
                chans[o].local_msat -= amt;
                view.forwarded(si, so, amt);
                let fresh = HopChannels::new(&chans);
                assert_eq!(view, fresh, "round {round}");
                assert_eq!(view.gini.to_bits(), fresh.gini.to_bits());
                let f = fwd(so.to_u64(), si.to_u64(), amt / 2);
                assert_eq!(view.check(&f, 0, &cfg), fresh.check(&f, 0, &cfg));
            }
        }
    }

    /// Sums of balances can pass 2⁶⁴; the exact comparisons must neither overflow nor round.
    // R: R-REB-5, R-CM-2
    #[test]
    fn huge_balances_are_compared_exactly() {
        let m = u64::MAX;
        let chans = vec![ch("o", 1, m, m), ch("i", 2, m, 0), ch("z", 3, m, m / 2)];
        // ν = (m + m/2) / 3m, just under 0.5: ν·m = 2⁶³ − ⅔. o sheds down to ⌈ν·m⌉ = 2⁶³.
        let ceil_target = (u128::from(m) + u128::from(m / 2)).div_ceil(3) as u64;
        assert_eq!(ceil_target, 1 << 63);
        let half = m - ceil_target;
        for rule in HopRule::ALL {
            assert_eq!(
                check_fee_free_forward(&chans, &fwd(2, 1, half), 0, &with(rule)),
                Ok(()),
                "{rule:?}"
            );
        }
        // One more msat takes o below ν (exactly: a float would not see it).
        assert_eq!(
            check_fee_free_forward(&chans, &fwd(2, 1, half + 1), 0, &with(HopRule::Sender)),
            Err(FeeFreeRefusal::AwayFromTarget)
        );
    }
}
