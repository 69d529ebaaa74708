#!/bin/sh
# bench/model/run.sh [THREADS] [PAIRS] [REPS] — cross-encoder throughput, finerank vs ONNX Runtime
# vs PyTorch, side by side in one run, on a random-weight model shaped like
# cross-encoder/ms-marco-MiniLM-L-6-v2 (make_minilm.py), at 64, 128 and 256 tokens per pair.
#
# Every engine gets the same weights, the same token ids, THREADS threads (default 2) and
# reports its best of REPS (default 2) timed passes after one warm-up pass. finerank batches by
# its token budget; ORT and PyTorch get batches of 32 equal-length pairs (no padding, which
# favours them). The harness measures its own sgemm peak (bench_model.c) for "% of GEMM peak",
# and checks that the three engines' logits agree. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are
# unset for this command only, so OpenBLAS picks its kernel itself (printed as openblas_core).
# Inputs go to $FR_BENCH_DIR (default /tmp/finerank-bench-model, ~90 MB, not committed).
# finerank runs at --dtype f32, bf16 and int8, PyTorch at f32 and quantize_dynamic int8; the
# harness also measures register-only f32 FMA and int8 multiply-add peaks (bench_model.c).
# The 100 x 128-token end-to-end job (tokenisation included) needs a BERT tokenizer.json: the
# one in ../shared/tokenizers/bert-base-uncased (vocab 30522, as the model) when present.
set -e
cd "$(dirname "$0")/../.."
T=${1:-2}; N=${2:-100}; R=${3:-2}
D=${FR_BENCH_DIR:-/tmp/finerank-bench-model}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export NODE_PATH=${NODE_PATH:-$HOME/.cache/finerank-oracles/node_modules}
make -s build/libfinerank.a
[ -f "$D/pairs_256.json" ] && [ "$(/usr/bin/python3 -c "import json;print(len(json.load(open('$D/pairs_64.json'))))")" = "$N" ] ||
    /usr/bin/python3 bench/model/make_minilm.py "$D" "$N" > "$D.gen.log" 2>&1
cc -std=c11 -O2 -march=x86-64-v3 -D_GNU_SOURCE -Iinclude -Isrc $(pkg-config --cflags openblas jansson) \
    bench/model/bench_model.c build/libfinerank.a $(pkg-config --libs openblas jansson libutf8proc libpcre2-8) \
    -lm -lpthread -o "$D/bench_model"
: > "$D/results.jsonl"
for L in 64 128 256; do
    "$D/bench_model" "$D/model" "$D/pairs_$L.json" "$T" "$R" "$D/fr_$L.txt" | tee -a "$D/results.jsonl"
    "$D/bench_model" "$D/model" "$D/pairs_$L.json" "$T" "$R" "$D/frbf16_$L.txt" bf16 | tee -a "$D/results.jsonl"
    "$D/bench_model" "$D/model" "$D/pairs_$L.json" "$T" "$R" "$D/frint8_$L.txt" int8 | tee -a "$D/results.jsonl"
    node bench/model/bench_ort.js "$D/model.onnx" "$D/pairs_$L.json" "$T" "$R" 32 "$D/ort_$L.txt" | tee -a "$D/results.jsonl"
    /usr/bin/python3 bench/model/bench_torch.py "$D/model" "$D/pairs_$L.json" "$T" "$R" 32 "$D/pt_$L.txt" | tee -a "$D/results.jsonl"
    /usr/bin/python3 bench/model/bench_torch.py "$D/model" "$D/pairs_$L.json" "$T" "$R" 32 "$D/ptint8_$L.txt" int8 | tee -a "$D/results.jsonl"
done
# the three finerank dtypes again, interleaved in one process (fairer under shared-machine load)
for L in 64 128 256; do
    "$D/bench_model" "$D/model" "$D/pairs_$L.json" "$T" "$R" "$D/frall_$L.txt" all | tee -a "$D/results.jsonl"
done
TOK=${FR_SHARED:-../shared}/tokenizers/bert-base-uncased/tokenizer.json
if [ -f "$TOK" ]; then
    cp "$TOK" "$D/model/tokenizer.json"
    for DT in f32 bf16 int8; do "$D/bench_model" "$D/model" --e2e "$T" 5 $DT | tee -a "$D/results.jsonl"; done
    rm -f "$D/model/tokenizer.json"
fi
/usr/bin/python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + "/results.jsonl")]
def agree(a, b, L):
    x = [float(v) for v in open("%s/%s_%d.txt" % (d, a, L))]
    y = [float(v) for v in open("%s/%s_%d.txt" % (d, b, L))]
    return max(abs(p - q) for p, q in zip(x, y))
print("\n| tokens | finerank pairs/s | % GEMM peak | ONNX Runtime pairs/s | PyTorch pairs/s | finerank / ORT | finerank / PyTorch | peak RSS MB (fr / ORT / PT) | max |logit diff| vs ORT / PT |")
print("|---|---|---|---|---|---|---|---|---|")
for L in (64, 128, 256):
    fr = next(r for r in rows if r["engine"] == "finerank" and round(r["seq_len"]) == L)
    ort = next(r for r in rows if r["engine"].startswith("onnx") and r["seq_len"] == L)
    pt = next(r for r in rows if r["engine"].startswith("pytorch") and r["seq_len"] == L)
    print("| %d | %.1f | %.0f%% of %.0f GFLOP/s | %.1f | %.1f | %.2fx | %.2fx | %.0f / %.0f / %.0f | %.1e / %.1e |" % (
        L, fr["pairs_per_s"], fr["pct_peak"], fr["gemm_peak_gflops"], ort["pairs_per_s"], pt["pairs_per_s"],
        fr["pairs_per_s"] / ort["pairs_per_s"], fr["pairs_per_s"] / pt["pairs_per_s"],
        fr["peak_rss_mb"], ort["peak_rss_mb"], pt["peak_rss_mb"], agree("fr", "ort", L), agree("fr", "pt", L)))
print("\nthreads %d, %d pairs per length, OpenBLAS kernel: %s; 100 x 128-token pairs took %.3f s in finerank" % (
    rows[0]["threads"], rows[0]["pairs"], rows[0]["openblas_core"],
    next(r for r in rows if r["engine"] == "finerank" and round(r["seq_len"]) == 128)["best_s"]))
isa = next(r for r in rows if r["engine"] == "finerank-int8")["kernel_isa"]
print("\nbf16/int8 dense kernels: %s (FINERANK_ISA to force avx512|avx2|ref)" % isa)
print("\n| tokens | f32 pairs/s | bf16 pairs/s | int8 pairs/s | int8 / f32 | PyTorch int8 pairs/s | int8 / PT int8 | ORT f32 pairs/s | int8 / ORT | f32 %% FMA peak | bf16 %% %s peak | int8 %% %s peak | int8 max |logit diff| vs f32 (PT int8 vs PT f32) |" % (
    ("vdpbf16ps", "vpdpbusd") if isa == "avx512" else ("FMA", "vpmaddubsw")))
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for L in (64, 128, 256):
    g = lambda e: next(r for r in rows if r["engine"] == e and round(r.get("seq_len", 0)) == L)
    f, b, i = g("finerank"), g("finerank-bf16"), g("finerank-int8")
    ort = next(r for r in rows if r["engine"].startswith("onnx") and r["seq_len"] == L)
    pti = next(r for r in rows if r["engine"].startswith("pytorch") and r["engine"].endswith("int8") and r["seq_len"] == L)
    print("| %d | %.1f | %.1f | %.1f | %.2fx | %.1f | %.2fx | %.1f | %.2fx | %.0f%% | %.0f%% | %.0f%% | %.2g (%.2g) |" % (
        L, f["pairs_per_s"], b["pairs_per_s"], i["pairs_per_s"], i["pairs_per_s"] / f["pairs_per_s"],
        pti["pairs_per_s"], i["pairs_per_s"] / pti["pairs_per_s"], ort["pairs_per_s"],
        i["pairs_per_s"] / ort["pairs_per_s"], f["pct_fma_peak"], b["pct_bf16_peak"], i["pct_int8_peak"],
        agree("fr", "frint8", L), agree("pt", "ptint8", L)))
print("\ninterleaved in one process (best of REPS each):\n\n| tokens | f32 pairs/s | bf16 pairs/s | int8 pairs/s | bf16 / f32 | int8 / f32 |\n|---|---|---|---|---|---|")
for L in (64, 128, 256):
    g = lambda d: next(r for r in rows if r["engine"] == "finerank interleaved" and r["dtype"] == d and round(r["seq_len"]) == L)
    f, b, i = g("f32"), g("bf16"), g("int8")
    print("| %d | %.1f | %.1f | %.1f | %.2fx | %.2fx |" % (L, f["pairs_per_s"], b["pairs_per_s"], i["pairs_per_s"],
          b["pairs_per_s"] / f["pairs_per_s"], i["pairs_per_s"] / f["pairs_per_s"]))
f = rows[0]
print("\npeaks measured by the harness (%d threads): f32 FMA %.0f GFLOP/s, int8 vpmaddubsw %.0f GOP/s, "
      "int8 vpdpbusd %.0f GOP/s, bf16 vdpbf16ps %.0f GFLOP/s (0: no AVX-512), OpenBLAS sgemm %.0f GFLOP/s" % (
    f["threads"], f["fma_peak_gflops"], f["int8_peak_gops"], f.get("vnni_peak_gops", 0),
    f.get("dpbf16_peak_gflops", 0), f["gemm_peak_gflops"]))
for r in rows:
    if r["engine"].endswith("e2e"):
        print("end to end, 100 passages x 128 tokens incl. tokenisation: %s (%s) %.3f s" % (
            r["engine"], r.get("kernel_isa", "?"), r["best_s"]))
PY
