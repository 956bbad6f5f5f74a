//! The `payments` experiment: a seeded stream of payments between random node pairs, routed
//! hop by hop (HTLCs lock funds as they go and are undone on failure), compared under four
//! modes: no rebalancing, FOAF proactive rebalancing (a round every `rebalance_every`
//! payments), JIT routing (a hop short of liquidity rebalances before forwarding), and both.
//!
//! The sender does not know balances: it tries the cheapest path by base fee over channels
//! large enough for the amount, learns which channel failed, and retries without it, up to
//! `attempts` times.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use crate::balances::{Balances, InitialBalance};
use crate::cycles::RoundStats;
use crate::foaf::{FoafConfig, FoafNetwork};
use crate::graph::Graph;
use crate::seed::seed_for;

/// Which rebalancing runs alongside the payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// No rebalancing.
    None,
    /// FOAF proactive rebalancing rounds between payments.
    Foaf,
    /// JIT routing at forward time.
    Jit,
    /// Both.
    Both,
}

impl Mode {
    /// All modes, in report order.
    pub const ALL: [Mode; 4] = [Mode::None, Mode::Foaf, Mode::Jit, Mode::Both];

    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Foaf => "foaf",
            Mode::Jit => "jit",
            Mode::Both => "both",
        }
    }

    fn proactive(self) -> bool {
        matches!(self, Mode::Foaf | Mode::Both)
    }

    fn jit(self) -> bool {
        matches!(self, Mode::Jit | Mode::Both)
    }
}

/// Parameters of the payment stream.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Number of payments.
    pub count: usize,
    /// Smallest payment, sat.
    pub min_sat: u64,
    /// Largest payment, sat (sizes are log-uniform between the two).
    pub max_sat: u64,
    /// Master seed.
    pub seed: u64,
    /// Route attempts per payment.
    pub attempts: usize,
    /// Payments between two proactive FOAF rounds.
    pub rebalance_every: usize,
    /// Initial balances.
    pub initial: InitialBalance,
    /// Modes to compare.
    pub modes: Vec<Mode>,
    /// FOAF settings (messages, rate limits, planner).
    pub foaf: FoafConfig,
    /// Points on the curves.
    pub curve_points: usize,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            count: 5_000,
            min_sat: 1_000,
            max_sat: 1_000_000,
            seed: 1,
            attempts: 5,
            rebalance_every: 500,
            initial: InitialBalance::Uniform,
            modes: Mode::ALL.to_vec(),
            foaf: FoafConfig::default(),
            curve_points: 50,
            progress: false,
        }
    }
}

/// One mode's outcome.
#[derive(Debug, Clone)]
pub struct ModeRun {
    /// The mode.
    pub mode: Mode,
    /// Payments that reached their recipient.
    pub succeeded: u64,
    /// Their total amount, msat.
    pub routed_msat: u128,
    /// Proactive rebalancing cost.
    pub proactive: RoundStats,
    /// JIT rebalancing cost.
    pub jit: RoundStats,
    /// Hops that lacked liquidity and tried JIT.
    pub jit_attempts: u64,
    /// (payments done, success rate so far, rebalancing operations so far).
    pub curve: Vec<(usize, f64, u64)>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The experiment's outcome.
#[derive(Debug, Clone)]
pub struct PaymentsResult {
    /// Payments per mode.
    pub payments: usize,
    /// Size range, sat.
    pub min_sat: u64,
    /// Size range, sat.
    pub max_sat: u64,
    /// Graph size.
    pub nodes: usize,
    /// Graph size.
    pub channels: usize,
    /// Initial balance distribution.
    pub initial: &'static str,
    /// One run per mode.
    pub runs: Vec<ModeRun>,
}

/// One payment of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    /// Sender.
    pub from: u32,
    /// Recipient.
    pub to: u32,
    /// Amount, msat.
    pub amount_msat: u64,
}

/// The seeded stream: distinct uniform endpoints, log-uniform sizes.
pub fn stream(g: &Graph, cfg: &PaymentsConfig) -> Vec<Payment> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed_for(cfg.seed, 10, 0));
    let n = g.node_count() as u32;
    let (lo, hi) = (
        (cfg.min_sat.max(1) as f64).ln(),
        (cfg.max_sat.max(cfg.min_sat.max(1)) as f64).ln(),
    );
    (0..cfg.count)
        .filter_map(|_| {
            if n < 2 {
                return None;
            }
            let from = rng.gen_range(0..n);
            let mut to = rng.gen_range(0..n - 1);
            if to >= from {
                to += 1;
            }
            let x: f64 = if hi > lo { rng.gen_range(lo..hi) } else { lo };
            Some(Payment {
                from,
                to,
                amount_msat: (x.exp() as u64) * 1000,
            })
        })
        .collect()
}

/// Run the experiment.
pub fn run(g: &Graph, cfg: &PaymentsConfig) -> PaymentsResult {
    let payments = stream(g, cfg);
    let b0 = Balances::initial(g, cfg.initial, seed_for(cfg.seed, 11, 0));
    let mut modes = cfg.modes.clone();
    modes.sort();
    modes.dedup();
    // The modes run at the same time: one progress line each.
    let bars = crate::progress::Bars::new(cfg.progress);
    let pbs: Vec<_> = modes
        .iter()
        .map(|m| bars.bar(payments.len() as u64, &format!("payments, {}", m.name())))
        .collect();
    let runs: Vec<ModeRun> = modes
        .par_iter()
        .zip(pbs.par_iter())
        .map(|(&mode, pb)| run_mode(g, &b0, &payments, cfg, mode, pb))
        .collect();
    PaymentsResult {
        payments: payments.len(),
        min_sat: cfg.min_sat,
        max_sat: cfg.max_sat,
        nodes: g.node_count(),
        channels: g.channel_count(),
        initial: cfg.initial.name(),
        runs,
    }
}

fn run_mode(
    g: &Graph,
    b0: &Balances,
    payments: &[Payment],
    cfg: &PaymentsConfig,
    mode: Mode,
    pb: &indicatif::ProgressBar,
) -> ModeRun {
    let t0 = Instant::now();
    let mut b = b0.clone();
    let mut foaf = (mode != Mode::None)
        .then(|| FoafNetwork::new(g, &b, cfg.foaf.clone(), seed_for(cfg.seed, 12, mode as u64)));
    let mut router = Router::new(g);
    let mut out = ModeRun {
        mode,
        succeeded: 0,
        routed_msat: 0,
        proactive: RoundStats::default(),
        jit: RoundStats::default(),
        jit_attempts: 0,
        curve: vec![(0, 0.0, 0)],
        seconds: 0.0,
    };
    let every = (payments.len() / cfg.curve_points.max(1)).max(1);
    for (i, p) in payments.iter().enumerate() {
        if mode.proactive() && i > 0 && i % cfg.rebalance_every.max(1) == 0 {
            if let Some(f) = foaf.as_mut() {
                let rs = f.round(&mut b);
                out.proactive.add(&rs);
            }
        }
        let ok = router.pay(g, &mut b, p, cfg.attempts, |b, arc, amt| {
            if !mode.jit() {
                return false;
            }
            out.jit_attempts += 1;
            match foaf.as_mut() {
                Some(f) => {
                    let rs = f.jit(b, arc, amt);
                    let ok = rs.operations > 0;
                    out.jit.add(&rs);
                    ok
                }
                None => false,
            }
        });
        if let Some(f) = foaf.as_mut() {
            // One payment per simulated second: the clock the nodes' rate limits run on.
            f.advance(1);
        }
        if ok {
            out.succeeded += 1;
            out.routed_msat += p.amount_msat as u128;
        }
        if (i + 1) % every == 0 || i + 1 == payments.len() {
            out.curve.push((
                i + 1,
                out.succeeded as f64 / (i + 1) as f64,
                out.proactive.operations + out.jit.operations,
            ));
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    out.seconds = t0.elapsed().as_secs_f64();
    out
}

/// Source routing with retries; scratch space reused across payments.
pub struct Router {
    dist: Vec<(u64, u32)>,
    parent: Vec<u32>,
    touched: Vec<u32>,
    excluded: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
}

impl Router {
    /// Scratch space for `g`.
    pub fn new(g: &Graph) -> Self {
        Router {
            dist: vec![(u64::MAX, u32::MAX); g.node_count()],
            parent: vec![u32::MAX; g.node_count()],
            touched: Vec::new(),
            excluded: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// The cheapest path by base fee from `s` to `t` over channels of capacity ≥ `amt`,
    /// avoiding excluded arcs; as a list of arcs.
    fn path(&mut self, g: &Graph, s: u32, t: u32, amt: u64) -> Option<Vec<u32>> {
        for &u in &self.touched {
            self.dist[u as usize] = (u64::MAX, u32::MAX);
        }
        self.touched.clear();
        self.heap.clear();
        self.dist[s as usize] = (0, 0);
        self.touched.push(s);
        self.heap.push(Reverse((0, 0, s)));
        while let Some(Reverse((d, h, u))) = self.heap.pop() {
            if (d, h) != self.dist[u as usize] {
                continue;
            }
            if u == t {
                let mut arcs = Vec::new();
                let mut x = t;
                while x != s {
                    let a = self.parent[x as usize];
                    arcs.push(a);
                    x = g.tail(a);
                }
                arcs.reverse();
                return Some(arcs);
            }
            for a in g.arcs(u) {
                if g.channels[(a.id / 2) as usize].capacity_msat < amt
                    || self.excluded.contains(&a.id)
                {
                    continue;
                }
                let cand = (d.saturating_add(g.base_fee(a.id)), h + 1);
                let v = a.head as usize;
                if cand < self.dist[v] {
                    if self.dist[v].0 == u64::MAX {
                        self.touched.push(a.head);
                    }
                    self.dist[v] = cand;
                    self.parent[v] = a.id;
                    self.heap.push(Reverse((cand.0, cand.1, a.head)));
                }
            }
        }
        None
    }

    /// Try to deliver `p`; `jit(b, arc, amt)` is asked when the tail of `arc` lacks the
    /// amount and returns whether it made room. Returns whether the payment arrived.
    pub fn pay(
        &mut self,
        g: &Graph,
        b: &mut Balances,
        p: &Payment,
        attempts: usize,
        mut jit: impl FnMut(&mut Balances, u32, u64) -> bool,
    ) -> bool {
        self.excluded.clear();
        for _ in 0..attempts {
            let Some(path) = self.path(g, p.from, p.to, p.amount_msat) else {
                return false;
            };
            // Forward hop by hop; each hop's HTLC locks the amount until the end.
            let mut done = 0;
            let mut failed = None;
            for &arc in &path {
                if b.arc_balance(g, arc) < p.amount_msat
                    && !(g.tail(arc) != p.from
                        && jit(b, arc, p.amount_msat)
                        && b.arc_balance(g, arc) >= p.amount_msat)
                {
                    failed = Some(arc);
                    break;
                }
                b.send_along(g, &[arc], p.amount_msat)
                    .expect("balance checked just above");
                done += 1;
            }
            match failed {
                None => return true,
                Some(arc) => {
                    // Undo the locked hops: the HTLCs fail back.
                    for &a in path[..done].iter().rev() {
                        b.send_along(g, &[a ^ 1], p.amount_msat)
                            .expect("the reverse of a hop just taken holds the amount");
                    }
                    self.excluded.push(arc);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_payment_leaves_balances_unchanged_and_a_good_one_moves_funds() {
        let g = crate::balances::tests::triangle();
        // x holds all of x-y; y nothing on y-z; z holds all of x-z.
        let mut b = Balances {
            local_a: vec![100, 0, 0],
        };
        let funds = b.node_funds(&g);
        let mut r = Router::new(&g);
        // x -> z: direct x-z has nothing on x's side, via y: y-z empty for y. Fails.
        let p = Payment {
            from: 0,
            to: 2,
            amount_msat: 50,
        };
        assert!(!r.pay(&g, &mut b, &p, 3, |_, _, _| false));
        assert_eq!(b.node_funds(&g), funds);
        // x -> y works and moves 50 from x to y.
        let p = Payment {
            from: 0,
            to: 1,
            amount_msat: 50,
        };
        assert!(r.pay(&g, &mut b, &p, 3, |_, _, _| false));
        assert_eq!(b.local_a, vec![50, 0, 0]);
    }

    #[test]
    fn the_stream_is_seeded_and_sizes_are_in_range() {
        let g = Graph::barabasi_albert(100, 2, 1);
        let cfg = PaymentsConfig {
            count: 1000,
            ..PaymentsConfig::default()
        };
        let a = stream(&g, &cfg);
        assert_eq!(a, stream(&g, &cfg));
        assert_eq!(a.len(), 1000);
        for p in &a {
            assert_ne!(p.from, p.to);
            assert!((1_000_000..=1_000_000_000).contains(&p.amount_msat));
        }
        let small = a.iter().filter(|p| p.amount_msat < 31_622_000).count();
        // Log-uniform: half the payments below the geometric mean (√(10³·10⁶) ≈ 31,622 sat).
        assert!((400..600).contains(&small), "{small}");
    }
}
