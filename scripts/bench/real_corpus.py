#!/usr/bin/env python3
# real_corpus.py — builds a corpus of real English passages and queries from text that a Debian
# machine already has, for bench/embed's "real embeddings" set (issue 8: int8 vs F32 overlap and
# approximate-index recall on realistic vectors instead of random ones).
#
# Sources (all local, nothing downloaded):
#   cranfield  /work/shared/data/cranfield (BEIR layout): every document and query, in file order.
#   man        English man pages /usr/share/man/man[1-8], rendered by man(1) at a huge MANWIDTH so
#              a paragraph is one line. The ~16k generated gcloud pages are capped (--gcloud-max,
#              sampled) so one tool's boilerplate does not dominate.
#   info       /usr/share/info/*.info*.gz (coreutils, find, ...): nodes split at 0x1f.
#   pydoc      docstrings (module, class, function) of /usr/lib/python3.11 and
#              /usr/lib/python3/dist-packages, test directories skipped; doctest lines dropped.
#   doc        README*/NEWS*/*.txt/*.md/*.rst under /usr/share/doc and /usr/share/common-licenses.
#
# Passages: paragraphs that look like prose (>= 8 words, mostly letters) are packed within one
# section into passages of 30..150 words (longer paragraphs split at sentence ends), then exact
# duplicates are dropped (man pages of one tool repeat flag texts verbatim).
#
# Queries: the NAME one-liners of man pages ("ls - list directory contents" -> "list directory
# contents"), for pages whose passages are in the corpus; their NAME section is NOT a passage.
# A sample of --n-queries of them (seeded), after the Cranfield queries. qrels: a man query's
# "relevant" passages are those of the same page (a weak label, for sanity checks only).
#
# Output (--out DIR): docs.jsonl {"id","src","page","text"} — Cranfield first (file order), then
# the other passages in seeded random order, so any prefix is a random sample of the sources;
# queries.jsonl {"id","src","page","text"}; stats on stderr.
#
# Workload: ~4k man pages rendered (2 processes), ~5k Python files parsed; a few minutes of CPU.
import argparse, ast, glob, gzip, hashlib, json, os, random, re, subprocess, sys
from concurrent.futures import ProcessPoolExecutor

MIN_WORDS, MAX_WORDS = 30, 150


# ---- prose filter and packing ----
def prose(par):
    """True when a paragraph reads like English prose, not code, tables or option lists."""
    words = par.split()
    if len(words) < 8:
        return False
    nonspace = sum(1 for c in par if not c.isspace())
    letters = sum(1 for c in par if c.isalpha())
    if nonspace == 0 or letters / nonspace < 0.78:
        return False
    if sum(1 for w in words if w.isalpha() and w.islower()) < len(words) * 0.4:
        return False
    return not any(len(w) > 40 for w in words)


SENT = re.compile(r'(?<=[.!?])\s+(?=[A-Z(])')


def pack(paragraphs):
    """Packs one section's prose paragraphs into passages of MIN_WORDS..MAX_WORDS words."""
    out, cur = [], []
    pieces = []
    for p in paragraphs:
        p = ' '.join(p.split())
        if not prose(p):
            continue
        if len(p.split()) <= MAX_WORDS:
            pieces.append(p)
            continue
        chunk = []
        for s in SENT.split(p):  # a long paragraph: split at sentence ends
            if chunk and len(' '.join(chunk + [s]).split()) > MAX_WORDS:
                pieces.append(' '.join(chunk))
                chunk = []
            chunk.append(s)
        if chunk:
            pieces.append(' '.join(chunk))
    for p in pieces:
        if cur and len(' '.join(cur + [p]).split()) > MAX_WORDS:
            out.append(' '.join(cur))
            cur = []
        cur.append(p)
        if len(' '.join(cur).split()) >= MIN_WORDS:
            out.append(' '.join(cur))
            cur = []
    if cur and len(' '.join(cur).split()) >= MIN_WORDS // 2:
        out.append(' '.join(cur))
    # a sentence-split piece can still exceed MAX_WORDS (no sentence ends): cut it by words
    res = []
    for p in out:
        w = p.split()
        res.extend(' '.join(w[i:i + MAX_WORDS]) for i in range(0, len(w), MAX_WORDS))
    return [p for p in res if len(p.split()) >= 8]


def paragraphs(lines):
    """Blank-line separated paragraphs of a list of lines."""
    pars, cur = [], []
    for ln in lines:
        if ln.strip():
            cur.append(ln.strip())
        elif cur:
            pars.append(' '.join(cur))
            cur = []
    if cur:
        pars.append(' '.join(cur))
    return pars


# ---- man pages ----
def render_man(path):
    """(page, name_line, [(section, [paragraphs])]) of one man page, or None."""
    try:
        with gzip.open(path, 'rt', errors='replace') as f:
            head = f.read(200)
        if head.startswith('.so '):
            return None  # a redirect to another page, which is rendered on its own
        env = dict(os.environ, MANWIDTH='100000', MAN_KEEP_FORMATTING='0', LC_ALL='C.UTF-8')
        r = subprocess.run(['man', '-l', '-P', 'cat', path], capture_output=True, env=env,
                           timeout=60)
        txt = subprocess.run(['col', '-b'], input=r.stdout, capture_output=True).stdout
        txt = txt.decode('utf-8', 'replace')
    except Exception:
        return None
    page = os.path.basename(path)[:-3]
    sections, name, cur, body = [], '', None, []
    for ln in txt.split('\n'):
        if re.match(r'^[A-Z][A-Z0-9 /&-]+$', ln.rstrip()):
            if cur is not None:
                sections.append((cur, body))
            cur, body = ln.strip(), []
            continue
        if cur is not None:
            body.append(ln)
    if cur is not None:
        sections.append((cur, body))
    out = []
    for sec, body in sections:
        pars = paragraphs(body)
        if sec == 'NAME':
            name = ' '.join(pars)
            continue
        if sec in ('SYNOPSIS', 'SEE ALSO', 'AUTHOR', 'AUTHORS', 'COPYRIGHT', 'REPORTING BUGS'):
            continue
        out.append((sec, pars))
    return page, name, out


def man_query(name):
    """'ls - list directory contents' -> 'list directory contents' (None if not prose)."""
    m = re.match(r'^.*?\s[-\u2010-\u2014]+\s+(.*)$', name)
    if not m:
        return None
    q = ' '.join(m.group(1).split()).rstrip('.')
    if len(q.split()) < 3 or not re.search(r'[a-z]', q):
        return None
    return q


# ---- info, pydoc, doc files ----
def info_sections(path):
    with gzip.open(path, 'rt', errors='replace') as f:
        txt = f.read()
    for i, node in enumerate(txt.split('\x1f')):
        lines = [ln for ln in node.split('\n')
                 if not ln.startswith(('File:', '* ', 'Tag Table', 'End Tag', 'Node:'))]
        yield '%s#%d' % (os.path.basename(path), i), paragraphs(lines)


def py_docstrings(path):
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
    except Exception:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            d = ast.get_docstring(node)
            if d:
                lines = [ln for ln in d.split('\n') if not ln.lstrip().startswith(('>>>', '...'))]
                out.append(paragraphs(lines))
    return out


def plain_text(path):
    try:
        op = gzip.open if path.endswith('.gz') else open
        with op(path, 'rt', encoding='utf-8', errors='replace') as f:
            return paragraphs(f.read(2_000_000).split('\n'))
    except Exception:
        return []


# ---- main ----
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--cranfield', default='/work/shared/data/cranfield')
    ap.add_argument('--gcloud-max', type=int, default=600)
    ap.add_argument('--n-queries', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=8)
    ap.add_argument('--jobs', type=int, default=2)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    docs, queries, stats = [], [], {}

    # Cranfield: the document text already starts with its title in this copy; add it otherwise
    with open(os.path.join(a.cranfield, 'corpus.jsonl')) as f:
        for ln in f:
            d = json.loads(ln)
            t = d['text'] if d['text'].startswith(d.get('title', '')) else \
                (d.get('title', '') + ' ' + d['text']).strip()
            docs.append({'id': 'cran:' + d['_id'], 'src': 'cranfield', 'page': '', 'text': t})
    with open(os.path.join(a.cranfield, 'queries.jsonl')) as f:
        for ln in f:
            q = json.loads(ln)
            queries.append({'id': 'cran:' + q['_id'], 'src': 'cranfield', 'page': '',
                            'text': q['text']})
    n_cran = len(docs)

    other = []  # (src, page, text)
    pages = sorted(glob.glob('/usr/share/man/man[1-8]/*.gz'))
    gcl = [p for p in pages if os.path.basename(p).startswith('gcloud')]
    pages = [p for p in pages if not os.path.basename(p).startswith('gcloud')]
    pages += sorted(random.Random(a.seed).sample(gcl, min(a.gcloud_max, len(gcl))))
    man_names = {}
    with ProcessPoolExecutor(a.jobs) as ex:
        for r in ex.map(render_man, pages, chunksize=16):
            if not r:
                continue
            page, name, secs = r
            n0 = len(other)
            for sec, pars in secs:
                other.extend(('man', page, p) for p in pack(pars))
            if len(other) > n0:
                man_names[page] = name
    stats['man_pages'] = len(man_names)
    for path in sorted(glob.glob('/usr/share/info/*.info*.gz')):
        for sec, pars in info_sections(path):
            other.extend(('info', sec, p) for p in pack(pars))
    pyfiles = sorted(glob.glob('/usr/lib/python3.11/**/*.py', recursive=True) +
                     glob.glob('/usr/lib/python3/dist-packages/**/*.py', recursive=True))
    pyfiles = [p for p in pyfiles if not re.search(r'/(tests?|testing|idle_test)/', p)]
    for path in pyfiles:
        for pars in py_docstrings(path):
            other.extend(('pydoc', path, p) for p in pack(pars))
    docfiles = [p for p in sorted(glob.glob('/usr/share/doc/**/*', recursive=True))
                if os.path.isfile(p) and re.search(
                    r'/(README|NEWS)[^/]*$|\.(txt|md|rst)(\.gz)?$', p)
                and 'changelog' not in p]
    docfiles += sorted(glob.glob('/usr/share/common-licenses/*'))
    for path in docfiles:
        other.extend(('doc', path, p) for p in pack(plain_text(path)))

    seen, uniq = set(d['text'] for d in docs), []
    for src, page, t in other:
        h = hashlib.blake2b(t.lower().encode(), digest_size=16).digest()
        if h in seen:
            continue
        seen.add(h)
        uniq.append((src, page, t))
    rng.shuffle(uniq)
    for i, (src, page, t) in enumerate(uniq):
        docs.append({'id': '%s:%d' % (src, i), 'src': src, 'page': page, 'text': t})
        stats[src] = stats.get(src, 0) + 1

    in_corpus = set(d['page'] for d in docs if d['src'] == 'man')
    cands = sorted((p, man_query(n)) for p, n in man_names.items() if p in in_corpus)
    cands = [(p, q) for p, q in cands if q]
    seen_q = set()
    cands = [(p, q) for p, q in cands if not (q.lower() in seen_q or seen_q.add(q.lower()))]
    for p, q in random.Random(a.seed).sample(cands, min(a.n_queries, len(cands))):
        queries.append({'id': 'man:' + p, 'src': 'man', 'page': p, 'text': q})

    with open(os.path.join(a.out, 'docs.jsonl'), 'w') as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    with open(os.path.join(a.out, 'queries.jsonl'), 'w') as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + '\n')
    stats.update(cranfield_docs=n_cran, docs=len(docs), queries=len(queries),
                 dropped_duplicates=len(other) - len(uniq),
                 avg_words=round(sum(len(d['text'].split()) for d in docs) / len(docs), 1))
    print(json.dumps(stats), file=sys.stderr)


if __name__ == '__main__':
    main()
