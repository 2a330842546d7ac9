#!/usr/bin/env bash
# Regenerate every capture in samples/ with real programs: SIPp on both sides
# (scenarios in scripts/sipp/), tcpdump or dumpcap capturing, each sample in
# network namespaces created here (so no other traffic leaks in and nothing is
# sent anywhere but to those namespaces), then writes <sample>.tshark.json with
# tshark's reference counts. Idempotent; needs root; takes about a minute.
#
# usage: sudo scripts/make-samples.sh [SAMPLE...]   (default: all)
# Needs: sipp (sip-tester), tcpdump, tshark, dumpcap, editcap, ethtool,
# iproute2, python3, gzip.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIPP_DIR=$ROOT/scripts/sipp
OUT=$ROOT/samples
AUDIO_SRC=${AUDIO_SRC:-/usr/share/sip-tester/g711a.pcap}
P="slx$$"            # namespace prefix: only namespaces we create are touched
WORK=""
BG_PIDS=()

die() { echo "make-samples: ERROR: $*" >&2; exit 1; }
log() { echo "make-samples: $*" >&2; }
trap 'echo "make-samples: FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

cleanup() {
    local pid ns
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for ns in $(ip netns list | awk '{print $1}'); do
        [[ $ns == "$P"-* ]] && ip netns del "$ns"
    done
    [[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $EUID -eq 0 ]] || die "must run as root (network namespaces, captures)"
for cmd in sipp svmap tcpdump tshark dumpcap editcap capinfos ethtool ip python3 gzip timeout; do
    command -v "$cmd" >/dev/null || die "missing command: $cmd"
done
[[ -r $AUDIO_SRC ]] || die "missing $AUDIO_SRC (package sip-tester)"

WORK=$(mktemp -d /tmp/siplens-samples.XXXXXX)
mkdir -p "$OUT"
# 2.5 s of G.711 A-law RTP (the stock file is 7 s) keeps the samples small.
editcap -F pcap -r "$AUDIO_SRC" "$WORK/audio.pcap" 1-90 >/dev/null
# the answerer plays the same audio under another SSRC
python3 "$ROOT/scripts/rewrite-ssrc.py" "$WORK/audio.pcap" "$WORK/audio-uas.pcap" 5151AB1E

# ---------------------------------------------------------------- helpers ---

# ns_new NAME [v6]: namespace with lo up; IPv6 off unless v6 (no ND/MLD noise).
ns_new() {
    local ns=$P-$1
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    if [[ ${2:-} == v6 ]]; then
        # no link-local autoconf: only our ULA addresses appear on the wire
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.addr_gen_mode=1
    else
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1
    fi
}

nsx() { local ns=$P-$1; shift; ip netns exec "$ns" "$@"; }

# Offloads off so captures show wire-sized packets with real checksums.
no_offload() { nsx "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true; }

# veth NS_A IF_A NS_B IF_B [MTU]
veth() {
    local mtu=${5:-1500}
    ip link add "$2" netns "$P-$1" mtu "$mtu" type veth peer name "$4" netns "$P-$3" mtu "$mtu"
    no_offload "$1" "$2"
    no_offload "$3" "$4"
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}

# cap_start NS FILE TOOL ARGS...  (TOOL = tcpdump | dumpcap); sets CAP_PID
cap_start() {
    local ns=$1 file=$2 tool=$3 i
    shift 3
    CAP_LOG=$WORK/$(basename "$file").log
    rm -f "$file"
    # exec'd directly (no function subshell) so that $! is the capture
    # process and SIGTERM reaches it; background jobs ignore SIGINT.
    if [[ $tool == tcpdump ]]; then
        ip netns exec "$P-$ns" timeout 120 tcpdump -Z root -n -s 0 -U --immediate-mode -B 4096 "$@" -w "$file" 2>"$CAP_LOG" &
    else
        ip netns exec "$P-$ns" timeout 120 dumpcap -q -s 0 "$@" -w "$file" 2>"$CAP_LOG" &
    fi
    CAP_PID=$!
    BG_PIDS+=("$CAP_PID")
    for i in $(seq 100); do
        grep -qE "listening on|Capturing on" "$CAP_LOG" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$CAP_LOG" >&2
    die "capture did not start: $file"
}

cap_stop() {
    local file=$1
    # dumpcap has no immediate mode: give its ring-buffer block timeout time
    sleep 1.2
    kill -TERM "$CAP_PID"
    wait "$CAP_PID" || true
    if grep -q "dropped by kernel" "$CAP_LOG"; then
        grep -q "^0 packets dropped by kernel" "$CAP_LOG" || { cat "$CAP_LOG" >&2; die "capture dropped packets: $file"; }
    fi
    [[ -s $file ]] || die "empty capture: $file"
}

# uas NS SCENARIO SIPP-ARGS...  (background, one call, bounded); sets UAS_PID
uas() {
    local ns=$1 sf=$2
    shift 2
    (cd "$WORK" && exec ip netns exec "$P-$ns" timeout 60 sipp -sf "$SIPP_DIR/$sf" -m 1 \
        -nostdin -timeout 40s -timeout_error -trace_err "$@") >"$WORK/uas.out" 2>&1 &
    UAS_PID=$!
    BG_PIDS+=("$UAS_PID")
    sleep 0.5
}

# uac NS SCENARIO SIPP-ARGS... (foreground, bounded, fails loudly)
uac() {
    local ns=$1 sf=$2
    shift 2
    if ! (cd "$WORK" && ip netns exec "$P-$ns" timeout 60 sipp -sf "$SIPP_DIR/$sf" \
        -nostdin -timeout 40s -timeout_error -trace_err "$@") >"$WORK/uac.out" 2>&1; then
        tail -30 "$WORK/uac.out" >&2
        cat "$WORK"/*_errors.log >&2 2>/dev/null || true
        die "sipp uac $sf failed"
    fi
}

uas_wait() {
    if ! wait "$UAS_PID"; then
        tail -30 "$WORK/uas.out" >&2
        cat "$WORK"/*_errors.log >&2 2>/dev/null || true
        die "sipp uas failed"
    fi
}

# finish NAME: write NAME.tshark.json beside the sample and print a summary.
finish() {
    local f=$OUT/$1
    chmod 644 "$f"
    python3 "$ROOT/scripts/tshark-stats.py" "$f" >"$f.tshark.json"
    log "$(printf '%-28s %8s bytes  %s' "$1" "$(stat -c %s "$f")" "$(cat "$f.tshark.json")")"
}

# expect NAME FILTER MIN: fail unless at least MIN frames match a tshark filter.
expect() {
    local n
    n=$(tshark -n -r "$OUT/$1" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l)
    ((n >= $3)) || die "$1: expected >= $3 frames matching '$2', got $n"
}

# two_hosts NAME MTU [v6]: namespaces NAME-a / NAME-b joined by veth a0 <-> b0,
# 10.254.N.1/.2 or fd00:5eed:N::1/::2.
NET=0
two_hosts() {
    NET=$((NET + 1))
    ns_new "$1-a" "${3:-}"
    ns_new "$1-b" "${3:-}"
    veth "$1-a" a0 "$1-b" b0 "$2"
    if [[ ${3:-} == v6 ]]; then
        nsx "$1-a" ip addr add "fd00:5eed:$NET::1/64" dev a0 nodad
        nsx "$1-b" ip addr add "fd00:5eed:$NET::2/64" dev b0 nodad
        A_IP=fd00:5eed:$NET::1 B_IP=fd00:5eed:$NET::2
    else
        nsx "$1-a" ip addr add "10.254.$NET.1/24" dev a0
        nsx "$1-b" ip addr add "10.254.$NET.2/24" dev b0
        A_IP=10.254.$NET.1 B_IP=10.254.$NET.2
    fi
}

# sipp_ip ADDR: sipp's remote host syntax (brackets for IPv6).
sipp_host() { if [[ $1 == *:* ]]; then echo "[$1]"; else echo "$1"; fi; }

# call_pair NS_UAC NS_UAC_IP NS_UAS NS_UAS_IP UAC_SCENARIO UAS_SCENARIO [EXTRA...]
call_pair() {
    local nc=$1 ic=$2 ns=$3 is=$4 sc=$5 ss=$6
    shift 6
    uas "$ns" "$ss" -i "$is" -p 5060 -mi "$is" -mp 16000 "$@"
    uac "$nc" "$sc" -i "$ic" -p 5060 -mi "$ic" -mp 17000 -m 1 -d 2800 "$@" "$(sipp_host "$is"):5060"
    uas_wait
}

# ---------------------------------------------------------------- samples ---

sample_basic_call_rtp() {
    local f=$OUT/basic-call-rtp.pcap
    ns_new lo1
    cap_start lo1 "$f" tcpdump -i lo
    uas lo1 uas-call.xml -i 127.0.0.1 -p 5060 -mi 127.0.0.1 -mp 16000
    uac lo1 uac-call.xml -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 17000 -m 1 -d 2800 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    expect basic-call-rtp.pcap 'rtp && udp.dstport == 16000' 80
    expect basic-call-rtp.pcap 'rtp && udp.dstport == 17000' 80
    finish basic-call-rtp.pcap
    gzip -9 -n -c "$f" >"$f.gz"
    # same counts; tshark reads .gz transparently
    python3 "$ROOT/scripts/tshark-stats.py" "$f.gz" >"$f.gz.tshark.json"
    cmp -s "$f.tshark.json" "$f.gz.tshark.json" || die "gzip sample counts differ"
    log "$(printf '%-28s %8s bytes' basic-call-rtp.pcap.gz "$(stat -c %s "$f.gz")")"
}

sample_register_digest() {
    local f=$OUT/register-digest.pcap
    ns_new lo2
    cap_start lo2 "$f" tcpdump -i lo
    uas lo2 uas-register.xml -i 127.0.0.1 -p 5060
    uac lo2 uac-register.xml -i 127.0.0.1 -p 5070 -m 1 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    expect register-digest.pcap 'sip.Status-Code == 401 && sip.WWW-Authenticate' 1
    expect register-digest.pcap 'sip.Method == "REGISTER" && sip.Authorization contains "response="' 1
    expect register-digest.pcap 'sip.Status-Code == 200' 1
    python3 "$ROOT/scripts/check-digest.py" "$f" secret >&2
    finish register-digest.pcap
}

sample_invite_407() {
    local f=$OUT/invite-407.pcap
    ns_new lo3
    cap_start lo3 "$f" tcpdump -i lo
    uas lo3 uas-invite-auth.xml -i 127.0.0.1 -p 5060 -mi 127.0.0.1
    # -auth_uri (SIPp adds "sip:"): its default digest uri is remote_ip:port, not the Request-URI
    uac lo3 uac-invite-auth.xml -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -m 1 \
        -auth_uri service@127.0.0.1:5060 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    expect invite-407.pcap 'sip.Status-Code == 407 && sip.Proxy-Authenticate' 1
    expect invite-407.pcap 'sip.Method == "INVITE" && sip.Proxy-Authorization' 1
    expect invite-407.pcap 'sip.Method == "BYE"' 1
    [[ -z $(tshark -n -r "$f" -Y 'sip.Status-Code == 403' 2>/dev/null) ]] || die "invite-407.pcap: 403"
    python3 "$ROOT/scripts/check-digest.py" "$f" secret >&2
    finish invite-407.pcap
}

sample_options_keepalive() {
    local f=$OUT/options-keepalive.pcap
    ns_new lo4
    cap_start lo4 "$f" tcpdump -i lo
    uas lo4 uas-options.xml -i 127.0.0.1 -p 5060 -m 5
    uac lo4 uac-options.xml -i 127.0.0.1 -p 5070 -m 5 -r 4 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    expect options-keepalive.pcap 'sip.Method == "OPTIONS"' 5
    finish options-keepalive.pcap
}

# A SIPVicious svmap sweep (User-Agent "friendly-scanner") over three ports of a host
# whose port 5060 answers OPTIONS. Runs in a namespace with nothing but its own loopback.
sample_scanner_svmap() {
    local f=$OUT/scanner-svmap.pcap
    ns_new lo9
    cap_start lo9 "$f" tcpdump -i lo
    uas lo9 uas-options.xml -i 127.0.0.1 -p 5060 -m 1
    ip netns exec "$P-lo9" timeout 30 svmap -p5060-5062 127.0.0.1 >"$WORK/svmap.out" 2>&1 ||
        die "svmap failed: $(tail -5 "$WORK/svmap.out")"
    uas_wait
    cap_stop "$f"
    expect scanner-svmap.pcap 'sip.User-Agent contains "friendly-scanner"' 3
    finish scanner-svmap.pcap
}

# A SIPVicious svwar extension enumeration (REGISTER, extensions 100-130) against a
# responder that answers 401 for the existing extensions 105 and 120 and 404 for the rest.
sample_scanner_svwar() {
    local f=$OUT/scanner-svwar.pcap
    command -v svwar >/dev/null || die "missing command: svwar"
    ns_new lo10
    cap_start lo10 "$f" tcpdump -i lo
    ip netns exec "$P-lo10" python3 "$ROOT/scripts/sip-enum-responder.py" 127.0.0.1 5060 105,120 4 &
    local resp=$!
    BG_PIDS+=("$resp")
    sleep 0.5
    ip netns exec "$P-lo10" timeout 60 svwar -e100-130 127.0.0.1 >"$WORK/svwar.out" 2>&1 ||
        die "svwar failed: $(tail -5 "$WORK/svwar.out")"
    grep -q "^| 105 " "$WORK/svwar.out" || die "svwar did not find 105: $(cat "$WORK/svwar.out")"
    wait "$resp" || die "responder failed"
    cap_stop "$f"
    expect scanner-svwar.pcap 'sip.Status-Code == 404' 25
    finish scanner-svwar.pcap
}

sample_tcp_call() {
    local f=$OUT/tcp-call.pcap
    two_hosts tcp 1000
    cap_start tcp-a "$f" tcpdump -i a0
    call_pair tcp-a "$A_IP" tcp-b "$B_IP" uac-bigcall.xml uas-call-coalesce.xml -t t1 -key crlf $'\r\n'
    cap_stop "$f"
    # the big INVITE spans several segments; 100/180/200 are written back to
    # back with 100+180 in one write (uas-call-coalesce.xml)
    expect tcp-call.pcap 'sip.Method == "INVITE" && tcp.reassembled.length' 1
    local multi
    multi=$(tshark -n -r "$f" -Y sip 2>/dev/null -T fields -E occurrence=a -E aggregator=, -e sip.CSeq.method |
        awk -F, 'NF > 1' | wc -l)
    ((multi >= 1)) || die "tcp-call.pcap: no TCP segment carries several SIP messages"
    finish tcp-call.pcap
}

sample_ipv6_call() {
    local f=$OUT/ipv6-call.pcap
    two_hosts v6 1500 v6
    cap_start v6-a "$f" tcpdump -i a0
    call_pair v6-a "$A_IP" v6-b "$B_IP" uac-call.xml uas-call.xml
    cap_stop "$f"
    expect ipv6-call.pcap 'ipv6 && sip.Method == "INVITE"' 1
    expect ipv6-call.pcap 'ipv6 && rtp' 100
    finish ipv6-call.pcap
}

sample_fragmented_invite() {
    local f=$OUT/fragmented-invite.pcap
    two_hosts frag 1500
    cap_start frag-a "$f" tcpdump -i a0
    call_pair frag-a "$A_IP" frag-b "$B_IP" uac-bigcall.xml uas-call-signal.xml
    cap_stop "$f"
    expect fragmented-invite.pcap 'ip.flags.mf == 1' 1
    expect fragmented-invite.pcap 'sip.Method == "INVITE" && ip.fragments' 1
    finish fragmented-invite.pcap

    f=$OUT/fragmented-invite-v6.pcap
    two_hosts frag6 1500 v6
    cap_start frag6-a "$f" tcpdump -i a0
    call_pair frag6-a "$A_IP" frag6-b "$B_IP" uac-bigcall.xml uas-call-signal.xml
    cap_stop "$f"
    expect fragmented-invite-v6.pcap 'ipv6.fragment' 1
    expect fragmented-invite-v6.pcap 'sip.Method == "INVITE" && ipv6.fragments' 1
    finish fragmented-invite-v6.pcap
}

sample_vlan_call() {
    # No 8021q module in this kernel: scripts/vlan-trunk.py tags/untags
    # between two TAPs (the hosts' VLAN interfaces) over a veth trunk.
    local f=$OUT/vlan-call.pcap i
    ns_new vlan-a
    ns_new vlan-b
    ns_new vlan-sw
    nsx vlan-a ip tuntap add dev v100 mode tap
    nsx vlan-b ip tuntap add dev v100 mode tap
    nsx vlan-a ip addr add 10.254.100.1/24 dev v100
    nsx vlan-b ip addr add 10.254.100.2/24 dev v100
    veth vlan-sw trunk0 vlan-sw trunk1 1500
    nsx vlan-a ip link set v100 up
    nsx vlan-b ip link set v100 up
    python3 "$ROOT/scripts/vlan-trunk.py" 100 60 "$P-vlan-a" v100 "$P-vlan-sw" trunk0 trunk1 \
        "$P-vlan-b" v100 >"$WORK/vlan.out" 2>&1 &
    BG_PIDS+=("$!")
    for i in $(seq 100); do grep -q ready "$WORK/vlan.out" && break; sleep 0.05; done
    grep -q ready "$WORK/vlan.out" || { cat "$WORK/vlan.out" >&2; die "vlan-trunk.py did not start"; }
    cap_start vlan-sw "$f" tcpdump -i trunk0
    call_pair vlan-a 10.254.100.1 vlan-b 10.254.100.2 uac-call.xml uas-call.xml
    cap_stop "$f"
    expect vlan-call.pcap 'vlan.id == 100 && sip.Method == "INVITE"' 1
    expect vlan-call.pcap 'vlan.id == 100 && rtp' 100
    finish vlan-call.pcap
}

sample_cooked_any() {
    local f
    two_hosts any 1500
    f=$OUT/cooked-any.pcap
    cap_start any-a "$f" tcpdump -i any -y LINUX_SLL
    call_pair any-a "$A_IP" any-b "$B_IP" uac-call.xml uas-call.xml
    cap_stop "$f"
    [[ $(capinfos -E "$f") == *"Linux cooked-mode capture v1"* ]] || die "cooked-any.pcap is not SLL"
    finish cooked-any.pcap

    f=$OUT/cooked-any-sll2.pcap
    cap_start any-a "$f" tcpdump -i any -y LINUX_SLL2
    call_pair any-a "$A_IP" any-b "$B_IP" uac-call-signal.xml uas-call-signal.xml
    cap_stop "$f"
    [[ $(capinfos -E "$f") == *"cooked-mode capture v2"* ]] || die "cooked-any-sll2.pcap is not SLL2"
    finish cooked-any-sll2.pcap
}

sample_two_interfaces() {
    local f=$OUT/two-interfaces.pcapng
    two_hosts two 1500
    # a0 (Ethernet) and any (Linux cooked): every packet of the call is seen
    # on both interfaces, with different link types.
    cap_start two-a "$f" dumpcap -i a0 -i any
    call_pair two-a "$A_IP" two-b "$B_IP" uac-call-signal.xml uas-call-signal.xml
    cap_stop "$f"
    [[ $(capinfos -I "$f" | grep -c "Encapsulation = ") -ge 2 ]] || die "two-interfaces.pcapng: not 2 IDBs"
    finish two-interfaces.pcapng
}

ALL=(basic_call_rtp register_digest invite_407 options_keepalive tcp_call ipv6_call
    fragmented_invite vlan_call cooked_any two_interfaces scanner_svmap scanner_svwar)
SEL=("$@")
((${#SEL[@]})) || SEL=("${ALL[@]}")
for s in "${SEL[@]}"; do
    s=${s//-/_}
    declare -F "sample_$s" >/dev/null || die "unknown sample $s (known: ${ALL[*]})"
    log "--- $s"
    "sample_$s"
done
log "done"
