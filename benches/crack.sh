#!/usr/bin/env bash
# Offline password audit bench: siplens crack (1 thread, all threads) against SIPcrack 0.2
# (Debian package `sipcrack`: sipdump + sipcrack) on the same capture and the same wordlist
# of N generated candidates that do not contain the password, so both scan all of it.
# Figures are whole-process wall clock (wordlist reading included) over the candidates.
# usage: benches/crack.sh [N]   (default 8000000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-8000000}
PCAP=$ROOT/samples/register-digest.pcap
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}
SIPLENS=$CARGO_TARGET_DIR/release/siplens
command -v sipcrack >/dev/null || { echo "crack.sh: sipcrack not installed (apt-get install sipcrack)" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --quiet)
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

now() { date +%s.%N; }
rate() { awk -v n="$N" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", n / (b - a) }'; }

t0=$(now); echo 1 | sipcrack -w "$WORK/words" "$WORK/dump" > "$WORK/sipcrack.out" 2>&1 || true; t1=$(now)
grep -q "Tried $N passwords" "$WORK/sipcrack.out" || { echo "crack.sh: sipcrack did not scan the list:"; cat "$WORK/sipcrack.out"; }
SC=$(rate "$t0" "$t1")

t0=$(now); "$SIPLENS" crack "$PCAP" -w "$WORK/words" --threads 1 --no-progress > "$WORK/s1.out"; t1=$(now)
S1=$(rate "$t0" "$t1")
T=$(nproc)
t0=$(now); "$SIPLENS" crack "$PCAP" -w "$WORK/words" --threads "$T" --no-progress > "$WORK/sN.out"; t1=$(now)
SN=$(rate "$t0" "$t1")
grep -q "$N candidates tested" "$WORK/s1.out" || { echo "crack.sh: siplens did not scan the list:"; cat "$WORK/s1.out"; }

echo
echo "candidates: $N (MD5, qop=auth, one response)"
printf '%-28s %14s %8s\n' "tool" "candidates/s" "vs SIPcrack"
printf '%-28s %14s %8s\n' "SIPcrack 0.2 (1 thread)" "$SC" "1.0x"
printf '%-28s %14s %8s\n' "siplens crack --threads 1" "$S1" "$(awk -v a="$S1" -v b="$SC" 'BEGIN{printf "%.1fx", a/b}')"
printf '%-28s %14s %8s\n' "siplens crack --threads $T" "$SN" "$(awk -v a="$SN" -v b="$SC" 'BEGIN{printf "%.1fx", a/b}')"
echo "siplens own figures (cracking only, wordlist read excluded):"
tail -1 "$WORK/s1.out"
tail -1 "$WORK/sN.out"
