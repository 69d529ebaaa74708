#!/usr/bin/python3
"""make_checkpoints.py — tiny random-weight cross-encoder checkpoints in exactly each
architecture's Hugging Face layout, plus golden logits, for finerank's exactness tests.

Run from the repository root with Debian's python (torch 1.13):
    /usr/bin/python3 scripts/model/make_checkpoints.py [OUTDIR]   (default tests/data/models)

For every checkpoint it writes OUTDIR/<name>/:
  config.json, tokenizer.json, tokenizer_config.json, model.safetensors (or a sharded
  model.safetensors.index.json + shards), sometimes config_sentence_transformers.json,
  golden.jsonl.gz: line 1 a JSON header (generator, oracle versions, max_length), then one
  line per (query, passage) pair: {"q", "p", "ids", "types", "q_ids", "p_ids", "logits"}.
The tokenizer files are small WordPiece / byte-level BPE / Unigram vocabularies built here.
Input ids come from the Hugging Face tokenizers oracle (scripts/model/encode_pairs.js via node,
@anush008/tokenizers 0.6.0 = tokenizers 0.22.2), truncated to max_length with longest_first as
sentence-transformers' CrossEncoder does; logits come from scripts/model/reference.py run in
float32 on padded mixed-length batches (as transformers runs), cross-checked in float64.
safetensors files are written here by hand (the safetensors package is not installed),
following the format: u64 LE header length, JSON header padded with spaces to 8 bytes,
tensors in the order of their data_offsets.
"""
import gzip
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import CrossEncoderRef, pad_batch, random_weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PATH = os.path.expanduser("~/.cache/finerank-oracles/node_modules")
ORACLE = ("torch %s reference forward (scripts/model/reference.py); "
          "@anush008/tokenizers 0.6.0 (HF tokenizers 0.22.2)" % torch.__version__)

# ---- text ----
WORDS = """the of and to in is was for on that with as by at from it an be are this which or
his her had not but were have their one all been has who they there more when can would what
so no out if about into time only new some could these two may first then do any like other
my than now over such our man me even most made after also did many before must through back
years where much your way well down should because each just those people how too little state
good very make world still own see men work long get here between both life being under never
day same another know while last might us great old year off come since against go came right
used take three bm25 rerank retrieval passage query document vector search index score model
token neural ranking relevance semantic embedding transformer attention layer python rust
lucene elasticsearch wikipedia cranfield aerodynamic boundary flow pressure wing supersonic
heat transfer laminar turbulent velocity shock""".split()
CJK = list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴""")
EXTRA = ["Café", "naïve", "résumé", "BM25!", "don't", "e-mail", "C++", "3.14", "(draft)",
         "U.S.A.", "🙂", "日本語", "한국어", "Ελληνικά", "x" * 30, "#hashtag", "$100", "50%"]


def rand_text(rng, nwords, cjk_frac=0.0, extra_frac=0.05):
    out = []
    for _ in range(nwords):
        r = rng.random()
        if r < cjk_frac:
            out.append("".join(rng.choice(CJK) for _ in range(rng.randint(1, 6))))
        elif r < cjk_frac + extra_frac:
            out.append(rng.choice(EXTRA))
        else:
            w = rng.choice(WORDS)
            if rng.random() < 0.1:
                w = w.capitalize()
            if rng.random() < 0.08:
                w += rng.choice(",.;:?!")
            out.append(w)
    return " ".join(out)


def make_pairs(rng, n):
    pairs = [("what is bm25", ""), ("", "an empty query"), ("", ""), ("中国", "中国人民大学"),
             ("rerank", "the the the " * 60)]
    while len(pairs) < n:
        kind = rng.random()
        q = rand_text(rng, rng.randint(1, 10), cjk_frac=0.1 if kind < 0.2 else 0.0)
        if kind < 0.1:
            p = ""
        elif kind < 0.25:
            p = rand_text(rng, rng.randint(1, 60), cjk_frac=0.8)
        elif kind < 0.6:
            p = rand_text(rng, rng.randint(1, 30))
        else:
            p = rand_text(rng, rng.randint(30, 160))
        pairs.append((q, p))
    return pairs


# ---- tokenizers ----
def added(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


def wordpiece_tokenizer():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = list(specials)
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)
    for c in "abcdefghijklmnopqrstuvwxyz0123456789.,;:?!'\"()-$%#+éï":
        add(c)
        add("##" + c)
    for w in WORDS[:220]:
        add(w)
    for s in ["##s", "##ing", "##ed", "##er", "##tion", "##ly", "##25"]:
        add(s)
    for c in CJK[:150]:
        add(c)
    v = {t: i for i, t in enumerate(vocab)}
    tpl_single = [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]
    tpl_pair = tpl_single + [{"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}]
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(v[s], s) for s in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing", "single": tpl_single, "pair": tpl_pair,
                           "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [v["[CLS]"]], "tokens": ["[CLS]"]},
                                              "[SEP]": {"id": "[SEP]", "ids": [v["[SEP]"]], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": v},
    }
    return tok, len(vocab), 0, {"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                                "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                "unk_token": "[UNK]", "mask_token": "[MASK]"}


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def bpe_tokenizer(rng):
    b2u = bytes_to_unicode()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = list(specials) + [b2u[b] for b in range(256)]
    corpus = [rand_text(rng, 40, cjk_frac=0.1) for _ in range(60)]
    words = {}
    for line in corpus:
        for i, w in enumerate(line.split(" ")):
            w = (" " + w) if i else w
            k = tuple(b2u[b] for b in w.encode("utf-8"))
            words[k] = words.get(k, 0) + 1
    merges = []
    for _ in range(200):
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        if not counts:
            break
        best = max(sorted(counts), key=lambda p: counts[p])
        if counts[best] < 2:
            break
        merges.append(best)
        vocab.append(best[0] + best[1])
        nw = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    vocab.append("<mask>")
    v = {}
    for t in vocab:
        v.setdefault(t, len(v))
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(v[s], s) for s in specials + ["<mask>"]],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": v, "merges": [a + " " + b for a, b in merges]},
    }
    return tok, len(v), 1, {"tokenizer_class": "RobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                            "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}


def unigram_tokenizer(rng):
    pieces = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["▁", -3.0]]
    seen = {p[0] for p in pieces}

    def add(t, s):
        if t not in seen:
            seen.add(t)
            pieces.append([t, s])
    for w in WORDS[:150]:
        add("▁" + w, -5.0 - rng.random() * 3)
    for w in WORDS[150:]:
        add("▁" + w[:3], -8.0 - rng.random())
        add(w[3:], -8.0 - rng.random()) if len(w) > 3 else None
    for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:?!'\"()-$%#+éï":
        add(c, -10.0 - rng.random())
    for c in CJK[:200]:
        add(c, -9.0 - rng.random())
    for a, b in zip(CJK[:60:2], CJK[1:60:2]):
        add(a + b, -9.5)
    pieces.append(["<mask>", 0.0])
    tpl_single = [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "</s>", "type_id": 0}}]
    tpl_pair = tpl_single + [{"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                             {"SpecialToken": {"id": "</s>", "type_id": 0}}]
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(len(pieces) - 1, "<mask>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing", "single": tpl_single, "pair": tpl_pair,
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                             "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": pieces, "byte_fallback": False},
    }
    return tok, len(pieces), 1, {"tokenizer_class": "XLMRobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                                 "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}


# ---- safetensors ----
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- checkpoints ----
ARCH = {"bert": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification",
        "xlm-roberta": "XLMRobertaForSequenceClassification"}

SPECS = [
    # name, model_type, dtype, hidden, layers, heads, inter, window, act, eps, labels, extra
    dict(name="bert-gelu", model_type="bert", dtype=torch.float32, hidden=32, layers=2, heads=4, inter=64,
         window=64, act="gelu", eps=1e-12, labels=1, position_ids=True, st="config_json"),
    dict(name="bert-gelunew-2labels", model_type="bert", dtype=torch.float32, hidden=24, layers=3, heads=3,
         inter=48, window=48, act="gelu_new", eps=1e-7, labels=2),
    dict(name="roberta", model_type="roberta", dtype=torch.float32, hidden=32, layers=2, heads=2, inter=96,
         window=64, act="gelu", eps=1e-5, labels=1, st="st_config"),
    dict(name="xlm-roberta", model_type="xlm-roberta", dtype=torch.float32, hidden=32, layers=2, heads=4,
         inter=64, window=40, act="gelu", eps=1e-5, labels=1),
    dict(name="bert-f16", model_type="bert", dtype=torch.float16, hidden=32, layers=2, heads=4, inter=64,
         window=64, act="gelu_pytorch_tanh", eps=1e-12, labels=1),
    dict(name="xlm-roberta-bf16", model_type="xlm-roberta", dtype=torch.bfloat16, hidden=32, layers=2,
         heads=4, inter=64, window=48, act="relu", eps=1e-5, labels=1),
    dict(name="bert-sharded", model_type="bert", dtype=torch.float32, hidden=32, layers=2, heads=4, inter=64,
         window=64, act="gelu", eps=1e-12, labels=1, shards=2),
]


def make_config(spec, vocab_size, pad):
    roberta = spec["model_type"] != "bert"
    labels = spec["labels"]
    id2label = {str(i): "LABEL_%d" % i for i in range(labels)}
    cfg = {
        "architectures": [ARCH[spec["model_type"]]],
        "model_type": spec["model_type"],
        "hidden_size": spec["hidden"], "num_hidden_layers": spec["layers"],
        "num_attention_heads": spec["heads"], "intermediate_size": spec["inter"],
        "hidden_act": spec["act"], "layer_norm_eps": spec["eps"],
        "max_position_embeddings": spec["window"] + (pad + 1 if roberta else 0),
        "type_vocab_size": 1 if roberta else 2, "vocab_size": vocab_size, "pad_token_id": pad,
        "position_embedding_type": "absolute", "id2label": id2label,
        "label2id": {v: int(k) for k, v in id2label.items()},
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "torch_dtype": {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[spec["dtype"]],
        "transformers_version": "4.44.2",
    }
    if roberta:
        cfg["bos_token_id"] = 0
        cfg["eos_token_id"] = 2
    if spec.get("st") == "config_json":
        cfg["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Sigmoid"
    return cfg


def oracle_encode(tok_path, max_length, pairs):
    with tempfile.TemporaryDirectory() as d:
        inp = os.path.join(d, "in.json")
        out = os.path.join(d, "out.json")
        with open(inp, "w") as f:
            json.dump({"tokenizer": tok_path, "max_length": max_length, "pairs": pairs}, f)
        env = dict(os.environ, NODE_PATH=NODE_PATH)
        subprocess.run(["node", os.path.join(HERE, "encode_pairs.js"), inp, out], check=True, env=env)
        with open(out) as f:
            return json.load(f)


def logits_for(cfg, weights, encs, dtype):
    model = CrossEncoderRef(cfg, weights, dtype=dtype).eval()
    roberta = cfg["model_type"] != "bert"
    out = []
    order = list(range(len(encs)))
    with torch.no_grad():
        for s in range(0, len(order), 37):  # mixed lengths in each padded batch
            idx = order[s:s + 37]
            seqs = [(encs[i]["ids"], [0] * len(encs[i]["ids"]) if roberta else encs[i]["types"]) for i in idx]
            ids, mask, types = pad_batch(seqs, cfg["pad_token_id"])
            out.extend(model(ids, mask, types).tolist())
    return out


def build(spec, outdir, rng, gen):
    d = os.path.join(outdir, spec["name"])
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    if spec["model_type"] == "bert":
        tok, vsize, pad, tcfg = wordpiece_tokenizer()
    elif spec["model_type"] == "roberta":
        tok, vsize, pad, tcfg = bpe_tokenizer(rng)
    else:
        tok, vsize, pad, tcfg = unigram_tokenizer(rng)
    cfg = make_config(spec, vsize, pad)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    tcfg = dict(tcfg, model_max_length=spec["window"], clean_up_tokenization_spaces=True)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)
    if spec.get("st") == "st_config":
        with open(os.path.join(d, "config_sentence_transformers.json"), "w") as f:
            json.dump({"__version__": {"sentence_transformers": "4.0.1", "transformers": "4.44.2",
                                       "pytorch": torch.__version__},
                       "activation_fn": "torch.nn.modules.activation.Sigmoid"}, f, indent=2)

    w32 = random_weights(cfg, gen)
    stored = {k: v.to(spec["dtype"]) for k, v in w32.items()}
    if spec.get("position_ids"):  # older transformers saved this buffer (int64)
        P = "bert." if spec["model_type"] == "bert" else "roberta."
        stored[P + "embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)
    nsh = spec.get("shards", 1)
    if nsh == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), stored)
    else:
        names = sorted(stored)
        wmap = {}
        total = 0
        for i in range(nsh):
            fn = "model-%05d-of-%05d.safetensors" % (i + 1, nsh)
            part = {k: stored[k] for k in names[i::nsh]}
            write_safetensors(os.path.join(d, fn), part)
            for k, t in part.items():
                wmap[k] = fn
                total += t.numel() * t.element_size()
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wmap.items()))}, f, indent=2)

    pairs = make_pairs(rng, 320)
    encs = oracle_encode(os.path.join(d, "tokenizer.json"), spec["window"], pairs)
    # transformers upcasts fp16/bf16 weights to float32 when loaded with the default dtype
    wref = {k: v.float() for k, v in stored.items() if v.is_floating_point()}
    l32 = logits_for(cfg, wref, encs, torch.float32)
    l64 = logits_for(cfg, wref, encs, torch.float64)
    dmax = max(abs(a - b) for r32, r64 in zip(l32, l64) for a, b in zip(r32, r64))
    assert dmax < 1e-4, dmax
    header = {"generator": "scripts/model/make_checkpoints.py", "oracle": ORACLE, "checkpoint": spec["name"],
              "max_length": spec["window"], "weights_dtype": DTYPES[spec["dtype"]], "pairs": len(pairs),
              "float32_vs_float64_max_abs": dmax,
              "note": "logits: reference.py in float32 on padded batches; ids: HF tokenizers, longest_first"}
    lines = [json.dumps(header)]
    for (q, p), e, lg in zip(pairs, encs, l32):
        lines.append(json.dumps({"q": q, "p": p, "ids": e["ids"], "types": e["types"], "q_ids": e["q_ids"],
                                "p_ids": e["p_ids"], "logits": [float("%.9g" % x) for x in lg]},
                               ensure_ascii=False))
    with open(os.path.join(d, "golden.jsonl.gz"), "wb") as f:  # mtime=0: reproducible bytes
        f.write(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0))
    print("%-22s vocab %4d  pairs %d  max|f32-f64| %.2e  files %s" % (
        spec["name"], vsize, len(pairs), dmax, sorted(os.listdir(d))))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/models"
    torch.manual_seed(0)
    for i, spec in enumerate(SPECS):
        rng = random.Random(1000 + i)
        gen = torch.Generator().manual_seed(2000 + i)
        build(spec, outdir, rng, gen)


if __name__ == "__main__":
    main()
