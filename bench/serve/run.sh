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
make -s "$BUILD/finerank" "$BUILD/libfinerank.a"
tmp=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/serve/load.c "$BUILD/libfinerank.a" \
    $(pkg-config --cflags --libs jansson libutf8proc libpcre2-8 openblas libcurl libmicrohttpd libcrypto) \
    -lstemmer -lz -lm -lpthread -o "$tmp/load"
/usr/bin/python3 - "$tmp" "$WORDS" <<'PY'
import json, random, sys
out = sys.argv[1]
words = " ".join(json.loads(l)["text"] for l in open("data/sample/corpus.jsonl")).split()
rng = random.Random(5)
n_words = int(sys.argv[2])
docs = [" ".join(rng.choice(words) for _ in range(n_words)) for _ in range(100)]
json.dump({"query": "how should people with diabetes control blood sugar", "documents": docs},
          open(out + "/rerank.json", "w"))
json.dump({"query": "diabetes blood sugar diet exercise", "k": 10}, open(out + "/search.json", "w"))
PY
"$BUILD/finerank" index build --corpus data/sample/corpus.jsonl --index "$tmp/ix" >/dev/null
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BUILD/finerank" serve --model "$MODEL" --index "$tmp/ix" \
    --port 0 --max-queue 256 >"$tmp/out" 2>"$tmp/err" &
srv=$!
port=
for _ in $(seq 1 600); do
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/err"; exit 1; }
rss() { awk '/VmRSS/ {print $2 " kB"}' /proc/$srv/status; }
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
