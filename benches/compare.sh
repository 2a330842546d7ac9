#!/usr/bin/env bash
# siplens vs sngrep vs tshark on the P7 workloads of benches/workloads.sh, in one run.
#
# Each tool reads each capture REPEAT (3) times, the tools interleaved (siplens, sngrep,
# tshark, siplens, ...) so that the load of a shared machine falls on all of them alike;
# the wall time is taken around /usr/bin/time, which gives peak RSS, user and sys CPU. The table keeps the fastest run's
# wall (other load only ever slows a run down) and its user+sys, and the largest RSS:
#
#   siplens: $SIPLENS report FILE --format json > /dev/null   (target/dist/siplens:
#            cargo build --profile dist)
#   sngrep:  sngrep -F -N -q -l LIMIT -I FILE   (LIMIT = the file's SIP messages, at least
#            100000, so no dialog is dropped)
#   tshark:  tshark -n -r FILE -q -z sip,stat
#
# Then the quarters table: siplens on the first 1/4, 1/2, 3/4 and all of the signaling and
# flood captures, microseconds per SIP message at each size (flat = no cost that grows
# with the file); and, unless CRITERION=0, the engine criterion benches (benches/pipeline.rs,
# groups engine/: decoding, parsing and analysis, and engine_stage/: the analysis alone) on
# signaling.pcap and media.pcap, SIP messages/s on one core. The whole goes to $OUT/compare.md (raw runs: $OUT/compare-runs.tsv).
set -Eeuo pipefail

usage() {
    cat <<'EOF'
Usage: benches/compare.sh [--small] [--dry-run] [--table]

Times siplens, sngrep and tshark on the captures of benches/workloads.sh and prints
markdown tables (see the comment at the top of this script) into $WL_OUT/compare.md.

  --small    use the captures of `benches/workloads.sh --small` ($WL_OUT/small)
  --dry-run  print the commands it would time, run nothing
  --table    print the tables again from the last run's files (compare-runs.tsv,
             criterion.txt), run nothing
  --help     this text

Environment: WL_OUT (/work/bench-data), SIPLENS (target/dist/siplens),
TOOLS ("siplens sngrep tshark"), WORKLOADS ("signaling media flood signaling-x10"),
REPEAT (3), TIMEOUT (seconds per run, 900), QUARTERS (1; 0 skips),
CRITERION (1; 0 skips the cargo bench).
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMALL=0 DRY=0 TABLE=0
for a in "$@"; do
    case $a in
    -h | --help) usage; exit 0 ;;
    --small) SMALL=1 ;;
    --dry-run | -n) DRY=1 ;;
    --table) TABLE=1 ;;
    *) echo "compare: unknown argument: $a (see --help)" >&2; exit 2 ;;
    esac
done
if ((SMALL)); then OUT=${WL_OUT:-/work/bench-data/small}; else OUT=${WL_OUT:-/work/bench-data}; fi
SIPLENS=${SIPLENS:-$ROOT/target/dist/siplens}
TOOLS=${TOOLS-siplens sngrep tshark}
WORKLOADS=${WORKLOADS-signaling media flood signaling-x10}
REPEAT=${REPEAT:-3}
TIMEOUT=${TIMEOUT:-900}
QUARTERS=${QUARTERS:-1}
CRITERION=${CRITERION:-1}

die() { echo "compare: ERROR: $*" >&2; exit 1; }
log() { echo "compare: $*" >&2; }
((REPEAT >= 1 && REPEAT <= 20)) || die "REPEAT must be 1..20"

# cmd TOOL FILE SIP: the command line that TOOL runs on FILE
cmd() {
    local tool=$1 f=$2 sip=$3
    case $tool in
    siplens) echo "$SIPLENS report $f --format json" ;;
    # -F: no config file, so nothing (e.g. HEP/EEP sending) is configured
    sngrep) echo "sngrep -F -N -q -l $((sip > 100000 ? sip : 100000)) -I $f" ;;
    tshark) echo "tshark -n -r $f -q -z sip,stat" ;;
    *) die "unknown tool $tool" ;;
    esac
}

counts() { # NAME -> "frames sip"
    [[ -s $OUT/$1.counts ]] || die "$OUT/$1.counts missing: run benches/workloads.sh first"
    cat "$OUT/$1.counts"
}

if ((DRY)); then
    for w in $WORKLOADS; do
        for t in $TOOLS; do echo "/usr/bin/time -f '%e %M %U %S' $(cmd "$t" "$OUT/$w.pcap" 100000) > /dev/null   # x$REPEAT"; done
    done
    if ((QUARTERS)); then
        for w in signaling flood; do
            for q in 1 2 3 4; do echo "/usr/bin/time -f '%e %M %U %S' $(cmd siplens "$OUT/$w-q$q.pcap" 0) > /dev/null   # x$REPEAT"; done
        done
    fi
    ((CRITERION)) && echo "SIPLENS_BENCH_DIR=$OUT/criterion cargo bench --bench pipeline -- '^engine'"
    exit 0
fi

RUNS=$OUT/compare-runs.tsv
if ((TABLE)); then
    [[ -s $RUNS ]] || die "no $RUNS: run benches/compare.sh first"
    WORK=$(mktemp -d /tmp/siplens-compare.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
    CRIT=$WORK/criterion.txt
    if [[ -s $OUT/criterion.txt ]]; then cp "$OUT/criterion.txt" "$CRIT"; else : >"$CRIT"; fi
    read -r STARTED LOAD0 LOAD1 <"$OUT/compare-meta.txt" || die "no $OUT/compare-meta.txt"
    LOAD0=${LOAD0//,/ } LOAD1=${LOAD1//,/ }
fi
if ((!TABLE)); then
[[ -x /usr/bin/time ]] || die "missing /usr/bin/time (apt-get install time)"
for t in $TOOLS; do
    case $t in
    siplens) [[ -x $SIPLENS ]] || die "no $SIPLENS: cargo build --profile dist (or set SIPLENS)" ;;
    *) command -v "$t" >/dev/null || die "missing command: $t" ;;
    esac
done
command -v python3 >/dev/null || die "missing python3"
WORK=$(mktemp -d /tmp/siplens-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
printf 'tool\tworkload\trun\twall\trss_kb\tuser\tsys\tstatus\tframes\tsip\n' >"$RUNS"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

declare -A DEAD=() # tool|workload that failed or timed out: not repeated
# timeit TOOL WORKLOAD FILE RUN FRAMES SIP
timeit() {
    local tool=$1 w=$2 f=$3 run=$4 frames=$5 sip=$6 rc=0 status=ok wall rss user sys c t0 t1
    [[ -z ${DEAD[$tool|$w]:-} ]] || return 0
    c=$(cmd "$tool" "$f" "$sip")
    log "run $run: $tool on $w"
    # %e has 10 ms steps, too coarse for the small files: the wall time is taken around it
    t0=$(date +%s%N)
    # shellcheck disable=SC2086 # the command line is split on purpose
    # -k: sngrep on the flood ignored the TERM of a plain timeout and ran on
    /usr/bin/time -f "%M %U %S" -o "$WORK/time" timeout -k 10 "$TIMEOUT" $c >/dev/null 2>"$WORK/err" </dev/null || rc=$?
    t1=$(date +%s%N)
    wall=$(((t1 - t0) / 1000000000)).$(printf '%03d' $(((t1 - t0) / 1000000 % 1000)))
    read -r rss user sys < <(tail -1 "$WORK/time")
    if ((rc == 124 || rc == 137)); then
        status="timeout ${TIMEOUT}s"
    elif ((rc != 0)); then
        status="exit $rc"
        tail -3 "$WORK/err" >&2
    fi
    [[ $status == ok ]] || DEAD[$tool|$w]=1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$w" "$run" "$wall" "$rss" "$user" "$sys" \
        "$status" "$frames" "$sip" >>"$RUNS"
}

for run in $(seq "$REPEAT"); do
    for w in $WORKLOADS; do
        read -r fr sp < <(counts "$w")
        for t in $TOOLS; do timeit "$t" "$w" "$OUT/$w.pcap" "$run" "$fr" "$sp"; done
    done
    if ((QUARTERS)) && [[ " $TOOLS " == *" siplens "* ]]; then
        for w in signaling flood; do
            for q in 1 2 3 4; do
                [[ -e $OUT/$w-q$q.pcap ]] || { log "$w-q$q.pcap missing: benches/workloads.sh quarters"; continue; }
                read -r fr sp < <(counts "$w-q$q")
                timeit siplens "$w-q$q" "$OUT/$w-q$q.pcap" "$run" "$fr" "$sp"
            done
        done
    fi
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$STARTED ${LOAD0// /,} ${LOAD1// /,}" >"$OUT/compare-meta.txt"

CRIT=$WORK/criterion.txt
: >"$CRIT"
if ((CRITERION)); then
    # benches/pipeline.rs reads sig-heavy.pcap and rtp-heavy.pcap from SIPLENS_BENCH_DIR.
    mkdir -p "$OUT/criterion"
    ln -sfn ../signaling.pcap "$OUT/criterion/sig-heavy.pcap"
    ln -sfn ../media.pcap "$OUT/criterion/rtp-heavy.pcap"
    log "criterion: cargo bench --bench pipeline -- '^engine' (engine/ and engine_stage/)"
    (cd "$ROOT" && SIPLENS_BENCH_DIR=$OUT/criterion cargo bench --bench pipeline -- '^engine') \
        >"$CRIT" 2>"$WORK/criterion.err" || { tail -20 "$WORK/criterion.err" >&2; die "cargo bench failed"; }
    cp "$CRIT" "$OUT/criterion.txt"
fi
fi # measuring

python3 - "$RUNS" "$CRIT" "$OUT" "$STARTED" "$LOAD0" "$LOAD1" "$REPEAT" <<'PY' | tee "$OUT/compare.md"
import csv, re, subprocess, sys
runs_path, crit_path, out, started, load0, load1, repeat = sys.argv[1:]
rows = list(csv.DictReader(open(runs_path), delimiter="\t"))
# from the runs themselves: --table may print a run made with another REPEAT
repeat = max((int(r["run"]) for r in rows), default=0)

def best(tool, w):
    rs = [r for r in rows if r["tool"] == tool and r["workload"] == w]
    if not rs:
        return None
    bad = [r for r in rs if r["status"] != "ok"]
    if bad:
        return {"status": bad[0]["status"], "frames": int(rs[0]["frames"]), "sip": int(rs[0]["sip"])}
    fast = min(rs, key=lambda r: float(r["wall"]))
    return {
        "status": "ok",
        "frames": int(fast["frames"]),
        "sip": int(fast["sip"]),
        "wall": float(fast["wall"]),
        "cpu": float(fast["user"]) + float(fast["sys"]),
        "rss": max(int(r["rss_kb"]) for r in rs) / 1024,
        "n": len(rs),
    }

def ver(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        return "?"

print(f"Run of {started} on {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores; "
      f"load average {load0} at the start, {load1} at the end (other work on the machine); "
      f"{ver(['tshark', '--version']).rstrip('.')}; sngrep {ver(['sngrep', '-V']).split()[2] if len(ver(['sngrep', '-V']).split()) > 2 else '?'}; "
      f"best of {repeat} runs (wall and its user+sys CPU), peak RSS the largest.")
print()
print("| tool | workload | packets | SIP msgs | wall s | CPU s (user+sys) | packets/s | SIP msgs/s | peak RSS MiB |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
workloads = []
for r in rows:
    if "-q" not in r["workload"] and r["workload"] not in workloads:
        workloads.append(r["workload"])
tools = []
for r in rows:
    if r["tool"] not in tools:
        tools.append(r["tool"])
for w in workloads:
    for t in tools:
        b = best(t, w)
        if b is None:
            continue
        name = f"**{t}**" if t == "siplens" else t
        if b["status"] != "ok":
            print(f"| {name} | {w} | {b['frames']:,} | {b['sip']:,} | {b['status']} | | | | |")
            continue
        wall = max(b["wall"], 0.001)
        print(f"| {name} | {w} | {b['frames']:,} | {b['sip']:,} | {b['wall']:.3f} | {b['cpu']:.2f} | "
              f"{b['frames'] / wall:,.0f} | {b['sip'] / wall:,.0f} | {b['rss']:.1f} |")

quarters = [w for w in ("signaling", "flood") if any(r["workload"] == f"{w}-q1" for r in rows)]
if quarters:
    print()
    print("siplens on the first 1/4, 1/2, 3/4 and all of a capture: µs of wall time per SIP message, "
          "µs of CPU (user+sys) per message, peak RSS MiB:")
    print()
    print("| capture | 1/4 | 1/2 | 3/4 | 1 | wall 1 / (1/4) | CPU 1 / (1/4) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for w in quarters:
        cells, us, cpu = [], [], []
        for q in (1, 2, 3, 4):
            b = best("siplens", f"{w}-q{q}")
            if b is None or b["status"] != "ok":
                cells.append("-" if b is None else b["status"])
                continue
            u = b["wall"] * 1e6 / max(b["sip"], 1)
            c = b["cpu"] * 1e6 / max(b["sip"], 1)
            us.append(u)
            cpu.append(c)
            cells.append(f"{u:.2f} / {c:.2f} µs, {b['rss']:.0f} MiB ({b['sip']:,} msgs)")
        ratio = f"{us[-1] / us[0]:.2f}×" if len(us) == 4 and us[0] > 0 else "-"
        cratio = f"{cpu[-1] / cpu[0]:.2f}×" if len(cpu) == 4 and cpu[0] > 0 else "-"
        print(f"| {w} | " + " | ".join(cells) + f" | {ratio} | {cratio} |")

crit = open(crit_path).read()
if crit.strip():
    print()
    print("Engine on one core (criterion, `cargo bench --bench pipeline -- '^engine'`, frames in memory, no output;")
    print("`engine/`: decoding, parsing and analysis; `engine_stage/`: the analysis alone, over batches prepared untimed):")
    print()
    print("| bench | time per run [low mid high] | throughput [low mid high] |")
    print("| --- | --- | --- |")
    for m in re.finditer(r"\b(engine|engine_stage)/(\S+)\s*\n?\s*time:\s*\[([^\]]*)\]\s*\n\s*thrpt:\s*\[([^\]]*)\]", crit):
        print(f"| {m.group(1)}/{m.group(2)} | {m.group(3).strip()} | {m.group(4).strip()} |")
    print()
    print("(criterion counts frames: on signaling.pcap every frame is one SIP message.)")
PY
log "tables in $OUT/compare.md, runs in $RUNS"
