#!/usr/bin/python3
"""make_embed_checkpoints.py — tiny random-weight bi-encoders in the layout sentence-transformers
saves (Hugging Face backbone + modules.json + 1_Pooling/config.json [+ 2_Normalize]), plus
golden embeddings, for finerank's embedding exactness tests (tests/test_embed.c).

Run from the repository root with Debian's python (torch 1.13):
    /usr/bin/python3 scripts/model/make_embed_checkpoints.py [OUTDIR]  (default tests/data/models)

Checkpoints (OUTDIR/embed-<name>/):
  embed-bert-cls    BertModel (tensors without the "bert." prefix, pooler kept as saved),
                    WordPiece, CLS pooling, 2_Normalize, BGE-style query instruction prompt
  embed-xlmr-mean   XLMRobertaModel (no pooler), Unigram, mean pooling, no normalisation,
                    e5-style prompts "query: " / "passage: "
golden.jsonl.gz: line 1 a JSON header (generator, oracle versions), then per (text, prompt):
  {"text", "prompt" (null | "query" | "passage"), "ids", "embedding"}.
Ids come from the HF tokenizers oracle (scripts/model/encode_embed.js via node) on
prompt + text truncated to max_seq_length, as SentenceTransformer.encode(prompt_name=...) does.
Embeddings come from the PyTorch reference below on padded mixed-length batches:
  hidden states as transformers' BertModel / XLMRobertaModel (scripts/model/reference.py's math
  without the head), Pooling as sentence_transformers.models.Pooling (CLS: token 0; mean:
  sum(h * mask) / clamp(sum(mask), 1e-9)), Normalize as F.normalize(p=2, dim=1).
"""
import gzip
import json
import math
import os
import random
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_checkpoints import (rand_text, unigram_tokenizer, wordpiece_tokenizer,  # noqa: E402
                              write_safetensors)
from reference import CrossEncoderRef, pad_batch, random_weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PATH = os.path.expanduser("~/.cache/finerank-oracles/node_modules")
ORACLE = ("torch %s bi-encoder reference (scripts/model/make_embed_checkpoints.py); "
          "@anush008/tokenizers 0.6.0 (HF tokenizers 0.22.2)" % torch.__version__)
BGE_QUERY = "Represent this sentence for searching relevant passages: "


def pool(h, mask, mode, normalize):
    if mode == "cls":
        out = h[:, 0]
    else:
        m = mask.unsqueeze(-1).to(h.dtype)
        out = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    return F.normalize(out, p=2, dim=1) if normalize else out


SPECS = [
    dict(name="embed-bert-cls", model_type="bert", arch="BertModel", hidden=32, layers=2, heads=4, inter=64,
         window=64, max_seq=48, act="gelu", eps=1e-12, pooling="cls", normalize=True,
         prompts={"query": BGE_QUERY, "passage": ""}),
    dict(name="embed-xlmr-mean", model_type="xlm-roberta", arch="XLMRobertaModel", hidden=32, layers=2, heads=4,
         inter=64, window=40, max_seq=40, act="gelu", eps=1e-5, pooling="mean", normalize=False,
         prompts={"query": "query: ", "passage": "passage: "}),
]


def texts(rng, n):
    out = ["what is bm25", "", "中国人民大学", "the the the " * 40, "Café naïve résumé 🙂"]
    while len(out) < n:
        r = rng.random()
        out.append(rand_text(rng, rng.randint(1, 8) if r < 0.4 else rng.randint(8, 70),
                             cjk_frac=0.3 if r < 0.15 else 0.0))
    return out


def oracle_encode(tok_path, max_length, items):
    with tempfile.TemporaryDirectory() as d:
        inp, out = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        with open(inp, "w") as f:
            json.dump({"tokenizer": tok_path, "max_length": max_length, "texts": items}, f)
        env = dict(os.environ, NODE_PATH=NODE_PATH)
        subprocess.run(["node", os.path.join(HERE, "encode_embed.js"), inp, out], check=True, env=env)
        with open(out) as f:
            return json.load(f)


def embed_all(cfg, weights, encs, spec, dtype):
    model = CrossEncoderRef(cfg, weights, dtype=dtype).eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(encs), 29):
            seqs = [(e, [0] * len(e)) for e in encs[s:s + 29]]
            ids, mask, types = pad_batch(seqs, cfg["pad_token_id"])
            h = model.hidden(ids, mask, types)
            out.extend(pool(h, mask, spec["pooling"], spec["normalize"]).tolist())
    return out


def build(spec, outdir, rng, gen):
    d = os.path.join(outdir, spec["name"])
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    roberta = spec["model_type"] != "bert"
    tok, vsize, pad, tcfg = unigram_tokenizer(rng) if roberta else wordpiece_tokenizer()
    cfg = {"architectures": [spec["arch"]], "model_type": spec["model_type"],
           "hidden_size": spec["hidden"], "num_hidden_layers": spec["layers"],
           "num_attention_heads": spec["heads"], "intermediate_size": spec["inter"],
           "hidden_act": spec["act"], "layer_norm_eps": spec["eps"],
           "max_position_embeddings": spec["window"] + (pad + 1 if roberta else 0),
           "type_vocab_size": 1 if roberta else 2, "vocab_size": vsize, "pad_token_id": pad,
           "position_embedding_type": "absolute", "torch_dtype": "float32", "transformers_version": "4.44.2"}
    files = {
        "config.json": cfg,
        "tokenizer.json": tok,
        "tokenizer_config.json": dict(tcfg, model_max_length=spec["window"]),
        "sentence_bert_config.json": {"max_seq_length": spec["max_seq"], "do_lower_case": False},
        "config_sentence_transformers.json": {
            "__version__": {"sentence_transformers": "3.0.1", "transformers": "4.44.2", "pytorch": torch.__version__},
            "prompts": spec["prompts"], "default_prompt_name": None, "similarity_fn_name": "cosine"},
        "1_Pooling/config.json": {
            "word_embedding_dimension": spec["hidden"],
            "pooling_mode_cls_token": spec["pooling"] == "cls",
            "pooling_mode_mean_tokens": spec["pooling"] == "mean",
            "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
            "include_prompt": True},
    }
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if spec["normalize"]:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        os.makedirs(os.path.join(d, "2_Normalize"), exist_ok=True)
    files["modules.json"] = modules
    for name, obj in files.items():
        with open(os.path.join(d, name), "w") as f:
            json.dump(obj, f, indent=None if name == "tokenizer.json" else 2, ensure_ascii=False)

    # Weights: random_weights names them as the *ForSequenceClassification classes do; a bare
    # backbone saved by save_pretrained has no model prefix and no classifier.
    w = random_weights(dict(cfg, num_labels=1), gen)
    P = "roberta." if roberta else "bert."
    w = {k[len(P):]: v for k, v in w.items() if k.startswith(P) and not (roberta and "pooler" in k)}
    write_safetensors(os.path.join(d, "model.safetensors"), w)

    items = []
    for t in texts(rng, 120):
        for pname in (None, "query", "passage"):
            items.append((t, pname))
    encs = oracle_encode(os.path.join(d, "tokenizer.json"), spec["max_seq"],
                         [(spec["prompts"][p] if p else "") + t for t, p in items])
    wref = {P + k: v for k, v in w.items()}
    e32 = embed_all(cfg, wref, encs, spec, torch.float32)
    e64 = embed_all(cfg, wref, encs, spec, torch.float64)
    dmax = max(abs(a - b) for r32, r64 in zip(e32, e64) for a, b in zip(r32, r64))
    assert dmax < 1e-4, dmax
    header = {"generator": "scripts/model/make_embed_checkpoints.py", "oracle": ORACLE,
              "checkpoint": spec["name"], "pooling": spec["pooling"], "normalize": spec["normalize"],
              "max_seq_length": spec["max_seq"], "items": len(items), "float32_vs_float64_max_abs": dmax}
    lines = [json.dumps(header)]
    for (t, p), ids, e in zip(items, encs, e32):
        lines.append(json.dumps({"text": t, "prompt": p, "ids": ids, "embedding": [float("%.9g" % x) for x in e]},
                                ensure_ascii=False))
    with open(os.path.join(d, "golden.jsonl.gz"), "wb") as f:
        f.write(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0))
    print("%-18s vocab %4d  items %d  max|f32-f64| %.2e" % (spec["name"], vsize, len(items), dmax))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/models"
    for i, spec in enumerate(SPECS):
        build(spec, outdir, random.Random(3000 + i), torch.Generator().manual_seed(4000 + i))


if __name__ == "__main__":
    main()
