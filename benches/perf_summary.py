#!/usr/bin/env python3
"""Summarise a `perf record --call-graph dwarf` profile of `siplens report`, flamegraph-like.

Input: the output of `perf script -F comm,tid,time,ip,sym` (inlined frames included,
perf's default), on a file or stdin. Prints markdown:

  * the split of the whole process by phase: reading the capture, the engine
    (decode, SIP/SDP parsing, dialogs, rules), building the report, writing it, the frees
    at exit, the rest (start-up, kernel);
  * allocation: samples under malloc/realloc/free and the kernel's page faults that fresh
    memory costs, in all and by the siplens function that asked;
  * the top functions by self time, where "self" is the innermost frame perf shows
    (inlined ones included), and by the innermost siplens function (so memchr, memcpy,
    malloc count for the siplens code that called them);
  * the engine by concern (module of the innermost siplens frame);
  * the callers of the header parsers (who re-parses CSeq, From/To, Via, URIs);
  * the top call paths (siplens frames only, outermost first, cut below the engine's entry).

Standard library only. Usage: perf script -i perf.data -F comm,tid,time,ip,sym |
benches/perf_summary.py [--top 25] [--paths 20]
"""

import argparse
import collections
import re
import sys

FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*?)(?:\+0x[0-9a-f]+)?(\s+\(inlined\))?\s*$")

PHASES = [
    # (phase, a frame that puts the sample in it), first match from the root wins
    ("read the capture", re.compile(r"FileSource|capture::file|capture::open")),
    ("write the report (JSON/text)", re.compile(r"Report::write_|report::text|report::write|serde_json::ser::to_writer")),
    ("build the report", re.compile(r"Report::build")),
    ("engine (decode, parse, dialogs, rules)", re.compile(r"Analyzer::process|Analyzer::on_|Analyzer::finish")),
    ("findings at the end", re.compile(r"Analyzer::findings")),
    ("free at exit", re.compile(r"drop_in_place<siplens::(report::Report|engine::Analyzer)")),
]
ALLOC = re.compile(r"^(malloc|_int_malloc|_int_free|free|cfree|realloc|_int_realloc|__libc_malloc|__GI___libc_malloc|__libc_free|__GI___libc_free|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_alloc|__rustc::__rdl_\w+|alloc::alloc::\w+|alloc::raw_vec::\S*(finish_grow|grow_one|reserve)\S*|malloc_consolidate|unlink_chunk\S*|sysmalloc|_int_memalign)")
PAGE_FAULT = re.compile(r"asm_exc_page_fault|exc_page_fault|handle_mm_fault")
PARSERS = re.compile(r"^siplens::sip::(access::CSeq::parse|addr::parse_name_addr|via::parse_via|uri::Uri::parse|message::parse_message|validate::validate_with)$")
NOISE = re.compile(r"^(core::|alloc::|std::|<core::|<alloc::|<std::)")


def samples(stream):
    """Yields each sample's frames, innermost first, as (symbol, inlined)."""
    cur = []
    for line in stream:
        if not line.strip():
            if cur:
                yield cur
            cur = []
            continue
        if not line.startswith(("\t", " ")):
            if cur:
                yield cur
            cur = []
            continue
        m = FRAME.match(line)
        if m:
            cur.append((m.group(1), bool(m.group(2))))
    if cur:
        yield cur


def short(sym: str) -> str:
    sym = re.sub(r"<([^<>]*) as ([^<>]*)>", r"<\1 as …>", sym)
    return sym if len(sym) <= 110 else sym[:107] + "…"


def concern(sym: str) -> str:
    m = re.match(r"<?siplens::((?:\w+::){1,2})", sym)
    if not m:
        return sym
    parts = m.group(1).rstrip(":").split("::")
    mod = "::".join(p for p in parts if p and p[0].islower())
    return mod or parts[0]


def pct(n, total):
    return f"{100.0 * n / total:.1f}%" if total else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", help="perf script output (default: stdin)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--paths", type=int, default=20)
    args = ap.parse_args()
    stream = open(args.file) if args.file else sys.stdin

    total = 0
    phase = collections.Counter()
    leaf = collections.Counter()
    inner_siplens = collections.Counter()
    engine_concern = collections.Counter()
    engine_total = 0
    alloc = collections.Counter()
    alloc_by = collections.Counter()
    parser_callers = collections.defaultdict(collections.Counter)
    paths = collections.Counter()
    for frames in samples(stream):
        total += 1
        syms = [s for s, _ in frames]
        root_first = list(reversed(syms))
        ph = "start-up, kernel, other"
        for name, rx in PHASES:
            if any(rx.search(s) for s in root_first):
                ph = name
                break
        phase[ph] += 1
        leaf[syms[0]] += 1
        sip = next((s for s in syms if "siplens::" in s and not NOISE.match(s)), None)
        inner_siplens[sip or "(no siplens frame: " + syms[-1] + ")"] += 1
        # allocation: a frame between the leaf and the innermost siplens frame
        below = []
        for s in syms:
            if "siplens::" in s and not NOISE.match(s):
                break
            below.append(s)
        if any(PAGE_FAULT.search(s) for s in below):
            alloc["page faults (fresh memory zeroed by the kernel)"] += 1
            alloc_by[sip or "(outside siplens)"] += 1
        elif any(ALLOC.match(s) for s in below):
            alloc["malloc/realloc/free"] += 1
            alloc_by[sip or "(outside siplens)"] += 1
        if ph.startswith("engine"):
            engine_total += 1
            engine_concern[concern(sip) if sip else "(outside siplens)"] += 1
        # who calls the header parsers (the first siplens frame above the parser)
        for i, s in enumerate(syms):
            if PARSERS.match(s):
                caller = next((c for c in syms[i + 1 :] if "siplens::" in c and not NOISE.match(c) and c != s), "?")
                parser_callers[s][caller] += 1
                break
        # call path: siplens frames from the engine's entry (or the phase root) downwards
        chain = [s for s in root_first if "siplens::" in s and not NOISE.match(s)]
        for anchor in ("siplens::engine::Analyzer::process", "siplens::report::Report::build", "siplens::report::Report::write_json"):
            if anchor in chain:
                chain = chain[chain.index(anchor) :]
                break
        dedup = []
        for s in chain:
            if not dedup or dedup[-1] != s:
                dedup.append(s)
        paths[" → ".join(short(s).replace("siplens::", "") for s in dedup[:6]) or "(no siplens frame)"] += 1

    print(f"{total} samples.\n")
    print("### Whole process by phase\n")
    print("| phase | share of samples |\n| --- | ---: |")
    for name, n in phase.most_common():
        print(f"| {name} | {pct(n, total)} |")
    print("\n### Allocation (whoever asked)\n")
    print("| | share of samples |\n| --- | ---: |")
    for name, n in alloc.most_common():
        print(f"| {name} | {pct(n, total)} |")
    print("\nWho allocates (innermost siplens function above malloc/free or a page fault):\n")
    print("| share of samples | function |\n| ---: | --- |")
    for s, n in alloc_by.most_common(12):
        print(f"| {pct(n, total)} | `{short(s)}` |")
    print(f"\n### Top {args.top} by self time (innermost frame, inlined included)\n")
    print("| self | function |\n| ---: | --- |")
    for s, n in leaf.most_common(args.top):
        print(f"| {pct(n, total)} | `{short(s)}` |")
    print(f"\n### Top {args.top} by innermost siplens function (its memchr, memcpy, malloc... included)\n")
    print("| self | function |\n| ---: | --- |")
    for s, n in inner_siplens.most_common(args.top):
        print(f"| {pct(n, total)} | `{short(s)}` |")
    print(f"\n### Engine by concern ({pct(engine_total, total)} of the process)\n")
    print("| module of the innermost siplens frame | share of the engine | of the process |\n| --- | ---: | ---: |")
    for s, n in engine_concern.most_common(20):
        print(f"| `{s}` | {pct(n, engine_total)} | {pct(n, total)} |")
    print("\n### Header parsers and their callers (inclusive samples)\n")
    for p, callers in sorted(parser_callers.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(callers.values())
        who = ", ".join(f"`{short(c).replace('siplens::', '')}` {pct(k, total)}" for c, k in callers.most_common(6))
        print(f"* `{p.replace('siplens::', '')}`: {pct(n, total)}, from {who}")
    print(f"\n### Top {args.paths} call paths (siplens frames, outermost first)\n")
    print("| samples | path |\n| ---: | --- |")
    for s, n in paths.most_common(args.paths):
        print(f"| {pct(n, total)} | {s} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
