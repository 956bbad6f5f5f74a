//! The channel graph: loading a Core Lightning `listchannels` dump (plain or gzip), merging
//! parallel channels (M02), keeping the largest component, and a seeded scale-free generator.
//!
//! Nodes are dense indices `0..n` (assigned in sorted node-id order, so loading is
//! deterministic); channels are undirected with a fee policy per direction; the adjacency is a
//! CSR array of *arcs* (`channel * 2 + dir`, dir 0 = a→b, 1 = b→a) so hot loops never hash.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use foaf_wire::ShortChannelId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;

/// The mainnet graph of 2021-04-16 shipped with the project (see data/README.md).
pub const DEFAULT_GRAPH_GZ: &[u8] = include_bytes!("../../../data/topo-20210416.json.gz");

/// Why a graph could not be loaded.
#[derive(Debug)]
pub enum GraphError {
    /// Reading the file failed.
    Io(String),
    /// The JSON is not a `listchannels` dump.
    Json(String),
    /// A field had a value we cannot use (e.g. a malformed short channel id).
    Field(String),
    /// Nothing left after filtering (no channel seen in both directions, …).
    Empty,
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::Io(e) => write!(f, "reading the graph: {e}"),
            GraphError::Json(e) => write!(f, "not a listchannels JSON dump: {e}"),
            GraphError::Field(e) => write!(f, "bad channel entry: {e}"),
            GraphError::Empty => write!(f, "the graph has no usable channel"),
        }
    }
}

impl std::error::Error for GraphError {}

/// One undirected channel between nodes `a < b` (by index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphChannel {
    /// First endpoint.
    pub a: u32,
    /// Second endpoint.
    pub b: u32,
    /// The channel's id (for a merged channel: the smallest of the merged ones).
    pub scid: ShortChannelId,
    /// Capacity in millisatoshi (merged channels: the sum).
    pub capacity_msat: u64,
    /// Base fee in millisatoshi charged for forwarding a→b (`[0]`) and b→a (`[1]`).
    pub base_fee_msat: [u64; 2],
    /// Proportional fee in millionths, a→b and b→a.
    pub fee_ppm: [u64; 2],
    /// How many announced channels this one stands for (M02 merging).
    pub parts: u32,
}

/// One direction of a channel as seen from its tail node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arc {
    /// The other endpoint.
    pub head: u32,
    /// The arc id: `channel * 2 + dir`.
    pub id: u32,
}

/// How to build the simulated graph from a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Merge parallel channels between two nodes into one (M02). Default true.
    pub merge_parallel: bool,
    /// Keep only channels announced in both directions (as the paper's preparation does). When
    /// false (the default), a channel seen in one direction only gets that direction's fee
    /// policy for both: its balance exists either way, and `listchannels` omits a direction
    /// whose update is missing or was pruned.
    pub require_both_directions: bool,
    /// Keep only the largest connected component. Default true.
    pub largest_component: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            merge_parallel: true,
            require_both_directions: false,
            largest_component: true,
        }
    }
}

/// A channel graph ready for simulation.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Node ids (hex public keys, or `synth-N`), indexed by node.
    pub node_ids: Vec<String>,
    /// The channels.
    pub channels: Vec<GraphChannel>,
    adj_start: Vec<u32>,
    adj: Vec<Arc>,
}

#[derive(Deserialize)]
struct Dump {
    channels: Vec<DumpDirection>,
}

#[derive(Deserialize)]
struct DumpDirection {
    source: String,
    destination: String,
    short_channel_id: String,
    satoshis: u64,
    #[serde(default)]
    base_fee_millisatoshi: u64,
    #[serde(default)]
    fee_per_millionth: u64,
}

/// One channel direction as the dump lists it, in the dump's order: the input of preparations
/// that need what merging forgets (which record came first, each direction's own capacity),
/// such as the paper's (`crate::paper_input`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRecord {
    /// The sending node's id.
    pub source: String,
    /// The receiving node's id.
    pub destination: String,
    /// The channel's id.
    pub scid: ShortChannelId,
    /// The channel's capacity, sat.
    pub satoshis: u64,
    /// Base fee of this direction, msat.
    pub base_fee_msat: u64,
    /// Proportional fee of this direction, millionths.
    pub fee_ppm: u64,
}

impl Graph {
    /// Build from channels over `n` nodes (endpoints are normalised so `a < b`; self-loops are
    /// dropped).
    pub fn from_channels(node_ids: Vec<String>, mut channels: Vec<GraphChannel>) -> Self {
        let n = node_ids.len();
        channels.retain(|c| c.a != c.b && (c.a as usize) < n && (c.b as usize) < n);
        for c in &mut channels {
            if c.a > c.b {
                std::mem::swap(&mut c.a, &mut c.b);
                c.base_fee_msat.swap(0, 1);
                c.fee_ppm.swap(0, 1);
            }
        }
        let mut deg = vec![0u32; n + 1];
        for c in &channels {
            deg[c.a as usize] += 1;
            deg[c.b as usize] += 1;
        }
        let mut adj_start = vec![0u32; n + 1];
        for i in 0..n {
            adj_start[i + 1] = adj_start[i] + deg[i];
        }
        let mut fill = adj_start.clone();
        let mut adj = vec![Arc { head: 0, id: 0 }; adj_start[n] as usize];
        for (ci, c) in channels.iter().enumerate() {
            let ci = ci as u32;
            adj[fill[c.a as usize] as usize] = Arc {
                head: c.b,
                id: ci * 2,
            };
            fill[c.a as usize] += 1;
            adj[fill[c.b as usize] as usize] = Arc {
                head: c.a,
                id: ci * 2 + 1,
            };
            fill[c.b as usize] += 1;
        }
        Graph {
            node_ids,
            channels,
            adj_start,
            adj,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.node_ids.len()
    }

    /// Number of (merged) channels.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The arcs leaving `u` (one per channel of `u`).
    pub fn arcs(&self, u: u32) -> &[Arc] {
        &self.adj[self.adj_start[u as usize] as usize..self.adj_start[u as usize + 1] as usize]
    }

    /// Degree of `u`.
    pub fn degree(&self, u: u32) -> usize {
        self.arcs(u).len()
    }

    /// The tail (sender) of an arc.
    pub fn tail(&self, arc: u32) -> u32 {
        let c = &self.channels[(arc / 2) as usize];
        if arc.is_multiple_of(2) {
            c.a
        } else {
            c.b
        }
    }

    /// The head (receiver) of an arc.
    pub fn head(&self, arc: u32) -> u32 {
        let c = &self.channels[(arc / 2) as usize];
        if arc.is_multiple_of(2) {
            c.b
        } else {
            c.a
        }
    }

    /// The base fee of forwarding along an arc.
    pub fn base_fee(&self, arc: u32) -> u64 {
        self.channels[(arc / 2) as usize].base_fee_msat[(arc % 2) as usize]
    }

    /// Total capacity in millisatoshi.
    pub fn total_capacity_msat(&self) -> u128 {
        self.channels.iter().map(|c| c.capacity_msat as u128).sum()
    }

    /// Load a `listchannels` dump from a file; gzip is detected by its magic bytes.
    pub fn load_file(path: &Path, opts: LoadOptions) -> Result<Self, GraphError> {
        let bytes =
            std::fs::read(path).map_err(|e| GraphError::Io(format!("{}: {e}", path.display())))?;
        Self::load_bytes(&bytes, opts)
    }

    /// The shipped 2021 mainnet graph.
    pub fn load_default(opts: LoadOptions) -> Result<Self, GraphError> {
        Self::load_bytes(DEFAULT_GRAPH_GZ, opts)
    }

    /// Load a `listchannels` dump from bytes (plain JSON or gzip).
    pub fn load_bytes(bytes: &[u8], opts: LoadOptions) -> Result<Self, GraphError> {
        Self::from_records(Self::dump_records(bytes)?, opts)
    }

    fn parse_dump(bytes: &[u8]) -> Result<Dump, GraphError> {
        Ok(if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = Vec::new();
            // Every member of a concatenated gzip file, as `zcat` reads it.
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut s)
                .map_err(|e| GraphError::Io(format!("gzip: {e}")))?;
            serde_json::from_slice(&s).map_err(|e| GraphError::Json(e.to_string()))?
        } else {
            serde_json::from_slice(bytes).map_err(|e| GraphError::Json(e.to_string()))?
        })
    }

    /// The channel directions of a `listchannels` dump (plain JSON or gzip), in the dump's
    /// order.
    pub fn dump_records(bytes: &[u8]) -> Result<Vec<DumpRecord>, GraphError> {
        Self::records_of(Self::parse_dump(bytes)?)
    }

    fn records_of(dump: Dump) -> Result<Vec<DumpRecord>, GraphError> {
        dump.channels
            .into_iter()
            .map(|d| {
                let scid: ShortChannelId = d.short_channel_id.parse().map_err(|_| {
                    GraphError::Field(format!("short_channel_id {:?}", d.short_channel_id))
                })?;
                Ok(DumpRecord {
                    source: d.source,
                    destination: d.destination,
                    scid,
                    satoshis: d.satoshis,
                    base_fee_msat: d.base_fee_millisatoshi,
                    fee_ppm: d.fee_per_millionth,
                })
            })
            .collect()
    }

    /// Build from dump records as [`Self::load_bytes`] builds from a dump (so a caller can
    /// filter the records first, e.g. by the block that funded each channel).
    pub fn from_records(records: Vec<DumpRecord>, opts: LoadOptions) -> Result<Self, GraphError> {
        // scid -> (endpoints, capacity, per-direction fee policy when seen)
        type Policy = Option<(u64, u64)>;
        let mut by_scid: BTreeMap<u64, (String, String, u64, [Policy; 2])> = BTreeMap::new();
        for d in records {
            let (lo, hi, dir) = if d.source <= d.destination {
                (d.source, d.destination, 0)
            } else {
                (d.destination, d.source, 1)
            };
            let e = by_scid
                .entry(d.scid.to_u64())
                .or_insert_with(|| (lo.clone(), hi.clone(), d.satoshis, [None, None]));
            if e.0 != lo || e.1 != hi {
                return Err(GraphError::Field(format!(
                    "short_channel_id {} appears with two different node pairs",
                    d.scid
                )));
            }
            e.3[dir] = Some((d.base_fee_msat, d.fee_ppm));
        }
        let mut names: BTreeMap<String, u32> = BTreeMap::new();
        let mut kept = Vec::new();
        for (scid, (lo, hi, sat, pol)) in by_scid {
            if lo == hi || sat == 0 {
                continue;
            }
            let (p0, p1) = match pol {
                [Some(x), Some(y)] => (x, y),
                [Some(x), None] | [None, Some(x)] if !opts.require_both_directions => (x, x),
                _ => continue,
            };
            names.insert(lo.clone(), 0);
            names.insert(hi.clone(), 0);
            kept.push((scid, lo, hi, sat, p0, p1));
        }
        for (i, v) in names.values_mut().enumerate() {
            *v = i as u32;
        }
        let node_ids: Vec<String> = names.keys().cloned().collect();
        let channels: Vec<GraphChannel> = kept
            .into_iter()
            .map(|(scid, lo, hi, sat, p0, p1)| GraphChannel {
                a: names[&lo],
                b: names[&hi],
                scid: ShortChannelId::from_u64(scid),
                capacity_msat: sat.saturating_mul(1000),
                base_fee_msat: [p0.0, p1.0],
                fee_ppm: [p0.1, p1.1],
                parts: 1,
            })
            .collect();
        if channels.is_empty() {
            return Err(GraphError::Empty);
        }
        let mut g = Graph::from_channels(node_ids, channels);
        if opts.merge_parallel {
            g = g.merge_parallel();
        }
        if opts.largest_component {
            g = g.largest_component();
        }
        Ok(g)
    }

    /// Merge parallel channels into one (M02): capacities add up, the smallest scid names the
    /// merged channel, and each direction keeps the cheapest base fee (the one a sender would
    /// pick).
    pub fn merge_parallel(self) -> Self {
        let mut by_pair: BTreeMap<(u32, u32), GraphChannel> = BTreeMap::new();
        for c in self.channels {
            match by_pair.entry((c.a, c.b)) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(c);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let m = o.get_mut();
                    m.capacity_msat = m.capacity_msat.saturating_add(c.capacity_msat);
                    if c.scid.to_u64() < m.scid.to_u64() {
                        m.scid = c.scid;
                    }
                    for d in 0..2 {
                        if c.base_fee_msat[d] < m.base_fee_msat[d] {
                            m.base_fee_msat[d] = c.base_fee_msat[d];
                            m.fee_ppm[d] = c.fee_ppm[d];
                        }
                    }
                    m.parts += c.parts;
                }
            }
        }
        Graph::from_channels(self.node_ids, by_pair.into_values().collect())
    }

    /// Components (undirected), as a component index per node; the index of the largest.
    fn components(&self) -> (Vec<u32>, u32) {
        self.flood_components(0..self.node_count() as u32, |_| true)
    }

    /// Labels nodes by flooding: seeds are taken in `seeds` order, each one not yet labelled
    /// opens a component, which takes every node reachable over arcs `follow` accepts (an arc
    /// id, seen from its tail). Returns the component index per node (`u32::MAX`: never
    /// reached) and the index of the largest (ties to the lowest, deterministically).
    pub(crate) fn flood_components(
        &self,
        seeds: impl IntoIterator<Item = u32>,
        follow: impl Fn(u32) -> bool,
    ) -> (Vec<u32>, u32) {
        let mut comp = vec![u32::MAX; self.node_count()];
        let mut sizes: Vec<usize> = Vec::new();
        let mut stack = Vec::new();
        for s in seeds {
            if comp[s as usize] != u32::MAX {
                continue;
            }
            let id = sizes.len() as u32;
            comp[s as usize] = id;
            stack.push(s);
            let mut size = 0usize;
            while let Some(u) = stack.pop() {
                size += 1;
                for a in self.arcs(u) {
                    if comp[a.head as usize] == u32::MAX && follow(a.id) {
                        comp[a.head as usize] = id;
                        stack.push(a.head);
                    }
                }
            }
            sizes.push(size);
        }
        let best = (0..sizes.len())
            .max_by_key(|&i| (sizes[i], std::cmp::Reverse(i)))
            .unwrap_or(0) as u32;
        (comp, best)
    }

    /// Keep only the largest connected component.
    pub fn largest_component(self) -> Self {
        let (comp, best) = self.components();
        let keep: Vec<bool> = comp.iter().map(|&c| c == best).collect();
        self.subgraph(&keep).0
    }

    /// The subgraph induced by the nodes with `keep[u]`; also returns, for each new channel, the
    /// index of the channel it came from (to carry balances over).
    pub fn subgraph(&self, keep: &[bool]) -> (Self, Vec<u32>) {
        let mut new_index = vec![u32::MAX; self.node_count()];
        let mut ids = Vec::new();
        for (u, k) in keep.iter().enumerate() {
            if *k {
                new_index[u] = ids.len() as u32;
                ids.push(self.node_ids[u].clone());
            }
        }
        let mut chans = Vec::new();
        let mut origin = Vec::new();
        for (ci, c) in self.channels.iter().enumerate() {
            let (a, b) = (new_index[c.a as usize], new_index[c.b as usize]);
            if a != u32::MAX && b != u32::MAX {
                let mut c = c.clone();
                c.a = a;
                c.b = b;
                chans.push(c);
                origin.push(ci as u32);
            }
        }
        // Index order is preserved, so `a < b` still holds and `from_channels` swaps nothing:
        // `origin` stays aligned with the channels.
        (Graph::from_channels(ids, chans), origin)
    }

    /// A seeded Barabási–Albert scale-free graph: start from a clique of `m + 1` nodes, then
    /// each new node opens `m` channels to distinct existing nodes picked with probability
    /// proportional to their degree. Capacities are log-uniform between 10⁵ and 10⁸ sat
    /// (roughly the span of mainnet channels); base fees uniform in {0, 1, …, 1000} msat.
    pub fn barabasi_albert(n: usize, m: usize, seed: u64) -> Self {
        let m = m.max(1);
        let n = n.max(m + 1);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut endpoints: Vec<u32> = Vec::new(); // each channel's two endpoints, for degree-proportional picks
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for i in 0..=m as u32 {
            for j in 0..i {
                pairs.push((j, i));
                endpoints.extend([j, i]);
            }
        }
        let mut picked: Vec<u32> = Vec::with_capacity(m);
        for v in (m as u32 + 1)..n as u32 {
            picked.clear();
            while picked.len() < m {
                let t = endpoints[rng.gen_range(0..endpoints.len())];
                if !picked.contains(&t) {
                    picked.push(t);
                }
            }
            for &t in &picked {
                pairs.push((t, v));
                endpoints.extend([t, v]);
            }
        }
        let channels = pairs
            .into_iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let exp: f64 = rng.gen_range(5.0..8.0);
                let sat = 10f64.powf(exp) as u64;
                GraphChannel {
                    a,
                    b,
                    // Synthetic ids: block 1, tx index i / 65536, output i % 65536.
                    scid: ShortChannelId::from_u64((1u64 << 40) | i as u64),
                    capacity_msat: sat * 1000,
                    base_fee_msat: [rng.gen_range(0..=1000), rng.gen_range(0..=1000)],
                    fee_ppm: [rng.gen_range(0..=1000), rng.gen_range(0..=1000)],
                    parts: 1,
                }
            })
            .collect();
        let ids = (0..n).map(|i| format!("synth-{i}")).collect();
        Graph::from_channels(ids, channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(s: &str, d: &str, scid: &str, sat: u64, base: u64) -> String {
        format!(
            r#"{{"source":"{s}","destination":"{d}","short_channel_id":"{scid}","satoshis":{sat},"base_fee_millisatoshi":{base},"fee_per_millionth":1,"active":true}}"#
        )
    }

    pub(crate) fn small_dump() -> String {
        let dirs = [
            dir("aa", "bb", "1x1x0", 100, 1),
            dir("bb", "aa", "1x1x0", 100, 2),
            // parallel channel aa-bb (M02)
            dir("aa", "bb", "1x2x0", 50, 0),
            dir("bb", "aa", "1x2x0", 50, 5),
            dir("bb", "cc", "1x3x0", 200, 1),
            dir("cc", "bb", "1x3x0", 200, 1),
            // one direction only: dropped by default
            dir("cc", "dd", "1x4x0", 10, 1),
            // a separate component
            dir("ee", "ff", "1x5x0", 10, 1),
            dir("ff", "ee", "1x5x0", 10, 1),
        ];
        format!(r#"{{"channels":[{}]}}"#, dirs.join(","))
    }

    // R: M02
    #[test]
    fn parallel_channels_merge_and_largest_component_is_kept() {
        let both = LoadOptions {
            require_both_directions: true,
            ..LoadOptions::default()
        };
        let g = Graph::load_bytes(small_dump().as_bytes(), both).unwrap();
        assert_eq!(g.node_ids, ["aa", "bb", "cc"]);
        assert_eq!(g.channel_count(), 2);
        let ab = &g.channels[0];
        assert_eq!((ab.capacity_msat, ab.parts), (150_000, 2));
        assert_eq!(ab.scid.to_string(), "1x1x0");
        assert_eq!(ab.base_fee_msat, [0, 2]);
        let unmerged = Graph::load_bytes(
            small_dump().as_bytes(),
            LoadOptions {
                merge_parallel: false,
                ..both
            },
        )
        .unwrap();
        assert_eq!(unmerged.channel_count(), 3);
        // By default the one-direction channel cc-dd counts (with its one fee policy).
        let dflt = Graph::load_bytes(small_dump().as_bytes(), LoadOptions::default()).unwrap();
        assert_eq!(dflt.node_ids, ["aa", "bb", "cc", "dd"]);
        assert_eq!(dflt.channels[2].base_fee_msat, [1, 1]);
        let all = Graph::load_bytes(
            small_dump().as_bytes(),
            LoadOptions {
                require_both_directions: false,
                largest_component: false,
                merge_parallel: true,
            },
        )
        .unwrap();
        assert_eq!(all.node_count(), 6);
        assert_eq!(all.channel_count(), 4);
    }

    #[test]
    fn gzip_and_plain_load_the_same_graph() {
        use std::io::Write;
        let plain = small_dump();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(plain.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let a = Graph::load_bytes(plain.as_bytes(), LoadOptions::default()).unwrap();
        let b = Graph::load_bytes(&gz, LoadOptions::default()).unwrap();
        assert_eq!(a.channels, b.channels);
        assert_eq!(a.node_ids, b.node_ids);
        // A concatenated (multi-member) gzip file, as `cat a.gz b.gz` or pigz makes: read
        // whole, as zcat does, not cut after the first member.
        let (head, tail) = plain.split_at(plain.len() / 2);
        let mut multi = Vec::new();
        for part in [head, tail] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(part.as_bytes()).unwrap();
            multi.extend(enc.finish().unwrap());
        }
        let c = Graph::load_bytes(&multi, LoadOptions::default()).unwrap();
        assert_eq!(a.channels, c.channels);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            Graph::load_bytes(b"{\"nodes\": []}", LoadOptions::default()),
            Err(GraphError::Json(_))
        ));
        assert!(matches!(
            Graph::load_bytes(b"{\"channels\": []}", LoadOptions::default()),
            Err(GraphError::Empty)
        ));
        let bad = format!(r#"{{"channels":[{}]}}"#, dir("a", "b", "nope", 1, 1));
        assert!(matches!(
            Graph::load_bytes(bad.as_bytes(), LoadOptions::default()),
            Err(GraphError::Field(_))
        ));
        assert!(matches!(
            Graph::load_bytes(&[0x1f, 0x8b, 0, 1], LoadOptions::default()),
            Err(GraphError::Io(_))
        ));
    }

    #[test]
    fn shipped_subgraph_and_default_graph_load() {
        let top20 = Graph::load_bytes(
            include_bytes!("../../../data/topo-20210416-top20-subgraph.json"),
            LoadOptions {
                require_both_directions: true,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        // One of the 20 nodes has only channels announced in one direction here.
        assert_eq!(top20.node_count(), 19);
        let all20 = Graph::load_bytes(
            include_bytes!("../../../data/topo-20210416-top20-subgraph.json"),
            LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(all20.node_count(), 20);
        let g = Graph::load_default(LoadOptions {
            merge_parallel: false,
            require_both_directions: false,
            largest_component: false,
        })
        .unwrap();
        // data/README.md: 37,454 channels among 8,827 nodes.
        assert_eq!(g.channel_count(), 37_454);
        assert_eq!(g.node_count(), 8_827);
        // … and a largest component of 8,776 nodes.
        assert_eq!(g.largest_component().node_count(), 8_776);
    }

    #[test]
    fn barabasi_albert_is_seeded_and_connected() {
        let a = Graph::barabasi_albert(500, 3, 7);
        let b = Graph::barabasi_albert(500, 3, 7);
        assert_eq!(a.channels, b.channels);
        assert_ne!(a.channels, Graph::barabasi_albert(500, 3, 8).channels);
        assert_eq!(a.channel_count(), 6 + 3 * (500 - 4));
        assert_eq!(a.clone().largest_component().node_count(), 500);
        // Scale-free: the best-connected node has far more than the mean degree (6).
        let max_deg = (0..500).map(|u| a.degree(u)).max().unwrap();
        assert!(max_deg > 30, "max degree {max_deg}");
    }
}
