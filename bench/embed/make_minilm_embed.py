#!/usr/bin/python3
"""make_minilm_embed.py OUTDIR TOKENIZER_JSON — bench/embed inputs (not committed):
  OUTDIR/model/       a random-weight BertModel bi-encoder shaped like
                      sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384, 12 heads,
                      intermediate 1536, vocab 30522), sentence-transformers layout: modules.json,
                      1_Pooling (mean), 2_Normalize, max_seq_length 256; tokenizer.json copied
                      from TOKENIZER_JSON (bert-base-uncased)
  OUTDIR/model.onnx   the same weights, hidden states (make_embed_checkpoints.BiEncoderRef) +
                      masked mean pooling + L2 normalisation, torch.onnx.export opset 14
"""
import json
import os
import shutil
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "model"))
from make_checkpoints import write_safetensors  # noqa: E402
from make_embed_checkpoints import BiEncoderRef, pool  # noqa: E402
from reference import random_weights  # noqa: E402

out, tok = sys.argv[1], sys.argv[2]
d = os.path.join(out, "model")
os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
cfg = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 384, "num_hidden_layers": 6,
       "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
       "max_position_embeddings": 512, "type_vocab_size": 2, "vocab_size": 30522, "pad_token_id": 0,
       "position_embedding_type": "absolute"}
w = random_weights(dict(cfg, num_labels=1), torch.Generator().manual_seed(7), scale=0.5)
w = {k[5:]: v for k, v in w.items() if k.startswith("bert.")}
write_safetensors(os.path.join(d, "model.safetensors"), w)
files = {"config.json": cfg, "tokenizer_config.json": {"model_max_length": 512},
         "sentence_bert_config.json": {"max_seq_length": 256, "do_lower_case": False},
         "modules.json": [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                          {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                          {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
         "1_Pooling/config.json": {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True}}
for k, v in files.items():
    json.dump(v, open(os.path.join(d, k), "w"), indent=2)
shutil.copy(tok, os.path.join(d, "tokenizer.json"))


class Embed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.m = BiEncoderRef(cfg, {"bert." + k: v for k, v in w.items()})

    def forward(self, ids, mask, types):
        return pool(self.m.hidden(ids, mask, types), mask, "mean", True)


m = Embed().eval()
ids = torch.randint(1000, 30000, (2, 16))
torch.onnx.export(m, (ids, torch.ones_like(ids), torch.zeros_like(ids)), os.path.join(out, "model.onnx"),
                  input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
                  dynamic_axes={"input_ids": {0: "b", 1: "n"}, "attention_mask": {0: "b", 1: "n"},
                                "token_type_ids": {0: "b", 1: "n"}, "embedding": {0: "b"}}, opset_version=14)
print("wrote", out)
