# Sourced by benches/bench.sh and benches/workloads.sh: the private network namespace the
# SIPp captures are made in.

# bench_netns_up NS: creates namespace NS with lo up. SIPp's pcap playback has no socket
# and SIPp binds only the first call's media port, so every other RTP packet would draw
# an ICMP port unreachable: those are dropped before they reach lo (and the capture).
bench_netns_up() {
    local ns=$1
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" nft -f - <<'NFT'
table inet bench {
    chain out {
        type filter hook output priority 0; policy accept;
        icmp type destination-unreachable drop
        icmpv6 type destination-unreachable drop
    }
}
NFT
}
