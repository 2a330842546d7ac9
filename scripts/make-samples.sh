#!/usr/bin/env bash
# Regenerate every capture in samples/ with real programs: SIPp on both sides
# (scenarios in scripts/sipp/), tcpdump or dumpcap capturing, each sample in
# network namespaces created here (so no other traffic leaks in and nothing is
# sent anywhere but to those namespaces), then writes <sample>.tshark.json with
# tshark's reference counts. Idempotent; needs root; takes about four minutes.
#
# usage: sudo scripts/make-samples.sh [SAMPLE...]   (default: all)
# Needs: sipp (sip-tester), tcpdump, tshark, dumpcap, editcap, ethtool,
# iproute2, python3, gzip, nftables; for the security and NAT samples also kamailio with
# kamailio-tls-modules, sipvicious (svmap/svwar/svcrack), stunnel4, openssl,
# python3-cryptography; for stun-binding coturn (turnserver, turnutils_stunclient)
# and nft; for the TLS decryption samples (tls13-call, tls12-call, tls12-rsa-call)
# also gcc and libssl-dev (scripts/sslkeylog.c, an LD_PRELOAD key log shim);
# for ws-call and wss-call kamailio-websocket-modules and python3-websockets; for
# rtcp-call baresip (1.0, Debian bookworm).
# baresip-pcmu, baresip-srtp and baresip-g722 baresip (Debian's 1.0, modules ausine,
# aubridge, g711, g722, srtp).
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
for cmd in sipp svmap svwar svcrack kamailio stunnel openssl tcpdump tshark dumpcap editcap capinfos \
    ethtool ip nft python3 gzip timeout ss base64 gcc; do
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

# wait_log LOG PATTERN: waits (bounded, 5 s) for PATTERN in LOG, the log a background
# program writes when it is ready; fails with the log printed otherwise.
wait_log() {
    local i
    for i in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$1" >&2
    die "timed out waiting for '$2' in $1"
}

# SIPp runs in ${SIPP_CWD:-$WORK}, where its play_pcap_audio files are.
# uas NS SCENARIO SIPP-ARGS...  (background, one call, bounded); sets UAS_PID
uas() {
    local ns=$1 sf=$2
    shift 2
    (cd "${SIPP_CWD:-$WORK}" && exec ip netns exec "$P-$ns" timeout 60 sipp -sf "$SIPP_DIR/$sf" -m 1 \
        -nostdin -timeout 40s -timeout_error -trace_err "$@") >"$WORK/uas.out" 2>&1 &
    UAS_PID=$!
    BG_PIDS+=("$UAS_PID")
    sleep 0.5
}

# uac NS SCENARIO SIPP-ARGS... (foreground, bounded, fails loudly)
uac() {
    local ns=$1 sf=$2
    shift 2
    if ! (cd "${SIPP_CWD:-$WORK}" && ip netns exec "$P-$ns" timeout 60 sipp -sf "$SIPP_DIR/$sf" \
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

# finish NAME [TSHARK-STATS OPTIONS...]: write NAME.tshark.json beside the
# sample and print a summary (options: --keylog FILE / --rsa-key FILE).
finish() {
    local f=$OUT/$1
    chmod 644 "$f"
    python3 "$ROOT/scripts/tshark-stats.py" "${@:2}" "$f" >"$f.tshark.json"
    log "$(printf '%-28s %8s bytes  %s' "$1" "$(stat -c %s "$f")" "$(cat "$f.tshark.json")")"
}

# expect NAME FILTER MIN [TSHARK OPTIONS...]: fail unless at least MIN frames
# match a tshark filter (options: e.g. a TLS key log for the TLS decryption samples).
expect() {
    local n
    n=$(tshark -n -r "$OUT/$1" "${@:4}" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l)
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

# lan NAME HOST=OCTET...: one namespace per host (NAME-HOST, interface eth0,
# 10.254.N.OCTET/24) on a bridge br0 in namespace NAME-sw; capture on br0
# (promiscuous: sees every frame between the hosts). Sets IP[HOST].
declare -A IP
lan() {
    local name=$1 i=0 h o
    shift
    NET=$((NET + 1))
    ns_new "$name-sw"
    nsx "$name-sw" ip link add br0 type bridge mcast_snooping 0
    nsx "$name-sw" ip link set br0 up
    for h in "$@"; do
        i=$((i + 1))
        o=${h#*=} h=${h%%=*}
        ns_new "$name-$h"
        veth "$name-$h" eth0 "$name-sw" "p$i"
        no_offload "$name-sw" br0
        nsx "$name-sw" ip link set "p$i" master br0
        nsx "$name-$h" ip addr add "10.254.$NET.$o/24" dev eth0
        IP[$h]=10.254.$NET.$o
    done
}

# TLS_ENV: command prefix for kamailio and stunnel (the TLS decryption
# samples set it to "env LD_PRELOAD=... SSLKEYLOGFILE=..."; empty otherwise).
TLS_ENV=()

# kam_start NS IP [kamailio args...]: kamailio ($KAM_CFG, by default
# scripts/kamailio/kamailio.cfg) in the background, UDP IP:5060; waits until it answers. Sets KAM_PID.
kam_start() {
    local ns=$1 ip=$2 i
    shift 2
    mkdir -p "$WORK/kam-$ns"
    ip netns exec "$P-$ns" "${TLS_ENV[@]}" timeout 150 kamailio -f "${KAM_CFG:-$ROOT/scripts/kamailio/kamailio.cfg}" -DD -E \
        -m 32 -M 4 -Y "$WORK/kam-$ns" -P "$WORK/kam-$ns/pid" -w "$WORK/kam-$ns" \
        -l "udp:$ip:5060" "$@" >"$WORK/kam-$ns.log" 2>&1 &
    KAM_PID=$!
    BG_PIDS+=("$KAM_PID")
    for i in $(seq 100); do
        nsx "$ns" ss -lun | grep -q "$ip:5060" && { sleep 0.3; return 0; }
        sleep 0.05
    done
    tail -20 "$WORK/kam-$ns.log" >&2
    die "kamailio did not start in $ns"
}

# wait_tcp NS ADDR:PORT: waits (5 s at most) until something listens on TCP ADDR:PORT
# in namespace NS, e.g. kamailio's extra TCP/TLS listener after kam_start's UDP one.
wait_tcp() {
    local i
    for i in $(seq 100); do
        nsx "$1" ss -ltn | grep -q "$2" && return 0
        sleep 0.05
    done
}

kam_stop() {
    kill -TERM "$KAM_PID" 2>/dev/null || true
    wait "$KAM_PID" 2>/dev/null || true
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

# The same registration, challenged without qop: the UA answers in the RFC 2069
# form (no cnonce, no nonce count), which auth.digest-no-qop flags.
sample_register_digest_noqop() {
    local f=$OUT/register-digest-noqop.pcap
    ns_new lo12
    cap_start lo12 "$f" tcpdump -i lo
    uas lo12 uas-register-noqop.xml -i 127.0.0.1 -p 5060
    uac lo12 uac-register.xml -i 127.0.0.1 -p 5070 -m 1 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    expect register-digest-noqop.pcap 'sip.Status-Code == 401 && !(sip.WWW-Authenticate contains "qop")' 1
    expect register-digest-noqop.pcap 'sip.Method == "REGISTER" && sip.Authorization contains "response=" && !(sip.Authorization contains "qop")' 1
    expect register-digest-noqop.pcap 'sip.Status-Code == 200' 1
    python3 "$ROOT/scripts/check-digest.py" "$f" secret >&2
    finish register-digest-noqop.pcap
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

sample_gtpu_ims_call() {
    # An IMS call as an operator sees it on S1-U/N3: SIP and RTP over IPv6 inside
    # GTP-U over IPv4. scripts/gtpu-tunnel.py is the user plane between the phone's
    # side (TUN with the phone's IPv6 address) and the core's side (TUN with the
    # P-CSCF's); tcpdump captures the real GTP-U datagrams on the link between them.
    local f=$OUT/gtpu-ims-call.pcap i
    NET=$((NET + 1))
    ns_new gtp-ran v6
    ns_new gtp-core v6
    veth gtp-ran s1u0 gtp-core s1u1
    nsx gtp-ran ip addr add "10.254.$NET.1/24" dev s1u0
    nsx gtp-core ip addr add "10.254.$NET.2/24" dev s1u1
    for h in ran=10 core=1; do
        nsx "gtp-${h%%=*}" ip tuntap add dev ue0 mode tun
        nsx "gtp-${h%%=*}" ip link set ue0 mtu 1400 up
        nsx "gtp-${h%%=*}" ip addr add "fd00:ca11::${h#*=}/64" dev ue0 nodad
    done
    python3 "$ROOT/scripts/gtpu-tunnel.py" 60 "$P-gtp-ran" ue0 "10.254.$NET.1" \
        "$P-gtp-core" ue0 "10.254.$NET.2" >"$WORK/gtpu.out" 2>&1 &
    BG_PIDS+=("$!")
    for i in $(seq 100); do grep -q ready "$WORK/gtpu.out" && break; sleep 0.05; done
    grep -q ready "$WORK/gtpu.out" || { cat "$WORK/gtpu.out" >&2; die "gtpu-tunnel.py did not start"; }
    cap_start gtp-ran "$f" tcpdump -i s1u0
    call_pair gtp-ran fd00:ca11::10 gtp-core fd00:ca11::1 uac-call.xml uas-call.xml
    cap_stop "$f"
    expect gtpu-ims-call.pcap 'gtp.teid == 0x101 && ipv6 && sip.Method == "INVITE"' 1
    expect gtpu-ims-call.pcap 'gtp.teid == 0x202 && sip.Status-Code == 200' 1
    expect gtpu-ims-call.pcap 'gtp && rtp' 100
    finish gtpu-ims-call.pcap
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

# --------------------------------------------------------- security samples ---

# Passwords (scripts/kamailio/kamailio.cfg route[PASSWD]): alice's is in
# samples/wordlist.txt, bob's is 20 random characters.
ALICE_PW=password1
BOB_PW=h7Rk2Vq9ZtW4mXp8Ls3N

# kamailio registrar/proxy on a LAN: bob (strong password) and alice (weak)
# register after a 401, alice retries once with a wrong password (401 again),
# then calls bob: 407, INVITE with Proxy-Authorization, kamailio relays to
# bob's registered contact (SIPp UAS), RTP both ways, BYE along Record-Route.
sample_kamailio_auth() {
    local f=$OUT/kamailio-auth.pcap k
    lan ka kam=1 alice=2 bob=3
    k=${IP[kam]}
    cap_start ka-sw "$f" tcpdump -i br0
    kam_start ka-kam "$k"
    uac ka-bob uac-reg-auth.xml -i "${IP[bob]}" -p 5060 -m 1 -s bob -au bob -ap "$BOB_PW" \
        -auth_uri "$k" -key contact_port 5060 "$k:5060"
    uac ka-alice uac-reg-auth.xml -i "${IP[alice]}" -p 5060 -m 1 -s alice -au alice -ap "$ALICE_PW" \
        -auth_uri "$k" -key contact_port 5060 "$k:5060"
    uac ka-alice uac-reg-badpw.xml -i "${IP[alice]}" -p 5060 -m 1 -s alice -au alice -ap password2 \
        -auth_uri "$k" -key contact_port 5060 "$k:5060"
    uas ka-bob uas-call-keys.xml -i "${IP[bob]}" -p 5060 -mi "${IP[bob]}" -mp 16000 \
        -key proto RTP/AVP -key attrs a=sendrecv -key contact "sip:bob@${IP[bob]}:5060"
    uac ka-alice uac-call-proxy.xml -i "${IP[alice]}" -p 5060 -mi "${IP[alice]}" -mp 17000 -m 1 -d 2800 \
        -s bob -au alice -ap "$ALICE_PW" -auth_uri "bob@$k" -key caller alice \
        -key kam "$k" -key tp UDP -key proto RTP/AVP -key attrs a=sendrecv "$k:5060"
    uas_wait
    cap_stop "$f"
    kam_stop
    expect kamailio-auth.pcap 'sip.Status-Code == 401 && sip.WWW-Authenticate' 4
    expect kamailio-auth.pcap 'sip.Method == "REGISTER" && sip.Authorization contains "username=\"bob\""' 1
    expect kamailio-auth.pcap 'sip.Status-Code == 200 && sip.CSeq.method == "REGISTER"' 2
    expect kamailio-auth.pcap 'sip.Status-Code == 407 && sip.Proxy-Authenticate' 1
    expect kamailio-auth.pcap 'sip.Method == "INVITE" && sip.Proxy-Authorization && ip.dst == '"$k" 1
    expect kamailio-auth.pcap 'sip.Method == "INVITE" && ip.dst == '"${IP[bob]}" 1
    expect kamailio-auth.pcap 'sip.Method == "BYE" && ip.dst == '"${IP[bob]}" 1
    expect kamailio-auth.pcap 'rtp && ip.dst == '"${IP[bob]}" 80
    expect kamailio-auth.pcap 'rtp && ip.dst == '"${IP[alice]}" 80
    finish kamailio-auth.pcap
}

# svmap/svwar/svcrack run from their own namespace; HOME in the work dir
# (sipvicious keeps session files under ~/.sipvicious).
sv() {
    local ns=$1 tool=$2
    shift 2
    HOME=$WORK ip netns exec "$P-$ns" timeout 60 "$tool" "$@" >>"$WORK/$tool.out" 2>&1 ||
        die "$tool failed: $(tail -5 "$WORK/$tool.out")"
}

# SIPVicious against a LAN: kamailio (.1, users 101/105/120 + alice/bob) and
# three SIPp OPTIONS responders (.2-.4); the attacker (.66) sweeps .1-.6 (.5 and
# .6 are empty: ARP only) with
# svmap, enumerates extensions 100-130 on kamailio with svwar (404 for
# unknown, 401 for existing) and cracks 101 with svcrack and
# samples/wordlist.txt (its password, dragon, is the last word).
sample_sipvicious_attack() {
    local f=$OUT/sipvicious-attack.pcap k h pids=()
    lan sv kam=1 h2=2 h3=3 h4=4 att=66
    k=${IP[kam]}
    cap_start sv-sw "$f" tcpdump -i br0
    kam_start sv-kam "$k"
    for h in h2 h3 h4; do
        (cd "$WORK" && exec ip netns exec "$P-sv-$h" timeout 60 sipp -sf "$SIPP_DIR/uas-options.xml" -m 1 \
            -nostdin -timeout 40s -i "${IP[$h]}" -p 5060) >"$WORK/uas-$h.out" 2>&1 &
        pids+=("$!")
        BG_PIDS+=("$!")
    done
    # Twelve more live addresses on h4 with nothing on 5060: the kernel answers ARP,
    # so svmap's probes reach the wire (and draw ICMP port unreachable), as a sweep
    # of a real subnet does.
    for h in $(seq 7 18); do nsx sv-h4 ip addr add "${k%.*}.$h/24" dev eth0; done
    sleep 0.5
    sv sv-att svmap -t 0.2 -p5060 "${k%.*}.1-${k%.*}.18"
    grep -q "$k:5060" "$WORK/svmap.out" || die "svmap did not find kamailio: $(cat "$WORK/svmap.out")"
    sv sv-att svwar -t 0.2 --maximumtime 30 -e100-130 "$k"
    for h in 101 105 120; do
        grep -qw "$h" "$WORK/svwar.out" || die "svwar did not find $h: $(cat "$WORK/svwar.out")"
    done
    sv sv-att svcrack -t 0.2 --maximumtime 30 -u101 -d "$OUT/wordlist.txt" "$k"
    grep -qw dragon "$WORK/svcrack.out" || die "svcrack did not crack 101: $(cat "$WORK/svcrack.out")"
    for h in "${pids[@]}"; do wait "$h" || die "sipp options responder failed"; done
    cap_stop "$f"
    kam_stop
    cat "$WORK/svmap.out" "$WORK/svwar.out" "$WORK/svcrack.out" >&2
    expect sipvicious-attack.pcap 'sip.Method == "OPTIONS" && sip.User-Agent contains "friendly-scanner"' 16
    expect sipvicious-attack.pcap 'sip.Status-Code == 200 && sip.CSeq.method == "OPTIONS"' 4
    expect sipvicious-attack.pcap 'sip.Status-Code == 404 && sip.CSeq.method == "REGISTER"' 25
    expect sipvicious-attack.pcap 'sip.Status-Code == 401 && sip.To contains "sip:105@"' 1
    expect sipvicious-attack.pcap 'sip.Method == "REGISTER" && sip.Authorization contains "username=\"101\""' 15
    expect sipvicious-attack.pcap 'sip.Status-Code == 200 && sip.CSeq.method == "REGISTER"' 1
    finish sipvicious-attack.pcap
}

# quality_call NAME PERCENT: a G.711 call between two namespaces playing the
# whole stock audio (7 s, 236 packets) each way; PERCENT % of the caller's RTP (to
# UDP 16000) is dropped at random as it leaves a0, by an nftables netdev egress
# rule in the caller's namespace (`numgen random mod 100 < PERCENT drop`): SIP and the
# answerer's RTP are untouched. Captured on b0, after the loss. Why not netem: the
# kernels this runs on (Firecracker guests) lack sch_netem and sch_prio. The kernel's
# random numbers take no seed, so each run draws another loss pattern: the committed
# capture is the reference for the tests.
quality_call() {
    local name=$1 pct=$2 f=$OUT/quality-$1.pcap
    two_hosts "q$name" 1500
    SIPP_CWD=$WORK/quality
    mkdir -p "$SIPP_CWD"
    editcap -F pcap "$AUDIO_SRC" "$SIPP_CWD/audio.pcap" >/dev/null
    python3 "$ROOT/scripts/rewrite-ssrc.py" "$SIPP_CWD/audio.pcap" "$SIPP_CWD/audio-uas.pcap" 5151AB1E
    # netdev egress on a0, not the output hook: a drop there would fail SIPp's
    # sendto() with EPERM and stop its playback; past the device the send succeeds.
    nsx "q$name-a" nft add table netdev impair
    nsx "q$name-a" nft add chain netdev impair out '{ type filter hook egress device a0 priority 0; }'
    nsx "q$name-a" nft add rule netdev impair out udp dport 16000 numgen random mod 100 '<' "$pct" drop
    cap_start "q$name-b" "$f" tcpdump -i b0
    uas "q$name-b" uas-call.xml -i "$B_IP" -p 5060 -mi "$B_IP" -mp 16000
    uac "q$name-a" uac-call.xml -i "$A_IP" -p 5060 -mi "$A_IP" -mp 17000 -m 1 -d 7600 "$B_IP:5060"
    uas_wait
    cap_stop "$f"
    SIPP_CWD=
    expect "quality-$name.pcap" 'rtp && udp.dstport == 17000' 230
    expect "quality-$name.pcap" 'rtp && udp.dstport == 16000' 150
    finish "quality-$name.pcap"
}

# 5 % and 15 % random loss on the caller's RTP.
sample_quality_loss5() { quality_call loss5 5; }
sample_quality_loss15() { quality_call loss15 15; }

# The quality_call G.711 call with jitter instead of loss: the answerer's RTP (to the
# caller's UDP 17000) crosses scripts/jitter-bridge.py, a user-space Ethernet bridge in a
# third namespace between the two hosts, which holds each of those frames 20 ms plus
# U(0, 30) ms, or 6 % of them plus U(0, 90) ms (seeded delays; no netem in the VM kernel,
# see quality_call). Nothing is lost on the wire: what a 50 ms jitter buffer would discard
# shows in the E-model's jitter-buffer loss. Captured on the caller's a0, after the bridge.
sample_quality_jitter() {
    local f=$OUT/quality-jitter.pcap pid
    NET=$((NET + 1))
    ns_new qj-a
    ns_new qj-r
    ns_new qj-b
    veth qj-a a0 qj-r r0
    veth qj-r r1 qj-b b0
    nsx qj-r ip link set r0 promisc on
    nsx qj-r ip link set r1 promisc on
    nsx qj-a ip addr add "10.254.$NET.1/24" dev a0
    nsx qj-b ip addr add "10.254.$NET.2/24" dev b0
    A_IP=10.254.$NET.1 B_IP=10.254.$NET.2
    SIPP_CWD=$WORK/quality
    mkdir -p "$SIPP_CWD"
    editcap -F pcap "$AUDIO_SRC" "$SIPP_CWD/audio.pcap" >/dev/null
    python3 "$ROOT/scripts/rewrite-ssrc.py" "$SIPP_CWD/audio.pcap" "$SIPP_CWD/audio-uas.pcap" 5151AB1E
    ip netns exec "$P-qj-r" timeout 60 python3 "$ROOT/scripts/jitter-bridge.py" r0 r1 \
        --udp-dport 17000 --seed 7 --duration 40 >"$WORK/jitter.out" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    wait_log "$WORK/jitter.out" ready
    cap_start qj-a "$f" tcpdump -i a0
    uas qj-b uas-call.xml -i "$B_IP" -p 5060 -mi "$B_IP" -mp 16000
    uac qj-a uac-call.xml -i "$A_IP" -p 5060 -mi "$A_IP" -mp 17000 -m 1 -d 7600 "$B_IP:5060"
    uas_wait
    cap_stop "$f"
    kill -TERM "$pid"
    wait "$pid" || true
    cat "$WORK/jitter.out" >&2
    SIPP_CWD=
    expect quality-jitter.pcap 'rtp && udp.dstport == 17000' 236
    expect quality-jitter.pcap 'rtp && udp.dstport == 16000' 236
    finish quality-jitter.pcap
}

# REGISTER with Authorization: Basic (alice:password1 in base64) after a
# Basic challenge from a SIPp registrar.
sample_register_basic() {
    local f=$OUT/register-basic.pcap b
    b=$(printf '%s' "alice:$ALICE_PW" | base64)
    two_hosts basic 1500
    cap_start basic-a "$f" tcpdump -i a0
    uas basic-b uas-register-basic.xml -i "$B_IP" -p 5060
    uac basic-a uac-register-basic.xml -i "$A_IP" -p 5060 -m 1 -s alice -key basic "$b" "$B_IP:5060"
    uas_wait
    cap_stop "$f"
    expect register-basic.pcap 'sip.WWW-Authenticate contains "Basic realm="' 1
    expect register-basic.pcap 'sip.Method == "REGISTER" && sip.Authorization == "Basic '"$b"'"' 1
    expect register-basic.pcap 'sip.Status-Code == 200' 1
    finish register-basic.pcap
}

# SDES keys (RFC 4568): the a=crypto inline keys of both sides.
ALICE_SDES=911Pl6d0weBq97MVtIwRqvpDXpgdX1FyZiflObLS
BOB_SDES=lV3i/eVVwrZIdnFKL9kY8/tOjU5Ti/Bv6dujLiMF
TLS_ALICE_SDES=foYeOKLhBPSNrmFslkPsioF37hNbj233XZKJt5wG
TLS_BOB_SDES=RKaguPE6RPK/AHK4w4j+N2Lxsi3Mc9QZjGhSBKTe
crypto_attrs() { printf 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\na=sendrecv' "$1"; }

# srtp_dir NAME UAC_KEY UAS_KEY: $WORK/NAME with audio.pcap / audio-uas.pcap
# made real SRTP (scripts/srtp-protect.py) under the given SDES keys; sets SIPP_CWD.
srtp_dir() {
    SIPP_CWD=$WORK/$1
    mkdir -p "$SIPP_CWD"
    python3 "$ROOT/scripts/srtp-protect.py" "$WORK/audio.pcap" "$SIPP_CWD/audio.pcap" "$2"
    python3 "$ROOT/scripts/srtp-protect.py" "$WORK/audio-uas.pcap" "$SIPP_CWD/audio-uas.pcap" "$3"
}

# Call over UDP with RTP/SAVP and a=crypto in both offer and answer (keys in
# clear in the SDP), SRTP both ways encrypted with those keys.
sample_sdes_call_udp() {
    local f=$OUT/sdes-call-udp.pcap
    two_hosts sdes 1500
    srtp_dir sdes "$ALICE_SDES" "$BOB_SDES"
    cap_start sdes-a "$f" tcpdump -i a0
    uas sdes-b uas-call-keys.xml -i "$B_IP" -p 5060 -mi "$B_IP" -mp 16000 \
        -key proto RTP/SAVP -key attrs "$(crypto_attrs "$BOB_SDES")" -key contact "sip:bob@$B_IP:5060"
    uac sdes-a uac-call-keys.xml -i "$A_IP" -p 5060 -mi "$A_IP" -mp 17000 -m 1 -d 2800 \
        -key proto RTP/SAVP -key attrs "$(crypto_attrs "$ALICE_SDES")" "$B_IP:5060"
    uas_wait
    SIPP_CWD=
    cap_stop "$f"
    expect sdes-call-udp.pcap 'sdp.media.proto == "RTP/SAVP" && sdp.media_attr contains "inline:'"$ALICE_SDES"'"' 1
    expect sdes-call-udp.pcap 'sdp.media.proto == "RTP/SAVP" && sdp.media_attr contains "inline:'"$BOB_SDES"'"' 1
    expect sdes-call-udp.pcap 'udp.dstport == 16000 && udp.length == 270' 80
    expect sdes-call-udp.pcap 'udp.dstport == 17000 && udp.length == 270' 80
    finish sdes-call-udp.pcap
}

# certs DIR MODE: kamailio.{crt,key}, bob.{crt,key}, ca.crt in DIR for the TLS
# samples. MODE self: RSA 2048 self-signed certificates (ca.crt = kamailio's);
# MODE ca: a P-256 CA made here signs EC P-256 leaf certificates (SHA-256,
# valid from now for a year, SAN = the host's IP and name).
certs() {
    local d=$1 h ip
    mkdir -p "$d"
    for h in kamailio bob; do
        [[ $h == kamailio ]] && ip=$2 || ip=$3
        if [[ $4 == self ]]; then
            openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 365 -subj "/CN=$h.siplens.test" \
                -addext "subjectAltName=IP:$ip,DNS:$h.siplens.test" \
                -keyout "$d/$h.key" -out "$d/$h.crt" 2>/dev/null
        else
            [[ -f $d/ca.key ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 \
                -nodes -days 3650 -subj "/O=siplens samples/CN=siplens samples CA" \
                -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$h.siplens.test" \
                -keyout "$d/$h.key" -out "$d/$h.csr" 2>/dev/null
            printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:$ip,DNS:$h.siplens.test" >"$d/$h.ext"
            openssl x509 -req -in "$d/$h.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
                -days 365 -sha256 -extfile "$d/$h.ext" -out "$d/$h.crt" 2>/dev/null
            openssl verify -CAfile "$d/ca.crt" "$d/$h.crt" >/dev/null || die "certificate chain for $h"
        fi
    done
    [[ $4 == self ]] && cp "$d/kamailio.crt" "$d/ca.crt"
    return 0
}

# stunnel_start NS CONF_LINES...: stunnel in the foreground (background job).
# SIPp 3.6.1 here is built without TLS, so its TCP goes through stunnel:
# the wire shows a real TLS 1.2 session carrying SIPp's SIP.
stunnel_start() {
    local ns=$1 conf=$WORK/stunnel-$1.conf
    shift
    printf '%s\n' "foreground = yes" "pid =" "debug = 5" "output = $WORK/stunnel-$ns.log" \
        "[sip]" "sslVersion = TLSv1.2" "$@" >"$conf"
    ip netns exec "$P-$ns" timeout 150 stunnel "$conf" >/dev/null 2>&1 &
    BG_PIDS+=("$!")
    wait_log "$WORK/stunnel-$ns.log" "Configuration successful"
}

# tls_srtp_call NAME MODE CIPHERS CALLER PASSWORD: alice's SIPp (TCP) ->
# stunnel -> TLS 1.2 -> kamailio (407 digest, then relays over TLS) ->
# stunnel -> bob's SIPp; SDP RTP/SAVP + a=crypto (inside TLS), SRTP over UDP
# between the two SIPp hosts.
tls_srtp_call() {
    local name=$1 mode=$2 ciphers=$3 caller=$4 pw=$5 f=$OUT/$1.pcap k d verify=no
    [[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ]] || die "kamailio tls.so missing (kamailio-tls-modules)"
    lan "$name" kam=1 alice=2 bob=3
    k=${IP[kam]} d=$WORK/certs-$name
    certs "$d" "$k" "${IP[bob]}" "$mode"
    [[ $mode == ca ]] && verify=yes
    sed -e "s#@DIR@#$d#g" -e "s#@CIPHERS@#$ciphers#g" -e "s#@VERIFY@#$verify#g" \
        "$ROOT/scripts/kamailio/tls.cfg.in" >"$d/tls.cfg"
    srtp_dir "$name" "$TLS_ALICE_SDES" "$TLS_BOB_SDES"
    cap_start "$name-sw" "$f" tcpdump -i br0
    kam_start "$name-kam" "$k" -l "tls:$k:5061" -A WITH_TLS -A "TLS_CFG=\"$d/tls.cfg\"" \
        -A "CALLEE_URI=\"sip:${IP[bob]}:5061;transport=tls\""
    stunnel_start "$name-bob" "accept = ${IP[bob]}:5061" "connect = ${IP[bob]}:5060" \
        "cert = $d/bob.crt" "key = $d/bob.key" "ciphers = $ciphers"
    if [[ $mode == ca ]]; then
        stunnel_start "$name-alice" "client = yes" "accept = ${IP[alice]}:5071" "connect = $k:5061" \
            "ciphers = $ciphers" "verifyChain = yes" "CAfile = $d/ca.crt" "checkIP = $k"
    else
        stunnel_start "$name-alice" "client = yes" "accept = ${IP[alice]}:5071" "connect = $k:5061" \
            "ciphers = $ciphers" "verifyChain = no"
    fi
    uas "$name-bob" uas-call-keys.xml -t t1 -i "${IP[bob]}" -p 5060 -mi "${IP[bob]}" -mp 16000 \
        -key proto RTP/SAVP -key attrs "$(crypto_attrs "$TLS_BOB_SDES")" \
        -key contact "sip:bob@${IP[bob]}:5061;transport=tls"
    uac "$name-alice" uac-call-proxy.xml -t t1 -i "${IP[alice]}" -p 5060 -mi "${IP[alice]}" -mp 17000 \
        -m 1 -d 2800 -s bob -au "$caller" -ap "$pw" -auth_uri "bob@$k" -key caller "$caller" \
        -key kam "$k" -key tp TLS -key proto RTP/SAVP -key attrs "$(crypto_attrs "$TLS_ALICE_SDES")" \
        "${IP[alice]}:5071"
    uas_wait
    SIPP_CWD=
    cap_stop "$f"
    kam_stop
    expect "$name.pcap" "tls.handshake.type == 11 && tcp.srcport == 5061 && ip.src == $k" 1
    expect "$name.pcap" "tls.handshake.type == 11 && tcp.srcport == 5061 && ip.src == ${IP[bob]}" 1
    expect "$name.pcap" 'tls.handshake.type == 2 && tls.handshake.version == 0x0303' 2
    expect "$name.pcap" "tls.app_data && ip.dst == ${IP[bob]}" 3
    [[ -z $(tshark -n -r "$f" -Y sip 2>/dev/null) ]] || die "$name.pcap: SIP in clear"
    expect "$name.pcap" 'udp.dstport == 16000 && udp.length == 270' 80
    expect "$name.pcap" 'udp.dstport == 17000 && udp.length == 270' 80
    finish "$name.pcap"
}

sample_tls_srtp_call() {
    tls_srtp_call tls-srtp-call self HIGH alice "$ALICE_PW"
}

sample_clean_tls_srtp() {
    tls_srtp_call clean-tls-srtp ca ECDHE-ECDSA-AES128-GCM-SHA256 carol Fw8Jp3Qz6Ty1Rb9Kd4Hs
    expect clean-tls-srtp.pcap 'tls.handshake.type == 2 && tls.handshake.ciphersuite == 0xc02b' 2
}

# ------------------------------------------------------ DTLS-SRTP sample ---


# dtls_inline HEX_KEY HEX_SALT: the SDES-style base64 of key || salt.
dtls_inline() { printf '%s%s' "$1" "$2" | xxd -r -p | base64 -w0; }

# DTLS-SRTP (RFC 5764) media keyed by a real DTLS 1.2 handshake: OpenSSL's
# s_client (alice, 10.254.N.1:17000, the DTLS client, writing the NSS key log
# with -keylogfile) against s_server (bob, :16000), both offering use_srtp
# SRTP_AES128_CM_SHA1_80, each printing the RFC 5705 exporter output
# (EXTRACTOR-dtls_srtp, 60 bytes: client key, server key, client salt, server
# salt). The handshake runs on the media ports just before the call (SIPp
# holds those ports from its start), then SIPp calls with UDP/TLS/RTP/SAVP,
# a=fingerprint of each side's certificate and a=setup, and plays SRTP made
# with the exported keys (scripts/srtp-protect.py): alice's with the client
# key, bob's with the server key. samples/dtls-srtp-call.keys is the key log,
# samples/dtls-srtp-call.exporter the exporter output both peers printed.
sample_dtls_srtp_call() {
    local f=$OUT/dtls-srtp-call.pcap d=$WORK/certs-dtls km kb fa fb net=$NET
    # Fixed addresses, 10.254.200.1/.2, whichever samples run before (the docs name them).
    NET=199
    two_hosts dtls 1500
    NET=$net
    certs "$d" "$A_IP" "$B_IP" ca
    rm -f "$OUT/dtls-srtp-call.keys"
    cap_start dtls-a "$f" tcpdump -i a0
    # s_server stops at the end of its stdin: a bounded sleep keeps it open.
    timeout 20 sleep 8 | nsx dtls-b timeout 20 openssl s_server -dtls1_2 -naccept 1 -accept 16000 \
        -cert "$d/bob.crt" -key "$d/bob.key" -use_srtp SRTP_AES128_CM_SHA1_80 \
        -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 60 >"$WORK/dtls-server.log" 2>&1 &
    BG_PIDS+=("$!")
    wait_log "$WORK/dtls-server.log" ACCEPT
    nsx dtls-a timeout 20 openssl s_client -dtls1_2 -bind "$A_IP:17000" -connect "$B_IP:16000" \
        -cert "$d/kamailio.crt" -key "$d/kamailio.key" -use_srtp SRTP_AES128_CM_SHA1_80 \
        -keylogfile "$OUT/dtls-srtp-call.keys" -keymatexport EXTRACTOR-dtls_srtp \
        -keymatexportlen 60 </dev/null >"$WORK/dtls-client.log" 2>&1 || true
    cat "$WORK/dtls-client.log" >&2
    wait_log "$WORK/dtls-server.log" "Keying material"
    grep -q "SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80" "$WORK/dtls-client.log" ||
        { cat "$WORK/dtls-client.log" >&2; die "DTLS: no use_srtp"; }
    km=$(sed -n 's/^ *Keying material: *//p' "$WORK/dtls-client.log" | tr -d ' \r')
    kb=$(sed -n 's/^ *Keying material: *//p' "$WORK/dtls-server.log" | tr -d ' \r')
    [[ ${#km} -eq 120 && $km == "$kb" ]] || die "DTLS: exporter output differs: '$km' '$kb'"
    echo "$km" >"$OUT/dtls-srtp-call.exporter"
    srtp_dir dtls "$(dtls_inline "${km:0:32}" "${km:64:28}")" "$(dtls_inline "${km:32:32}" "${km:92:28}")"
    fa=$(openssl x509 -noout -fingerprint -sha256 -in "$d/kamailio.crt" | sed 's/.*=//')
    fb=$(openssl x509 -noout -fingerprint -sha256 -in "$d/bob.crt" | sed 's/.*=//')
    uas dtls-b uas-call-keys.xml -i "$B_IP" -p 5060 -mi "$B_IP" -mp 16000 -key proto UDP/TLS/RTP/SAVP \
        -key attrs "$(printf 'a=fingerprint:sha-256 %s\r\na=setup:passive\r\na=sendrecv' "$fb")" \
        -key contact "sip:bob@$B_IP:5060"
    uac dtls-a uac-call-keys.xml -i "$A_IP" -p 5060 -mi "$A_IP" -mp 17000 -m 1 -d 2800 \
        -key proto UDP/TLS/RTP/SAVP \
        -key attrs "$(printf 'a=fingerprint:sha-256 %s\r\na=setup:actpass\r\na=sendrecv' "$fa")" "$B_IP:5060"
    uas_wait
    SIPP_CWD=
    cap_stop "$f"
    expect dtls-srtp-call.pcap 'sdp.media.proto == "UDP/TLS/RTP/SAVP"' 2
    expect dtls-srtp-call.pcap 'dtls.handshake.type == 1' 1
    expect dtls-srtp-call.pcap 'dtls.handshake.type == 2 && dtls.handshake.extension.type == 14' 1
    expect dtls-srtp-call.pcap 'udp.dstport == 16000 && udp.length == 270' 80
    expect dtls-srtp-call.pcap 'udp.dstport == 17000 && udp.length == 270' 80
    finish dtls-srtp-call.pcap
}

# ------------------------------------------------- TLS decryption samples ---

# sslkeylog_so: build scripts/sslkeylog.c (LD_PRELOAD key log shim, OpenSSL
# 3.0 headers from libssl-dev) once per run; prints the .so path.
sslkeylog_so() {
    [[ -f $WORK/sslkeylog.so ]] ||
        gcc -shared -fPIC -O2 -o "$WORK/sslkeylog.so" "$ROOT/scripts/sslkeylog.c" -lssl -ldl ||
        die "cannot build scripts/sslkeylog.c (gcc, libssl-dev)"
    echo "$WORK/sslkeylog.so"
}

# stunnel_conf NS CONF_LINES...: like stunnel_start, but the lines are the
# whole configuration after the global options (sections included), and
# stunnel runs under TLS_ENV.
stunnel_conf() {
    local ns=$1 conf=$WORK/stunnel-$1.conf
    shift
    printf '%s\n' "foreground = yes" "pid =" "debug = 5" "output = $WORK/stunnel-$ns.log" "$@" >"$conf"
    ip netns exec "$P-$ns" "${TLS_ENV[@]}" timeout 150 stunnel "$conf" >/dev/null 2>&1 &
    BG_PIDS+=("$!")
    wait_log "$WORK/stunnel-$ns.log" "Configuration successful"
}

# tshark_count FILE FILTER [TSHARK OPTIONS...]: frames matching FILTER.
tshark_count() {
    local f=$1 y=$2
    shift 2
    tshark -n -r "$f" "$@" -Y "$y" -T fields -e frame.number 2>/dev/null | wc -l
}

# tshark_sip FILE [TSHARK OPTIONS...]: SIP messages (several per frame count each).
tshark_sip() {
    local f=$1
    shift
    tshark -n -r "$f" "$@" -Y sip -T fields -E occurrence=a -E aggregator=, -e sip.CSeq.method 2>/dev/null |
        awk -F, '{ n += NF } END { print n + 0 }'
}

# expect_eq WHAT GOT WANTED
expect_eq() { [[ $2 == "$3" ]] || die "$1: got $2, expected $3"; }

# tls_keys_call NAME KEYS VERSION REG CALL UNREG BOB: a phone's session over
# TLS through kamailio (scripts/kamailio/tls-legs.cfg.in), captured on the LAN
# bridge (kam .1, alice .2, bob .3). alice's SIPp (TCP) talks through her
# stunnel, which has one service per connection so each uses its own suite:
# REGISTER (401, REGISTER with Digest alice/password1, 200) on :5071 -> suite
# REG; the call (INVITE, 407, ACK, INVITE with Proxy-Authorization, 100, 180,
# 200 with SDP, ACK, RTP/AVP PCMA 1 s each way, BYE, 200) on :5072 -> CALL,
# relayed by kamailio over TLS to bob's stunnel :5061 (suite BOB, the only one
# bob's stunnel accepts) and bob's SIPp UAS; un-REGISTER (Expires 0, 401,
# REGISTER with Digest, 200) on :5073 -> UNREG. Four TLS connections, no
# session resumption (sessionResume = no), every TLS peer at VERSION
# (TLSv1.3 or TLSv1.2). Self-signed RSA 2048 certificates.
# KEYS keylog: kamailio and both stunnels run with scripts/sslkeylog.c
# preloaded: NAME.keys is their NSS key log (both ends of each connection
# write the same lines; kept once each).
# KEYS rsa: no key log; kamailio and bob's stunnel share one RSA key made
# here (NAME.key.pem) and the suites use RSA key exchange.
# Checks: no SIP visible without keys; with keys tshark finds exactly the SIP
# messages the two SIPp UAs sent and received (their -trace_msg logs: every
# message crosses one TLS connection) in each of the four TLS streams.
tls_keys_call() {
    local name=$1 keys=$2 ver=$3 reg=$4 call=$5 unreg=$6 bobs=$7 f=$OUT/$1.pcap k d h ip opt
    local kopt=() n want s
    [[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ]] || die "kamailio tls.so missing (kamailio-tls-modules)"
    lan "$name" kam=1 alice=2 bob=3
    k=${IP[kam]} d=$WORK/certs-$name
    if [[ $keys == rsa ]]; then
        mkdir -p "$d"
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/server.key" 2>/dev/null
        for h in kamailio bob; do
            [[ $h == kamailio ]] && ip=$k || ip=${IP[bob]}
            openssl req -x509 -key "$d/server.key" -sha256 -days 365 -subj "/CN=$h.siplens.test" \
                -addext "subjectAltName=IP:$ip,DNS:$h.siplens.test" -out "$d/$h.crt" 2>/dev/null
            cp "$d/server.key" "$d/$h.key"
        done
        TLS_ENV=()
    else
        certs "$d" "$k" "${IP[bob]}" self
        rm -f "$WORK/$name.keylog"
        TLS_ENV=(env "LD_PRELOAD=$(sslkeylog_so)" "SSLKEYLOGFILE=$WORK/$name.keylog")
    fi
    if [[ $ver == TLSv1.3 ]]; then
        # kamailio 5.6 has no TLS 1.3-only method: TLSv1.2+ and peers that allow only 1.3
        opt=ciphersuites
        sed -e "s#@DIR@#$d#g" -e "s#@METHOD@#TLSv1.2+#" -e "s#@SERVER_CIPHERS@#HIGH#" \
            -e "s#@CLIENT_CIPHERS@#HIGH#" "$ROOT/scripts/kamailio/tls-legs.cfg.in" >"$d/tls.cfg"
    else
        opt=ciphers
        sed -e "s#@DIR@#$d#g" -e "s#@METHOD@#TLSv1.2#" -e "s#@SERVER_CIPHERS@#$reg:$call:$unreg#" \
            -e "s#@CLIENT_CIPHERS@#$bobs#" "$ROOT/scripts/kamailio/tls-legs.cfg.in" >"$d/tls.cfg"
    fi
    # 1 s of audio each way keeps the capture small
    SIPP_CWD=$WORK/$name
    mkdir -p "$SIPP_CWD"
    editcap -F pcap -r "$WORK/audio.pcap" "$SIPP_CWD/audio.pcap" 1-34 >/dev/null
    editcap -F pcap -r "$WORK/audio-uas.pcap" "$SIPP_CWD/audio-uas.pcap" 1-34 >/dev/null
    cap_start "$name-sw" "$f" tcpdump -i br0
    kam_start "$name-kam" "$k" -l "tls:$k:5061" -A WITH_TLS -A "TLS_CFG=\"$d/tls.cfg\"" \
        -A "CALLEE_URI=\"sip:${IP[bob]}:5061;transport=tls\""
    stunnel_conf "$name-bob" "[sip]" "accept = ${IP[bob]}:5061" "connect = ${IP[bob]}:5060" \
        "cert = $d/bob.crt" "key = $d/bob.key" "sslVersion = $ver" "$opt = $bobs"
    stunnel_conf "$name-alice" \
        "[reg]" "client = yes" "accept = ${IP[alice]}:5071" "connect = $k:5061" "verifyChain = no" \
        "sessionResume = no" "sslVersion = $ver" "$opt = $reg" \
        "[call]" "client = yes" "accept = ${IP[alice]}:5072" "connect = $k:5061" "verifyChain = no" \
        "sessionResume = no" "sslVersion = $ver" "$opt = $call" \
        "[unreg]" "client = yes" "accept = ${IP[alice]}:5073" "connect = $k:5061" "verifyChain = no" \
        "sessionResume = no" "sslVersion = $ver" "$opt = $unreg"
    local reg_args=(-t t1 -i "${IP[alice]}" -p 5060 -m 1 -s alice -au alice -ap "$ALICE_PW" -auth_uri "$k"
        -key kam "$k" -key tp TLS -key contact "sip:alice@${IP[alice]}:5061;transport=tls" -trace_msg)
    uac "$name-alice" uac-reg-auth-keys.xml "${reg_args[@]}" -key expires 3600 "${IP[alice]}:5071"
    uas "$name-bob" uas-call-keys.xml -t t1 -i "${IP[bob]}" -p 5060 -mi "${IP[bob]}" -mp 16000 \
        -key proto RTP/AVP -key attrs a=sendrecv -key contact "sip:bob@${IP[bob]}:5061;transport=tls" -trace_msg
    uac "$name-alice" uac-call-proxy.xml -t t1 -i "${IP[alice]}" -p 5060 -mi "${IP[alice]}" -mp 17000 \
        -m 1 -d 1200 -s bob -au alice -ap "$ALICE_PW" -auth_uri "bob@$k" -key caller alice \
        -key kam "$k" -key tp TLS -key proto RTP/AVP -key attrs a=sendrecv -trace_msg "${IP[alice]}:5072"
    uas_wait
    uac "$name-alice" uac-reg-auth-keys.xml "${reg_args[@]}" -key expires 0 "${IP[alice]}:5073"
    want=$(cat "$SIPP_CWD"/*_messages.log | grep -cE "message (sent|received)")
    SIPP_CWD=
    cap_stop "$f"
    kam_stop
    TLS_ENV=()
    if [[ $keys == rsa ]]; then
        cp "$d/server.key" "$OUT/$name.key.pem"
        chmod 644 "$OUT/$name.key.pem"
        kopt=(-o "uat:rsa_keys:\"$OUT/$name.key.pem\",\"\"")
    else
        awk '!seen[$0]++' "$WORK/$name.keylog" >"$OUT/$name.keys"
        chmod 644 "$OUT/$name.keys"
        kopt=(-o "tls.keylog_file:$OUT/$name.keys")
    fi
    expect_eq "$name.pcap: TLS connections" "$(tshark_count "$f" 'tls.handshake.type == 1')" 4
    expect_eq "$name.pcap: TCP streams" "$(tshark_count "$f" 'tcp.flags.syn == 1 && tcp.flags.ack == 0')" 4
    expect_eq "$name.pcap: SIP without keys" "$(tshark_sip "$f")" 0
    n=$(tshark_sip "$f" "${kopt[@]}")
    log "$name.pcap: $n SIP messages decrypted, SIPp exchanged $want"
    expect_eq "$name.pcap: SIP with keys (SIPp exchanged $want)" "$n" "$want"
    for s in 0 1 2 3; do
        (($(tshark_count "$f" "tcp.stream == $s && sip" "${kopt[@]}") >= 2)) ||
            die "$name.pcap: TCP stream $s does not decrypt"
    done
    # RTP/AVP PCMA (the SDP is inside TLS: tshark finds RTP only with keys)
    expect "$name.pcap" 'udp.dstport == 16000 && udp.length == 260' 30
    expect "$name.pcap" 'udp.dstport == 17000 && udp.length == 260' 30
    expect "$name.pcap" 'rtp && udp.dstport == 16000' 30 "${kopt[@]}"
    TLS_KOPT=("${kopt[@]}")
}

# TLS 1.3 everywhere, a different suite per connection (ServerHello
# supported_versions 0x0304): REGISTER TLS_AES_128_GCM_SHA256 (0x1301), call
# alice -> kamailio TLS_CHACHA20_POLY1305_SHA256 (0x1303), un-REGISTER and
# kamailio -> bob TLS_AES_256_GCM_SHA384 (0x1302). Key log tls13-call.keys
# (5 secrets per connection); tls13-call.wrong.keys has the same lines with the
# first 8 hex digits of every secret inverted (negative test); tls13-call-dsb.pcapng
# is the capture with the key log in a Decryption Secrets Block.
sample_tls13_call() {
    local n=tls13-call k
    tls_keys_call $n keylog TLSv1.3 TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256 \
        TLS_AES_256_GCM_SHA384 TLS_AES_256_GCM_SHA384
    k=${IP[kam]}
    expect_eq "$n.pcap: TLS 1.3 ServerHellos" \
        "$(tshark_count "$OUT/$n.pcap" 'tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304')" 4
    expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x1301 && ip.src == $k" 1
    expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x1303 && ip.src == $k" 1
    expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x1302 && ip.src == $k" 1
    expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x1302 && ip.src == ${IP[bob]}" 1
    expect_eq "$n.keys: lines" "$(wc -l <"$OUT/$n.keys")" 20
    expect_eq "$n.keys: client randoms" "$(awk '{ print $2 }' "$OUT/$n.keys" | sort -u | wc -l)" 4
    expect $n.pcap 'sip.Status-Code == 401 && sip.WWW-Authenticate && tls' 2 "${TLS_KOPT[@]}"
    expect $n.pcap 'sip.Method == "REGISTER" && sip.Authorization && tls' 2 "${TLS_KOPT[@]}"
    expect $n.pcap 'sip.Status-Code == 407 && tls' 1 "${TLS_KOPT[@]}"
    expect $n.pcap "sip.Method == \"INVITE\" && sdp && ip.dst == ${IP[bob]}" 1 "${TLS_KOPT[@]}"
    expect $n.pcap "sip.Method == \"BYE\" && ip.dst == ${IP[bob]}" 1 "${TLS_KOPT[@]}"
    # wrong key log: same client randoms, every secret altered -> nothing decrypts
    python3 -c 'import sys
for line in open(sys.argv[1]):
    label, cr, secret = line.split()
    flipped = "".join("%x" % (int(c, 16) ^ 0xf) for c in secret[:8])
    print(label, cr, flipped + secret[8:])' "$OUT/$n.keys" >"$OUT/$n.wrong.keys"
    chmod 644 "$OUT/$n.wrong.keys"
    expect_eq "$n.pcap: SIP with the wrong keys" "$(tshark_sip "$OUT/$n.pcap" -o "tls.keylog_file:$OUT/$n.wrong.keys")" 0
    # the same capture with the key log inside (pcapng Decryption Secrets Block)
    editcap --inject-secrets "tls,$OUT/$n.keys" "$OUT/$n.pcap" "$OUT/$n-dsb.pcapng"
    expect_eq "$n-dsb.pcapng: SIP (keys in the DSB)" "$(tshark_sip "$OUT/$n-dsb.pcapng")" \
        "$(tshark_sip "$OUT/$n.pcap" "${TLS_KOPT[@]}")"
    finish $n.pcap --keylog "$OUT/$n.keys"
    finish $n-dsb.pcapng
}

# TLS 1.2 with ECDHE (x25519), a different suite per connection: REGISTER
# ECDHE-RSA-AES128-SHA (0xc013, CBC + HMAC-SHA1), call alice -> kamailio
# ECDHE-RSA-AES128-GCM-SHA256 (0xc02f), un-REGISTER ECDHE-RSA-CHACHA20-POLY1305
# (0xcca8), kamailio -> bob ECDHE-RSA-AES256-SHA384 (0xc028, CBC +
# HMAC-SHA384, SHA-384 PRF). Extended master secret and (for the CBC suites)
# encrypt-then-MAC are negotiated (OpenSSL's defaults). Key log tls12-call.keys
# (one CLIENT_RANDOM line per connection).
sample_tls12_call() {
    local n=tls12-call k s
    tls_keys_call $n keylog TLSv1.2 ECDHE-RSA-AES128-SHA ECDHE-RSA-AES128-GCM-SHA256 \
        ECDHE-RSA-CHACHA20-POLY1305 ECDHE-RSA-AES256-SHA384
    k=${IP[kam]}
    expect_eq "$n.pcap: TLS 1.2 ServerHellos" \
        "$(tshark_count "$OUT/$n.pcap" 'tls.handshake.type == 2 && tls.handshake.version == 0x0303 && !tls.handshake.extensions.supported_version')" 4
    for s in 0xc013 0xc02f 0xcca8; do
        expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == $s && ip.src == $k" 1
    done
    expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0xc028 && ip.src == ${IP[bob]}" 1
    # extended master secret (23) on all four, encrypt-then-MAC (22) on the two CBC ones
    expect_eq "$n.pcap: EMS" "$(tshark_count "$OUT/$n.pcap" 'tls.handshake.type == 2 && tls.handshake.extension.type == 23')" 4
    expect_eq "$n.pcap: EtM" "$(tshark_count "$OUT/$n.pcap" 'tls.handshake.type == 2 && tls.handshake.extension.type == 22')" 2
    expect $n.pcap 'tls.handshake.type == 12' 4
    expect_eq "$n.keys: CLIENT_RANDOM lines" "$(grep -c '^CLIENT_RANDOM ' "$OUT/$n.keys")" 4
    expect_eq "$n.keys: lines" "$(wc -l <"$OUT/$n.keys")" 4
    expect $n.pcap 'sip.Status-Code == 401 && sip.WWW-Authenticate && tls' 2 "${TLS_KOPT[@]}"
    expect $n.pcap 'sip.Status-Code == 407 && tls' 1 "${TLS_KOPT[@]}"
    expect $n.pcap "sip.Method == \"INVITE\" && sdp && ip.dst == ${IP[bob]}" 1 "${TLS_KOPT[@]}"
    expect $n.pcap "sip.Method == \"BYE\" && ip.dst == ${IP[bob]}" 1 "${TLS_KOPT[@]}"
    finish $n.pcap --keylog "$OUT/$n.keys"
}

# TLS 1.2 with RSA key exchange, decryptable with the servers' private key
# alone (tls12-rsa-call.key.pem: one throwaway RSA 2048 key made at each run,
# used by both kamailio and bob's stunnel; no key log). Suites: REGISTER
# AES128-GCM-SHA256 (0x009c), call alice -> kamailio AES256-GCM-SHA384
# (0x009d), un-REGISTER AES256-SHA (0x0035, CBC + HMAC-SHA1), kamailio -> bob
# AES128-SHA256 (0x003c, CBC + HMAC-SHA256). Extended master secret is ON
# (OpenSSL's default; the RSA-decrypted premaster secret plus the handshake
# hash give the master secret), encrypt-then-MAC on the two CBC connections.
sample_tls12_rsa_call() {
    local n=tls12-rsa-call k s
    tls_keys_call $n rsa TLSv1.2 AES128-GCM-SHA256 AES256-GCM-SHA384 AES256-SHA AES128-SHA256
    k=${IP[kam]}
    for s in 0x009c 0x009d 0x0035; do
        expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == $s && ip.src == $k" 1
    done
    expect $n.pcap "tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x003c && ip.src == ${IP[bob]}" 1
    none $n.pcap 'tls.handshake.type == 12'
    expect_eq "$n.pcap: EMS" "$(tshark_count "$OUT/$n.pcap" 'tls.handshake.type == 2 && tls.handshake.extension.type == 23')" 4
    expect_eq "$n.pcap: EtM" "$(tshark_count "$OUT/$n.pcap" 'tls.handshake.type == 2 && tls.handshake.extension.type == 22')" 2
    expect $n.pcap 'sip.Status-Code == 401 && sip.WWW-Authenticate && tls' 2 "${TLS_KOPT[@]}"
    expect $n.pcap "sip.Method == \"INVITE\" && sdp && ip.dst == ${IP[bob]}" 1 "${TLS_KOPT[@]}"
    expect $n.pcap "sip.Method == \"BYE\" && ip.dst == ${IP[bob]}" 1 "${TLS_KOPT[@]}"
    finish $n.pcap --rsa-key "$OUT/$n.key.pem"
}

# Three end-to-end security features over plain UDP between two SIPp hosts:
# (a) INVITE sips:bob with a TLS Via and an SDES key, sent on UDP (downgrade);
# (b) INVITE with a STIR/SHAKEN Identity header (ES256 PASSporT signed here
# with a fresh P-256 key, scripts/passport.py); (c) MESSAGE with an S/MIME
# multipart/signed body (openssl cms -sign, P-256 certificate made here).
sample_sips_identity_smime() {
    local f=$OUT/sips-identity-smime.pcap d=$WORK/sec id ct body
    mkdir -p "$d"
    openssl ecparam -name prime256v1 -genkey -noout -out "$d/sp.key"
    id=$(python3 "$ROOT/scripts/passport.py" "$d/sp.key" 12155551212 12155551213 \
        https://cert.example.org/sp.pem)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -nodes -days 365 \
        -subj "/CN=alice@siplens.test" -addext "subjectAltName=email:alice@siplens.test" \
        -keyout "$d/alice.key" -out "$d/alice.crt" 2>/dev/null
    printf 'Content-Type: text/plain\r\n\r\nHello Bob, this MESSAGE is signed (S/MIME, RFC 3261 23.4).\r\n' >"$d/msg.txt"
    # no certificate inside (-nocerts) keeps the MESSAGE under the 1500-byte MTU
    openssl cms -sign -in "$d/msg.txt" -signer "$d/alice.crt" -inkey "$d/alice.key" -md sha256 \
        -crlfeol -nocerts -nosmimecap -out "$d/signed.eml"
    ct=$(python3 -c 'import sys; h=open(sys.argv[1],"rb").read().split(b"\r\n\r\n",1)[0].decode()
print([l.split(":",1)[1].strip() for l in h.split("\r\n") if l.lower().startswith("content-type:")][0])' "$d/signed.eml")
    body=$(python3 -c 'import sys; sys.stdout.write(open(sys.argv[1],"rb").read().split(b"\r\n\r\n",1)[1].decode())' "$d/signed.eml")
    two_hosts sec 1500
    cap_start sec-a "$f" tcpdump -i a0
    uas sec-b uas-call-signal.xml -i "$B_IP" -p 5060 -mi "$B_IP" -mp 16000
    uac sec-a uac-invite-sips-udp.xml -i "$A_IP" -p 5060 -mi "$A_IP" -mp 17000 -m 1 -d 500 -s bob \
        -key crypto "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$TLS_ALICE_SDES" "$B_IP:5060"
    uas_wait
    uas sec-b uas-call-signal.xml -i "$B_IP" -p 5060 -mi "$B_IP" -mp 16000
    uac sec-a uac-invite-identity.xml -i "$A_IP" -p 5060 -mi "$A_IP" -mp 17000 -m 1 -d 500 \
        -key identity "$id" "$B_IP:5060"
    uas_wait
    uas sec-b uas-message.xml -i "$B_IP" -p 5060
    uac sec-a uac-message-smime.xml -i "$A_IP" -p 5060 -m 1 -s bob -key smime_ct "$ct" \
        -key smime_body "$body" "$B_IP:5060"
    uas_wait
    cap_stop "$f"
    expect sips-identity-smime.pcap 'sip.r-uri contains "sips:" && udp && sip.Via.transport == "TLS"' 1
    expect sips-identity-smime.pcap 'sip.Method == "INVITE" && sip.Identity contains "ppt=shaken"' 1
    expect sips-identity-smime.pcap 'sip.Method == "MESSAGE" && sip.Content-Type contains "multipart/signed"' 1
    expect sips-identity-smime.pcap 'sip.Method == "MESSAGE" && ip.flags.mf == 0 && !ip.fragments' 1
    # the S/MIME signature on the wire verifies against alice's certificate
    tshark -n -r "$f" -Y 'sip.Method == "MESSAGE"' -T fields -e udp.payload 2>/dev/null | head -1 |
        python3 -c 'import sys; m=bytes.fromhex(sys.stdin.read().strip()); h,b=m.split(b"\r\n\r\n",1)
ct=[l for l in h.split(b"\r\n") if l.lower().startswith(b"content-type:")][0]
sys.stdout.buffer.write(b"MIME-Version: 1.0\r\n"+ct+b"\r\n\r\n"+b)' >"$d/wire.eml"
    openssl cms -verify -in "$d/wire.eml" -CAfile "$d/alice.crt" -certfile "$d/alice.crt" \
        -out /dev/null 2>"$d/verify.out" || die "S/MIME body on the wire does not verify: $(cat "$d/verify.out")"
    finish sips-identity-smime.pcap
}

# Toll fraud then flood, from one host against kamailio: 12 unauthenticated
# INVITEs to international numbers in 3 s (User-Agent sipcli), each rejected
# 403 by kamailio's dial plan before any challenge; then 1000 OPTIONS at
# 400/s (2.5 s), each answered 200.
sample_toll_fraud_flood() {
    local f=$OUT/toll-fraud-flood.pcap
    two_hosts tf 1500
    cap_start tf-a "$f" tcpdump -i a0
    kam_start tf-b "$B_IP"
    uac tf-a uac-invite-tollfraud.xml -i "$A_IP" -p 5060 -mi "$A_IP" -m 12 -r 4 \
        -inf "$SIPP_DIR/toll-numbers.csv" "$B_IP:5060"
    uac tf-a uac-options.xml -i "$A_IP" -p 5060 -m 300 -r 250 "$B_IP:5060"
    cap_stop "$f"
    kam_stop
    expect toll-fraud-flood.pcap 'sip.Method == "INVITE" && sip.r-uri.user matches "^(\\+|00|011)"' 12
    expect toll-fraud-flood.pcap 'sip.Status-Code == 403 && sip.CSeq.method == "INVITE"' 12
    expect toll-fraud-flood.pcap 'sip.Method == "OPTIONS"' 300
    expect toll-fraud-flood.pcap 'sip.Status-Code == 200 && sip.CSeq.method == "OPTIONS"' 300
    finish toll-fraud-flood.pcap
}

# ------------------------------------------------------------- NAT samples ---

# A home NAT. The phone alice (192.168.1.10/24) sits on a LAN behind a Linux
# router (namespace NAME-rtr: lan0 192.168.1.1/24, wan0 198.51.100.1/24,
# ip_forward on, nftables NAT rule NAT on what leaves wan0, and a forward
# filter that lets in from wan0 only packets of connections opened from the
# LAN, as home routers do: packets to 192.168.1.x from outside are dropped
# and counted). The public segment is a bridge (br0 in NAME-sw) joining the
# router's wan0, kamailio 203.0.113.10, the callee bob 203.0.113.20 and a
# public caller carol 198.51.100.30. Public hosts reach 198.51.100.0/24 and
# 203.0.113.0/24 on-link and everything else (so 192.168.1.x too) through
# the router, like an Internet default route.
NAT_PUB=198.51.100.1 ALICE=192.168.1.10 KAM=203.0.113.10 BOB=203.0.113.20 CAROL=198.51.100.30
NAT_PORTS="meta l4proto udp masquerade to :40000-40100"   # source ports always change
nat_topo() {
    local n=$1 nat=$2 h i=0
    ns_new "$n-alice"
    ns_new "$n-rtr"
    ns_new "$n-sw"
    veth "$n-alice" eth0 "$n-rtr" lan0
    nsx "$n-alice" ip addr add "$ALICE/24" dev eth0
    nsx "$n-alice" ip route add default via 192.168.1.1
    nsx "$n-rtr" ip addr add 192.168.1.1/24 dev lan0
    nsx "$n-sw" ip link add br0 type bridge mcast_snooping 0
    nsx "$n-sw" ip link set br0 up
    no_offload "$n-sw" br0
    veth "$n-rtr" wan0 "$n-sw" p0
    nsx "$n-sw" ip link set p0 master br0
    nsx "$n-rtr" ip addr add "$NAT_PUB/24" dev wan0
    nsx "$n-rtr" ip route add 203.0.113.0/24 dev wan0
    nsx "$n-rtr" sysctl -qw net.ipv4.ip_forward=1
    nsx "$n-rtr" nft -f - <<EOF
table ip nat {
    chain postrouting {
        type nat hook postrouting priority 100;
        oifname "wan0" $nat
    }
}
table ip filter {
    chain forward {
        type filter hook forward priority 0; policy accept;
        iifname "wan0" ct state established,related accept
        iifname "wan0" counter drop
    }
}
EOF
    for h in kam=$KAM bob=$BOB carol=$CAROL; do
        i=$((i + 1))
        ns_new "$n-${h%%=*}"
        veth "$n-${h%%=*}" eth0 "$n-sw" "p$i"
        nsx "$n-sw" ip link set "p$i" master br0
        nsx "$n-${h%%=*}" ip addr add "${h#*=}/24" dev eth0
        nsx "$n-${h%%=*}" ip route replace 198.51.100.0/24 dev eth0
        nsx "$n-${h%%=*}" ip route replace 203.0.113.0/24 dev eth0
        nsx "$n-${h%%=*}" ip route add default via "$NAT_PUB" dev eth0 onlink
    done
}

# nat_cap_start NS_PREFIX SAMPLE: SAMPLE-lan.pcap on the router's lan0 (what
# the phone sees) and SAMPLE-wan.pcap on br0 (the public side).
nat_cap_start() {
    cap_start "$1-rtr" "$OUT/$2-lan.pcap" tcpdump -i lan0
    LAN_PID=$CAP_PID LAN_LOG=$CAP_LOG
    cap_start "$1-sw" "$OUT/$2-wan.pcap" tcpdump -i br0
}

nat_cap_stop() {
    cap_stop "$OUT/$1-wan.pcap"
    CAP_PID=$LAN_PID CAP_LOG=$LAN_LOG cap_stop "$OUT/$1-lan.pcap"
}

# nat_kam NS_PREFIX [WITH_NAT]: kamailio-nat.cfg on 203.0.113.10, INVITEs to bob.
nat_kam() {
    local a=(-A "CALLEE_URI=\"sip:$BOB:5060\"")
    [[ ${2:-} == WITH_NAT ]] && a+=(-A WITH_NAT)
    KAM_CFG=$ROOT/scripts/kamailio/kamailio-nat.cfg kam_start "$1-kam" "$KAM" "${a[@]}"
}

# nat_call NS_PREFIX CALLER_NS CALLER_IP: CALLER calls bob through kamailio
# (uac-call-nat.xml: Via ;rport, Contact and SDP with its own address).
nat_call() {
    uac "$1-$2" uac-call-nat.xml -i "$3" -p 5060 -mi "$3" -mp 17000 -m 1 -d 2800 -s bob \
        -key caller "$2" -key kam "$KAM" "$KAM:5060"
}

# none SAMPLE FILTER: fail if any frame matches.
none() {
    [[ -z $(tshark -n -r "$OUT/$1" -Y "$2" 2>/dev/null) ]] || die "$1: frames match '$2'"
}

# Call from behind the NAT (source ports rewritten to 40000-40100) with
# private Contact and SDP; kamailio WITH_NAT (force_rport, fix_nated_contact);
# bob's media is scripts/rtp-latch.py, which answers to where alice's RTP
# comes from (198.51.100.1:4000x), so audio flows both ways anyway.
sample_nat_latching() {
    local n=natl latch
    nat_topo $n "$NAT_PORTS"
    nat_cap_start $n nat-latching
    nat_kam $n WITH_NAT
    ip netns exec "$P-$n-bob" timeout 30 python3 "$ROOT/scripts/rtp-latch.py" "$BOB" 16000 \
        "$WORK/audio-uas.pcap" 20 >"$WORK/latch.out" 2>&1 &
    latch=$!
    BG_PIDS+=("$latch")
    for _ in $(seq 100); do grep -q ready "$WORK/latch.out" && break; sleep 0.05; done
    uas $n-bob uas-call-latch.xml -i "$BOB" -p 5060 -mi "$BOB" -mp 16100 -key rtp_port 16000
    nat_call $n alice "$ALICE"
    uas_wait
    wait "$latch" || die "rtp-latch.py failed: $(cat "$WORK/latch.out")"
    grep -q "latched $NAT_PUB:40" "$WORK/latch.out" || die "rtp-latch.py: $(cat "$WORK/latch.out")"
    nat_cap_stop nat-latching
    kam_stop
    local w=nat-latching-wan.pcap l=nat-latching-lan.pcap
    expect $w "sip.Method == \"INVITE\" && ip.src == $NAT_PUB && udp.srcport >= 40000 && udp.srcport <= 40100 && sip.Via contains \"$ALICE:5060\" && sip.Contact contains \"$ALICE\" && sdp.connection_info.address == \"$ALICE\"" 1
    expect $w "sip.Method == \"INVITE\" && ip.dst == $BOB && sip.Via contains \"received=$NAT_PUB\" && sip.Contact contains \"$NAT_PUB:40\"" 1
    expect $w "rtp && ip.src == $NAT_PUB && ip.dst == $BOB" 80
    expect $w "rtp && ip.src == $BOB && ip.dst == $NAT_PUB && udp.dstport >= 40000" 80
    expect $w "sip.Method == \"BYE\" && ip.dst == $BOB" 1
    expect $l "sip.Method == \"INVITE\" && ip.src == $ALICE && udp.srcport == 5060" 1
    expect $l "rtp && ip.src == $ALICE && udp.srcport == 17000" 80
    expect $l "rtp && ip.src == $BOB && ip.dst == $ALICE && udp.dstport == 17000" 80
    none $w "ip.addr == 192.168.1.0/24"
    finish $l
    finish $w
}

# The same call, bob a plain SIPp UAS that sends its RTP to the SDP address
# 192.168.1.10: the packets leave bob towards the router, whose firewall
# drops them (counted); alice's RTP reaches bob. Plain masquerade (ports kept).
sample_nat_one_way() {
    local n=natw dropped
    nat_topo $n masquerade
    nat_cap_start $n nat-one-way
    nat_kam $n WITH_NAT
    uas $n-bob uas-call-keys.xml -i "$BOB" -p 5060 -mi "$BOB" -mp 16000 \
        -key proto RTP/AVP -key attrs a=sendrecv -key contact "sip:bob@$BOB:5060"
    nat_call $n alice "$ALICE"
    uas_wait
    nat_cap_stop nat-one-way
    kam_stop
    dropped=$(nsx $n-rtr nft list chain ip filter forward | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ((dropped >= 80)) || die "nat-one-way: router dropped $dropped packets, expected >= 80"
    local w=nat-one-way-wan.pcap l=nat-one-way-lan.pcap
    expect $w "sip.Method == \"INVITE\" && ip.src == $NAT_PUB && sdp.connection_info.address == \"$ALICE\"" 1
    expect $w "rtp && ip.src == $NAT_PUB && ip.dst == $BOB" 80
    expect $w "rtp && ip.src == $BOB && ip.dst == $ALICE" 80
    expect $l "rtp && ip.src == $ALICE" 80
    none $l "ip.src == $BOB && !sip"
    finish $l
    finish $w
}

# REGISTER without rport from behind a NAT that rewrites the source port
# (5060 -> 4000x); kamailio without nathelper answers, per RFC 3261 18.2.2,
# to the Via received= address and the Via port 198.51.100.1:5060, where
# nothing listens: the router answers ICMP port unreachable and alice
# retransmits (0, 0.5, 1.5, 3.5 s) until SIPp gives up.
sample_nat_no_rport() {
    local n=natr
    nat_topo $n "$NAT_PORTS"
    nat_cap_start $n nat-no-rport
    nat_kam $n
    ip netns exec "$P-$n-alice" timeout 20 sipp -sf "$SIPP_DIR/uac-register-nat.xml" -nostdin \
        -timeout 5s -timeout_error -i "$ALICE" -p 5060 -m 1 -s alice -key via_params "" \
        -key expires 3600 "$KAM:5060" >"$WORK/uac.out" 2>&1 && die "nat-no-rport: REGISTER was answered"
    nat_cap_stop nat-no-rport
    kam_stop
    local w=nat-no-rport-wan.pcap l=nat-no-rport-lan.pcap
    expect $w "sip.Method == \"REGISTER\" && ip.src == $NAT_PUB && udp.srcport >= 40000 && !(sip.Via contains \"rport\")" 4
    expect $w "sip.Status-Code == 200 && ip.dst == $NAT_PUB && udp.dstport == 5060 && sip.Via contains \"received=$NAT_PUB\"" 4
    expect $w "icmp.type == 3 && icmp.code == 3 && ip.src == $NAT_PUB" 1
    expect $l "sip.Method == \"REGISTER\" && ip.src == $ALICE" 4
    none $l "sip.Status-Code"
    finish $l
    finish $w
}

# REGISTER (with rport) from behind the NAT asking Expires: 3600; kamailio
# WITH_NAT grants 3600 (binding with received=198.51.100.1:5060). Then five
# quiet seconds: no keepalive of any kind (no CRLF, OPTIONS or re-REGISTER)
# while a UDP NAT binding lasts 30-180 s on common routers.
sample_nat_register_expiry() {
    local n=nate
    nat_topo $n masquerade
    nat_cap_start $n nat-register-expiry
    nat_kam $n WITH_NAT
    uac $n-alice uac-register-nat.xml -i "$ALICE" -p 5060 -m 1 -s alice -key via_params ";rport" \
        -key expires 3600 "$KAM:5060"
    sleep 5
    nat_cap_stop nat-register-expiry
    kam_stop
    local w=nat-register-expiry-wan.pcap l=nat-register-expiry-lan.pcap
    expect $w "sip.Method == \"REGISTER\" && ip.src == $NAT_PUB && sip.Expires == 3600 && sip.Contact contains \"$ALICE\"" 1
    expect $w "sip.Status-Code == 200 && ip.dst == $NAT_PUB && sip.Contact contains \"expires=3600\"" 1
    expect $l "sip.Status-Code == 200 && ip.dst == $ALICE" 1
    [[ $(tshark -n -r "$OUT/$w" -Y 'sip' 2>/dev/null | wc -l) -eq 2 ]] || die "$w: more than REGISTER and 200"
    finish $l
    finish $w
}

# A call between two public hosts through the same NAT-aware kamailio:
# carol 198.51.100.30 calls bob 203.0.113.20, RTP both ways. No NAT in the
# path (only the public side is captured: the LAN sees nothing of it).
sample_public_call() {
    local n=pub f=$OUT/public-call.pcap
    nat_topo $n masquerade
    cap_start $n-sw "$f" tcpdump -i br0
    nat_kam $n WITH_NAT
    uas $n-bob uas-call-keys.xml -i "$BOB" -p 5060 -mi "$BOB" -mp 16000 \
        -key proto RTP/AVP -key attrs a=sendrecv -key contact "sip:bob@$BOB:5060"
    nat_call $n carol "$CAROL"
    uas_wait
    cap_stop "$f"
    kam_stop
    expect public-call.pcap "sip.Method == \"INVITE\" && ip.src == $CAROL && sdp.connection_info.address == \"$CAROL\"" 1
    expect public-call.pcap "rtp && ip.src == $CAROL && ip.dst == $BOB" 80
    expect public-call.pcap "rtp && ip.src == $BOB && ip.dst == $CAROL" 80
    expect public-call.pcap "sip.Status-Code == 200 && sip.CSeq.method == \"BYE\"" 1
    # received= is there (RFC 3581 section 4 adds it whenever rport is asked), equal to the sent-by
    none public-call.pcap "ip.addr == 192.168.0.0/16 || sdp.connection_info.address contains \"192.168.\" || sip.Contact contains \"192.168.\""
    finish public-call.pcap
}

# nat-ack-timeout: the classic lost ACK, callee behind the NAT. alice
# REGISTERs (;rport, Expires 60) from 192.168.1.10:5060 through plain
# masquerade; kamailio WITH_NAT (fix_nated_register: the binding keeps
# received=198.51.100.1:5060) routes carol's INVITE for alice there by
# lookup("location") through the NAT binding. alice answers 200 with her
# private Contact 192.168.1.10:5060; kamailio fixes NATed contacts only in
# requests (no onreply_route, no WITH_NAT_REPLY), so carol's ACK, sent along
# the route set, is relayed by kamailio to 192.168.1.10: the router's
# firewall drops it (counted). alice (uas-call-noack.xml) resends the 200
# per RFC 3261 13.3.1.4 (0.5, 1, 2, 4, 4, ... s; carol ACKs each copy, all
# lost) and at 64*T1 = 32 s sends BYE, which does reach carol. No RTP.
sample_nat_ack_timeout() {
    local n=natk dropped t
    nat_topo $n masquerade
    nat_cap_start $n nat-ack-timeout
    KAM_CFG=$ROOT/scripts/kamailio/kamailio-nat.cfg kam_start "$n-kam" "$KAM" -A WITH_NAT
    uac $n-alice uac-register-nat.xml -i "$ALICE" -p 5060 -m 1 -s alice -key via_params ";rport" \
        -key expires 60 "$KAM:5060"
    uas $n-alice uas-call-noack.xml -i "$ALICE" -p 5060 -mi "$ALICE" -mp 17000 -s alice
    uac $n-carol uac-call-nat-wait.xml -i "$CAROL" -p 5060 -mi "$CAROL" -mp 18000 -m 1 -s alice \
        -key caller carol -key kam "$KAM" "$KAM:5060"
    uas_wait
    nat_cap_stop nat-ack-timeout
    kam_stop
    dropped=$(nsx $n-rtr nft list chain ip filter forward | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ((dropped >= 3)) || die "nat-ack-timeout: router dropped $dropped packets, expected >= 3 ACKs"
    local w=nat-ack-timeout-wan.pcap l=nat-ack-timeout-lan.pcap
    local ok="sip.Status-Code == 200 && sip.CSeq.method == \"INVITE\""
    expect $w "sip.Method == \"REGISTER\" && ip.src == $NAT_PUB && sip.Contact contains \"$ALICE\"" 1
    expect $w "sip.Method == \"INVITE\" && ip.src == $KAM && ip.dst == $NAT_PUB && udp.dstport == 5060" 1
    expect $w "$ok && ip.src == $NAT_PUB && sip.Contact contains \"$ALICE:5060\"" 11
    expect $w "$ok && ip.src == $KAM && ip.dst == $CAROL" 3
    expect $w "sip.Method == \"ACK\" && ip.src == $CAROL && ip.dst == $KAM" 3
    expect $w "sip.Method == \"ACK\" && ip.src == $KAM && ip.dst == $ALICE" 3
    expect $w "sip.Method == \"BYE\" && ip.src == $NAT_PUB" 1
    expect $w "sip.Status-Code == 200 && sip.CSeq.method == \"BYE\" && ip.dst == $NAT_PUB" 1
    expect $l "$ok && ip.src == $ALICE" 11
    expect $l "sip.Method == \"BYE\" && ip.src == $ALICE" 1
    none $l "sip.Method == \"ACK\""
    none $w "rtp"
    # BYE 31-33 s after the first 200 (64*T1)
    t=$(tshark -n -r "$OUT/$l" -Y "($ok && ip.src == $ALICE) || (sip.Method == \"BYE\" && ip.src == $ALICE)" \
        -T fields -e frame.time_relative | sed -n '1p;$p' | tr '\n' ' ')
    python3 -c "import sys; a, b = map(float, sys.argv[1:3]); sys.exit(not 31 <= b - a <= 33)" $t ||
        die "nat-ack-timeout: first 200 / BYE at $t, expected 32 s apart"
    finish $l
    finish $w
}

# nat-no-rtp: both parties behind their own NAT with private SDP and no media
# relay. A second home network (dave 10.0.0.20 behind a router with the same
# masquerade and firewall, public 198.51.100.2) and the routers' upstream
# (isp 198.51.100.254, their default route) which, like any Internet router,
# drops packets for RFC 1918 destinations (counted). dave REGISTERs (;rport,
# Expires 60); alice calls dave through kamailio WITH_NAT WITH_NAT_REPLY:
# Contacts are fixed both ways (requests and the 200), so the signaling
# works (ACK and BYE reach dave through his binding), but the SDP is relayed
# untouched: alice sends her RTP to 10.0.0.20:16000, dave his to
# 192.168.1.10:17000; both streams leave their NAT (as 198.51.100.1:17000 and
# 198.51.100.2:16000) and die at the upstream: nobody hears anything.
# Captured on the public bridge only (each LAN alone looks one-way).
DAVE=10.0.0.20 NAT2_PUB=198.51.100.2 ISP=198.51.100.254
sample_nat_no_rtp() {
    local n=natn f=$OUT/nat-no-rtp.pcap dropped
    nat_topo $n masquerade
    ns_new "$n-isp"
    veth "$n-isp" eth0 "$n-sw" p4
    nsx "$n-sw" ip link set p4 master br0
    nsx "$n-isp" ip addr add "$ISP/24" dev eth0
    # dropped before routing: no ICMP unreachable or redirect goes back
    nsx "$n-isp" nft -f - <<'EOF2'
table ip filter {
    chain prerouting {
        type filter hook prerouting priority 0; policy accept;
        ip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } counter drop
    }
}
EOF2
    nsx "$n-rtr" ip route add default via "$ISP"
    ns_new "$n-dave"
    ns_new "$n-rtr2"
    veth "$n-dave" eth0 "$n-rtr2" lan0
    nsx "$n-dave" ip addr add "$DAVE/24" dev eth0
    nsx "$n-dave" ip route add default via 10.0.0.1
    nsx "$n-rtr2" ip addr add 10.0.0.1/24 dev lan0
    veth "$n-rtr2" wan0 "$n-sw" p5
    nsx "$n-sw" ip link set p5 master br0
    nsx "$n-rtr2" ip addr add "$NAT2_PUB/24" dev wan0
    nsx "$n-rtr2" ip route add 203.0.113.0/24 dev wan0
    nsx "$n-rtr2" ip route add default via "$ISP"
    nsx "$n-rtr2" sysctl -qw net.ipv4.ip_forward=1
    nsx "$n-rtr" nft list ruleset | nsx "$n-rtr2" nft -f -
    cap_start $n-sw "$f" tcpdump -i br0
    KAM_CFG=$ROOT/scripts/kamailio/kamailio-nat.cfg kam_start "$n-kam" "$KAM" -A WITH_NAT -A WITH_NAT_REPLY
    uac $n-dave uac-register-nat.xml -i "$DAVE" -p 5060 -m 1 -s dave -key via_params ";rport" \
        -key expires 60 "$KAM:5060"
    uas $n-dave uas-call-keys.xml -i "$DAVE" -p 5060 -mi "$DAVE" -mp 16000 \
        -key proto RTP/AVP -key attrs a=sendrecv -key contact "sip:dave@$DAVE:5060"
    uac $n-alice uac-call-nat.xml -i "$ALICE" -p 5060 -mi "$ALICE" -mp 17000 -m 1 -d 2800 -s dave \
        -key caller alice -key kam "$KAM" "$KAM:5060"
    uas_wait
    cap_stop "$f"
    kam_stop
    dropped=$(nsx $n-isp nft list chain ip filter prerouting | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
    ((dropped >= 160)) || die "nat-no-rtp: upstream dropped $dropped packets, expected >= 160"
    local x=nat-no-rtp.pcap
    expect $x "sip.Method == \"REGISTER\" && ip.src == $NAT2_PUB && sip.Contact contains \"$DAVE\"" 1
    expect $x "sip.Method == \"INVITE\" && ip.src == $NAT_PUB && sdp.connection_info.address == \"$ALICE\"" 1
    expect $x "sip.Method == \"INVITE\" && ip.src == $KAM && ip.dst == $NAT2_PUB && sip.Contact contains \"$NAT_PUB\"" 1
    expect $x "sip.Status-Code == 200 && ip.src == $NAT2_PUB && sdp.connection_info.address == \"$DAVE\" && sip.Contact contains \"$DAVE\"" 1
    expect $x "sip.Status-Code == 200 && ip.src == $KAM && ip.dst == $NAT_PUB && sip.Contact contains \"$NAT2_PUB\"" 1
    expect $x "sip.Method == \"ACK\" && ip.src == $KAM && ip.dst == $NAT2_PUB" 1
    expect $x "sip.Method == \"BYE\" && ip.src == $KAM && ip.dst == $NAT2_PUB" 1
    expect $x "sip.Status-Code == 200 && sip.CSeq.method == \"BYE\" && ip.dst == $NAT_PUB" 1
    expect $x "rtp && ip.src == $NAT_PUB && udp.srcport == 17000 && ip.dst == $DAVE" 80
    expect $x "rtp && ip.src == $NAT2_PUB && udp.srcport == 16000 && ip.dst == $ALICE" 80
    none $x "rtp && !(ip.dst == $DAVE || ip.dst == $ALICE)"
    finish $x
}

# stun-binding: a UA behind an nftables masquerade (random source ports, so the
# port is not preserved) asks coturn (STUN only) for its public address, from
# its RTP socket (scripts/stun-binding.py) and with turnutils_stunclient, then
# calls through the same NAT with its private address in SDP c= (SIPp): it
# learned its public address but does not use it. Captured on the private side.
sample_stun_binding() {
    local f=$OUT/stun-binding.pcap i
    command -v turnserver >/dev/null && command -v turnutils_stunclient >/dev/null ||
        die "missing turnserver / turnutils_stunclient (package coturn)"
    ns_new st-c
    ns_new st-n
    ns_new st-s
    veth st-c c0 st-n n0
    veth st-n n1 st-s s0
    nsx st-c ip addr add 192.168.77.2/24 dev c0
    nsx st-n ip addr add 192.168.77.1/24 dev n0
    nsx st-n ip addr add 203.0.113.1/24 dev n1
    nsx st-s ip addr add 203.0.113.10/24 dev s0
    nsx st-c ip route add default via 192.168.77.1
    nsx st-n sysctl -qw net.ipv4.ip_forward=1
    nsx st-n nft -f - <<'NFT'
table ip nat {
    chain post {
        type nat hook postrouting priority srcnat;
        oifname "n1" masquerade random
    }
}
NFT
    ip netns exec "$P-st-s" timeout 60 turnserver -n --stun-only --no-cli --no-tls --no-dtls \
        -L 203.0.113.10 -p 3478 --log-file stdout >"$WORK/turnserver.log" 2>&1 &
    local turn_pid=$!
    BG_PIDS+=("$turn_pid")
    for i in $(seq 100); do
        nsx st-s ss -lun | grep -q "203.0.113.10:3478" && break
        sleep 0.05
    done
    cap_start st-c "$f" tcpdump -i c0
    nsx st-c python3 "$ROOT/scripts/stun-binding.py" 192.168.77.2:17000 203.0.113.10:3478 >&2
    nsx st-c timeout 10 turnutils_stunclient -L 192.168.77.2 203.0.113.10 >"$WORK/stunclient.out" 2>&1 ||
        { cat "$WORK/stunclient.out" >&2; die "turnutils_stunclient failed"; }
    uas st-s uas-call-signal.xml -i 203.0.113.10 -p 5060 -mi 203.0.113.10 -mp 16000
    uac st-c uac-call.xml -i 192.168.77.2 -p 5060 -mi 192.168.77.2 -mp 17000 -m 1 -d 1000 203.0.113.10:5060
    uas_wait
    cap_stop "$f"
    kill -TERM "$turn_pid" 2>/dev/null || true
    wait "$turn_pid" 2>/dev/null || true
    expect stun-binding.pcap 'stun.type == 0x0001' 2
    expect stun-binding.pcap 'stun.type == 0x0101 && stun.att.ipv4-xord' 2
    expect stun-binding.pcap 'sip.Method == "INVITE" && sdp.connection_info.address == 192.168.77.2' 1
    expect stun-binding.pcap 'rtp && ip.src == 192.168.77.2' 25
    finish stun-binding.pcap
}

# SIP over WebSocket (RFC 7118) on loopback: scripts/ws-sip-client.py (Python
# websockets, as a browser client writes: "*.invalid" Via and Contact, transport
# WS) upgrades a TCP connection to kamailio's websocket module on port 8080
# (scripts/kamailio/kamailio-ws.cfg), registers, and calls "service", which
# kamailio relays over UDP to a SIPp UAS; ACK and BYE follow, then a WebSocket
# close. The INVITE goes as one fragmented message (a text frame and
# continuations) with a ping between fragments; kamailio pings the idle
# connection during the call. Needs Debian's python3-websockets (run with
# /usr/bin/python3) and kamailio-websocket-modules.
sample_ws_call() {
    local f=$OUT/ws-call.pcap
    [[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/websocket.so ]] ||
        die "kamailio websocket.so missing (kamailio-websocket-modules)"
    /usr/bin/python3 -c 'import websockets' 2>/dev/null || die "missing python3-websockets"
    ns_new ws
    KAM_CFG=$ROOT/scripts/kamailio/kamailio-ws.cfg kam_start ws 127.0.0.1 -l tcp:127.0.0.1:8080
    wait_tcp ws 127.0.0.1:8080
    cap_start ws "$f" tcpdump -i lo
    uas ws uas-call-signal.xml -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 16000
    nsx ws timeout 40 /usr/bin/python3 "$ROOT/scripts/ws-sip-client.py" ws://127.0.0.1:8080/ 1.5 \
        >"$WORK/ws-client.out" 2>&1 || { cat "$WORK/ws-client.out" >&2; die "ws-sip-client.py failed"; }
    uas_wait
    cap_stop "$f"
    kam_stop
    expect ws-call.pcap 'http.response.code == 101 && http.upgrade' 1
    expect ws-call.pcap 'websocket && sip.Method == "REGISTER"' 1
    expect ws-call.pcap 'websocket.opcode == 0 && websocket.fin == 1' 1
    expect ws-call.pcap 'websocket.opcode == 9' 2
    expect ws-call.pcap 'websocket && sip.Method == "BYE"' 1
    expect ws-call.pcap 'udp && sip.Method == "INVITE"' 1
    finish ws-call.pcap
}

# SIP over secure WebSocket (RFC 7118 WSS) on loopback: the ws-call exchange
# (scripts/ws-sip-client.py, kamailio-ws.cfg, SIPp UAS over UDP on :5070), the
# client now on wss://127.0.0.1:443/ to kamailio's websocket module behind
# tls.so (-A WITH_TLS, scripts/kamailio/tls-legs.cfg.in with method TLSv1.2+
# and a self-signed RSA 2048 certificate made here). The client allows TLS 1.3
# only, so the session is TLS 1.3 (OpenSSL's first choice,
# TLS_AES_256_GCM_SHA384), and it does not verify the certificate. Its
# ssl.SSLContext writes the NSS key log (keylog_filename), kept without
# Python's comment line as wss-call.keys. Via and Contact carry transport WSS.
# Checks: nothing of HTTP, WebSocket or SIP readable without keys; with keys
# tshark sees the upgrade, the SIP over WebSocket and the same SIP/WebSocket
# counts as ws-call.
sample_wss_call() {
    local n=wss-call f=$OUT/wss-call.pcap d=$WORK/certs-wss kopt
    [[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/websocket.so ]] ||
        die "kamailio websocket.so missing (kamailio-websocket-modules)"
    [[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ]] || die "kamailio tls.so missing (kamailio-tls-modules)"
    /usr/bin/python3 -c 'import websockets' 2>/dev/null || die "missing python3-websockets"
    certs "$d" 127.0.0.1 127.0.0.1 self
    sed -e "s#@DIR@#$d#g" -e "s#@METHOD@#TLSv1.2+#" -e "s#@SERVER_CIPHERS@#HIGH#" \
        -e "s#@CLIENT_CIPHERS@#HIGH#" "$ROOT/scripts/kamailio/tls-legs.cfg.in" >"$d/tls.cfg"
    ns_new wss
    KAM_CFG=$ROOT/scripts/kamailio/kamailio-ws.cfg kam_start wss 127.0.0.1 -l tls:127.0.0.1:443 \
        -A WITH_TLS -A "TLS_CFG=\"$d/tls.cfg\""
    wait_tcp wss 127.0.0.1:443
    rm -f "$WORK/$n.keylog"
    cap_start wss "$f" tcpdump -i lo
    uas wss uas-call-signal.xml -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 16000
    nsx wss timeout 40 /usr/bin/python3 "$ROOT/scripts/ws-sip-client.py" wss://127.0.0.1:443/ 1.5 \
        --keylog "$WORK/$n.keylog" --tls13 >"$WORK/wss-client.out" 2>&1 ||
        { cat "$WORK/wss-client.out" >&2; die "ws-sip-client.py (wss) failed"; }
    uas_wait
    cap_stop "$f"
    kam_stop
    grep -v '^#' "$WORK/$n.keylog" | awk '!seen[$0]++' >"$OUT/$n.keys"
    chmod 644 "$OUT/$n.keys"
    kopt=(-o "tls.keylog_file:$OUT/$n.keys")
    expect_eq "$n.keys: lines" "$(wc -l <"$OUT/$n.keys")" 5
    expect_eq "$n.pcap: TCP streams" "$(tshark_count "$f" 'tcp.flags.syn == 1 && tcp.flags.ack == 0')" 1
    expect_eq "$n.pcap: TLS 1.3 ServerHellos" \
        "$(tshark_count "$f" 'tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304')" 1
    expect $n.pcap 'tls.handshake.type == 2 && tls.handshake.ciphersuite == 0x1302' 1
    # without keys: the WSS leg is TLS only; the UDP leg to SIPp is in clear
    expect_eq "$n.pcap: SIP over TCP without keys" "$(tshark_count "$f" 'sip && tcp')" 0
    expect_eq "$n.pcap: WebSocket without keys" "$(tshark_count "$f" 'websocket || http')" 0
    expect_eq "$n.pcap: SIP without keys (UDP leg)" "$(tshark_sip "$f")" "$(tshark_count "$f" 'sip && udp')"
    # with keys: what ws-call shows
    expect $n.pcap 'http.request.method == "GET" && http.upgrade == "websocket"' 1 "${kopt[@]}"
    expect $n.pcap 'http.response.code == 101 && http.upgrade' 1 "${kopt[@]}"
    expect $n.pcap 'websocket && sip.Method == "REGISTER" && sip.Via contains "SIP/2.0/WSS"' 1 "${kopt[@]}"
    expect $n.pcap 'websocket.opcode == 0 && websocket.fin == 1' 1 "${kopt[@]}"
    expect $n.pcap 'websocket.opcode == 9' 2 "${kopt[@]}"
    expect $n.pcap 'websocket && sip.Method == "BYE"' 1 "${kopt[@]}"
    expect $n.pcap 'udp && sip.Method == "INVITE"' 1 "${kopt[@]}"
    expect_eq "$n.pcap: SIP with keys (ws-call: 15 + 1 fragmented)" "$(tshark_sip "$f" "${kopt[@]}")" 15
    expect_eq "$n.pcap: SIP over WebSocket with keys" "$(tshark_count "$f" 'websocket && sip' "${kopt[@]}")" 8
    finish $n.pcap --keylog "$OUT/$n.keys"
}

# DTMF as RFC 4733 telephone-events (PT 101, negotiated in the SDP): the caller keys in
# 3114# with SIPp's stock one-digit recordings (dtmf_2833_<digit>.pcap, shipped beside
# g711a.pcap) while the callee plays audio. tests/dtmf.rs checks the digits against
# tshark's rtpevent decode.
sample_dtmf_rfc4733() {
    local f=$OUT/dtmf-rfc4733.pcap d
    for d in 1 3 4 pound; do
        cp "$(dirname "$AUDIO_SRC")/dtmf_2833_$d.pcap" "$WORK/"
    done
    ns_new lo13
    cap_start lo13 "$f" tcpdump -i lo
    uas lo13 uas-call.xml -i 127.0.0.1 -p 5060 -mi 127.0.0.1 -mp 16000
    uac lo13 uac-call-dtmf.xml -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 17000 -m 1 -d 500 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    # 5 events: 7 updates and 3 end packets each
    expect dtmf-rfc4733.pcap 'rtpevent' 50
    expect dtmf-rfc4733.pcap 'rtpevent.end_of_event == 1' 15
    finish dtmf-rfc4733.pcap
}

# DTMF in signaling: SIP INFO application/dtmf-relay (1, 2, 3) and application/dtmf
# (#), then a KPML subscription (RFC 4730) whose NOTIFY reports 42. No RTP.
sample_dtmf_info() {
    local f=$OUT/dtmf-info.pcap
    ns_new lo14
    cap_start lo14 "$f" tcpdump -i lo
    uas lo14 uas-call-dtmf-info.xml -i 127.0.0.1 -p 5060 -mi 127.0.0.1 -mp 16000
    uac lo14 uac-call-dtmf-info.xml -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 17000 -m 1 -d 200 127.0.0.1:5060
    uas_wait
    cap_stop "$f"
    expect dtmf-info.pcap 'sip.Method == "INFO" && sip.Content-Type == "application/dtmf-relay"' 3
    expect dtmf-info.pcap 'sip.Method == "INFO" && sip.Content-Type == "application/dtmf"' 1
    expect dtmf-info.pcap 'sip.Method == "NOTIFY" && sip.Content-Type == "application/kpml-response+xml"' 1
    finish dtmf-info.pcap
}

# rtcp_baresip_conf DIR IP IFACE USER: a baresip 1.0 configuration playing an 8 kHz
# tone file (ausine only runs at 48 kHz) into a sink nothing reads (aubridge), one
# account that answers at once; RTCP on the port above RTP (rtcp_mux off).
rtcp_baresip_conf() {
    local dir=$1 ip=$2 ifc=$3 user=$4
    mkdir -p "$dir"
    cat >"$dir/config" <<EOF
poll_method epoll
sip_listen $ip:5060
net_interface $ifc
audio_source aufile,$WORK/rtcp-tone.wav
audio_player aubridge,sink
audio_alert aubridge,alert
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module_app account.so
module_app menu.so
rtp_stats yes
rtcp_mux no
EOF
    echo "<sip:$user@$ip>;regint=0;answermode=auto;audio_codecs=PCMU" >"$dir/accounts"
}

# rtcp-call: two baresip 1.0 user agents (libre's RTCP: SR, SDES CNAME, APP, BYE) in
# a ~8 s PCMU call, direct (no proxy); the RTCP of both sides is what the report's
# streams[].rtcp shows.
sample_rtcp_call() {
    command -v baresip >/dev/null || die "missing command: baresip (apt-get install baresip)"
    two_hosts rtcp 1500
    python3 -c '
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                       for i in range(8000 * 20)))
w.close()' "$WORK/rtcp-tone.wav"
    rtcp_baresip_conf "$WORK/rtcp-b" "$B_IP" b0 bob
    rtcp_baresip_conf "$WORK/rtcp-a" "$A_IP" a0 alice
    cap_start rtcp-a "$OUT/rtcp-call.pcap" tcpdump -i a0 udp
    nsx rtcp-b timeout 20 baresip -f "$WORK/rtcp-b" -t 12 >"$WORK/rtcp-b.log" 2>&1 &
    BG_PIDS+=($!)
    sleep 1
    nsx rtcp-a timeout 20 baresip -f "$WORK/rtcp-a" -t 9 -e "/dial sip:bob@$B_IP" \
        >"$WORK/rtcp-a.log" 2>&1 || { cat "$WORK/rtcp-a.log" >&2; die "baresip caller failed"; }
    sleep 1
    cap_stop "$OUT/rtcp-call.pcap"
    expect rtcp-call.pcap 'rtcp.pt == 200' 2 -o rtcp.heuristic_rtcp:TRUE
    expect rtcp-call.pcap 'rtcp.sdes.type == 1' 2 -o rtcp.heuristic_rtcp:TRUE
    finish rtcp-call.pcap
}

# rtcp-xr: a call whose RTCP carries XR (RFC 3611 VoIP Metrics, Statistics Summary,
# RRTR/DLRR), reduced-size feedback and a malformed XR, written by
# scripts/make-rtcp-xr.py: no Debian program sends XR (see samples/README.md).
sample_rtcp_xr() {
    python3 "$ROOT/scripts/make-rtcp-xr.py" "$OUT/rtcp-xr.pcap"
    expect rtcp-xr.pcap 'rtcp.xr.bt == 7' 1
    finish rtcp-xr.pcap
}

# ------------------------------------------------------------- baresip ---
# Tone calls between two baresip 1.0 UAs (Debian's baresip): each side's audio
# source is baresip's ausine module, a sine at a known frequency (alice, the
# caller, 1000 Hz; bob, the callee, 600 Hz), so `siplens audio` can be checked
# by the frequency it finds in each direction (tests/audio.rs). bob answers on
# his own (answermode=auto); alice hangs up when her -t timer ends.

# baresip_conf DIR IP USER FREQ CODEC [MEDIAENC]: a baresip config directory.
# ausine makes 48 kHz stereo; baresip resamples it to the codec's rate.
baresip_conf() {
    local d=$1 ip=$2 user=$3 freq=$4 codec=$5 enc=${6:-}
    mkdir -p "$d"
    cat >"$d/config" <<EOC
poll_method epoll
sip_listen $ip:5060
audio_player aubridge,none
audio_alert aubridge,none
audio_source ausine,$freq
ausrc_srate 48000
ausrc_channels 2
rtp_ports 16000-16010
module_path /usr/lib/baresip/modules
module g711.so
module g722.so
module ausine.so
module aubridge.so
module srtp.so
module_app account.so
module_app menu.so
EOC
    echo "<sip:$user@$ip>;regint=0;audio_codecs=$codec;answermode=auto${enc:+;mediaenc=$enc}" >"$d/accounts"
    : >"$d/contacts"
}

# baresip_call NAME CODEC [MEDIAENC]: alice calls bob for 3 s, captured on a0.
baresip_call() {
    local name=$1 codec=$2 enc=${3:-} f=$OUT/$1.pcap bob i
    two_hosts "$name" 1500
    baresip_conf "$WORK/$name-a" "$A_IP" alice 1000 "$codec" "$enc"
    baresip_conf "$WORK/$name-b" "$B_IP" bob 600 "$codec" "$enc"
    cap_start "$name-a" "$f" tcpdump -i a0
    ip netns exec "$P-$name-b" timeout 20 baresip -f "$WORK/$name-b" -t 6 </dev/null >"$WORK/$name-b.log" 2>&1 &
    bob=$!
    BG_PIDS+=("$bob")
    for i in $(seq 50); do
        nsx "$name-b" ss -lun | grep -q ":5060 " && break
        sleep 0.1
    done
    nsx "$name-a" timeout 20 baresip -f "$WORK/$name-a" -t 3 -e "/dial sip:bob@$B_IP" \
        </dev/null >"$WORK/$name-a.log" 2>&1 || true
    wait "$bob" || true
    cap_stop "$f"
    grep -q "Call established" "$WORK/$name-a.log" || { cat "$WORK/$name-a.log" >&2; die "$name: no call"; }
}

# Plain RTP, G.711 µ-law.
sample_baresip_pcmu() {
    baresip_call baresip-pcmu PCMU
    expect baresip-pcmu.pcap 'sdp.media.proto == "RTP/AVP" && sdp.media contains " 0 "' 2
    expect baresip-pcmu.pcap 'rtp.p_type == 0' 200
    finish baresip-pcmu.pcap
}

# SDES-SRTP (RFC 4568, keys in the SDP, mediaenc=srtp-mand), G.711 A-law.
sample_baresip_srtp() {
    baresip_call baresip-srtp PCMA srtp-mand
    expect baresip-srtp.pcap 'sdp.media.proto == "RTP/SAVP" && sdp.media_attr contains "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"' 2
    expect baresip-srtp.pcap 'rtp.p_type == 8' 200
    finish baresip-srtp.pcap
}

# Plain RTP, G.722 (16 kHz audio on an 8000 Hz RTP clock, RFC 3551 §4.5.2).
sample_baresip_g722() {
    baresip_call baresip-g722 G722/16000/1
    expect baresip-g722.pcap 'sdp.media.proto == "RTP/AVP" && sdp.media contains " 9 "' 2
    expect baresip-g722.pcap 'rtp.p_type == 9' 200
    finish baresip-g722.pcap
}

ALL=(basic_call_rtp register_digest register_digest_noqop invite_407 options_keepalive tcp_call ipv6_call
    fragmented_invite vlan_call gtpu_ims_call cooked_any two_interfaces scanner_svmap scanner_svwar
    kamailio_auth sipvicious_attack register_basic sdes_call_udp tls_srtp_call clean_tls_srtp
    sips_identity_smime toll_fraud_flood nat_latching nat_one_way nat_no_rport nat_register_expiry
    public_call stun_binding nat_ack_timeout nat_no_rtp ws_call tls13_call tls12_call tls12_rsa_call
    wss_call dtmf_rfc4733 dtmf_info quality_loss5 quality_loss15 quality_jitter rtcp_call rtcp_xr
    dtls_srtp_call baresip_pcmu baresip_srtp baresip_g722)
SEL=("$@")
((${#SEL[@]})) || SEL=("${ALL[@]}")
for s in "${SEL[@]}"; do
    s=${s//-/_}
    declare -F "sample_$s" >/dev/null || die "unknown sample $s (known: ${ALL[*]})"
    log "--- $s"
    "sample_$s"
done
log "done"
