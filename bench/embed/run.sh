#!/bin/sh
# bench/embed/run.sh [THREADS=2] [PASSAGES=100] [REPS=1] [VECTORS=1000000] — dense retrieval
# benchmarks, side by side in one run:
#  1. embedding throughput (passages/s), finerank vs ONNX Runtime, on a random-weight BertModel
#     shaped like all-MiniLM-L6-v2 (make_minilm_embed.py: mean pooling, normalisation,
#     max_seq_length 256) over the first PASSAGES Cranfield passages (../shared; skipped when
#     absent). finerank's time includes tokenisation; ORT's does not (tokenised beforehand,
#     sorted by length, batches of 32). The embeddings of both are compared (max |diff|).
#  2. exact top-1000 vector search over VECTORS x 384 random unit vectors, F32 and int8, on 1
#     and 2 threads: p50 / p99 latency and int8's top-10 overlap with F32 (bench_vectors.c).
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this command only (OpenBLAS picks its own
# kernel). Inputs go to $FR_BENCH_DIR (default /tmp/finerank-bench-embed, not committed).
set -e
cd "$(dirname "$0")/../.."
T=${1:-2}; N=${2:-100}; R=${3:-1}; V=${4:-1000000}
D=${FR_BENCH_DIR:-/tmp/finerank-bench-embed}
SHARED=${FR_SHARED:-../shared}; [ -d "$SHARED" ] || SHARED=../../shared
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export NODE_PATH=${NODE_PATH:-$HOME/.cache/finerank-oracles/node_modules}
mkdir -p "$D"
make -s build/libfinerank.a
LIBS="$(pkg-config --libs openblas jansson libutf8proc libpcre2-8 zlib) -lstemmer -lm -lpthread"
CF="-std=c11 -O2 -march=x86-64-v3 -D_GNU_SOURCE -Iinclude -Isrc $(pkg-config --cflags openblas jansson)"
cc $CF bench/embed/bench_embed.c build/libfinerank.a $LIBS -o "$D/bench_embed"
cc $CF bench/embed/bench_vectors.c build/libfinerank.a $LIBS -o "$D/bench_vectors"
P="$SHARED/data/cranfield/corpus.jsonl"
if [ -f "$P" ] && [ -f "$SHARED/tokenizers/bert-base-uncased/tokenizer.json" ]; then
    [ -f "$D/model.onnx" ] || /usr/bin/python3 bench/embed/make_minilm_embed.py "$D" \
        "$SHARED/tokenizers/bert-base-uncased/tokenizer.json" > "$D/gen.log" 2>&1
    "$D/bench_embed" "$D/model" "$P" "$N" "$T" "$R" "$D/fr.txt" | tee "$D/embed.jsonl"
    node bench/embed/bench_ort_embed.js "$D/model.onnx" "$D/model/tokenizer.json" "$P" "$N" "$T" "$R" 32 \
        "$D/ort.txt" | tee -a "$D/embed.jsonl"
    /usr/bin/python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
fr, ort = [json.loads(l) for l in open(d + "/embed.jsonl")]
a = [list(map(float, l.split())) for l in open(d + "/fr.txt")]
b = [list(map(float, l.split())) for l in open(d + "/ort.txt")]
diff = max(abs(x - y) for r, s in zip(a, b) for x, y in zip(r, s))
print("\n| passages | threads | finerank passages/s | ORT passages/s | finerank / ORT | peak RSS MB (fr / ORT) | max abs diff |")
print("|---|---|---|---|---|---|---|")
print("| %d | %d | %.1f | %.1f | %.2fx | %.0f / %.0f | %.1e |" % (fr["passages"], fr["threads"], fr["passages_per_s"],
      ort["passages_per_s"], fr["passages_per_s"] / ort["passages_per_s"], fr["peak_rss_mb"], ort["peak_rss_mb"], diff))
PY
else
    echo "embedding throughput skipped: $P or the bert-base-uncased tokenizer is absent"
fi
"$D/bench_vectors" "$V" 384 100 1000
