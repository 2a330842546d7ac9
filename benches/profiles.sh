#!/usr/bin/env bash
# Build profiles compared: cold build time and peak compiler memory of each profile, then
# the throughput of the binaries each gives on the same two synthetic captures
# (benches/synth.py: ~1M packets RTP-heavy, 175,000 SIP messages signaling-heavy).
# Figures for docs/benchmarks.md ("Build profiles").
#
#   benches/profiles.sh                      # profiles release and dist, 10 runs each
#   PROFILES="release dist" RUNS=10 WORK=/tmp/siplens-profiles benches/profiles.sh
#   BUILD=0 benches/profiles.sh              # reuse the binaries of a previous run
#
# Each profile builds from nothing in its own target directory under WORK (so the figure
# is the first `cargo run --profile P` on a fresh clone, dependencies included, once they
# are downloaded), timed with /usr/bin/time -v: wall time, CPU time and the peak RSS of
# the largest single process (rustc or the linker). The runs of the binaries are
# interleaved (release, dist, release, dist, ...) so that load from other work on a shared
# machine falls on all of them alike; the table gives the best wall time of the runs and
# the CPU time of that run. Needs python3 and /usr/bin/time; no root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/tmp/siplens-profiles}
PROFILES=${PROFILES:-release dist}
RUNS=${RUNS:-10}
BUILD=${BUILD:-1}
((RUNS >= 1 && RUNS <= 50)) || { echo "profiles: RUNS must be 1..50" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "profiles: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
mkdir -p "$WORK"

field() { # field FILE LABEL -> the value of a /usr/bin/time -v line
    awk -F': ' -v k="$2" '$1 ~ k {print $2}' "$1" | head -1
}

if [[ $BUILD == 1 ]]; then
    for p in $PROFILES; do
        t=$WORK/target-$p
        rm -rf "$t"
        echo "profiles: cold build of $p (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        (cd "$ROOT" && CARGO_TARGET_DIR=$t /usr/bin/time -v -o "$WORK/build-$p.time" \
            cargo build --profile "$p" >"$WORK/build-$p.log" 2>&1) ||
            { tail -20 "$WORK/build-$p.log" >&2; exit 1; }
        echo "profiles: $p built in $(field "$WORK/build-$p.time" 'Elapsed') (load after $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    done
fi

for c in rtp sig; do
    [[ -s $WORK/$c.pcap ]] || python3 "$ROOT/benches/synth.py" "$c" "$WORK/$c.pcap"
done

# run PROFILE CAPTURE I: one timed run, "wall cpu maxrss_kb" appended to WORK/runs-P-C.
run() {
    local bin=$WORK/target-$1/$1/siplens
    local t0 t1
    # Wall time from the shell's microsecond clock (time's %e has 10 ms steps, 3% of a run).
    t0=$EPOCHREALTIME
    /usr/bin/time -f "%U %S %M" -o "$WORK/t" "$bin" report --no-progress --format json \
        "$WORK/$2.pcap" >/dev/null
    t1=$EPOCHREALTIME
    awk -v t0="$t0" -v t1="$t1" '{printf "%.3f %.2f %s\n", t1 - t0, $1 + $2, $3}' "$WORK/t" \
        >>"$WORK/runs-$1-$2"
}

for p in $PROFILES; do rm -f "$WORK"/runs-"$p"-*; done
for c in rtp sig; do
    # One untimed run each first: the capture in the page cache for all.
    for p in $PROFILES; do "$WORK/target-$p/$p/siplens" report --no-progress --format json "$WORK/$c.pcap" >/dev/null; done
    for ((i = 0; i < RUNS; i++)); do
        for p in $PROFILES; do run "$p" "$c"; done
    done
done

packets() { python3 -c 'import sys,struct
f=open(sys.argv[1],"rb"); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    f.seek(struct.unpack("<IIII",h)[2],1); n+=1
print(n)' "$1"; }
RTP_N=$(packets "$WORK/rtp.pcap")
SIG_N=$(packets "$WORK/sig.pcap")

{
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(rustc --version), $RUNS runs each"
    echo
    echo "| profile | cold build | CPU time | peak rustc RSS | RTP-heavy packets/s | RSS | signaling-heavy packets/s | RSS |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for p in $PROFILES; do
        b=$WORK/build-$p.time
        if [[ -s $b ]]; then
            build=$(field "$b" 'Elapsed')
            cpu=$(python3 -c 'import sys; print("%.0f s" % (float(sys.argv[1]) + float(sys.argv[2])))' \
                "$(field "$b" 'User time')" "$(field "$b" 'System time')")
            rss="$(($(field "$b" 'Maximum resident') / 1024)) MB"
        else
            build="" cpu="" rss=""
        fi
        row="| $p | $build | $cpu | $rss"
        for c in rtp sig; do
            n=$RTP_N
            [[ $c == sig ]] && n=$SIG_N
            row+=$(sort -n "$WORK/runs-$p-$c" | head -1 | python3 -c '
import sys
wall, cpu, rss = sys.stdin.read().split()
n = int(sys.argv[1])
print(" | %s (%.3f s, CPU %.2f s) | %.0f MB" % (format(round(n / max(float(wall), 0.01)), ","), float(wall), float(cpu), int(rss) / 1024), end="")' "$n")
        done
        echo "$row |"
    done
    echo
    echo "All runs (wall s, CPU s, peak RSS kB):"
    for p in $PROFILES; do
        for c in rtp sig; do echo "  $p $c: $(tr '\n' ';' <"$WORK/runs-$p-$c")"; done
    done
} | tee "$WORK/results.md"
