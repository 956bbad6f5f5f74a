//! How much do replies reveal? A peer o of node t wants the balance L that t holds on its
//! channel with x (capacity K, public). It learns from t's `reply_foaf_balances` answers,
//! produced by the real reply policy (`foaf_policy::DefaultPolicy`, A01, with or without A05
//! obfuscation), and is compared with a probing attacker that spends the same number of
//! messages on HTLC probes (a probe of amount a along t→x fails or not: one exact bit,
//! L ≥ a).
//!
//! The querying attacker is given t's target ratio ν_t (private in reality: an upper bound on
//! what it can learn). A reply to a Push query of amount a lists the channel exactly when
//! L − a ≥ ν·K (and ζ > ν); to a Receive query, when L + a ≤ ν·K. So one query answers one
//! threshold question, L ≥ m or L ≤ m, for a threshold m it picks, like a probe, but for free
//! and rate-limited to 4 per 10 s (S05). Attackers:
//!
//! - `probe`: binary search with probes (exact bits);
//! - `query`: binary search with queries, believing every answer;
//! - `query-majority3`: each threshold asked three times, the majority believed (3 messages
//!   per bit), against obfuscation;
//! - `passive`: the queries a node sends for its own rebalancing, not chosen to probe: a random
//!   direction and an amount uniform in (0, K/2], each answer believed and used.
//!
//! Measured per attacker and message count k: the median and 90th percentile of the interval
//! width as a share of K, and how often the interval still contains the true L (obfuscated
//! answers can mislead a believing attacker).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use foaf_policy::{ChannelSet, DefaultPolicy, Obfuscation, ReplyPolicy, ReplyRequest};
use foaf_wire::Flow;

use crate::balances::Balances;
use crate::graph::Graph;
use crate::seed::seed_for;

/// Parameters of the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacyConfig {
    /// (observer, node, channel) triples sampled.
    pub targets: usize,
    /// Messages per attacker, 1..=messages measured.
    pub messages: usize,
    /// Seed of the sample, the obfuscation draws and the passive querier.
    pub seed: u64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            targets: 1000,
            messages: 30,
            seed: 1,
        }
    }
}

/// One attacker's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyCurve {
    /// Attacker name (`probe`, `query`, `query-majority3`, `passive`).
    pub attacker: &'static str,
    /// Whether t obfuscates its replies (A05, the default bounds).
    pub obfuscation: bool,
    /// Per message count k = 1..: median interval width / K.
    pub median_width: Vec<f64>,
    /// Per k: 90th percentile of the width / K.
    pub p90_width: Vec<f64>,
    /// Per k: share of intervals that still contain the true balance.
    pub contains: Vec<f64>,
}

/// A sampled target: node t, its channel (arc t→x), the observer o (another peer of t).
struct Target {
    t: u32,
    arc: u32,
    o: u32,
}

/// What t's policy answers to one query from o.
struct Oracle {
    set: ChannelSet<u32>,
    policy: DefaultPolicy,
    scid: foaf_wire::ShortChannelId,
    o: u32,
    rng: ChaCha20Rng,
}

impl Oracle {
    /// Whether t lists the channel in its reply to a (flow, amount) query.
    fn listed(&mut self, flow: Flow, amt_msat: u64) -> bool {
        let req = ReplyRequest {
            channels: &self.set,
            querier: &self.o,
            flow,
            amt_msat,
        };
        self.policy
            .reply(&req, &mut self.rng)
            .scids
            .contains(&self.scid)
    }
}

/// The interval an attacker holds: L in [lo, hi].
#[derive(Clone, Copy)]
struct Interval {
    lo: u64,
    hi: u64,
}

/// ν·K rounded down and up: Push of a lists exactly when L ≥ ceil + a, Receive of a when
/// L ≤ floor − a (the policy's exact integer test, `moves_toward_target`).
#[derive(Clone, Copy)]
struct Threshold {
    floor: u64,
    ceil: u64,
}

/// Ask "L ≥ m?" (m ≥ 1) through one query: Push with amount m − ⌈νK⌉ when m is above the
/// target, else Receive with amount ⌊νK⌋ + 1 − m, which lists exactly when L ≤ m − 1.
fn ask(oracle: &mut Oracle, t: Threshold, m: u64) -> bool {
    if m > t.ceil {
        oracle.listed(Flow::Push, m - t.ceil)
    } else {
        !oracle.listed(Flow::Receive, t.floor + 1 - m)
    }
}

/// Run every attacker, with obfuscation off and on, on `b` (balances with some spread; a coin
/// flip start leaves every channel at 0 or K, which one bit reveals).
pub fn run(g: &Graph, b: &Balances, cfg: &PrivacyConfig) -> Vec<PrivacyCurve> {
    let targets = sample_targets(g, cfg);
    let mut out = Vec::new();
    for obfuscation in [false, true] {
        for attacker in ["probe", "query", "query-majority3", "passive"] {
            if attacker == "probe" && obfuscation {
                continue; // probes do not go through the reply policy
            }
            let widths: Vec<Vec<(f64, bool)>> = targets
                .iter()
                .enumerate()
                .map(|(i, tg)| attack(g, b, tg, attacker, obfuscation, cfg, i as u64))
                .collect();
            let mut c = PrivacyCurve {
                attacker,
                obfuscation,
                median_width: Vec::new(),
                p90_width: Vec::new(),
                contains: Vec::new(),
            };
            for k in 0..cfg.messages {
                let mut w: Vec<f64> = widths.iter().map(|v| v[k].0).collect();
                w.sort_by(f64::total_cmp);
                let n = w.len().max(1);
                c.median_width.push(w.get(n / 2).copied().unwrap_or(1.0));
                c.p90_width
                    .push(w.get((n * 9) / 10).copied().unwrap_or(1.0));
                c.contains
                    .push(widths.iter().filter(|v| v[k].1).count() as f64 / n as f64);
            }
            out.push(c);
        }
    }
    out
}

fn sample_targets(g: &Graph, cfg: &PrivacyConfig) -> Vec<Target> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed_for(cfg.seed, 7, 0));
    let candidates: Vec<u32> = (0..g.node_count() as u32)
        .filter(|&u| g.degree(u) >= 2)
        .collect();
    let mut out = Vec::new();
    if candidates.is_empty() {
        return out;
    }
    while out.len() < cfg.targets {
        let t = candidates[rng.gen_range(0..candidates.len())];
        let arcs = g.arcs(t);
        let i = rng.gen_range(0..arcs.len());
        let mut j = rng.gen_range(0..arcs.len() - 1);
        if j >= i {
            j += 1;
        }
        out.push(Target {
            t,
            arc: arcs[i].id,
            o: arcs[j].head,
        });
    }
    out
}

/// One attacker against one target: per message, (interval width / K, contains the truth).
fn attack(
    g: &Graph,
    b: &Balances,
    tg: &Target,
    attacker: &str,
    obfuscation: bool,
    cfg: &PrivacyConfig,
    index: u64,
) -> Vec<(f64, bool)> {
    let mut set = ChannelSet::new(b.node_channels(g, tg.t));
    set.set_all_connected(true);
    let (nl, nk) = set.nu();
    let ch = &g.channels[(tg.arc / 2) as usize];
    let cap = ch.capacity_msat;
    let truth = b.arc_balance(g, tg.arc);
    let nuk = |round_up: bool| -> u64 {
        if nk == 0 {
            0
        } else if round_up {
            (u128::from(cap) * nl).div_ceil(nk) as u64
        } else {
            (u128::from(cap) * nl / nk) as u64
        }
    };
    let target = Threshold {
        floor: nuk(false),
        ceil: nuk(true),
    };
    let mut oracle = Oracle {
        set,
        policy: DefaultPolicy {
            obfuscation: obfuscation.then(Obfuscation::default),
            ..DefaultPolicy::new()
        },
        scid: ch.scid,
        o: tg.o,
        rng: ChaCha20Rng::seed_from_u64(seed_for(cfg.seed, 8, index)),
    };
    let mut passive = ChaCha20Rng::seed_from_u64(seed_for(cfg.seed, 9, index));
    let mut iv = Interval { lo: 0, hi: cap };
    let mut out = Vec::with_capacity(cfg.messages);
    let mut sent = 0usize;
    let record = |iv: &Interval, out: &mut Vec<(f64, bool)>| {
        out.push((
            (iv.hi - iv.lo) as f64 / cap.max(1) as f64,
            iv.lo <= truth && truth <= iv.hi,
        ))
    };
    while sent < cfg.messages {
        match attacker {
            "probe" | "query" | "query-majority3" => {
                if iv.lo >= iv.hi {
                    sent += 1;
                    record(&iv, &mut out);
                    continue;
                }
                let m = iv.lo + (iv.hi - iv.lo).div_ceil(2);
                let yes = match attacker {
                    "probe" => truth >= m,
                    "query" => ask(&mut oracle, target, m),
                    _ => (0..3).filter(|_| ask(&mut oracle, target, m)).count() >= 2,
                };
                let per_bit = if attacker == "query-majority3" { 3 } else { 1 };
                if yes {
                    iv.lo = m;
                } else {
                    iv.hi = m - 1;
                }
                for _ in 0..per_bit {
                    if sent < cfg.messages {
                        sent += 1;
                        record(&iv, &mut out);
                    }
                }
            }
            _ => {
                // Passive: a query for the observer's own needs.
                let push = passive.gen_bool(0.5);
                let a = passive.gen_range(1..=(cap / 2).max(1));
                let flow = if push { Flow::Push } else { Flow::Receive };
                let listed = oracle.listed(flow, a);
                // Each answer is one threshold bit it believes: Push of a listed ⇔ L ≥ ⌈νK⌉ + a,
                // Receive of a listed ⇔ L ≤ ⌊νK⌋ − a (never, when a > ⌊νK⌋: no bit).
                let (c, f) = (target.ceil, target.floor);
                match (push, listed) {
                    (true, true) => iv.lo = iv.lo.max((c + a).min(cap)),
                    (true, false) => iv.hi = iv.hi.min(c + a - 1),
                    (false, true) => iv.hi = iv.hi.min(f.saturating_sub(a)),
                    (false, false) if a <= f => iv.lo = iv.lo.max(f - a + 1),
                    _ => {}
                }
                if iv.lo > iv.hi {
                    iv.lo = iv.hi;
                }
                sent += 1;
                record(&iv, &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balances::InitialBalance;

    // R: A05
    #[test]
    fn queries_reveal_a_bit_each_like_probes_and_obfuscation_blurs_them() {
        let g = Graph::barabasi_albert(200, 3, 4);
        let b = Balances::initial(&g, InitialBalance::Uniform, 2);
        let cfg = PrivacyConfig {
            targets: 200,
            messages: 12,
            seed: 3,
        };
        let curves = run(&g, &b, &cfg);
        let get = |a: &str, o: bool| {
            curves
                .iter()
                .find(|c| c.attacker == a && c.obfuscation == o)
                .unwrap()
        };
        let probe = get("probe", false);
        let query = get("query", false);
        // Exact bits halve the interval per message: after 10, about 1/1024 of K.
        assert!(probe.median_width[9] < 0.002, "{:?}", probe.median_width);
        assert!(probe.contains.iter().all(|&c| c == 1.0));
        // Unobfuscated replies are as informative as probes (same thresholds, exact answers).
        assert!(query.median_width[9] < 0.002, "{:?}", query.median_width);
        assert!(
            query.contains.iter().all(|&c| c > 0.99),
            "{:?}",
            query.contains
        );
        // Obfuscated: believing every answer leads astray for many targets.
        let fooled = get("query", true);
        assert!(fooled.contains[11] < 0.9, "{:?}", fooled.contains);
        // Passive queries narrow far less than chosen ones.
        assert!(get("passive", false).median_width[11] > 0.1);
    }
}
