#!/bin/sh
# bench/embed/run.sh [THREADS=2] [PASSAGES=100] [REPS=1] [VECTORS=1000000] — dense retrieval
# benchmarks, side by side in one run:
#  1. embedding throughput (passages/s), finerank vs ONNX Runtime, on a random-weight BertModel
#     shaped like all-MiniLM-L6-v2 (make_minilm_embed.py: mean pooling, normalisation,
#     max_seq_length 256) over the first PASSAGES Cranfield passages (../shared; skipped when
#     absent). finerank's time includes tokenisation; ORT's does not (tokenised beforehand,
#     sorted by length, batches of 32). The embeddings of both are compared (max |diff|).
#  2. the machine's read bandwidth (bench_membw.c: 384 MB, 1 and 2 threads, 4 KiB pages and
#     transparent huge pages, and a mapped file cold / first touch / warm): the scan's ceiling.
#  3. exact top-1000 vector search over VECTORS x 384 random unit vectors (bench_vectors.c),
#     the types in $VTYPES (default f32,int8,int8+rescore; also int8-refine) on 1 and 2
#     threads: p50 / p99, this tree's library and $BASE's (a git ref, default main: built from
#     `git archive` into $D/base) in the same run; then, for this tree, the top-10 / top-100
#     overlap with F32 of int8 (with and without its quantisation transform), int8 + rescoring
#     and int8-refine on random and on clustered (anisotropic) vectors, and on real
#     embeddings when REALEMB=DIR is set (bench_vectors.c).
#     With APPROX=F1,F2,... (oversampling factors), a prototype 1-bit first pass + int8 rescoring
#     (not in the library): latency and recall@10 / @K against F32, random and clustered.
#  4. with HYBRID_INDEX=DIR (a BM25 index of VECTORS documents, e.g. bench/bm25/speed.sh's) and
#     HYBRID_QUERIES=FILE: BM25 top-1000 vs hybrid (BM25 + query embedding + dense int8 + RRF)
#     latency per query (bench_hybrid.c), this tree and $BASE; the hybrid rows embed queries
#     with the first of $QDTYPES (default int8,bf16,f32), and each type's per-query embedding
#     latency with cold weights (one thread) and cosine to f32 follow. HYBRID_NPROBE=N: this
#     tree's dense stage probes N lists of an IVF over the rows (src/index/ivf.c) instead of
#     the exact scan.
#  5. with IVF=P1,P2,... (nprobe values): the IVF approximate index of this tree
#     (bench_ivf.c, src/index/ivf.c) over VECTORS x 384 int8 rows, random then clustered (and,
#     with IVF_REAL=FILE, real embeddings: raw f32 rows of 384): build time, then p50 / p99 on
#     1 and 2 threads, rows scanned and recall@10 / @1000 against exact F32 search, for the
#     exact int8 scan and each nprobe, in the same run. IVF_LISTS sets the lists (default:
#     automatic). IVF_ONLY=1 runs this part alone.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this command only (OpenBLAS picks its own
# kernel). Inputs go to $FR_BENCH_DIR (default /tmp/finerank-bench-embed, not committed).
# EMBED=0 skips part 1. Run it under `flock /work/wt/bench.lock` on the shared machine.
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
cc $CF bench/embed/bench_ivf.c build/libfinerank.a $LIBS -o "$D/bench_ivf"
if [ "${IVF_ONLY:-0}" = 1 ]; then
    exec "$D/bench_ivf" "$V" 384 100 1000 "${IVF:-8,16,32}" "${IVF_LISTS:-0}" int8 ${IVF_REAL:+"$IVF_REAL"}
fi
cc $CF bench/embed/bench_embed.c build/libfinerank.a $LIBS -o "$D/bench_embed"
LIBS2="$LIBS $(pkg-config --libs libcurl libmicrohttpd libcrypto)"
BASE=${BASE:-main}
if [ "$(cat "$D/base/.ref" 2>/dev/null)" != "$(git rev-parse "$BASE")" ]; then
    rm -rf "$D/base" && mkdir -p "$D/base" && git archive "$BASE" | tar -x -C "$D/base"
    make -s -C "$D/base" build/libfinerank.a && git rev-parse "$BASE" > "$D/base/.ref"
fi
for v in branch base; do
    L=build/libfinerank.a; [ $v = base ] && L="$D/base/build/libfinerank.a"
    cc $CF bench/embed/bench_vectors.c "$L" $LIBS -o "$D/bench_vectors_$v"
    IV=; [ $v = branch ] && IV=-DBENCH_IVF  # the IVF dense stage (HYBRID_NPROBE) needs this tree
    cc $CF $IV bench/embed/bench_hybrid.c "$L" $LIBS2 -o "$D/bench_hybrid_$v"
done
cc $CF bench/embed/bench_membw.c -lpthread -o "$D/bench_membw"
P="$SHARED/data/cranfield/corpus.jsonl"
if [ "${EMBED:-1}" = 1 ] && [ -f "$P" ] && [ -f "$SHARED/tokenizers/bert-base-uncased/tokenizer.json" ]; then
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
    echo "embedding throughput skipped: EMBED=0, or $P or the bert-base-uncased tokenizer is absent"
fi
echo; echo "== read bandwidth"
"$D/bench_membw" 384 20 "$D/membw.bin"
VT=${VTYPES:-f32,int8,int8+rescore}
echo; echo "== vector search, $BASE ($(git rev-parse --short "$BASE"))"
"$D/bench_vectors_base" "$V" 384 100 1000 "$VT" 0
echo; echo "== vector search, this tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo +))"
"$D/bench_vectors_branch" "$V" 384 100 1000 "$VT" 1 "${APPROX:-}"
if [ -n "${HYBRID_INDEX:-}" ]; then
    M=-; [ -f "$D/model/config.json" ] && M="$D/model"
    echo; echo "| docs | k | stage | p50 ms | p99 ms |"; echo "|---|---|---|---|---|"
    for v in base branch; do
        echo "| ($v) | | | | |"
        "$D/bench_hybrid_$v" "$HYBRID_INDEX" "$HYBRID_QUERIES" "$M" 1000 200 "${QDTYPES:-int8,bf16,f32}" "${HYBRID_NPROBE:-0}"
    done
fi
if [ -n "${IVF:-}" ]; then
    echo; echo "== IVF, this tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo +))"
    "$D/bench_ivf" "$V" 384 100 1000 "$IVF" "${IVF_LISTS:-0}" int8 ${IVF_REAL:+"$IVF_REAL"}
fi
