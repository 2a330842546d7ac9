#!/usr/bin/env bash
# Live dashboard under load: SIPp places CALLS calls at RATE calls/s on loopback while
# `siplens tui -i lo` (the live dashboard, in a detached tmux terminal) watches; siplens's
# CPU and resident memory are sampled every second during the load and for TAIL seconds
# after it stops, and printed as a table.
#
#   sudo benches/live-dashboard.sh [SIPLENS_BINARY]
#
# Needs root (live capture on lo), sipp (Debian: sip-tester) and tmux. Without a binary
# argument it builds `cargo build --release --features live`. Environment: CALLS (23000),
# RATE (400), TAIL (30), PORT (5070: the UAS; the UAC uses PORT-10), MODE (tui; `report`
# runs the same capture without the dashboard, for the engine's share).
# Bounded: SIPp stops after CALLS calls, and every process started here is stopped on exit.
set -euo pipefail

CALLS=${CALLS:-23000}
RATE=${RATE:-400}
TAIL=${TAIL:-30}
PORT=${PORT:-5070}
MODE=${MODE:-tui}
UAC_PORT=$((PORT - 10))

cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "live-dashboard.sh: live capture needs root" >&2
    exit 1
fi
for tool in sipp tmux; do
    command -v "$tool" >/dev/null || { echo "live-dashboard.sh: $tool not found" >&2; exit 1; }
done
BIN=${1:-}
if [ -z "$BIN" ]; then
    cargo build --release --features live --bin siplens >&2
    BIN=target/release/siplens
fi
BIN=$(realpath "$BIN")

WORK=$(mktemp -d)
SESSION=siplens-live-bench-$$
UAS_PID=
UAC_PID=
cleanup() {
    [ -n "$UAC_PID" ] && kill "$UAC_PID" 2>/dev/null || true
    [ -n "$UAS_PID" ] && kill "$UAS_PID" 2>/dev/null || true
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The dashboard on a 200x50 terminal; `exec` so that the pane's process is siplens.
tmux new-session -d -s "$SESSION" -x 200 -y 50 \
    "exec $BIN $MODE -i lo -f 'udp portrange $UAC_PORT-$PORT'"
sleep 2
PID=$(tmux list-panes -t "$SESSION" -F '#{pane_pid}')
if ! kill -0 "$PID" 2>/dev/null; then
    echo "live-dashboard.sh: siplens did not start" >&2
    exit 1
fi

sipp -sn uas -i 127.0.0.1 -p "$PORT" -nostdin >/dev/null 2>&1 &
UAS_PID=$!
sleep 1
# -trace_stat writes the counters every second (-fd 1): the "calls so far" column.
( cd "$WORK" && exec sipp -sn uac "127.0.0.1:$PORT" -i 127.0.0.1 -p "$UAC_PORT" \
    -r "$RATE" -m "$CALLS" -recv_timeout 5000 -nostdin -trace_stat -stf stat.csv -fd 1 \
    >/dev/null 2>&1 ) &
UAC_PID=$!

HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$PID/status"; }
calls() {
    # Column TotalCallCreated of the last line of SIPp's statistics file.
    [ -f "$WORK/stat.csv" ] || { echo 0; return; }
    awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "TotalCallCreated") c = i }
               END { if (c) print $c; else print 0 }' "$WORK/stat.csv"
}

printf '%6s %8s %7s %7s  %s\n' "time_s" "calls" "cpu_%" "rss_MB" "phase"
t=0
prev=$(ticks)
idle_left=$TAIL
load_cpu=0; load_n=0; idle_cpu=0; idle_n=0; max_rss=0
while :; do
    sleep 1
    t=$((t + 1))
    kill -0 "$PID" 2>/dev/null || { echo "live-dashboard.sh: siplens exited" >&2; exit 1; }
    now=$(ticks)
    cpu=$(awk -v d=$((now - prev)) -v hz="$HZ" 'BEGIN { printf "%.0f", d * 100 / hz }')
    prev=$now
    rss=$(rss_mb)
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    done_calls=$(calls)
    # SIPp waits for calls that lost a message: the load is over once every call was
    # placed and a few seconds passed.
    if [ "$done_calls" -ge "$CALLS" ]; then
        grace=$((${grace:-6} - 1))
        [ "$grace" -le 0 ] && kill "$UAC_PID" 2>/dev/null || true
    fi
    if kill -0 "$UAC_PID" 2>/dev/null; then
        phase=load
        load_cpu=$((load_cpu + cpu)); load_n=$((load_n + 1))
    else
        phase=idle
        idle_cpu=$((idle_cpu + cpu)); idle_n=$((idle_n + 1))
        idle_left=$((idle_left - 1))
    fi
    printf '%6d %8s %7s %7s  %s\n' "$t" "$done_calls" "$cpu" "$rss" "$phase"
    [ "$idle_left" -le 0 ] && break
done
echo "load: mean CPU $((load_cpu / (load_n > 0 ? load_n : 1)))% over ${load_n}s;" \
    "idle: mean CPU $((idle_cpu / (idle_n > 0 ? idle_n : 1)))% over ${idle_n}s;" \
    "max RSS ${max_rss} MB; $(calls) calls"
tmux send-keys -t "$SESSION" q
sleep 1
