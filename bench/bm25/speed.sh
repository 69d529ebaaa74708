#!/bin/bash
# bench/bm25/speed.sh — first-stage speed on a generated corpus (scripts/bench/gen_corpus.py):
# finerank index build docs/s, peak RSS and index bytes/doc; single-thread query latency
# p50/p99 for top-10 and top-1000 with 2–6-term queries; the same for SQLite FTS5 and Xapian
# (bench/bm25/peers.py) in the same run, on the same files.
#
#   N=1000000 bash bench/bm25/speed.sh     (default N=1000000; N=100000 for a quick run)
# Env: N (documents), NQ (queries, default 1000), WORK (scratch dir, default
# /tmp/fr_speed), FINERANK (binary), PEERS=0 to skip the peers, PEER_ENGINES=sqlite_fts5
# (or xapian) for one of them (Xapian's Python bulk load is slow: ~10^2-10^3 docs/s).
#
# How each number is taken:
#  - finerank build: wall time of `finerank index build --optimize` (fsync on, one segment
#    at the end, as the peers' optimized indexes), GNU time's max RSS; bytes/doc = size of
#    the index directory / N.
#  - finerank latency: `finerank eval --latency`: per query, CLOCK_MONOTONIC around search
#    + reading each hit's external id, one thread, after one warm-up pass over the queries.
#  - peers: time.perf_counter around query + reading ids inside Python (binding overhead
#    included); build = the peers.py build (FTS5 'optimize' included; Xapian one commit).
# Same machine, same run, same page cache state: quote ratios, not absolute numbers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FR=${FINERANK:-$ROOT/build/finerank}
N=${N:-1000000}
NQ=${NQ:-1000}
WORK=${WORK:-/tmp/fr_speed}
PY=/usr/bin/python3
[ -x "$FR" ] || { echo "speed.sh: build finerank first (make)" >&2; exit 2; }
D=$WORK/gen_$N
if [ ! -s "$D/queries.jsonl" ]; then
    echo "== generating $N documents into $D" >&2
    $PY "$ROOT/scripts/bench/gen_corpus.py" --docs "$N" --queries "$NQ" --out "$D" >&2
fi
C=$D/corpus.jsonl Q=$D/queries.jsonl

echo "== finerank index build" >&2
rm -rf "$WORK/fr_idx"
/usr/bin/time -f "%e %M" -o "$WORK/fr_time" "$FR" index build --corpus "$C" --index "$WORK/fr_idx" --optimize >&2
read -r fr_s fr_rss_kb < "$WORK/fr_time"
fr_bytes=$(du -sb "$WORK/fr_idx" | cut -f1)
lat() {  # K -> "p50 p99"
    "$FR" eval --index "$WORK/fr_idx" --queries "$Q" --k "$1" --latency >/dev/null  # warm-up
    "$FR" eval --index "$WORK/fr_idx" --queries "$Q" --k "$1" --latency |
        awk '$1=="latency_p50_ms"{a=$2} $1=="latency_p99_ms"{b=$2} END{print a, b}'
}
read -r f10_50 f10_99 < <(lat 10)
read -r f1k_50 f1k_99 < <(lat 1000)

row() { printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }
echo
echo "Corpus: $N generated documents (scripts/bench/gen_corpus.py, seed 20261128), $NQ queries of 2–6 terms; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')."
echo
echo "| engine | build docs/s | build s | peak RSS MiB | bytes/doc | top-10 p50 ms | top-10 p99 ms | top-1000 p50 / p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row "finerank (C, CLI)" "$(awk -v n="$N" -v s="$fr_s" 'BEGIN{printf "%.0f", n/s}')" "$fr_s" \
    "$((fr_rss_kb / 1024))" "$(awk -v b="$fr_bytes" -v n="$N" 'BEGIN{printf "%.1f", b/n}')" \
    "$f10_50" "$f10_99" "$f1k_50 / $f1k_99"
if [ "${PEERS:-1}" != 0 ]; then
    echo "== peers (sqlite_fts5, xapian)" >&2
    $PY "$ROOT/bench/bm25/peers.py" speed --corpus "$C" --queries "$Q" --work-dir "$WORK/peers" \
        --max-queries "$NQ" --engines "${PEER_ENGINES:-sqlite_fts5,xapian}" | while read -r js; do
        $PY - "$js" <<'EOF'
import json, sys
o = json.loads(sys.argv[1])
print("| %s (Python binding) | %d | %.1f | - | %.1f | %.3f | %.3f | %.3f / %.3f |" % (
    o["engine"], o["build_docs_per_s"], o["build_s"], o["bytes_per_doc"], o["top10_p50_ms"],
    o["top10_p99_ms"], o["top1000_p50_ms"], o["top1000_p99_ms"]))
EOF
    done
fi
