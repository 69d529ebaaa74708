"""reference.py — an independent PyTorch reference forward pass for the cross-encoder
architectures finerank loads, written from Hugging Face transformers' modeling_bert.py,
modeling_roberta.py and modeling_xlm_roberta.py (read, not imported: the transformers package
is not installed here). It runs exactly the math those classes run in eval mode:

  embeddings  = LayerNorm((word[ids] + token_type[types]) + position[pos])
                pos = 0..n-1 (BERT) or, for RoBERTa/XLM-R, create_position_ids_from_input_ids:
                cumsum(ids != pad) * (ids != pad) + pad
  per layer   a = LayerNorm(Wo softmax(QK^T / sqrt(d) + mask) V + bo + x)
              y = LayerNorm(W2 act(W1 a + b1) + b2 + a)
  head        BERT: classifier(tanh(pooler(h[:, 0])))
              RoBERTa/XLM-R: out_proj(tanh(dense(h[:, 0])))

Padded batches use HF's additive mask (1 - mask) * finfo(dtype).min on the key axis.
Weights are a dict of HF tensor names -> torch tensors (any float dtype; they are cast to the
compute dtype, as transformers does when loading an fp16/bf16 checkpoint in float32).
Used by make_checkpoints.py (goldens) and bench/model (ONNX export, PyTorch timing).
"""
import math

import torch
import torch.nn.functional as F


def act_fn(name):
    if name == "gelu":
        return lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "gelu_pytorch_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu
    raise ValueError("unsupported hidden_act " + name)


class CrossEncoderRef(torch.nn.Module):
    """forward(input_ids, attention_mask, token_type_ids) -> logits (batch, num_labels)."""

    def __init__(self, cfg, weights, dtype=torch.float32):
        super().__init__()
        self.cfg = cfg
        self.roberta = cfg["model_type"] in ("roberta", "xlm-roberta")
        self.prefix = "roberta." if self.roberta else "bert."
        self.act = act_fn(cfg["hidden_act"])
        self.eps = cfg["layer_norm_eps"]
        self.heads = cfg["num_attention_heads"]
        self.pad = cfg.get("pad_token_id", 0)
        self.w = {}
        for k, v in weights.items():
            if v.is_floating_point():
                t = v.to(dtype)
                self.register_buffer(k.replace(".", "__"), t)
                self.w[k] = k.replace(".", "__")

    def p(self, name):
        return getattr(self, self.w[name])

    def lin(self, x, name):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def ln(self, x, name):
        return F.layer_norm(x, (self.cfg["hidden_size"],), self.p(name + ".weight"), self.p(name + ".bias"), self.eps)

    def hidden(self, input_ids, attention_mask, token_type_ids):
        """Last hidden states (b, n, H), as transformers' BertModel / XLMRobertaModel."""
        P = self.prefix
        b, n = input_ids.shape
        if self.roberta:
            m = input_ids.ne(self.pad).int()
            pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + self.pad
        else:
            pos = torch.arange(n, dtype=torch.long).unsqueeze(0).expand(b, n)
        e = F.embedding(input_ids, self.p(P + "embeddings.word_embeddings.weight"))
        e = e + F.embedding(token_type_ids, self.p(P + "embeddings.token_type_embeddings.weight"))
        e = e + F.embedding(pos, self.p(P + "embeddings.position_embeddings.weight"))
        h = self.ln(e, P + "embeddings.LayerNorm")
        dt = h.dtype
        ext = (1.0 - attention_mask[:, None, None, :].to(dt)) * torch.finfo(dt).min
        H = h.shape[-1]
        d = H // self.heads
        for i in range(self.cfg["num_hidden_layers"]):
            L = P + "encoder.layer.%d." % i

            def split(x):
                return x.view(b, n, self.heads, d).permute(0, 2, 1, 3)

            q = split(self.lin(h, L + "attention.self.query"))
            k = split(self.lin(h, L + "attention.self.key"))
            v = split(self.lin(h, L + "attention.self.value"))
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)
            s = s + ext
            pr = torch.softmax(s, dim=-1)
            ctx = torch.matmul(pr, v).permute(0, 2, 1, 3).contiguous().view(b, n, H)
            a = self.ln(self.lin(ctx, L + "attention.output.dense") + h, L + "attention.output.LayerNorm")
            it = self.act(self.lin(a, L + "intermediate.dense"))
            h = self.ln(self.lin(it, L + "output.dense") + a, L + "output.LayerNorm")
        return h

    def forward(self, input_ids, attention_mask, token_type_ids):
        P = self.prefix
        h = self.hidden(input_ids, attention_mask, token_type_ids)
        cls = h[:, 0]
        if self.roberta:
            x = torch.tanh(self.lin(cls, "classifier.dense"))
            return self.lin(x, "classifier.out_proj")
        pooled = torch.tanh(self.lin(cls, P + "pooler.dense"))
        return self.lin(pooled, "classifier")


def pad_batch(seqs, pad_id):
    """seqs: list of (ids, types). Returns padded LongTensors (ids, mask, types), right padding."""
    n = max(len(s[0]) for s in seqs)
    ids = torch.full((len(seqs), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    types = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, (a, t) in enumerate(seqs):
        ids[i, : len(a)] = torch.tensor(a, dtype=torch.long)
        mask[i, : len(a)] = 1
        types[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    return ids, mask, types


def random_weights(cfg, gen, scale=1.0):
    """Random tensors with every name and shape the HF class has (float32)."""
    H = cfg["hidden_size"]
    I = cfg["intermediate_size"]
    V = cfg["vocab_size"]
    roberta = cfg["model_type"] in ("roberta", "xlm-roberta")
    P = "roberta." if roberta else "bert."
    w = {}

    def rn(*shape, std):
        return torch.randn(*shape, generator=gen) * std * scale

    def lin(name, o, i, std=None):
        w[name + ".weight"] = rn(o, i, std=std or 1.0 / math.sqrt(i))
        w[name + ".bias"] = rn(o, std=0.05)

    def ln(name, n):
        w[name + ".weight"] = 1.0 + rn(n, std=0.1)
        w[name + ".bias"] = rn(n, std=0.05)

    w[P + "embeddings.word_embeddings.weight"] = rn(V, H, std=0.5)
    w[P + "embeddings.position_embeddings.weight"] = rn(cfg["max_position_embeddings"], H, std=0.3)
    w[P + "embeddings.token_type_embeddings.weight"] = rn(cfg["type_vocab_size"], H, std=0.3)
    ln(P + "embeddings.LayerNorm", H)
    for i in range(cfg["num_hidden_layers"]):
        L = P + "encoder.layer.%d." % i
        for x in ("query", "key", "value"):
            lin(L + "attention.self." + x, H, H)
        lin(L + "attention.output.dense", H, H)
        ln(L + "attention.output.LayerNorm", H)
        lin(L + "intermediate.dense", I, H)
        lin(L + "output.dense", H, I)
        ln(L + "output.LayerNorm", H)
    nl = len(cfg["id2label"]) if "id2label" in cfg else cfg.get("num_labels", 2)
    if roberta:
        lin("classifier.dense", H, H)
        lin("classifier.out_proj", nl, H, std=1.0)
    else:
        lin(P + "pooler.dense", H, H)
        lin("classifier", nl, H, std=1.0)
    return w
