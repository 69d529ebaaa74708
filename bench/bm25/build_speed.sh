#!/bin/bash
# bench/bm25/build_speed.sh — index build throughput of this finerank against a baseline
# binary (e.g. main's), interleaved in one run on the same corpus, so that the ratio means
# something on a shared machine: `finerank index build --threads T` (fsync on) without and
# with --optimize, each binary in turn, REPS times; then checks that both built the same
# optimized segment bytes.
#
#   BASE=/path/to/baseline/finerank bash bench/bm25/build_speed.sh
# Env: BASE (required), FINERANK (default build/finerank), N (default 1000000; the corpus is
# scripts/bench/gen_corpus.py's, generated once into $WORK/gen_$N as speed.sh does), THREADS
# (default 2), REPS (default 1), WORK (default /tmp/fr_speed).
#
# Columns: indexing docs/s and s as the CLI reports them (parse + analyze + build + fsync of
# every segment + commit), optimize s (merge into one segment + commit), wall s, user+sys
# CPU s and peak RSS from GNU time (the whole process).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FR=${FINERANK:-$ROOT/build/finerank}
BASE=${BASE:?set BASE to the baseline finerank binary}
N=${N:-1000000}
THREADS=${THREADS:-2}
REPS=${REPS:-1}
WORK=${WORK:-/tmp/fr_speed}
D=$WORK/gen_$N
if [ ! -s "$D/corpus.jsonl" ]; then
    echo "== generating $N documents into $D" >&2
    /usr/bin/python3 "$ROOT/scripts/bench/gen_corpus.py" --docs "$N" --queries 300 --out "$D" >&2
fi
C=$D/corpus.jsonl
echo "Corpus: $N generated documents ($C), --threads $THREADS, fsync on; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start."
echo
echo "| binary | mode | indexing docs/s | indexing s | optimize s | wall s | CPU s | peak RSS MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for mode in "" --optimize; do
    for rep in $(seq "$REPS"); do
        for who in base this; do
            bin=$FR; [ $who = base ] && bin=$BASE
            idx=$WORK/build_speed_$who
            rm -rf "$idx"
            sync
            out=$(/usr/bin/time -f "TIME %e %U %S %M" "$bin" index build --corpus "$C" --index "$idx" \
                  --threads "$THREADS" $mode 2>&1)
            # "indexed N documents in X s (R docs/s)[, optimized in Y s]"
            read -r ix_s ix_rate opt_s < <(echo "$out" | sed -n 's/^indexed [0-9]* documents in \([0-9.]*\) s (\([0-9]*\) docs\/s)\(, optimized in \([0-9.]*\) s\)\{0,1\}.*/\1 \2 \4/p')
            read -r wall u s rss < <(echo "$out" | sed -n 's/^TIME //p')
            printf '| %s | %s | %s | %s | %s | %s | %.2f | %d |\n' "$who" "${mode:-index only}" \
                "$ix_rate" "$ix_s" "${opt_s:--}" "$wall" "$(echo "$u + $s" | bc)" "$((rss / 1024))"
        done
    done
done
a=$(ls "$WORK"/build_speed_base/seg_*.frs) b=$(ls "$WORK"/build_speed_this/seg_*.frs)
if cmp -s "$a" "$b"; then echo; echo "Optimized segments byte-identical ($(stat -c %s "$a") bytes)."
else echo; echo "WARNING: optimized segments differ"; exit 1; fi
