#!/bin/sh
# Regenerates the seed corpus of fuzz/fuzz_segment.c: small real segments written by
# `finerank index build` (a few documents, CJK, a multi-block postings list) plus copies
# with bit flips and truncations. Usage: scripts/gen_segment_seeds.sh (after `make`).
set -eu
out=fuzz/corpus/segment
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
printf '%s\n' '{"id":"d1","title":"Wing","text":"wing flutter at speed","source":"a","lang":"en","date":"2020-01-02"}' \
    '{"id":"d2","text":"flat plate boundary layer","meta":{"k":1},"authority":2}' \
    '{"id":"d3","title":"糖尿病","text":"饮食禁忌 diet"}' > "$tmp/small.jsonl"
i=0
while [ $i -lt 160 ]; do
    echo "{\"id\":\"m$i\",\"text\":\"common term$((i % 7)) word$((i % 13)) x$i\"}"
    i=$((i + 1))
done > "$tmp/multi.jsonl"
for c in small multi; do
    build/finerank index build --corpus "$tmp/$c.jsonl" --index "$tmp/$c" --no-sync 2>/dev/null
    cp "$tmp/$c/seg_0.frs" "$out/$c.frs"
done
# mutations: flip bits in the body, truncate
python3 - "$out" <<'PY'
import sys, os
out = sys.argv[1]
for name in ("small", "multi"):
    data = bytearray(open(os.path.join(out, name + ".frs"), "rb").read())
    for k, pos in enumerate((20, len(data) // 3, len(data) // 2, len(data) - 170, len(data) - 100)[: 5 if name == "small" else 3]):
        m = bytearray(data); m[pos] ^= 0x41
        open(os.path.join(out, "%s_flip%d.frs" % (name, k)), "wb").write(m)
    open(os.path.join(out, name + "_trunc.frs"), "wb").write(data[: len(data) * 2 // 3])
PY
ls -l "$out"
