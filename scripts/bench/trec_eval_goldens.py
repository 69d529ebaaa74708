#!/usr/bin/python3
"""trec_eval_goldens.py — writes tests/data/metrics_trec_eval.txt.gz: a synthetic qrels + run
pair and the per-query and mean values that the real trec_eval prints for them, so that
tests/test_metrics.c can check src/rank/metrics.c against the reference implementation.

Oracle: trec_eval 10.0 (usnistgov/trec_eval, commit f4253652c8efd0d86ddffd0d163cc0a0f813111a,
`trec_eval -v` says 10.0-rc3), built from source outside the repository:
    git clone https://github.com/usnistgov/trec_eval ~/.cache/finerank-oracles/trec_eval-src
    make -C ~/.cache/finerank-oracles/trec_eval-src
Debian 12 does not package trec_eval. Usage:
    /usr/bin/python3 scripts/bench/trec_eval_goldens.py [TREC_EVAL] > /dev/null
TREC_EVAL defaults to $TREC_EVAL or ~/.cache/finerank-oracles/trec_eval-src/trec_eval.

The data stress what trec_eval defines and naive code gets wrong: ties in score (broken by
docid descending, byte order: "9" > "10"), more than 1000 results (-M1000), graded gains
0..4, negative grades (judged-but-unjudged), queries whose grades are all 0, judged queries
missing from the run (-c), run queries without judgments, empty-ish runs.
"""
import gzip
import os
import random
import subprocess
import sys
import tempfile

SEED = 20261128
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
                   "metrics_trec_eval.txt.gz")


def make_data(rng):
    qrels = []  # (qid, docid, grade)
    run = []    # (qid, docid, score)
    for qi in range(1, 61):
        qid = str(qi)
        pool = ["d%d" % rng.randrange(1, 3000) for _ in range(40)]
        pool += [str(rng.randrange(1, 200)) for _ in range(20)]  # numeric ids: "9" vs "10"
        pool = sorted(set(pool))
        kind = qi % 10
        if kind != 7:  # kind 7: run-only query, no judgments
            judged = rng.sample(pool, rng.randrange(1, min(len(pool), 25)))
            for d in judged:
                if kind == 3:
                    g = 0                       # nothing relevant
                elif rng.random() < 0.05:
                    g = -1                      # in the pool but unjudged
                else:
                    g = rng.choice([0, 0, 1, 1, 2, 3, 4])
                qrels.append((qid, d, g))
        if kind == 5:
            continue  # judged query missing from the run
        if qi in (8, 18, 28, 38, 48):
            n = rng.randrange(1001, 1300)  # beyond the -M1000 cutoff
        elif kind == 9:
            n = rng.randrange(1, 4)
        else:
            n = rng.randrange(5, 120)
        cands = list(pool) + ["x%d" % i for i in range(n)]
        rng.shuffle(cands)
        cands = cands[:n]
        for d in cands:
            # coarse scores force ties; a few runs have all-equal scores
            s = 1.0 if qi % 13 == 0 else round(rng.uniform(0, 10), 1)
            run.append((qid, d, s))
    return qrels, run


def trec_eval(binary, qrels_path, run_path, args):
    out = subprocess.run([binary, "-q", "-c"] + args + [qrels_path, run_path],
                         check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m, q, v = line.split()
        rows.append((m, q, v))
    return rows


def main():
    binary = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TREC_EVAL")
              or os.path.expanduser("~/.cache/finerank-oracles/trec_eval-src/trec_eval"))
    version = subprocess.run([binary, "-v"], capture_output=True, text=True)
    version = (version.stdout + version.stderr).strip().splitlines()[0]
    rng = random.Random(SEED)
    qrels, run = make_data(rng)
    with tempfile.TemporaryDirectory() as tmp:
        qp, rp = os.path.join(tmp, "qrels"), os.path.join(tmp, "run")
        with open(qp, "w") as f:
            for q, d, g in qrels:
                f.write("%s 0 %s %d\n" % (q, d, g))
        with open(rp, "w") as f:
            for i, (q, d, s) in enumerate(run):
                f.write("%s Q0 %s %d %s golden\n" % (q, d, i, repr(s)))
        expect = trec_eval(binary, qp, rp, ["-M1000", "-m", "ndcg_cut.10", "-m", "map",
                                            "-m", "recall.100,1000"])
        expect += trec_eval(binary, qp, rp, ["-M10", "-m", "recip_rank"])
    names = {"ndcg_cut_10": "ndcg10", "map": "map1000", "recall_100": "recall100",
             "recall_1000": "recall1000", "recip_rank": "mrr10"}
    with gzip.open(OUT, "wt") as f:
        f.write("# golden: src/rank/metrics.c vs the real trec_eval\n")
        f.write("# generator: scripts/bench/trec_eval_goldens.py (seed %d)\n" % SEED)
        f.write("# oracle: %s, usnistgov/trec_eval f4253652c8efd0d86ddffd0d163cc0a0f813111a\n"
                % version)
        f.write("# expect: trec_eval -q -c -M1000 -m ndcg_cut.10 -m map -m recall.100,1000; "
                "trec_eval -q -c -M10 -m recip_rank (values printed to 4 decimals)\n")
        f.write("[qrels]\nquery-id\tcorpus-id\tscore\n")  # BEIR layout, header included
        for q, d, g in qrels:
            f.write("%s\t%s\t%d\n" % (q, d, g))
        f.write("[run]\n")
        for i, (q, d, s) in enumerate(run):
            f.write("%s Q0 %s %d %s golden\n" % (q, d, i, repr(s)))
        f.write("[expect]\n")
        for m, q, v in expect:
            if m in names:
                f.write("%s %s %s\n" % (names[m], q, v))
    print("wrote %s: %d judgments, %d run lines, %d expected values"
          % (OUT, len(qrels), len(run), len(expect)))


if __name__ == "__main__":
    main()
