#!/bin/sh
# bench/tokenize/run.sh — finerank vs the Hugging Face Rust tokenizers (npm binding), single
# thread, same corpus and tokenizer files, in one run; prints tokens/s and the ratio.
#   sh bench/tokenize/run.sh [SECONDS]        (make bench-tokenize)
# Corpus: tests/data/tok/corpus.jsonl.gz (the multilingual conformance corpus: 5,400 texts and
# 1,000 query/passage pairs). Tokenizers: bert-base-uncased, roberta-base, t5-v1_1-xxl from
# ../shared (or $FR_SHARED). Each tokenizer's own truncation block applies in both.
set -e
cd "$(dirname "$0")/../.."
secs=${1:-3}
shared=${FR_SHARED:-../shared}
corpus=tests/data/tok/corpus.jsonl.gz
specs=""
for n in bert-base-uncased roberta-base t5-v1_1-xxl; do
    p="$shared/tokenizers/$n/tokenizer.json"
    if [ -r "$p" ]; then specs="$specs $n=$p"; else echo "skip $n: $p absent" >&2; fi
done
[ -n "$specs" ] || { echo "no tokenizers found under $shared/tokenizers" >&2; exit 1; }
make -s build/bench/tokenize
# no BLAS is involved; unset the machine's OpenBLAS tuning anyway, both together
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false UV_THREADPOOL_SIZE=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "== finerank (C, 1 thread)"
build/bench/tokenize --seconds "$secs" --linear $corpus $specs | tee -a "$out"
echo "== HF tokenizers 0.22.2 via @anush008/tokenizers (Rust, 1 thread)"
NODE_PATH=${NODE_PATH:-$HOME/.cache/finerank-oracles/node_modules} node bench/tokenize/bench_hf.js "$secs" $corpus $specs | tee -a "$out"
echo "== ratio (finerank tokens/s ÷ HF tokens/s; > 1 means finerank is faster)"
awk '
/tokens_per_s=/ {
    for (i = 1; i <= NF; i++) if ($i ~ /^tokens_per_s=/) { v = $i; sub("tokens_per_s=", "", v) }
    r[$1, $2] = v; names[$1] = 1
}
END {
    for (n in names) {
        printf "%-18s all inputs:   finerank %8.0f tok/s, HF sequential encode %8.0f tok/s: x%.2f\n", n,
            r[n, "all"], r[n, "hf-sequential-all"], r[n, "all"] / r[n, "hf-sequential-all"]
        printf "%-18s texts only:   finerank %8.0f tok/s, HF encodeBatch       %8.0f tok/s: x%.2f\n", n,
            r[n, "singles"], r[n, "hf-batch-singles"], r[n, "singles"] / r[n, "hf-batch-singles"]
    }
}' "$out"
