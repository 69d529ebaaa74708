#!/bin/sh
# bench/pipeline/run.sh — end-to-end pipeline latency by stage on a generated corpus
# (scripts/bench/gen_corpus.py: Zipfian vocabulary, log-normal lengths, dates, sources,
# authority). The issue's size is FR_BENCH_DOCS=1000000; the default (200000) fits a
# shared 2-core machine in a few minutes. The corpus and index are cached under
# ${FR_BENCH_DIR:-$HOME/.cache/finerank-bench}/pipeline-N.
#   make bench-pipeline            or   FR_BENCH_DOCS=1000000 sh bench/pipeline/run.sh
set -e
cd "$(dirname "$0")/../.."
n=${FR_BENCH_DOCS:-200000}
nq=${FR_BENCH_QUERIES:-500}
dir=${FR_BENCH_DIR:-$HOME/.cache/finerank-bench}/pipeline-$n
mkdir -p "$dir"
[ -x build/finerank ] || make -s build/finerank
[ -x build/bench/pipeline ] || make -s build/bench/pipeline
if [ ! -s "$dir/corpus.jsonl" ]; then
    echo "generating $n documents and $nq queries into $dir"
    /usr/bin/python3 scripts/bench/gen_corpus.py --docs "$n" --queries "$nq" --out "$dir"
fi
if [ ! -f "$dir/index/COMMIT" ]; then
    rm -rf "$dir/index"
    build/finerank index build --corpus "$dir/corpus.jsonl" --index "$dir/index"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
build/bench/pipeline "$dir/index" "$dir/queries.jsonl" --queries "$nq"
