//! CIDR carving (LANGUAGE.md "Carving"): the one algorithm that both the checks
//! (E404, E405) and the emitters use.
//!
//! A network CIDR is split into four equal blocks: ingress, runtime, persistence,
//! spare. Each segment is split into 2^⌈log2 zones⌉ equal subnets, of which the
//! first `zones` are used, one per zone. Subnets smaller than /28 are refused.
//!
//! An environment whose services declare `egress` also gets one AWS Network Firewall
//! subnet per zone: the first `zones` /28s of the spare block ([`firewall_subnets`]),
//! leaving the rest of that block spare.

use ipnet::Ipv4Net;

/// The smallest subnet AWS accepts (and so the smallest a zone may get).
pub const MIN_SUBNET_PREFIX: u8 = 28;

/// The block of `network` that a segment gets when its CIDR is not written:
/// index 0 ingress, 1 runtime, 2 persistence (3 is the spare block).
/// `None` when the network is too small to be split in four.
pub fn segment_block(network: Ipv4Net, index: usize) -> Option<Ipv4Net> {
    let prefix = network.prefix_len().checked_add(2).filter(|p| *p <= 32)?;
    network.subnets(prefix).ok()?.nth(index)
}

/// How many bits a segment's prefix grows by to give every zone its own subnet.
pub fn zone_bits(zones: u8) -> u8 {
    let zones = u32::from(zones.max(1));
    (u32::BITS - (zones - 1).leading_zeros()) as u8
}

/// The per-zone subnets of a segment: the first `zones` of its 2^⌈log2 zones⌉ equal
/// parts. `None` when a subnet would be smaller than /28.
pub fn zone_subnets(segment: Ipv4Net, zones: u8) -> Option<Vec<Ipv4Net>> {
    let prefix = segment.prefix_len() + zone_bits(zones);
    if prefix > MIN_SUBNET_PREFIX {
        return None;
    }
    Some(segment.subnets(prefix).ok()?.take(usize::from(zones.max(1))).collect())
}

/// The index of the spare block in [`segment_block`]: where firewall subnets are carved.
pub const SPARE_BLOCK: usize = 3;

/// The per-zone Network Firewall subnets of a network: the first `zones` /28s of its
/// spare block (a firewall endpoint needs no more than a /28, the smallest subnet AWS
/// accepts). `None` when the spare block does not hold `zones` /28s.
pub fn firewall_subnets(network: Ipv4Net, zones: u8) -> Option<Vec<Ipv4Net>> {
    let spare = segment_block(network, SPARE_BLOCK)?;
    if spare.prefix_len() + zone_bits(zones) > MIN_SUBNET_PREFIX {
        return None;
    }
    Some(spare.subnets(MIN_SUBNET_PREFIX).ok()?.take(usize::from(zones.max(1))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("test CIDR")
    }

    #[test]
    fn splits_network_in_four_blocks() {
        let n = net("10.30.0.0/16");
        assert_eq!(segment_block(n, 0), Some(net("10.30.0.0/18")));
        assert_eq!(segment_block(n, 1), Some(net("10.30.64.0/18")));
        assert_eq!(segment_block(n, 2), Some(net("10.30.128.0/18")));
        assert_eq!(segment_block(net("10.0.0.0/31"), 0), None);
    }

    #[test]
    fn zone_bits_round_up_to_a_power_of_two() {
        assert_eq!([1, 2, 3, 4, 5, 6].map(zone_bits), [0, 1, 2, 2, 3, 3]);
    }

    #[test]
    fn three_zones_use_the_first_three_quarters() {
        let subnets = zone_subnets(net("10.30.64.0/18"), 3).expect("fits");
        assert_eq!(subnets, vec![net("10.30.64.0/20"), net("10.30.80.0/20"), net("10.30.96.0/20")]);
    }

    #[test]
    fn refuses_subnets_smaller_than_a_28() {
        assert!(zone_subnets(net("10.0.0.0/27"), 2).is_some());
        assert!(zone_subnets(net("10.0.0.0/27"), 3).is_none());
    }

    #[test]
    fn firewall_subnets_are_the_first_28s_of_the_spare_block() {
        let subnets = firewall_subnets(net("10.30.0.0/16"), 3).expect("fits");
        assert_eq!(subnets, vec![net("10.30.192.0/28"), net("10.30.192.16/28"), net("10.30.192.32/28")]);
        for (i, block) in (0..3).filter_map(|i| segment_block(net("10.30.0.0/16"), i)).enumerate() {
            assert!(subnets.iter().all(|s| !block.contains(&s.network())), "segment {i} is disjoint");
        }
    }

    #[test]
    fn firewall_subnets_need_a_28_per_zone() {
        assert_eq!(firewall_subnets(net("10.0.0.0/26"), 1), Some(vec![net("10.0.0.48/28")]));
        assert_eq!(firewall_subnets(net("10.0.0.0/26"), 2), None, "the spare block is one /28");
        assert_eq!(firewall_subnets(net("10.0.0.0/25"), 2).map(|s| s.len()), Some(2));
    }
}
