#!/usr/bin/python3
"""bench_torch.py MODEL_DIR PAIRS_JSON THREADS REPS BATCH LOGITS_OUT [int8] — PyTorch's side of
bench/model/run.sh: scripts/model/reference.py (the transformers math) on the same weights and
pairs, torch.set_num_threads(THREADS), batches of BATCH pairs, float32, no_grad. With "int8":
torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8) — int8 weights per
tensor, activations quantised per batch at run time (fbgemm)."""
import json
import os
import resource
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "model"))
from reference import CrossEncoderRef  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    hl = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + hl])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(b[8 + hl + s:8 + hl + e]), dtype=torch.float32).reshape(v["shape"])
    return out


model_dir, pairs_path, threads, reps, batch, out = sys.argv[1:7]
torch.set_num_threads(int(threads))
cfg = json.load(open(os.path.join(model_dir, "config.json")))
m = CrossEncoderRef(cfg, load_safetensors(os.path.join(model_dir, "model.safetensors"))).eval()
int8 = len(sys.argv) > 7 and sys.argv[7] == "int8"
if int8:
    # reference.py calls F.linear on buffers, which quantize_dynamic cannot see: give every
    # encoder dense layer an nn.Linear (same weights), quantise those, and route lin() to them
    # (the classification head stays float, as in finerank).
    lins = torch.nn.ModuleDict()
    for k in list(m.w):
        if k.endswith(".weight") and ".encoder.layer." in k and m.p(k).dim() == 2:
            name = k[:-len(".weight")]
            w = m.p(k)
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            lin.weight.data.copy_(w)
            lin.bias.data.copy_(m.p(name + ".bias"))
            lins[name.replace(".", "__")] = lin
    lins = torch.quantization.quantize_dynamic(lins, {torch.nn.Linear}, dtype=torch.qint8)
    plain_lin = m.lin
    m.lin = lambda x, name: lins[name.replace(".", "__")](x) if name.replace(".", "__") in lins else plain_lin(x, name)
pairs = json.load(open(pairs_path))
B = int(batch)
feeds = []
for s in range(0, len(pairs), B):
    chunk = pairs[s:s + B]
    ids = torch.tensor([p["ids"] for p in chunk])
    feeds.append((ids, torch.ones_like(ids), torch.tensor([p["types"] for p in chunk])))
with torch.no_grad():
    logits = torch.cat([m(*f) for f in feeds])
    best = 1e30
    for _ in range(int(reps)):
        t0 = time.perf_counter()
        logits = torch.cat([m(*f) for f in feeds])
        best = min(best, time.perf_counter() - t0)
with open(out, "w") as f:
    f.write("".join("%.7g\n" % x for x in logits[:, -1].tolist()))
print(json.dumps({"engine": "pytorch " + torch.__version__ + (" int8" if int8 else ""), "seq_len": len(pairs[0]["ids"]), "pairs": len(pairs),
                  "threads": int(threads), "batch": B, "best_s": round(best, 4),
                  "pairs_per_s": round(len(pairs) / best, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
