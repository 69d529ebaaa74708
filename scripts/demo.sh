#!/bin/sh
# demo.sh — finerank in five minutes, no network, no model download: indexes the bundled
# sample corpus (data/sample/corpus.jsonl, 200 documents written for this demo) into a
# temporary directory and runs queries that show each pipeline stage at work, with every
# factor of every score explained (docs/pipeline.md). FR_DEMO_MODEL=DIR fine-sorts with that
# cross-encoder instead of the model-free reranker. Ends with a short tokenizer demo.
set -e
cd "$(dirname "$0")/.."
[ -x build/finerank ] || make -s build/finerank
fr=build/finerank
idx=$(mktemp -d "${TMPDIR:-/tmp}/finerank-demo.XXXXXX")
trap 'rm -rf "$idx"' EXIT

model=""
if [ -n "$FR_DEMO_MODEL" ]; then model="--model $FR_DEMO_MODEL"; fi
cfg="--config data/sample/pipeline.json"   # gauss freshness, authority table, λ 0.7, now = 2025-06-01

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {  # run ARGS...: show the command (quoting arguments with spaces), then its output
    printf '$ finerank'
    for a in "$@"; do
        case "$a" in *" "*|*"<"*|*">"*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
    done
    printf '\n'
    $fr "$@"
}

say "Index the sample corpus (BM25, English stemming, CJK bigrams)"
run index build --corpus data/sample/corpus.jsonl --index "$idx"

say "1. Stage 1 alone: plain BM25 top 5"
run search --index "$idx" --query "diabetes dietary taboos" --k 5

say "2. The whole pipeline on the same query, explained (fine sort → signals → MMR)"
echo "   Each line: bm25 and stage-1 rank, semantic score in [0,1], timeliness, authority,"
echo "   final = semantic × timeliness × authority, and MMR's diversity penalty."
run search --index "$idx" --query "diabetes dietary taboos" $cfg $model --explain

say "3. The same need in Chinese: CJK bigrams find the Chinese documents"
run search --index "$idx" --query "糖尿病饮食禁忌" $cfg $model --explain

say "4. Timeliness and authority. First without signals: the keyword-stuffed self-media post"
echo "   wins and the 2010 hospital figures sit next to the 2023 guideline."
run search --index "$idx" --query "hypertension treatment target blood pressure" $cfg $model \
    --freshness none --authority none --diversity 1 --explain
say "   ... then with the config's gauss decay (scale 3y) and authority table: the 2023"
echo "   guideline leads, the 2010 data decays away, the self-media post drops below the guideline."
run search --index "$idx" --query "hypertension treatment target blood pressure" $cfg $model \
    --diversity 1 --explain
say "   ... or with a step table instead of a decay: ≤ 3 years ×1.2, ≥ 10 years ×0.7"
run search --index "$idx" --query "hypertension treatment target blood pressure" $cfg $model \
    --freshness "<=3y:1.2,>=10y:0.7" --diversity 1 --k 3

say "5. Synonyms: 'heating => heat dissipation, thermal' brings in the thermal-throttling article"
run search --index "$idx" --query "phone heating" $cfg $model --explain

say "6. Fed rate hikes and A-shares ('fed, federal reserve' is an equivalence rule)"
run search --index "$idx" --query "Fed rate hike impact on A-shares" $cfg $model --explain

say "7. Quantum entanglement, in English and in Chinese"
run search --index "$idx" --query "quantum entanglement" $cfg $model --k 3
run search --index "$idx" --query "量子纠缠" $cfg $model --k 3

say "8. A long-tail query"
run search --index "$idx" --query "how are guide dog robots trained to cross the street" $cfg $model --k 3 --explain

say "9. Diversity (MMR). λ = 1: three 'sugar control' documents fill the top 3"
run search --index "$idx" --query "diabetes blood sugar control" $cfg $model --diversity 1 --explain
say "   λ = 0.5: exercise management makes the top 3 (note the penalties)"
run search --index "$idx" --query "diabetes blood sugar control" $cfg $model --diversity 0.5 --explain
say "   or, instead of MMR, a cap: at most 2 documents per meta.topic ahead of the rest"
run search --index "$idx" --query "diabetes blood sugar control" $cfg $model --diversity 1 \
    --cap 2 --cap-field meta.topic

say "10. A latency budget: with a 0.001 ms deadline the fine sort cannot run; the candidates"
echo "    keep their stage-1 order and the result says so"
run search --index "$idx" --query "diabetes blood sugar control" $cfg $model --deadline-ms 0.001 --k 3

say "11. The same as JSON, as a program would read it"
run search --index "$idx" --query "insulin injection" $cfg $model --k 2 --explain --json

# The tokenizer demo (tok-core): the tokens a BERT-style reranker sees, for two inputs.
tok=""
# bert-base-uncased (the MiniLM cross-encoders' vocabulary) when ../shared has it, else the
# small committed WordPiece fixture.
for t in "${FR_SHARED:-../shared}/tokenizers/bert-base-uncased/tokenizer.json" tests/data/tok/wordpiece/tokenizer.json; do
    if [ -r "$t" ]; then tok=$t; break; fi
done
if [ -n "$tok" ] && [ -r data/sample/tokenize.jsonl ]; then
    say "12. What a cross-encoder sees: HF-exact tokenization of two sample lines"
    printf '$ finerank tokenize --tokenizer %s --max-length 32 < (2 lines of data/sample/tokenize.jsonl)\n' "$tok"
    head -n 2 data/sample/tokenize.jsonl | $fr tokenize --tokenizer "$tok" --max-length 32
fi
