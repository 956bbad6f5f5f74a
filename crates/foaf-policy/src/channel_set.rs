//! Our channels as the node holds them for answering queries: sorted by peer, grouped per
//! peer with each group's totals (M02) and connectivity (A04), the target ratio ν (M01), and
//! an scid index of the channels a reply may list (A08). Kept up to date in place as balances
//! and connections change, so answering a query touches no map (`reply.rs` reads it).

use foaf_wire::ShortChannelId;

use crate::model::{Channel, ChannelState, PeerKey};

/// One peer's channels inside a [`ChannelSet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The channels are `set.channels()[start..end]`.
    pub start: usize,
    /// End of the range (exclusive).
    pub end: usize,
    /// Σ local over the group's `Normal`, announced channels.
    pub local: u128,
    /// Σ capacity over the same channels.
    pub capacity: u128,
    /// Whether the transport to the peer is up (A04).
    pub connected: bool,
}

/// Our channels as the reply policy sees them: sorted by `(peer, scid)`, grouped by peer with
/// each group's totals and connectivity, and the node's target ratio ν. Built when channels
/// change, updated when peers connect, so answering a query touches no map.
#[derive(Debug, Clone)]
pub struct ChannelSet<P> {
    channels: Vec<Channel<P>>,
    groups: Vec<Group>,
    nu: (u128, u128),
    /// The listable channels (`Normal`, announced) as (scid, group index), sorted by scid: a
    /// reply is a filter of this list, already in order, so answering needs no sort.
    listable: Vec<(u64, u32)>,
}

impl<P: PeerKey> Default for ChannelSet<P> {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl<P: PeerKey> ChannelSet<P> {
    /// Sorts and groups `channels` (every peer starts disconnected; see
    /// [`ChannelSet::set_connected`]).
    pub fn new(mut channels: Vec<Channel<P>>) -> Self {
        channels.sort_by(|a, b| (&a.peer, a.scid).cmp(&(&b.peer, b.scid)));
        let mut groups = Vec::new();
        let mut start = 0;
        for run in channels.chunk_by(|a, b| a.peer == b.peer) {
            let (local, capacity) = totals(
                run.iter()
                    .filter(|c| c.state == ChannelState::Normal && c.announced),
            );
            groups.push(Group {
                start,
                end: start + run.len(),
                local,
                capacity,
                connected: false,
            });
            start += run.len();
        }
        let nu = totals(channels.iter().filter(|c| c.state == ChannelState::Normal));
        let mut listable: Vec<(u64, u32)> = groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| {
                channels[g.start..g.end]
                    .iter()
                    .filter(|c| c.state == ChannelState::Normal && c.announced)
                    .map(move |c| (c.scid.to_u64(), i as u32))
            })
            .collect();
        listable.sort_unstable();
        Self {
            channels,
            groups,
            nu,
            listable,
        }
    }

    /// All channels, sorted by `(peer, scid)`.
    pub fn channels(&self) -> &[Channel<P>] {
        &self.channels
    }

    /// The groups, in peer order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The channels of a group.
    pub fn members(&self, g: &Group) -> &[Channel<P>] {
        &self.channels[g.start..g.end]
    }

    /// The group's peer.
    pub fn peer(&self, g: &Group) -> &P {
        &self.channels[g.start].peer
    }

    /// ν as the exact fraction (Σ local, Σ capacity) over active channels.
    pub fn nu(&self) -> (u128, u128) {
        self.nu
    }

    /// Our listable channel `scid` (`Normal`, announced), found through the scid index.
    pub fn listable_channel(&self, scid: ShortChannelId) -> Option<&Channel<P>> {
        let s = scid.to_u64();
        let i = self.listable.binary_search_by_key(&s, |&(x, _)| x).ok()?;
        let g = &self.groups[self.listable[i].1 as usize];
        let members = &self.channels[g.start..g.end];
        let k = members.binary_search_by(|c| c.scid.cmp(&scid)).ok()?;
        Some(&members[k])
    }

    /// The listable channels as (scid as u64, group index), sorted by scid: the reply policy
    /// filters this list, already in order.
    pub(crate) fn listable_index(&self) -> &[(u64, u32)] {
        &self.listable
    }

    /// Index of `peer`'s group.
    pub fn group_of(&self, peer: &P) -> Option<usize> {
        self.groups
            .binary_search_by(|g| self.channels[g.start].peer.cmp(peer))
            .ok()
    }

    /// Records whether the transport to `peer` is up (no-op for a peer without channels).
    pub fn set_connected(&mut self, peer: &P, connected: bool) {
        if let Some(i) = self.group_of(peer) {
            self.groups[i].connected = connected;
        }
    }

    /// Marks every peer connected or not.
    pub fn set_all_connected(&mut self, connected: bool) {
        for g in &mut self.groups {
            g.connected = connected;
        }
    }

    /// Sets the local balance of our channel `scid` with `peer`, keeping the group's totals
    /// and ν exact: the cheap update for a balance change (a payment or a rebalance), where
    /// [`ChannelSet::new`] would regroup every channel. False when there is no such channel.
    pub fn set_local(&mut self, peer: &P, scid: ShortChannelId, local_msat: u64) -> bool {
        let Some(gi) = self.group_of(peer) else {
            return false;
        };
        let g = &mut self.groups[gi];
        let Ok(k) = self.channels[g.start..g.end].binary_search_by(|c| c.scid.cmp(&scid)) else {
            return false;
        };
        let c = &mut self.channels[g.start + k];
        let old = u128::from(c.local_msat.min(c.capacity_msat));
        let new = u128::from(local_msat.min(c.capacity_msat));
        c.local_msat = local_msat;
        if c.state == ChannelState::Normal {
            self.nu.0 = self.nu.0 - old + new;
            if c.announced {
                g.local = g.local - old + new;
            }
        }
        true
    }
}

pub(crate) fn totals<'a, P: 'a>(channels: impl Iterator<Item = &'a Channel<P>>) -> (u128, u128) {
    channels.fold((0, 0), |(l, k), c| {
        (
            l + u128::from(c.local_msat.min(c.capacity_msat)),
            k + u128::from(c.capacity_msat),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ch, scid};

    /// The in-place balance update gives exactly the set a full rebuild gives: channel
    /// copies, per-peer totals over `Normal` announced channels, and ν over `Normal` ones.
    // R: M02
    #[test]
    fn set_local_matches_a_rebuild() {
        let mut chans = vec![
            ch("a", 1, 1_000, 900),
            ch("a", 2, 3_000, 100), // parallel channel to a
            ch("b", 3, 2_000, 2_000),
            ch("c", 4, 500, 0),
        ];
        chans[3].announced = false;
        chans.push(Channel {
            state: ChannelState::Closing,
            ..ch("b", 5, 700, 300)
        });
        let mut set = ChannelSet::new(chans.clone());
        set.set_connected(&"a".to_string(), true);
        for (i, new_local) in [(0, 100), (1, 2_900), (2, 0), (3, 500), (4, 0), (2, 5_000)] {
            let c = &mut chans[i];
            c.local_msat = new_local;
            assert!(set.set_local(&c.peer.clone(), c.scid, new_local));
            let mut fresh = ChannelSet::new(chans.clone());
            fresh.set_connected(&"a".to_string(), true);
            assert_eq!(set.channels(), fresh.channels());
            assert_eq!(set.groups(), fresh.groups());
            assert_eq!(set.nu(), fresh.nu());
        }
        // Not ours: nothing changes.
        assert!(!set.set_local(&"a".to_string(), scid(3), 1));
        assert!(!set.set_local(&"z".to_string(), scid(1), 1));
        // The scid index finds listable channels only (normal and announced).
        assert_eq!(set.listable_channel(scid(2)), Some(&chans[1]));
        assert_eq!(set.listable_channel(scid(3)), Some(&chans[2]));
        for not_listable in [4, 5, 9] {
            assert_eq!(set.listable_channel(scid(not_listable)), None);
        }
    }
}
