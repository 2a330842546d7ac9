#!/usr/bin/env bash
# The P7 benchmark workloads (issue 13), made reproducibly into WL_OUT (/work/bench-data):
#
#   signaling.pcap      SIPp on loopback, media-less calls (INVITE/100/180/200/ACK/BYE/200):
#                       WL_SIG_CALLS (26000) calls at WL_SIG_RATE (700) cps = 182,000 SIP
#                       messages, ~80 MB.
#   media.pcap          SIPp calls with 7 s of G.711 RTP both ways (each side plays
#                       sip-tester's g711a.pcap, as benches/bench.sh does): WL_MEDIA_CALLS
#                       (3000) at WL_MEDIA_RATE (40) cps = ~1.44M packets.
#   flood.pcap          WL_FLOOD (1,000,000) unanswered INVITEs, distinct Call-IDs and source
#                       addresses, ~530 MB, written by benches/flood.py (no SIPp needed).
#   signaling-x10.pcap  signaling.pcap WL_COPIES (10) times back to back, each copy with its
#                       own Call-IDs and shifted times (benches/repeat.py).
#   {signaling,flood}-q{1,2,3,4}.pcap
#                       the first 1/4, 1/2, 3/4 of the packets (editcap -r), and q4 the whole
#                       file (a link), for the cost per message at each size.
#
# Every NAME.pcap gets NAME.counts ("frames SIP-messages") for benches/compare.sh. SIPp runs
# in a private network namespace (only its loopback is captured, nothing leaves it),
# tcpdump -B 512 MiB, and the run fails unless tcpdump reports 0 dropped packets; every
# generator is bounded (call counts, timeouts; flood.py and repeat.py refuse large N).
# A file already there is kept unless WL_REGEN=1.
set -Eeuo pipefail

usage() {
    cat <<'EOF'
Usage: benches/workloads.sh [--small] [--dry-run] [WORKLOAD...]

Makes the P7 benchmark captures (see the comment at the top of this script).
WORKLOAD: signaling media flood x10 quarters (default: all five, in that order;
x10 and quarters need signaling.pcap, quarters also flood.pcap).

  --small    a quick run: 300 signaling calls, 20 media calls, 3,000 flood INVITEs,
             into $WL_OUT/small (or WL_OUT if set explicitly with --small)
  --dry-run  print what would be made and the commands, make nothing
  --help     this text

Environment: WL_OUT (/work/bench-data), WL_SIG_CALLS (26000), WL_SIG_RATE (700),
WL_MEDIA_CALLS (3000), WL_MEDIA_RATE (40), WL_FLOOD (1000000), WL_COPIES (10),
WL_REGEN=1 (remake files already there), AUDIO_SRC (/usr/share/sip-tester/g711a.pcap).
signaling and media need root, sipp, tcpdump, nft; all need python3, editcap, capinfos.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/netns.sh
. "$ROOT/benches/netns.sh"
SMALL=0 DRY=0
WANT=()
for a in "$@"; do
    case $a in
    -h | --help) usage; exit 0 ;;
    --small) SMALL=1 ;;
    --dry-run | -n) DRY=1 ;;
    signaling | media | flood | x10 | quarters) WANT+=("$a") ;;
    *) echo "workloads: unknown argument: $a (see --help)" >&2; exit 2 ;;
    esac
done
((${#WANT[@]})) || WANT=(signaling media flood x10 quarters)

if ((SMALL)); then
    OUT=${WL_OUT:-/work/bench-data/small}
    SIG_CALLS=${WL_SIG_CALLS:-300} MEDIA_CALLS=${WL_MEDIA_CALLS:-20} FLOOD=${WL_FLOOD:-3000}
    SIG_RATE=${WL_SIG_RATE:-100} MEDIA_RATE=${WL_MEDIA_RATE:-10}
else
    OUT=${WL_OUT:-/work/bench-data}
    SIG_CALLS=${WL_SIG_CALLS:-26000} MEDIA_CALLS=${WL_MEDIA_CALLS:-3000} FLOOD=${WL_FLOOD:-1000000}
    SIG_RATE=${WL_SIG_RATE:-700} MEDIA_RATE=${WL_MEDIA_RATE:-40}
fi
COPIES=${WL_COPIES:-10}
SIPP_DIR=$ROOT/scripts/sipp
AUDIO_SRC=${AUDIO_SRC:-/usr/share/sip-tester/g711a.pcap}
NS="slxwl$$"
BG_PIDS=()
WORK=""

die() { echo "workloads: ERROR: $*" >&2; exit 1; }
log() { echo "workloads: $*" >&2; }
trap 'echo "workloads: FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR
cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NS"; then ip netns del "$NS"; fi
    [[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Bounds: a typo must not start an hour-long generator.
((SIG_CALLS >= 1 && SIG_CALLS <= 500000)) || die "WL_SIG_CALLS must be 1..500000"
((MEDIA_CALLS >= 1 && MEDIA_CALLS <= 20000)) || die "WL_MEDIA_CALLS must be 1..20000"
((FLOOD >= 1 && FLOOD <= 5000000)) || die "WL_FLOOD must be 1..5000000"
((COPIES >= 1 && COPIES <= 20)) || die "WL_COPIES must be 1..20"

need() {
    local c
    ((!DRY)) || return 0
    for c in "$@"; do command -v "$c" >/dev/null || die "missing command: $c"; done
}
have() { [[ $WL_REGEN != 1 && -s $OUT/$1.pcap ]]; }
WL_REGEN=${WL_REGEN:-0}

# counts NAME: writes NAME.counts = "frames sip_messages". SIP here is UDP on 5060/5070,
# one message per datagram, so a BPF count is exact.
counts() {
    local f=$OUT/$1.pcap frames sip
    frames=$(capinfos -c -M "$f" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
    sip=$(tcpdump -n -r "$f" 'udp port 5060 or udp port 5070' 2>/dev/null | wc -l)
    echo "$frames $sip" >"$OUT/$1.counts"
    log "$1.pcap: $(stat -L -c %s "$f") bytes, $frames frames, $sip SIP messages"
}

# generate NAME UAC_SCENARIO UAS_SCENARIO CALLS RATE CALL_MS (as benches/bench.sh)
generate() {
    local name=$1 sc=$2 ss=$3 calls=$4 rate=$5 ms=$6
    local f=$OUT/$name.pcap cap_pid uas_pid limit secs
    secs=$((calls / rate + ms / 1000 + 60))
    limit=$((rate * (ms / 1000 + 2) + 100)) # concurrent calls expected, with headroom
    local uas=(sipp -sf "$SIPP_DIR/$ss" -i 127.0.0.1 -p 5060 -mi 127.0.0.1 -mp 20000 -m "$calls"
        -nostdin -timeout "${secs}s" -timeout_error -skip_rlimit -max_socket 60000)
    local uac=(sipp -sf "$SIPP_DIR/$sc" -i 127.0.0.1 -p 5070 -mi 127.0.0.1 -mp 40000 -m "$calls"
        -r "$rate" -l "$limit" -d "$ms" -nostdin -timeout "${secs}s" -timeout_error -skip_rlimit
        -max_socket 60000 127.0.0.1:5060)
    local cap=(tcpdump -Z root -n -i lo -s 0 -B 524288 -w "$f")
    if ((DRY)); then
        echo "# $name.pcap: $calls calls at $rate cps, ${ms} ms each, in netns $NS (lo)"
        echo "ip netns exec $NS ${cap[*]} &"
        echo "ip netns exec $NS ${uas[*]} &"
        echo "ip netns exec $NS ${uac[*]}"
        return 0
    fi
    bench_netns_up "$NS"
    ip netns exec "$NS" timeout $((secs + 30)) "${cap[@]}" 2>"$WORK/$name.tcpdump" &
    cap_pid=$!
    BG_PIDS+=("$cap_pid")
    for _ in $(seq 100); do grep -q "listening on" "$WORK/$name.tcpdump" && break; sleep 0.05; done
    (cd "$WORK" && exec ip netns exec "$NS" timeout $((secs + 20)) "${uas[@]}") >"$WORK/$name.uas" 2>&1 &
    uas_pid=$!
    BG_PIDS+=("$uas_pid")
    sleep 0.5
    log "generating $name: $calls calls at $rate cps (up to ${secs}s)"
    if ! (cd "$WORK" && ip netns exec "$NS" timeout $((secs + 20)) "${uac[@]}") >"$WORK/$name.uac" 2>&1; then
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
    counts "$name"
}

# quarters NAME: NAME-q1..q3 = the first 1/4, 2/4, 3/4 of the frames; NAME-q4 = NAME.
quarters() {
    local name=$1 frames q n
    if ((DRY)); then
        echo "# $name-q1..q4.pcap: the first 1/4, 1/2, 3/4 and all frames of $name.pcap"
        echo "editcap -F pcap -r $OUT/$name.pcap $OUT/$name-qQ.pcap 1-\$((FRAMES * Q / 4))   # Q = 1..3"
        echo "ln -s $name.pcap $OUT/$name-q4.pcap"
        return 0
    fi
    [[ -s $OUT/$name.pcap ]] || die "$name.pcap missing: make it first ($0 ${name%%-*})"
    [[ -s $OUT/$name.counts ]] || counts "$name"
    read -r frames _ <"$OUT/$name.counts"
    for q in 1 2 3; do
        n=$((frames * q / 4))
        ((n >= 1)) || die "$name.pcap has too few frames to cut in quarters"
        # -F pcap: editcap writes pcapng by default, and the whole file (q4) is pcap
        editcap -F pcap -r "$OUT/$name.pcap" "$OUT/$name-q$q.pcap" "1-$n" >/dev/null
        counts "$name-q$q"
    done
    ln -sfn "$name.pcap" "$OUT/$name-q4.pcap"
    cp "$OUT/$name.counts" "$OUT/$name-q4.counts"
}

need python3 editcap capinfos
if ((!DRY)); then
    mkdir -p "$OUT"
    WORK=$(mktemp -d /tmp/siplens-workloads.XXXXXX)
fi
log "into $OUT: ${WANT[*]}"
for w in "${WANT[@]}"; do
    case $w in
    signaling)
        have signaling && { log "signaling.pcap kept (WL_REGEN=1 remakes it)"; continue; }
        ((DRY)) || { [[ $EUID -eq 0 ]] || die "signaling needs root (network namespace, capture)"; need sipp tcpdump nft timeout; }
        generate signaling uac-call-signal.xml uas-call-signal.xml "$SIG_CALLS" "$SIG_RATE" 0
        ;;
    media)
        have media && { log "media.pcap kept (WL_REGEN=1 remakes it)"; continue; }
        if ((!DRY)); then
            [[ $EUID -eq 0 ]] || die "media needs root (network namespace, capture)"
            need sipp tcpdump nft timeout
            [[ -s $AUDIO_SRC ]] || die "missing $AUDIO_SRC (apt-get install sip-tester)"
            editcap -F pcap "$AUDIO_SRC" "$WORK/audio.pcap" >/dev/null
            python3 "$ROOT/scripts/rewrite-ssrc.py" "$WORK/audio.pcap" "$WORK/audio-uas.pcap" 5151AB1E
        fi
        generate media uac-call.xml uas-call.xml "$MEDIA_CALLS" "$MEDIA_RATE" 7300
        ;;
    flood)
        have flood && { log "flood.pcap kept (WL_REGEN=1 remakes it)"; continue; }
        if ((DRY)); then
            echo "python3 $ROOT/benches/flood.py --count $FLOOD -o $OUT/flood.pcap"
            continue
        fi
        log "generating flood: $FLOOD INVITEs"
        python3 "$ROOT/benches/flood.py" --count "$FLOOD" -o "$OUT/flood.pcap"
        # every frame is one INVITE: no need to filter
        echo "$FLOOD $FLOOD" >"$OUT/flood.counts"
        log "flood.pcap: $(stat -c %s "$OUT/flood.pcap") bytes, $FLOOD frames, $FLOOD SIP messages"
        ;;
    x10)
        have signaling-x10 && { log "signaling-x10.pcap kept (WL_REGEN=1 remakes it)"; continue; }
        if ((DRY)); then
            echo "python3 $ROOT/benches/repeat.py --copies $COPIES $OUT/signaling.pcap $OUT/signaling-x10.pcap"
            continue
        fi
        [[ -s $OUT/signaling.pcap ]] || die "signaling.pcap missing: make it first ($0 signaling)"
        python3 "$ROOT/benches/repeat.py" --copies "$COPIES" "$OUT/signaling.pcap" "$OUT/signaling-x10.pcap"
        counts signaling-x10
        ;;
    quarters)
        quarters signaling
        quarters flood
        ;;
    esac
done
log "done"
