#!/bin/bash
# bench/serve/ab.sh FINERANK_A FINERANK_B MODEL_DIR [SECONDS] [ROUNDS] [CLIENTS...] — two builds'
# servers side by side on one machine, e.g. before and after a change to src/serve/:
# both start at once (same model, index and flags), then for each round, route (/v1/rerank,
# /v1/search; ROUTES overrides) and client count (8 64), A and B take turns under the same
# closed-loop load (bench/serve/load.c) for SECONDS (5). Besides requests/s and p50/p99 it
# prints the server's CPU time per request (user + system, from /proc), which on a shared
# machine is steadier than requests/s: a server with more runnable threads also takes a
# larger share of the cores from other processes. Inputs as run.sh (DOC_WORDS, default 90).
# Hold the shared benchmark lock around it.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=${1:?usage: bench/serve/ab.sh FINERANK_A FINERANK_B MODEL_DIR [SECONDS] [ROUNDS] [CLIENTS...]}
B=${2:?}
MODEL=${3:?}
SECS=${4:-5}
ROUNDS=${5:-2}
shift $(( $# >= 5 ? 5 : $# ))
CLIENTS=${*:-8 64}
ROUTES=${ROUTES:-/v1/rerank /v1/search}
BUILD=${FR_BUILD:-build}
. bench/serve/common.sh  # $tmp, and the exit trap that stops the servers and removes it
serve_build_load
serve_make_inputs "${DOC_WORDS:-90}"
FINERANK=$A serve_start --max-queue 256
pa=$srv port_a=$port
FINERANK=$B serve_start --max-queue 256
pb=$srv port_b=$port
echo "A = $A (pid $pa), B = $B (pid $pb); machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
    for route in $ROUTES; do
        body=$tmp/search.json
        [ "$route" = /v1/rerank ] && body=$tmp/rerank.json
        for c in $CLIENTS; do
            for side in A B; do
                if [ $side = A ]; then p=$pa; pt=$port_a; else p=$pb; pt=$port_b; fi
                c0=$(serve_cpu_ms "$p")
                line=$("$tmp/load" http "$pt" "$route" "$body" "$c" "$SECS")
                c1=$(serve_cpu_ms "$p")
                n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
                echo "round=$r side=$side $line cpu_ms_per_req=$(( n ? (c1 - c0) / n : 0 ))"
            done
        done
    done
done
srv=$pa; printf "RSS at end: A %s kB, " "$(serve_rss_kb)"
srv=$pb; echo "B $(serve_rss_kb) kB"
