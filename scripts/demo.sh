#!/bin/sh
# demo.sh — the main job for now: tokenize a few multilingual query/passage lines
# (data/sample/tokenize.jsonl) exactly as Hugging Face tokenizers would, and show each
# input next to its tokens and ids. Uses the committed WordPiece fixture when present,
# else bert-base-uncased from ../shared (or $FR_SHARED).
set -e
cd "$(dirname "$0")/.."
shared=${FR_SHARED:-../shared}
tok=""
for t in tests/data/tok/wordpiece/tokenizer.json "$shared/tokenizers/bert-base-uncased/tokenizer.json"; do
    if [ -r "$t" ]; then tok=$t; break; fi
done
if [ -z "$tok" ]; then
    echo "demo: no tokenizer.json found (tests/data/tok/wordpiece/ or $shared/tokenizers/)" >&2
    exit 1
fi
[ -x build/finerank ] || make -s build/finerank
echo "finerank tokenize --tokenizer $tok < data/sample/tokenize.jsonl"
echo "(each input line, then the token strings and ids a BERT-style reranker would see)"
echo
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
build/finerank tokenize --tokenizer "$tok" --max-length 64 < data/sample/tokenize.jsonl > "$out" || status=$?
n=0
while IFS= read -r in <&3 && IFS= read -r res <&4; do
    n=$((n + 1))
    echo "[$n] in : $in"
    echo "    out: $res"
    echo
done 3< data/sample/tokenize.jsonl 4< "$out"
exit $status
