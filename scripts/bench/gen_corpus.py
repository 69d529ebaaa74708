#!/usr/bin/python3
"""gen_corpus.py — a synthetic corpus and query set for the first-stage speed benchmark
(bench/bm25/speed.sh). Deterministic for a given seed and N.

  gen_corpus.py --docs N --queries M --out DIR [--seed S]
  → DIR/corpus.jsonl   {"id", "title", "text", "date", "source", "authority", "lang"}
    DIR/queries.jsonl  {"_id", "text"}, 2–6 terms each (uniform)

Model (what makes it realistic enough for posting-list work):
  - vocabulary: the 120 commonest English function words (ranks 1–120, so that engines with
    and without stopword lists see the same text) followed by 300,000 synthetic pronounceable
    words (unique, 1–4 syllables, some with English suffixes so that stemmers conflate them);
  - word frequencies: Zipf–Mandelbrot, p(r) ∝ 1 / (r + 2.7)^1.07 (Mandelbrot 1953; the
    exponent of English text, Piantadosi 2014);
  - text length: log-normal, median 60 words, σ 0.8, clipped to [8, 3000] (the long-tailed
    shape of passage/abstract collections; mean ≈ 83 words); title 3–12 words;
  - dates uniform over 2000-01-01 .. 2025-12-31; 200 sources with Zipfian popularity;
    authority ~ Beta(2, 5) rounded to 4 decimals; lang "en";
  - query terms: drawn by corpus frequency from ranks 121 .. 50,000 (content words that
    occur: not stopwords, not hapaxes), as real queries mostly are.
Uses numpy (Debian python3-numpy); ~1–2 minutes per million documents on one core.
"""
import argparse
import datetime
import json
import os

import numpy as np

STOP = ("the of and to a in is that for it as was with be by on not he i this are or his "
        "from at which but have an they you were her she there been one all we their has "
        "would when if so no will can more its who other them some what may about into "
        "than out only then also these could time up two first any my new like our over "
        "such most after very where even through many well because should those just each "
        "how both made must us under same might between being while before both before "
        "down years last still own long never without much here against few during "
        "since until once often").split()
ONSETS = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v",
          "w", "z", "br", "cr", "dr", "fl", "gr", "pl", "pr", "sc", "sh", "sl", "sp", "st",
          "str", "th", "tr", "ch", "qu"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oo", "ou", "y"]
CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "nt", "st", "ck", "rt", "ng"]
SUFFIXES = ["", "", "", "", "ing", "ed", "s", "ion", "ation", "ness", "ly", "er", "ment"]


def vocabulary(rng, n):
    """The stopwords, then n unique synthetic words, shorter ones first (commoner words are
    shorter: Zipf's law of abbreviation)."""
    stop = list(dict.fromkeys(STOP))
    seen, words = set(stop), []
    while len(words) < n:
        m = 2 * (n - len(words)) + 1000
        k = rng.integers(1, 5, m)
        parts = [rng.integers(0, len(x), (m, 4)) for x in (ONSETS, VOWELS, CODAS)]
        suf = rng.integers(0, len(SUFFIXES), m)
        for i in range(m):
            w = "".join(ONSETS[parts[0][i, j]] + VOWELS[parts[1][i, j]] + CODAS[parts[2][i, j]]
                        for j in range(k[i])) + SUFFIXES[suf[i]]
            if len(w) >= 3 and w not in seen:
                seen.add(w)
                words.append(w)
                if len(words) == n:
                    break
    words.sort(key=len)  # stable: ties keep generation order
    return stop + words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20261128)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    words = vocabulary(rng, 300000)
    n_stop = len(dict.fromkeys(STOP))  # ranks 1..n_stop
    V = len(words)
    warr = np.array(words, dtype=object)
    ranks = np.arange(1, V + 1, dtype=np.float64)
    p = 1.0 / (ranks + 2.7) ** 1.07
    p /= p.sum()
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    sources = np.array(["source-%03d" % i for i in range(200)], dtype=object)
    sp = 1.0 / np.arange(1, 201) ** 1.0
    scdf = np.cumsum(sp / sp.sum())
    scdf[-1] = 1.0
    day0 = datetime.date(2000, 1, 1).toordinal()
    ndays = datetime.date(2025, 12, 31).toordinal() - day0 + 1

    chunk = 20000
    with open(os.path.join(a.out, "corpus.jsonl"), "w") as f:
        for start in range(0, a.docs, chunk):
            m = min(chunk, a.docs - start)
            tl = np.clip(np.round(rng.lognormal(np.log(60), 0.8, m)), 8, 3000).astype(np.int64)
            hl = rng.integers(3, 13, m)
            ids = np.searchsorted(cdf, rng.random(int(tl.sum() + hl.sum())))
            toks = warr[ids]
            days = rng.integers(0, ndays, m)
            src = sources[np.searchsorted(scdf, rng.random(m))]
            auth = np.round(rng.beta(2, 5, m), 4)
            o = 0
            lines = []
            for i in range(m):
                title = " ".join(toks[o:o + hl[i]])
                o += hl[i]
                text = " ".join(toks[o:o + tl[i]])
                o += tl[i]
                d = datetime.date.fromordinal(day0 + int(days[i])).isoformat()
                lines.append(json.dumps({"id": "doc%07d" % (start + i), "title": title,
                                         "text": text, "date": d, "source": src[i],
                                         "authority": float(auth[i]), "lang": "en"}))
            f.write("\n".join(lines) + "\n")

    lo, hi = n_stop, min(50000, V)
    qp = p[lo:hi] / p[lo:hi].sum()
    qcdf = np.cumsum(qp)
    qcdf[-1] = 1.0
    with open(os.path.join(a.out, "queries.jsonl"), "w") as f:
        for qi in range(a.queries):
            k = int(rng.integers(2, 7))
            terms = []
            while len(terms) < k:
                w = words[lo + int(np.searchsorted(qcdf, rng.random()))]
                if w not in terms:
                    terms.append(w)
            f.write(json.dumps({"_id": "q%05d" % qi, "text": " ".join(terms)}) + "\n")


if __name__ == "__main__":
    main()
