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
    /// Not enough local balance on the outgoing channel.
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
}

impl Default for HopConfig {
    fn default() -> Self {
        Self {
            require_offer: false,
            max_offer_age_secs: 600,
            budget_percent_of_capacity: 100,
            budget_window_secs: 3600,
            require_gini_drop: true,
        }
    }
}

/// The check a hop makes before forwarding a rebalance at zero fee (R-REB-5…R-REB-7): the move
/// (in on `in_scid`, out on `out_scid`) must bring both peers' merged ζ toward our ν without
/// passing it, strictly lower our G, fit in the upstream peer's budget, and, if `cfg` asks,
/// be one we offered recently. `Ok(())` means forward with fee 0.
pub fn check_fee_free_forward<P: PeerKey>(
    channels: &[Channel<P>],
    fwd: &FeeFreeForward,
    now: u64,
    cfg: &HopConfig,
) -> Result<(), FeeFreeRefusal> {
    let find = |s: ShortChannelId| {
        channels
            .iter()
            .find(|c| c.scid == s && c.is_active() && c.capacity_msat > 0)
    };
    let (Some(cin), Some(cout)) = (find(fwd.in_scid), find(fwd.out_scid)) else {
        return Err(FeeFreeRefusal::UnknownChannel);
    };
    if cin.peer == cout.peer {
        return Err(FeeFreeRefusal::SamePeer);
    }
    if cout.local_msat.min(cout.capacity_msat) < fwd.amount_msat {
        return Err(FeeFreeRefusal::Liquidity);
    }
    if cfg.require_offer
        && !fwd
            .offered_at
            .is_some_and(|t| t <= now && now - t <= cfg.max_offer_age_secs)
    {
        return Err(FeeFreeRefusal::NoFreshOffer);
    }
    // Merged per peer (M02). A sorted vector rather than a map, and one sort for G before and
    // after: every hop of every rebalance runs this check.
    let totals = merged_by_peer(channels);
    let (sl, sc) = totals.iter().fold((0u128, 0u128), |(l, k), t| {
        (l + u128::from(t.1), k + u128::from(t.2))
    });
    let nu = sl as f64 / sc as f64;
    let merged = |p: &P| {
        totals
            .binary_search_by(|t| t.0.cmp(p))
            .map(|i| (totals[i].1, totals[i].2))
            .unwrap_or((0, 0))
    };
    let (il, ic) = merged(&cin.peer);
    let (ol, oc) = merged(&cout.peer);
    let amt = fwd.amount_msat;
    let in_after = il.saturating_add(amt);
    let out_after = ol.saturating_sub(amt);
    if in_after as f64 > nu * ic as f64 || (out_after as f64) < nu * oc as f64 {
        return Err(FeeFreeRefusal::AwayFromTarget);
    }
    if cfg.require_gini_drop {
        let mut zeta: Vec<f64> = totals.iter().map(|t| t.1 as f64 / t.2 as f64).collect();
        zeta.sort_by(f64::total_cmp);
        let before = gini_of_sorted(&zeta);
        // Only two peers' ζ change: swap them in place, keeping the list sorted.
        let mut replace = |old: f64, new: f64| {
            if let Ok(i) = zeta.binary_search_by(|z| z.total_cmp(&old)) {
                zeta.remove(i);
            }
            let j = zeta.partition_point(|z| z.total_cmp(&new).is_lt());
            zeta.insert(j, new);
        };
        replace(il as f64 / ic as f64, in_after as f64 / ic as f64);
        replace(ol as f64 / oc as f64, out_after as f64 / oc as f64);
        let after = gini_of_sorted(&zeta);
        if after >= before {
            return Err(FeeFreeRefusal::NoImprovement);
        }
    }
    let budget = (u128::from(ic) * u128::from(cfg.budget_percent_of_capacity) / 100) as u64;
    if fwd.budget_used_msat.saturating_add(amt) > budget {
        return Err(FeeFreeRefusal::BudgetExhausted);
    }
    Ok(())
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
}
