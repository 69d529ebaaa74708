#!/usr/bin/python3
"""significance.py — paired two-sided randomization test (Fisher's; Smucker, Allan &
Carterette, CIKM 2007) and paired t-test between two systems' per-query scores.

  significance.py BASE.pq SYSTEM.pq [--metric ndcg10|map1000|...] [--trials 100000]

Input: `finerank eval --per-query` files (qid ndcg10 map1000 recall100 recall1000 mrr10),
which cover every judged query (missing ones score 0), so the pairs line up by qid.
Prints one line: metric, mean difference, randomization p, t-test p. Seeded: reproducible.
"""
import argparse
import math
import sys

import numpy as np

COLS = ["ndcg10", "map1000", "recall100", "recall1000", "mrr10"]


def read(path):
    out = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 6:
                out[p[0]] = [float(x) for x in p[1:]]
    return out


def t_test_p(d):
    """Two-sided p of the paired t-test, Student t CDF via the regularized incomplete beta."""
    n = len(d)
    sd = d.std(ddof=1)
    if n < 2 or sd == 0:
        return 1.0 if d.mean() == 0 else 0.0
    t = d.mean() / (sd / math.sqrt(n))
    df = n - 1
    x = df / (df + t * t)
    return betainc(df / 2.0, 0.5, x)


def betainc(a, b, x):
    """Regularized incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical
    Recipes betacf), accurate to ~1e-12 for the arguments used here."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log(1 - x))
    if x > (a + 1) / (a + b + 2):
        return 1.0 - betainc(b, a, 1 - x)
    f, c, d = 1.0, 1.0, 0.0
    for i in range(0, 400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1e-300 if abs(d) < 1e-300 else d
        d = 1.0 / d
        c = 1.0 + num / c
        c = 1e-300 if abs(c) < 1e-300 else c
        cd = c * d
        f *= cd
        if abs(1.0 - cd) < 1e-14:
            break
    return front * (f - 1.0) / a


def randomization_p(d, trials, seed=20261128):
    rng = np.random.default_rng(seed)
    obs = abs(d.mean())
    hits = 0
    done = 0
    while done < trials:
        m = min(10000, trials - done)
        signs = rng.choice([-1.0, 1.0], size=(m, len(d)))
        hits += int((np.abs((signs * d).mean(axis=1)) >= obs - 1e-15).sum())
        done += m
    return (hits + 1) / (trials + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("system")
    ap.add_argument("--metric", default="ndcg10", choices=COLS)
    ap.add_argument("--trials", type=int, default=100000)
    a = ap.parse_args()
    b, s = read(a.base), read(a.system)
    if set(b) != set(s):
        sys.exit("significance.py: the two files cover different queries")
    i = COLS.index(a.metric)
    qids = sorted(b)
    d = np.array([s[q][i] - b[q][i] for q in qids])
    fmt = lambda p: "<0.0001" if p < 1e-4 else "%.4f" % p
    print("%s n=%d diff=%+.4f p_rand=%s p_t=%s" % (a.metric, len(d), d.mean(),
          fmt(randomization_p(d, a.trials)), fmt(t_test_p(d))))


if __name__ == "__main__":
    main()
