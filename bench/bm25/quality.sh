#!/bin/bash
# bench/bm25/quality.sh — first-stage quality on every BEIR collection under ../shared/data:
# finerank BM25, + proximity reranker, + RM3, + both, and the peers SQLite FTS5 and Xapian
# (bench/bm25/peers.py) with the same queries. Every run is written as a TREC run file and
# scored by the same code, `finerank eval --run-in` (trec_eval's definitions; cross-checked
# against the real trec_eval when one is found). Prints one markdown table, then paired
# significance tests (randomization, 100k trials, and t-test; bench/bm25/significance.py).
#
#   bash bench/bm25/quality.sh            (after make; ~1 minute on Cranfield, 2 cores)
# Env: FINERANK (binary), DATA (collections root), WORK (scratch dir), TREC_EVAL (binary).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FR=${FINERANK:-$ROOT/build/finerank}
DATA=${DATA:-$ROOT/../shared/data}
WORK=${WORK:-$(mktemp -d /tmp/fr_quality.XXXXXX)}
PY=/usr/bin/python3
TREC_EVAL=${TREC_EVAL:-$HOME/.cache/finerank-oracles/trec_eval-src/trec_eval}
[ -x "$FR" ] || { echo "quality.sh: build finerank first (make)" >&2; exit 2; }
[ -d "$DATA" ] || { echo "quality.sh: no collections at $DATA" >&2; exit 2; }

metrics() {  # RUN QRELS PQ -> "ndcg map r100 r1000 mrr"
    "$FR" eval --run-in "$1" --qrels "$2" --per-query "$3" |
        awk '$1=="nDCG@10"{a=$2} $1=="MAP@1000"{b=$2} $1=="R@100"{c=$2} $1=="R@1000"{d=$2}
             $1=="MRR@10"{e=$2} END{print a, b, c, d, e}'
}

TABLE="| collection | system | settings | nDCG@10 | MAP@1000 | R@100 | R@1000 | MRR@10 |
|---|---|---|---:|---:|---:|---:|---:|"
SIG=""
for col in "$DATA"/*/; do
    col=${col%/}; name=$(basename "$col")
    C=$col/corpus.jsonl Q=$col/queries.jsonl R=$col/qrels/test.tsv
    [ -f "$C" ] && [ -f "$Q" ] && [ -f "$R" ] || continue
    W=$WORK/$name; mkdir -p "$W"
    echo "== $name: indexing and running (work dir $W)" >&2
    rm -rf "$W/idx_default" "$W/idx_anserini"
    "$FR" index build --corpus "$C" --index "$W/idx_default" --no-sync >&2
    "$FR" index build --corpus "$C" --index "$W/idx_anserini" --k1 0.9 --b 0.4 --no-sync >&2
    tw=$("$FR" index stats --index "$W/idx_default" | sed -n 's/.*title_weight=\([0-9]*\).*/\1/p')
    runs=()
    for set in default anserini; do
        for mode in bm25 prox rm3 rm3prox; do
            case $mode in
                bm25) opt=() ;;
                prox) opt=(--rerank proximity) ;;
                rm3) opt=(--rm3) ;;
                rm3prox) opt=(--rm3 --rerank proximity) ;;
            esac
            "$FR" eval --index "$W/idx_$set" --queries "$Q" --run "$W/${mode}_$set.trec" \
                --tag "${mode}_$set" --k 1000 "${opt[@]}" >/dev/null
            runs+=("${mode}_$set")
        done
    done
    $PY "$ROOT/bench/bm25/peers.py" run --corpus "$C" --queries "$Q" --out-dir "$W" >&2
    runs+=(sqlite_fts5 xapian)
    for r in "${runs[@]}"; do
        case $r in
            bm25_default) sys="finerank BM25"; st="k1 1.2, b 0.75, title weight $tw (defaults)" ;;
            prox_default) sys="finerank BM25 + proximity"; st="BM25TP, top 100" ;;
            rm3_default) sys="finerank BM25 + RM3"; st="fbDocs 10, fbTerms 10, λ 0.5" ;;
            rm3prox_default) sys="finerank BM25 + RM3 + proximity"; st="as above" ;;
            bm25_anserini) sys="finerank BM25"; st="k1 0.9, b 0.4 (as Anserini), title weight $tw" ;;
            prox_anserini) sys="finerank BM25 + proximity"; st="k1 0.9, b 0.4" ;;
            rm3_anserini) sys="finerank BM25 + RM3"; st="k1 0.9, b 0.4" ;;
            rm3prox_anserini) sys="finerank BM25 + RM3 + proximity"; st="k1 0.9, b 0.4" ;;
            sqlite_fts5) sys="SQLite FTS5 $(sqlite3 --version | cut -d' ' -f1)"; st="porter unicode61, bm25() k1 1.2 b 0.75, OR" ;;
            xapian) sys="Xapian $($PY -c 'import xapian; print(xapian.version_string())')"; st="english STEM_SOME, BM25Weight defaults, OR" ;;
        esac
        read -r n m r1 r2 mr < <(metrics "$W/$r.trec" "$R" "$W/$r.pq")
        TABLE+=$'\n'"| $name | $sys | $st | $n | $m | $r1 | $r2 | $mr |"
        if [ -x "$TREC_EVAL" ]; then  # the oracle, when present: must agree to 4 decimals
            awk '{print $1, 0, $2, $3}' "$R" | tail -n +2 > "$W/qrels.trec"
            te=$("$TREC_EVAL" -c -M1000 -m ndcg_cut.10 -m map -m recall.100,1000 "$W/qrels.trec" "$W/$r.trec" |
                 awk '{v[$1]=$3} END{print v["ndcg_cut_10"], v["map"], v["recall_100"], v["recall_1000"]}')
            te="$te $("$TREC_EVAL" -c -M10 -m recip_rank "$W/qrels.trec" "$W/$r.trec" | awk '{print $3}')"
            [ "$te" = "$n $m $r1 $r2 $mr" ] || echo "WARNING $name $r: trec_eval says $te, finerank $n $m $r1 $r2 $mr" >&2
        fi
    done
    for pair in "bm25_default prox_default" "bm25_default rm3_default" \
                "bm25_default rm3prox_default" "bm25_anserini prox_anserini" \
                "bm25_anserini rm3_anserini" "sqlite_fts5 bm25_default" "xapian bm25_default" \
                "sqlite_fts5 bm25_anserini" "xapian bm25_anserini"; do
        set -- $pair
        for metric in ndcg10 map1000; do
            SIG+=$'\n'"$name: $2 vs $1: $($PY "$ROOT/bench/bm25/significance.py" "$W/$1.pq" "$W/$2.pq" --metric $metric)"
        done
    done
done
echo "$TABLE"
echo
echo "Paired tests (two-sided; p_rand: randomization, 100k trials; p_t: paired t-test):"
echo "${SIG#$'\n'}"
if [ -x "$TREC_EVAL" ]; then echo; echo "All runs cross-checked against $("$TREC_EVAL" -v 2>&1 | head -1) (warnings above if any differ)."; fi
