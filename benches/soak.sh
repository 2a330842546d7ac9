#!/usr/bin/env bash
# Soak and load bench for live capture (issue 6).
#
# 1. Plateau: in a private network namespace, SIPp places SOAK_RATE calls/s (1 s calls,
#    no media) for SOAK_MINUTES minutes on its loopback. siplens captures them live with
#    --max-memory SOAK_MAX_MEMORY (MiB) and sngrep captures the same traffic; the resident
#    memory (VmRSS) of both is sampled every 5 s into OUT/soak-rss.csv. The memory of
#    siplens must stop growing once the dialog limit is reached (the oldest finished
#    dialogs are evicted first); the report gives the evictions and drops.
# 2. Drops under load: the ~1M-packet RTP capture of benches/bench.sh
#    (BENCH_OUT/rtp-heavy.pcap) is replayed as fast as a raw socket allows over a veth
#    pair; siplens (-i veth) and tshark (-i veth) capture it at the same time and their
#    received/dropped counts are compared.
#
# Needs root, sipp, sngrep, tshark, python3, ip. Writes OUT/soak.md (OUT=bench-out).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/bench-out}
# The `dist` profile (fat LTO), as for every published figure.
SIPLENS=${SIPLENS:-$ROOT/target/dist/siplens}
MINUTES=${SOAK_MINUTES:-10}
RATE=${SOAK_RATE:-100}
MAXMEM=${SOAK_MAX_MEMORY:-48}
NS="slxsoak$$"
BG=()

die() { echo "soak: ERROR: $*" >&2; exit 1; }
log() { echo "soak: $*" >&2; }
cleanup() {
    local p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "needs root (network namespace, live capture)"
for t in sipp sngrep tshark python3 ip; do command -v "$t" >/dev/null || die "$t missing"; done
[ -x "$SIPLENS" ] || die "$SIPLENS missing: cargo build --profile dist --features live"
mkdir -p "$OUT"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- 1. plateau
ip netns add "$NS"
ip -n "$NS" link set lo up
secs=$((MINUTES * 60))
log "plateau: $RATE calls/s for $MINUTES min, siplens --max-memory $MAXMEM"
ip netns exec "$NS" "$SIPLENS" -i lo -f "udp port 5060 or udp port 5061" \
    --duration $((secs + 10)) --max-memory "$MAXMEM" --format json \
    > "$OUT/soak-report.json" 2> "$OUT/soak-siplens.err" &
SL=$!; BG+=("$SL")
# One BPF word: sngrep takes a first argument with spaces for its match expression.
ip netns exec "$NS" sngrep -N -q -d lo port 5060 > /dev/null 2>&1 &
SG=$!; BG+=("$SG")
sleep 2
ip netns exec "$NS" timeout $((secs + 5)) sipp -sn uas -p 5060 -i 127.0.0.1 -nostdin \
    > /dev/null 2>&1 &
BG+=("$!")
sleep 1
ip netns exec "$NS" timeout "$secs" sipp -sn uac 127.0.0.1:5060 -p 5061 -i 127.0.0.1 \
    -r "$RATE" -d 1000 -l $((RATE * 4)) -nostdin > /dev/null 2>&1 &
UAC=$!; BG+=("$UAC")
echo "seconds,siplens_rss_kb,sngrep_rss_kb" > "$OUT/soak-rss.csv"
t0=$(date +%s)
while kill -0 "$UAC" 2>/dev/null; do
    echo "$(( $(date +%s) - t0 )),$(rss_kb "$SL"),$(rss_kb "$SG")" >> "$OUT/soak-rss.csv"
    sleep 5
done
wait "$SL" || die "siplens failed: $(cat "$OUT/soak-siplens.err")"
kill "$SG" 2>/dev/null || true

# ---------------------------------------------------------------- 2. drops under load
PCAP=$OUT/rtp-heavy.pcap
drops=""
if [ -f "$PCAP" ]; then
    log "load: replaying $PCAP over a veth pair"
    ip link add slxsa type veth peer name slxsb
    ip link set slxsb netns "$NS"
    ip link set slxsa up
    ip -n "$NS" link set slxsb up
    ip netns exec "$NS" "$SIPLENS" -i slxsb --duration 120 --format json \
        > "$OUT/load-report.json" 2> "$OUT/load-siplens.err" &
    LS=$!; BG+=("$LS")
    ip netns exec "$NS" tshark -n -i slxsb -q -a duration:120 > "$OUT/load-tshark.out" 2>&1 &
    LT=$!; BG+=("$LT")
    sleep 3
    t1=$(date +%s.%N)
    sent=$(python3 - "$PCAP" slxsa <<'EOF'
import socket, struct, sys
path, dev = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
n = 0
with open(path, "rb") as f:
    hdr = f.read(24)
    endian = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            break
        _, _, incl, _ = struct.unpack(endian + "IIII", rec)
        data = f.read(incl)
        try:
            s.send(data)
            n += 1
        except OSError:
            pass
print(n)
EOF
)
    t2=$(date +%s.%N)
    pps=$(python3 -c "print(round($sent / ($t2 - $t1)))")
    log "sent $sent frames at $pps frames/s; stopping the captures"
    sleep 3
    kill -INT "$LS" "$LT" 2>/dev/null || true
    wait "$LS" || true
    wait "$LT" || true
    ip link del slxsa 2>/dev/null || true
    drops=$(python3 - "$OUT/load-report.json" "$OUT/load-tshark.out" "$sent" "$pps" <<'EOF'
import json, re, sys
r = json.load(open(sys.argv[1]))
c = r.get("capture", [{}])[0]
t = open(sys.argv[2]).read()
m = re.search(r"(\d+) packets? captured", t)
d = re.search(r"(\d+) packets? dropped", t)
print(f"| replay | {sys.argv[3]} frames at {sys.argv[4]} frames/s |")
print(f"| siplens | analysed {c.get('frames')}, kernel drops {c.get('dropped_by_kernel')}, "
      f"siplens queue drops {c.get('dropped_by_siplens')}, RTP packets {r['summary']['rtp_packets']} |")
print(f"| tshark | captured {m.group(1) if m else '?'}, dropped {d.group(1) if d else '0 (none reported)'} |")
EOF
)
else
    log "no $PCAP (run benches/bench.sh first): skipping the load phase"
fi

# ---------------------------------------------------------------- summary
python3 - "$OUT" "$MINUTES" "$RATE" "$MAXMEM" "$drops" <<'EOF' | tee "$OUT/soak.md"
import csv, json, sys
out, minutes, rate, maxmem, drops = sys.argv[1:6]
rows = list(csv.DictReader(open(f"{out}/soak-rss.csv")))
r = json.load(open(f"{out}/soak-report.json"))
sl = [int(x["siplens_rss_kb"]) for x in rows]
sg = [int(x["sngrep_rss_kb"]) for x in rows]
half = len(sl) // 2
ev = r["summary"]["evictions"]
cap = r.get("capture", [{}])[0]
print(f"## Soak: {rate} calls/s for {minutes} min, --max-memory {maxmem}\n")
print("| | siplens | sngrep |\n|---|---:|---:|")
print(f"| RSS at 1/4 of the run | {sl[len(sl)//4]//1024} MiB | {sg[len(sg)//4]//1024} MiB |")
print(f"| RSS at 1/2 | {sl[half]//1024} MiB | {sg[half]//1024} MiB |")
print(f"| RSS at the end | {sl[-1]//1024} MiB | {sg[-1]//1024} MiB |")
print(f"| peak RSS | {max(sl)//1024} MiB | {max(sg)//1024} MiB |")
print(f"| growth over the second half | {(sl[-1]-sl[half])//1024} MiB | {(sg[-1]-sg[half])//1024} MiB |\n")
print(f"siplens: {r['summary']['calls']} calls kept at the end, {ev['dialogs']} dialogs evicted, "
      f"{cap.get('frames')} frames, kernel drops {cap.get('dropped_by_kernel')}, "
      f"queue drops {cap.get('dropped_by_siplens')}.\n")
if drops:
    print("## Drops under load\n\n| | |\n|---|---|")
    print(drops)
EOF
