#!/usr/bin/python3
"""make_minilm.py OUTDIR — the benchmark inputs (not committed; ~90 MB):
  OUTDIR/model/          a random-weight BertForSequenceClassification shaped like
                         cross-encoder/ms-marco-MiniLM-L-6-v2 (6 layers, hidden 384, 12 heads,
                         intermediate 1536, vocab 30522, 512 positions), HF layout, F32
  OUTDIR/model.onnx      the same weights through scripts/model/reference.py, torch.onnx.export
                         (opset 14, dynamic batch and sequence axes)
  OUTDIR/pairs_L.json    a fixed set of N token-id sequences of exactly L tokens, L = 64, 128, 256
                         ([CLS] query(8..16) [SEP] passage [SEP], types 0/1)
"""
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "model"))
from make_checkpoints import write_safetensors  # noqa: E402
from reference import CrossEncoderRef, random_weights  # noqa: E402

out = sys.argv[1]
n_pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
os.makedirs(os.path.join(out, "model"), exist_ok=True)
cfg = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "hidden_size": 384,
       "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
       "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "type_vocab_size": 2, "vocab_size": 30522,
       "pad_token_id": 0, "position_embedding_type": "absolute", "id2label": {"0": "LABEL_0"},
       "label2id": {"LABEL_0": 0}}
w = random_weights(cfg, torch.Generator().manual_seed(7), scale=0.5)
write_safetensors(os.path.join(out, "model", "model.safetensors"), w)
json.dump(cfg, open(os.path.join(out, "model", "config.json"), "w"), indent=2)
json.dump({"model_max_length": 512}, open(os.path.join(out, "model", "tokenizer_config.json"), "w"))

m = CrossEncoderRef(cfg, w).eval()
ids = torch.randint(5, 30000, (2, 16))
mask = torch.ones_like(ids)
types = torch.zeros_like(ids)
torch.onnx.export(m, (ids, mask, types), os.path.join(out, "model.onnx"),
                  input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                  dynamic_axes={"input_ids": {0: "b", 1: "n"}, "attention_mask": {0: "b", 1: "n"},
                                "token_type_ids": {0: "b", 1: "n"}, "logits": {0: "b"}}, opset_version=14)
rng = random.Random(11)
for L in (64, 128, 256):
    seqs = []
    for _ in range(n_pairs):
        q = rng.randint(8, 16)
        p = L - q - 3
        ids = [101] + [rng.randint(1000, 30000) for _ in range(q)] + [102] + \
              [rng.randint(1000, 30000) for _ in range(p)] + [102]
        types = [0] * (q + 2) + [1] * (p + 1)
        seqs.append({"ids": ids, "types": types})
    json.dump(seqs, open(os.path.join(out, "pairs_%d.json" % L), "w"))
print("wrote", out)
