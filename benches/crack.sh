#!/usr/bin/env bash
# Offline password audit bench: siplens crack (1 thread, all threads) against SIPcrack 0.2
# (Debian package `sipcrack`: sipdump + sipcrack) on the same capture and the same wordlist
# of N generated candidates that do not contain the password, so both scan all of it.
# Figures are whole processes (wordlist and capture reading included) over the candidates.
# Each tool runs R times (default 3); the best wall time and the best CPU time are kept,
# as the machine's other load only ever slows a run down.
# usage: benches/crack.sh [N] [R]   (defaults 8000000 3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-8000000}
R=${2:-3}
PCAP=$ROOT/samples/register-digest.pcap
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}
# The `dist` profile (fat LTO), as for every published figure.
SIPLENS=$CARGO_TARGET_DIR/dist/siplens
command -v sipcrack >/dev/null || { echo "crack.sh: sipcrack not installed (apt-get install sipcrack)" >&2; exit 1; }
(cd "$ROOT" && cargo build --profile dist --quiet)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 8-13 character candidates; the sample's password ("secret") is not among them.
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "pw%0*d\n", 6 + i % 6, i }' > "$WORK/words"

# SIPcrack input. sipdump 0.2 reads the nonce from the first "nonce=" it meets, which is
# the one inside `cnonce=` when the client writes cnonce first (as this sample does): the
# dump would hold the cnonce twice. Write the dump from siplens' export instead (same
# fields, sipdump's quote-separated layout) and show both.
sipdump -p "$PCAP" "$WORK/sipdump.raw" >/dev/null 2>&1 || true
"$SIPLENS" hashes "$PCAP" 2>/dev/null | head -1 | awk -F'*' '{
  uri = $7 ":" $8; if ($9 != "") uri = uri ":" $9
  printf "%s\"%s\"%s\"%s\"%s\"%s\"%s\"%s\"%s\"%s\"%s\"%s\n", $2, $3, $4, $5, $6, uri, $10, $11, $12, $13, $14, $15
}' > "$WORK/dump"
echo "sipdump wrote : $(cat "$WORK/sipdump.raw" 2>/dev/null)"
echo "bench dump    : $(cat "$WORK/dump")"

# Wall clock and CPU time (user+sys) of each whole process. On a shared machine the wall
# clock moves with the load; candidates per CPU second is the per-thread speed.
measure() { # name, command...: prints the best "wall cpu" seconds of R runs
  local name=$1; shift
  : > "$WORK/$name.times"
  for _ in $(seq "$R"); do
    cp "$WORK/dump" "$WORK/dump.run" # sipcrack rewrites its dump when it finds a password
    echo 1 | /usr/bin/time -f "%e %U %S" -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2>&1 || true
    cat "$WORK/$name.time" >> "$WORK/$name.times"
  done
  awk 'NR == 1 || $1 < w { w = $1 } NR == 1 || $2 + $3 < c { c = $2 + $3 } END { printf "%s %s", w, c }' "$WORK/$name.times"
}
row() { # label, "wall cpu", baseline per-cpu-second
  awk -v l="$1" -v n="$N" -v base="${3:-0}" '{
    w = n / $1; c = n / $2
    printf "| %-27s | %14.0f | %14.0f | %8s |\n", l, w, c, (base > 0 ? sprintf("%.1fx", c / base) : "1.0x")
  }' <<< "$2"
}

SC=$(measure sipcrack sipcrack -w "$WORK/words" "$WORK/dump.run")
grep -q "Tried $N passwords" "$WORK/sipcrack.out" || { echo "crack.sh: sipcrack did not scan the list:"; cat "$WORK/sipcrack.out"; }
S1=$(measure s1 "$SIPLENS" crack "$PCAP" --wordlist "$WORK/words" --threads 1 --no-progress)
grep -q "$N candidates tested" "$WORK/s1.out" || { echo "crack.sh: siplens did not scan the list:"; cat "$WORK/s1.out"; }
T=$(nproc)
SN=$(measure sN "$SIPLENS" crack "$PCAP" --wordlist "$WORK/words" --threads "$T" --no-progress)
BASE=$(awk -v n="$N" '{ print n / $2 }' <<< "$SC")

echo
echo "candidates: $N (MD5, qop=auth, one response), best of $R runs; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| tool | candidates/s (wall) | candidates per CPU-s | vs SIPcrack per CPU-s |"
echo "| --- | ---: | ---: | ---: |"
row "SIPcrack 0.2 (1 thread)" "$SC"
row "siplens crack --threads 1" "$S1" "$BASE"
row "siplens crack --threads $T" "$SN" "$BASE"
echo "siplens' own figures (cracking only; wordlist and capture reading excluded):"
tail -1 "$WORK/s1.out"
tail -1 "$WORK/sN.out"
