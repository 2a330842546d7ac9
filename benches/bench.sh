#!/usr/bin/env bash
# Throughput benchmark: siplens vs tshark vs sngrep on two large captures.
#
# 1. Generates (unless already present; BENCH_REGEN=1 forces) in bench-out/:
#    - rtp-heavy.pcap: BENCH_RTP_CALLS (2200) calls, each with 7 s of G.711
#      RTP both ways (SIPp plays sip-tester's g711a.pcap on both sides) =
#      ~1.04M RTP packets; about 70 s.
#    - sig-heavy.pcap: BENCH_SIG_CALLS (25000) media-less calls
#      (INVITE/100/180/200/ACK/BYE/200 = 7 messages) at BENCH_SIG_RATE cps.
#    SIPp runs on the loopback of a private network namespace (no other
#    traffic is captured, nothing leaves it), tcpdump -B 512 MiB, and the
#    run fails unless tcpdump reports 0 dropped packets.
# 2. Times, with /usr/bin/time (wall, peak RSS), on each file:
#      tshark -n -r F -q -z sip,stat
#      sngrep -F -N -q -l 100000 -I F  (on rtp-heavy only if BENCH_SNGREP_RTP=1:
#                                       it can take more than 10 minutes)
#      siplens report F --format json   (the `dist` profile's binary, built first with
#                                       `cargo build --profile dist`; SIPLENS=path
#                                       overrides target/dist/siplens)
#    and prints a table, also written to bench-out/results.md.
# Needs root, sipp, tcpdump, tshark, sngrep, capinfos, editcap, nft, python3, time.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/netns.sh
. "$ROOT/benches/netns.sh"
OUT=${BENCH_OUT:-$ROOT/bench-out}
SIPP_DIR=$ROOT/scripts/sipp
AUDIO_SRC=${AUDIO_SRC:-/usr/share/sip-tester/g711a.pcap}
RTP_CALLS=${BENCH_RTP_CALLS:-2200}
RTP_RATE=${BENCH_RTP_RATE:-40}
SIG_CALLS=${BENCH_SIG_CALLS:-25000}
SIG_RATE=${BENCH_SIG_RATE:-700}
NS="slxbench$$"
BG_PIDS=()
WORK=""

die() { echo "bench: ERROR: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
trap 'echo "bench: FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns list | awk '{print $1}' | grep -qx "$NS" && ip netns del "$NS"
    [[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $EUID -eq 0 ]] || die "must run as root (network namespace, capture)"
for cmd in sipp tcpdump tshark sngrep capinfos editcap python3 timeout nft; do
    command -v "$cmd" >/dev/null || die "missing command: $cmd"
done
[[ -x /usr/bin/time ]] || die "missing /usr/bin/time (apt-get install time)"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/siplens-bench.XXXXXX)

# generate NAME UAC_SCENARIO UAS_SCENARIO CALLS RATE CALL_MS
generate() {
    local name=$1 sc=$2 ss=$3 calls=$4 rate=$5 ms=$6
    local f=$OUT/$name.pcap cap_pid uas_pid limit secs
    bench_netns_up "$NS"
    secs=$((calls / rate + ms / 1000 + 60))
    # concurrent calls expected: rate * call length, with headroom
    limit=$((rate * (ms / 1000 + 2) + 100))
    ip netns exec "$NS" timeout $((secs + 30)) tcpdump -Z root -n -i lo -s 0 -B 524288 -w "$f" \
        2>"$WORK/$name.tcpdump" &
    cap_pid=$!
    BG_PIDS+=("$cap_pid")
    for _ in $(seq 100); do grep -q "listening on" "$WORK/$name.tcpdump" && break; sleep 0.05; done
    (cd "$WORK" && exec ip netns exec "$NS" timeout $((secs + 20)) sipp -sf "$SIPP_DIR/$ss" \
        -i 127.0.0.1 -p 5060 -mi 127.0.0.1 -mp 20000 -m "$calls" -nostdin -timeout "${secs}s" \
        -timeout_error -skip_rlimit -max_socket 60000) >"$WORK/$name.uas" 2>&1 &
    uas_pid=$!
    BG_PIDS+=("$uas_pid")
    sleep 0.5
    log "generating $name: $calls calls at $rate cps (up to ${secs}s)"
    if ! (cd "$WORK" && ip netns exec "$NS" timeout $((secs + 20)) sipp -sf "$SIPP_DIR/$sc" \
        -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 40000 -m "$calls" -r "$rate" -l "$limit" \
        -d "$ms" -nostdin -timeout "${secs}s" -timeout_error -skip_rlimit -max_socket 60000 \
        127.0.0.1:5060) >"$WORK/$name.uac" 2>&1; then
        tail -40 "$WORK/$name.uac" >&2
        die "sipp uac failed for $name"
    fi
    wait "$uas_pid" || { tail -40 "$WORK/$name.uas" >&2; die "sipp uas failed for $name"; }
    sleep 1.5 # let tcpdump drain its ring buffer blocks
    kill -TERM "$cap_pid"
    wait "$cap_pid" || true
    ip netns del "$NS"
    cat "$WORK/$name.tcpdump" >&2
    grep -q "^0 packets dropped by kernel" "$WORK/$name.tcpdump" || die "tcpdump dropped packets ($name)"
    grep -E "Successful call|Failed call|Retransmissions" "$WORK/$name.uac" >&2 || true
    rm -f "$OUT/$name.counts"
}

# counts NAME -> "frames sip_messages" (cached). SIP here is UDP on 5060/5070,
# one message per datagram, so a BPF count is exact and fast.
counts() {
    local f=$OUT/$1.pcap c=$OUT/$1.counts frames sip
    if [[ ! -s $c ]]; then
        frames=$(capinfos -c -M "$f" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
        sip=$(tcpdump -n -r "$f" 'udp port 5060 or udp port 5070' 2>/dev/null | wc -l)
        echo "$frames $sip" >"$c"
    fi
    cat "$c"
}

prepare_audio() {
    editcap -F pcap "$AUDIO_SRC" "$WORK/audio.pcap" >/dev/null
    python3 "$ROOT/scripts/rewrite-ssrc.py" "$WORK/audio.pcap" "$WORK/audio-uas.pcap" 5151AB1E
}

if [[ ${BENCH_REGEN:-0} == 1 || ! -s $OUT/rtp-heavy.pcap ]]; then
    prepare_audio
    generate rtp-heavy uac-call.xml uas-call.xml "$RTP_CALLS" "$RTP_RATE" 7300
fi
if [[ ${BENCH_REGEN:-0} == 1 || ! -s $OUT/sig-heavy.pcap ]]; then
    generate sig-heavy uac-call-signal.xml uas-call-signal.xml "$SIG_CALLS" "$SIG_RATE" 0
fi

for n in rtp-heavy sig-heavy; do
    read -r fr sp < <(counts "$n")
    log "$n.pcap: $(stat -c %s "$OUT/$n.pcap") bytes, $fr frames, $sp SIP messages"
done
read -r RTP_FR RTP_SIP < <(counts rtp-heavy)
read -r SIG_FR SIG_SIP < <(counts sig-heavy)
((RTP_FR >= 1000000)) || log "WARNING: rtp-heavy has fewer than 1M frames ($RTP_FR)"
((SIG_SIP >= 100000)) || log "WARNING: sig-heavy has fewer than 100k SIP messages ($SIG_SIP)"

SIPLENS=${SIPLENS:-}
if [[ -z $SIPLENS ]]; then
    # The published figures are the `dist` profile's (fat LTO); the quick `release`
    # build is a few percent slower (docs/benchmarks.md, "Build profiles").
    for c in "$ROOT/target/dist/siplens" "${CARGO_TARGET_DIR:-/work/target}/dist/siplens"; do
        [[ -x $c ]] && { SIPLENS=$c; break; }
    done
    [[ -n $SIPLENS ]] || log "no dist binary: cargo build --profile dist (siplens rows skipped)"
fi

ROWS=()
# measure TOOL NAME FRAMES SIP CMD...
measure() {
    local tool=$1 name=$2 frames=$3 sip=$4 wall rss rc=0
    shift 4
    log "running $tool on $name.pcap"
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/$tool-$name.out" 2>"$WORK/$tool-$name.err" || rc=$?
    if ((rc != 0)); then
        tail -5 "$WORK/$tool-$name.err" >&2
        ROWS+=("| $tool | $name | $frames | $sip | failed (exit $rc) | | | |")
        return 0
    fi
    read -r wall rss <"$WORK/time"
    ROWS+=("$(python3 -c '
import sys
tool, name, fr, sip, wall, rss = sys.argv[1:]
fr, sip, wall, rss = int(fr), int(sip), float(wall), int(rss)
w = max(wall, 0.01)
print("| %s | %s | %d | %d | %.2f | %.0f | %.0f | %.1f |" % (tool, name, fr, sip, wall, fr / w, sip / w, rss / 1024))
' "$tool" "$name" "$frames" "$sip" "$wall" "$rss")")
}

for n in sig-heavy rtp-heavy; do
    f=$OUT/$n.pcap
    if [[ $n == rtp-heavy ]]; then fr=$RTP_FR sp=$RTP_SIP; else fr=$SIG_FR sp=$SIG_SIP; fi
    measure tshark "$n" "$fr" "$sp" tshark -n -r "$f" -q -z sip,stat
    if [[ $n == sig-heavy || ${BENCH_SNGREP_RTP:-0} == 1 ]]; then
        # -F: no config file, so nothing (e.g. HEP/EEP sending) is configured
        measure sngrep "$n" "$fr" "$sp" sngrep -F -N -q -l 100000 -I "$f"
    else
        ROWS+=("| sngrep | $n | $fr | $sp | skipped (BENCH_SNGREP_RTP=1) | | | |")
    fi
    if [[ -n $SIPLENS ]]; then
        measure siplens "$n" "$fr" "$sp" "$SIPLENS" report "$f" --format json
    else
        ROWS+=("| siplens | $n | $fr | $sp | no dist binary | | | |")
    fi
done

{
    echo "# siplens benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(tshark --version 2>/dev/null | head -1 | sed 's/\.$//'), sngrep $(sngrep -V | head -1 | awk '{print $3}')"
    echo
    echo "| tool | capture | packets | SIP msgs | wall s | packets/s | SIP msgs/s | peak RSS MB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/results.md"
