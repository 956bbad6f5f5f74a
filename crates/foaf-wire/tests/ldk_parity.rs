//! The benchmark compares our reply with LDK's `query_short_channel_ids`: this checks the
//! comparison is apples to apples, i.e. both put the same scids on the wire as the same bytes
//! (BOLT #7 u64, big-endian), and each decodes the other's list.

use foaf_wire::{ChainHash, Message, ReplyFoafBalances, ShortChannelId, TlvStream};
use lightning::ln::msgs::QueryShortChannelIds;
use lightning::util::ser::{LengthReadable, Writeable};

// R: W04 (short_channel_id is the BOLT #7 u64), W02 (`len*u64 short_channel_id`)
#[test]
fn scid_list_bytes_identical_to_ldk() {
    let ids: Vec<ShortChannelId> = (0..1000u32)
        .map(|i| ShortChannelId::new(539_268 + i * 7, 845 + i, (i % 5) as u16).unwrap())
        .collect();
    let ours = Message::Reply(ReplyFoafBalances {
        chain_hash: ChainHash::BITCOIN,
        flow_value: 1,
        timestamp: 0,
        amt_to_rebalance: 0,
        short_channel_ids: ids.clone(),
        tlvs: TlvStream::new(),
    })
    .encode()
    .unwrap();
    let ldk = QueryShortChannelIds {
        chain_hash: lightning::bitcoin::constants::ChainHash::BITCOIN,
        short_channel_ids: ids.iter().map(|s| s.to_u64()).collect(),
    }
    .encode();
    // Ours: type(2) chain_hash(32) flow(1) timestamp(8) amt(8) len(2), then the ids.
    // LDK's: chain_hash(32) encoding_len(2) encoding_type(1), then the ids.
    assert_eq!(ours.len() - 53, 8000);
    assert_eq!(ours[53..], ldk[35..]);
    // Same chain hash bytes too.
    assert_eq!(ours[2..34], ldk[..32]);
    // And LDK reads back our list as the same u64s.
    let back = QueryShortChannelIds::read_from_fixed_length_buffer(&mut &ldk[..]).unwrap();
    let ours_u64: Vec<u64> = ids.iter().map(|s| s.to_u64()).collect();
    assert_eq!(back.short_channel_ids, ours_u64);
}
