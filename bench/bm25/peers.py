#!/usr/bin/python3
"""peers.py — the first-stage peers, SQLite FTS5 and Xapian, run on a BEIR-layout corpus with
the same queries as finerank, writing TREC run files (scored by `finerank eval --run-in`, so
that every engine is measured by the same code) and timing queries.

Settings (those of ../shared/data/README.md's peer table):
  sqlite_fts5  SQLite FTS5, tokenize='porter unicode61', one column holding title + " " +
               text, ranked by bm25() (FTS5's fixed k1=1.2, b=0.75); the query's words
               (unicode61 word characters) lower-cased, each quoted, OR-ed.
  xapian       Xapian TermGenerator + QueryParser, English stemmer with STEM_SOME, title and
               text indexed together, default operator OR, lower-cased query, BM25Weight
               defaults (k1=1, k2=0, k3=1, b=0.5, min_normlen=0.5), no stopper;
               XAPIAN_FLUSH_THRESHOLD=100000 while building.

Timing is done inside Python (time.perf_counter around query execution and reading the
ranked ids), single thread, so it includes the Python binding's overhead; say so when you
quote it.

  peers.py run   --corpus C --queries Q --out-dir D [--k 1000] [--engines sqlite_fts5,xapian]
      writes D/<engine>.trec and prints one JSON line per engine with build and query timings
  peers.py speed --corpus C --queries Q --work-dir D [--engines ...] [--max-queries N]
      builds each index in D, prints JSON lines: build docs/s, bytes/doc, latency p50/p99
      for top-10 and top-1000
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import time

WORD = re.compile(r"\w+", re.UNICODE)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def doc_id(d):
    return str(d.get("_id", d.get("id")))


def read_queries(path, limit=None):
    qs = []
    for q in read_jsonl(path):
        qs.append((doc_id(q), q["text"]))
        if limit and len(qs) >= limit:
            break
    return qs


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    i = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[i]


# ---- SQLite FTS5 ----

class Fts5:
    name = "sqlite_fts5"

    def __init__(self, path):
        self.path = path

    def build(self, corpus):
        if os.path.exists(self.path):
            os.remove(self.path)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')")
        self.db.execute("CREATE TABLE ids(rowid INTEGER PRIMARY KEY, ext TEXT)")
        n = 0
        batch, ids = [], []
        for d in read_jsonl(corpus):
            n += 1
            batch.append((n, (d.get("title") or "") + " " + (d.get("text") or "")))
            ids.append((n, doc_id(d)))
            if len(batch) == 10000:
                self._flush(batch, ids)
                batch, ids = [], []
        self._flush(batch, ids)
        self.db.execute("INSERT INTO docs(docs) VALUES('optimize')")
        self.db.commit()
        self.ext = dict(self.db.execute("SELECT rowid, ext FROM ids"))
        return n

    def _flush(self, batch, ids):
        self.db.executemany("INSERT INTO docs(rowid, body) VALUES(?, ?)", batch)
        self.db.executemany("INSERT INTO ids(rowid, ext) VALUES(?, ?)", ids)

    @staticmethod
    def match(text):
        words = WORD.findall(text.lower())
        return " OR ".join('"%s"' % w.replace('"', '""') for w in words)

    def search(self, text, k):
        m = self.match(text)
        if not m:
            return []
        rows = self.db.execute("SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? "
                               "ORDER BY bm25(docs) LIMIT ?", (m, k)).fetchall()
        ext = self.ext
        return [(ext[r], -s) for r, s in rows]  # bm25() is negated: lower is better

    def bytes(self):
        return os.path.getsize(self.path)


# ---- Xapian ----

class Xap:
    name = "xapian"

    def __init__(self, path):
        import xapian
        self.xapian = xapian
        self.path = path

    def build(self, corpus):
        xapian = self.xapian
        if os.path.exists(self.path):
            shutil.rmtree(self.path)
        # Bulk load: flush every 100k documents instead of 10k (Xapian's own advice for
        # building large databases); one commit at the end.
        os.environ.setdefault("XAPIAN_FLUSH_THRESHOLD", "100000")
        db = xapian.WritableDatabase(self.path, xapian.DB_CREATE_OR_OVERWRITE)
        tg = xapian.TermGenerator()
        tg.set_stemmer(xapian.Stem("english"))
        tg.set_stemming_strategy(xapian.TermGenerator.STEM_SOME)
        n = 0
        self.ext = [None]
        for d in read_jsonl(corpus):
            doc = xapian.Document()
            tg.set_document(doc)
            tg.index_text((d.get("title") or "") + " " + (d.get("text") or ""))
            i = doc_id(d)
            doc.set_data(i)
            db.add_document(doc)  # Xapian docid n + 1
            self.ext.append(i)
            n += 1
        db.commit()
        db.close()
        self.db = xapian.Database(self.path)
        self.qp = xapian.QueryParser()
        self.qp.set_stemmer(xapian.Stem("english"))
        self.qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        self.qp.set_default_op(xapian.Query.OP_OR)
        self.qp.set_database(self.db)
        self.enq = xapian.Enquire(self.db)
        self.enq.set_weighting_scheme(xapian.BM25Weight())
        return n

    def search(self, text, k):
        xapian = self.xapian
        try:
            q = self.qp.parse_query(text.lower())
        except xapian.QueryParserError:
            q = self.qp.parse_query(" ".join(WORD.findall(text.lower())))
        self.enq.set_query(q)
        ms = self.enq.get_mset(0, k)
        ext = self.ext  # docid → external id without fetching documents
        return [(ext[m.docid], m.weight) for m in ms]

    def bytes(self):
        return sum(os.path.getsize(os.path.join(self.path, f)) for f in os.listdir(self.path))


ENGINES = {"sqlite_fts5": Fts5, "xapian": Xap}


def make(name, work):
    return ENGINES[name](os.path.join(work, name + (".db" if name == "sqlite_fts5" else ".xapian")))


def cmd_run(a):
    os.makedirs(a.out_dir, exist_ok=True)
    queries = read_queries(a.queries)
    for name in a.engines.split(","):
        e = make(name, a.out_dir)
        t0 = time.perf_counter()
        n = e.build(a.corpus)
        build_s = time.perf_counter() - t0
        lat = {}
        with open(os.path.join(a.out_dir, name + ".trec"), "w") as f:
            for k in (10, a.k):
                t0 = time.perf_counter()
                for qid, text in queries:
                    hits = e.search(text, k)
                    if k == a.k:
                        for r, (d, s) in enumerate(hits, 1):
                            f.write("%s Q0 %s %d %r %s\n" % (qid, d, r, s, name))
                lat[k] = time.perf_counter() - t0
        print(json.dumps({"engine": name, "docs": n, "build_s": round(build_s, 3),
                          "qps_k%d" % a.k: round(len(queries) / lat[a.k], 1),
                          "qps_k10": round(len(queries) / lat[10], 1)}))


def cmd_speed(a):
    os.makedirs(a.work_dir, exist_ok=True)
    queries = read_queries(a.queries, a.max_queries)
    for name in a.engines.split(","):
        e = make(name, a.work_dir)
        t0 = time.perf_counter()
        n = e.build(a.corpus)
        build_s = time.perf_counter() - t0
        out = {"engine": name, "docs": n, "build_s": round(build_s, 2),
               "build_docs_per_s": round(n / build_s), "bytes_per_doc": round(e.bytes() / n, 1)}
        for k in (10, 1000):
            for qid, text in queries[:20]:  # warm the page cache and the binding
                e.search(text, k)
            ms = []
            for qid, text in queries:
                t0 = time.perf_counter()
                e.search(text, k)
                ms.append((time.perf_counter() - t0) * 1000)
            out["top%d_p50_ms" % k] = round(percentile(ms, 50), 3)
            out["top%d_p99_ms" % k] = round(percentile(ms, 99), 3)
        out["queries"] = len(queries)
        print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--corpus", required=True)
    r.add_argument("--queries", required=True)
    r.add_argument("--out-dir", required=True)
    r.add_argument("--k", type=int, default=1000)
    r.add_argument("--engines", default="sqlite_fts5,xapian")
    s = sub.add_parser("speed")
    s.add_argument("--corpus", required=True)
    s.add_argument("--queries", required=True)
    s.add_argument("--work-dir", required=True)
    s.add_argument("--engines", default="sqlite_fts5,xapian")
    s.add_argument("--max-queries", type=int, default=1000)
    a = ap.parse_args()
    (cmd_run if a.cmd == "run" else cmd_speed)(a)


if __name__ == "__main__":
    sys.exit(main())
