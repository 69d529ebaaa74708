#!/bin/bash
# bench/serve/run.sh MODEL_DIR [SECONDS] [CLIENTS...] — server throughput and latency against the same work
# done in-process (the server's overhead), all in one run on this machine:
#   rerank  POST /v1/rerank, 100 documents of ~128-token pairs, at 1, 8 and 64 clients
#   search  POST /v1/search over an index of data/sample (BM25 → cross-encoder → signals → MMR)
#   direct  the rerank request's tokenisation + fr_model_score_ids in-process (bench/serve/load.c)
#   cli     `finerank rerank` on the same documents (one process per request)
# MODEL_DIR: a MiniLM-L6-shaped checkpoint with a tokenizer.json (bench/model/make_minilm.py
# writes the weights; add a BERT-uncased tokenizer.json). OpenBLAS's environment overrides are
# removed for this command (the library picks its kernel; load.c prints which).
# Also reports the server's RSS before and after the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: bench/serve/run.sh MODEL_DIR [SECONDS]}
SECS=${2:-10}
shift $(( $# >= 2 ? 2 : 1 ))
CLIENTS=${*:-1 8 64}
WORDS=${DOC_WORDS:-90}     # words per document (~1.3 tokens each with BERT-uncased)
REPS=${DIRECT_REPS:-8}
BUILD=${FR_BUILD:-build}
. bench/serve/common.sh  # $tmp, and the exit trap that stops the servers and removes it
serve_build_load
serve_make_inputs "$WORDS"
serve_start --max-queue 256
rss() { echo "$(serve_rss_kb) kB"; }
echo "server RSS at start: $(rss)"
nproc_=$(nproc)
echo "== in-process baseline (tokenise + fr_model_score_ids, $nproc_ threads)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$tmp/load" direct "$MODEL" "$tmp/rerank.json" "$nproc_" "$REPS"
echo "== the CLI: finerank rerank on the same 100 documents ($REPS runs, model load included)"
/usr/bin/python3 -c 'import json,sys; [print(json.dumps({"text": d})) for d in json.load(open(sys.argv[1]))["documents"]]' \
    "$tmp/rerank.json" >"$tmp/docs.jsonl"
q=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["query"])' "$tmp/rerank.json")
t0=$(date +%s.%N)
for _ in $(seq 1 "$REPS"); do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BUILD/finerank" rerank --model "$MODEL" --query "$q" \
        --docs "$tmp/docs.jsonl" >/dev/null
done
/usr/bin/python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print('mode=cli requests=%s rps=%.2f mean_ms=%.1f' % (sys.argv[3], int(sys.argv[3])/t, 1e3*t/int(sys.argv[3])))" "$t0" "$(date +%s.%N)" "$REPS"
echo "== server"
for c in $CLIENTS; do "$tmp/load" http "$port" /v1/rerank "$tmp/rerank.json" $c "$SECS"; done
curl -s -XPOST "127.0.0.1:$port/v1/search" -d @"$tmp/search.json" | /usr/bin/python3 -c \
    'import json,sys; r=json.load(sys.stdin); print("search: %d candidates, %d reranked" % (r["candidates"], r["reranked"]))'
for c in $CLIENTS; do "$tmp/load" http "$port" /v1/search "$tmp/search.json" $c "$SECS"; done
echo "server RSS at end: $(rss)"
curl -s "127.0.0.1:$port/metrics" | grep -E '^finerank_(batch_size_(sum|count)|tokens_scored_total|requests_total)'
kill -TERM $srv; wait $srv
