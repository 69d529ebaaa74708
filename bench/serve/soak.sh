#!/bin/bash
# bench/serve/soak.sh MODEL_DIR [SECONDS] [INTERVAL] — does the server's memory stay flat
# under sustained load? Starts `finerank serve` (the model + an index of data/sample), drives
# RERANK_CLIENTS closed-loop clients on POST /v1/rerank (100 documents of DOC_WORDS words) and
# SEARCH_CLIENTS on POST /v1/search at the same time for SECONDS (600), samples the server's
# VmRSS every INTERVAL (10) seconds and prints the samples, start / peak / end RSS and the
# least-squares slope in kB per minute (over the whole run and over its second half, after the
# allocator has reached its working set). Same inputs and server setup as run.sh
# (bench/serve/common.sh). Hold the shared benchmark lock around it:
#   flock /work/wt/bench.lock bash bench/serve/soak.sh MODEL_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: bench/serve/soak.sh MODEL_DIR [SECONDS] [INTERVAL]}
SECS=${2:-600}
EVERY=${3:-10}
WORDS=${DOC_WORDS:-20}
RC=${RERANK_CLIENTS:-4}
SC=${SEARCH_CLIENTS:-4}
BUILD=${FR_BUILD:-build}
. bench/serve/common.sh  # $tmp, and the exit trap that stops the servers and removes it
serve_build_load
serve_make_inputs "$WORDS"
serve_start
echo "soak: $RC rerank + $SC search clients for ${SECS}s, RSS every ${EVERY}s (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
"$tmp/load" http "$port" /v1/rerank "$tmp/rerank.json" "$RC" "$SECS" >"$tmp/rerank.txt" &
l1=$!
"$tmp/load" http "$port" /v1/search "$tmp/search.json" "$SC" "$SECS" >"$tmp/search.txt" &
l2=$!
t0=$(date +%s)
: >"$tmp/rss"
for i in $(seq 0 $((SECS / EVERY))); do
    # sample on a fixed schedule (t0 + i * EVERY), not after each sleep
    now=$(date +%s)
    [ $((t0 + i * EVERY)) -gt "$now" ] && sleep $((t0 + i * EVERY - now))
    echo "$((i * EVERY)) $(serve_rss_kb)" >>"$tmp/rss"
done
wait $l1 $l2
echo "$(( $(date +%s) - t0 )) $(serve_rss_kb)" >>"$tmp/rss"
cat "$tmp/rerank.txt" "$tmp/search.txt"
/usr/bin/python3 - "$tmp/rss" <<'PY'
import sys
pts = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
def slope(p):  # least squares, kB per minute
    n = len(p); mt = sum(t for t, _ in p) / n; mr = sum(r for _, r in p) / n
    den = sum((t - mt) ** 2 for t, _ in p)
    return 60 * sum((t - mt) * (r - mr) for t, r in p) / den if den else 0.0
print("t_s  rss_kB")
for t, r in pts: print("%4d  %d" % (t, r))
rss = [r for _, r in pts]
half = [p for p in pts if p[0] >= pts[-1][0] / 2]
print("start %.1f MB, peak %.1f MB, end %.1f MB; slope %+.1f kB/min over the run, %+.1f kB/min over the second half"
      % (rss[0] / 1024, max(rss) / 1024, rss[-1] / 1024, slope(pts), slope(half)))
PY
curl -s "127.0.0.1:$port/metrics" | grep -E '^finerank_requests_total'
kill -TERM $srv
wait $srv
