#!/usr/bin/python3
"""Build XLM-RoBERTa-style Unigram tokenizers from a SentencePiece model we train ourselves.

    /usr/bin/python3 scripts/tok/make_xlmr.py

Writes
  tests/data/tok/xlmr-unigram/tokenizer.json          the layout transformers' XLMRobertaConverter
                                                       writes (tokenizers >= 0.19 serialisation)
  tests/data/tok/xlmr-unigram-roberta/tokenizer.json  the same model, in the older hub layout:
                                                       RobertaProcessing post-processor and the
                                                       legacy Metaspace {"add_prefix_space": true}

Training: Debian's python3-sentencepiece (SentencePieceTrainer, unigram, nmt_nfkc
normalization, VOCAB_SIZE pieces, one thread so the result is reproducible) on the generated
text of scripts/tok/gen_corpus.py --train-text --rich.

Conversion, as XLMRobertaConverter (transformers/src/transformers/convert_slow_tokenizer.py)
does it, re-implemented here from reading that file (transformers is not installed here):
  * vocab = <s>, <pad>, </s>, <unk> (score 0) then the SentencePiece pieces from id 3 on
    (the fairseq offset: spm id k -> k + 1), then <mask> (score 0); unk_id = 3;
  * normalizer Sequence[Precompiled(normalizer_spec.precompiled_charsmap), Replace(" {2,}" -> " ")];
  * pre_tokenizer Metaspace(replacement "▁", prepend_scheme "always", split true);
  * post_processor TemplateProcessing "<s> $A </s>" / "<s> $A </s> </s> $B </s>";
  * decoder Metaspace; added tokens <s> <pad> </s> <unk> <mask> (special; <mask> with
    lstrip=true as XLMRobertaTokenizer declares it).
The model protobuf is read with sentencepiece's own sentencepiece_model_pb2.

--verify additionally encodes the test corpus with SentencePiece itself and with the HF oracle
on the converted file (node, NODE_PATH as for gen_goldens.js) and reports how many texts give
the same ids (SentencePiece id k == HF id k + 1, without <s>/</s>). They are not expected to
agree on every text: the HF pipeline differs from spm_encode in whitespace handling (Replace
" {2,}" and Metaspace split vs. spm's own whitespace collapsing), as in the real XLM-R files.
"""
import argparse
import base64
import gzip
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "tok")
VOCAB_SIZE = 6000


def added(i, content, lstrip=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": False, "special": True}


def convert(proto, legacy):
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p.piece, p.score] for p in proto.pieces[3:]]
    vocab.append(["<mask>", 0.0])
    ids = {p: i for i, (p, _) in enumerate(vocab)}
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode("ascii")
    normalizer = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": charsmap},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
    if legacy:
        pre = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
        dec = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
        post = {"type": "RobertaProcessing", "sep": ["</s>", ids["</s>"]], "cls": ["<s>", ids["<s>"]],
                "trim_offsets": True, "add_prefix_space": True}
    else:
        pre = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
        dec = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
        seq = lambda s, t=0: {"Sequence": {"id": s, "type_id": t}}
        sp = lambda s, t=0: {"SpecialToken": {"id": s, "type_id": t}}
        post = {"type": "TemplateProcessing",
                "single": [sp("<s>"), seq("A"), sp("</s>")],
                "pair": [sp("<s>"), seq("A"), sp("</s>"), sp("</s>"), seq("B"), sp("</s>")],
                "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("<s>", "</s>")}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(ids["<s>"], "<s>"), added(ids["<pad>"], "<pad>"), added(ids["</s>"], "</s>"),
                         added(ids["<unk>"], "<unk>"), added(ids["<mask>"], "<mask>", lstrip=True)],
        "normalizer": normalizer,
        "pre_tokenizer": pre,
        "post_processor": post,
        "decoder": dec,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


VERIFY_JS = r"""
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');
(async () => {
  const [file, inp] = process.argv.slice(2);
  const tk = Tokenizer.fromFile(file);
  const rows = JSON.parse(fs.readFileSync(inp, 'utf8'));
  const out = [];
  for (const t of rows) out.push((await tk.encode(t, null, { addSpecialTokens: false })).getIds());
  process.stdout.write(JSON.stringify(out));
})();
"""


def verify(model_file, tok_file, tmp):
    sp = spm.SentencePieceProcessor(model_file=model_file)
    with gzip.open(os.path.join(OUT, "corpus.jsonl.gz"), "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    inp = os.path.join(tmp, "texts.json")
    with open(inp, "w", encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=False)
    js = os.path.join(tmp, "verify.js")
    with open(js, "w") as f:
        f.write(VERIFY_JS)
    hf = json.loads(subprocess.run(["node", js, tok_file, inp], check=True, capture_output=True).stdout)
    same = 0
    diff = []
    for t, h in zip(texts, hf):
        s = [i + 1 if i >= 3 else {0: 3, 1: 0, 2: 2}[i] for i in sp.encode(t)]
        if s == h:
            same += 1
        else:
            diff.append((t, s, h))
    print(f"verify: {same}/{len(texts)} corpus texts give identical ids in SentencePiece and HF")
    for t, s, h in diff[:int(os.environ.get("VERIFY_SHOW", "10"))]:
        print("  differs:", json.dumps(t, ensure_ascii=False)[:100], "spm", s[:12], "hf", h[:12])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--verify", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "train.txt")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "tok", "gen_corpus.py"),
                        "--train-text", text, "--rich"], check=True)
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=prefix, vocab_size=VOCAB_SIZE, model_type="unigram",
            normalization_rule_name="nmt_nfkc", character_coverage=0.998, num_threads=1,
            input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
        proto = pb.ModelProto()
        with open(prefix + ".model", "rb") as f:
            proto.ParseFromString(f.read())
        assert [p.piece for p in proto.pieces[:3]] == ["<unk>", "<s>", "</s>"], proto.pieces[:3]
        for name, legacy in (("xlmr-unigram", False), ("xlmr-unigram-roberta", True)):
            d = os.path.join(OUT, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
                json.dump(convert(proto, legacy), f, ensure_ascii=False, separators=(",", ":"))
            print(f"{name}: {len(proto.pieces) + 2} tokens -> tests/data/tok/{name}/tokenizer.json")
        if args.verify:
            verify(prefix + ".model", os.path.join(OUT, "xlmr-unigram", "tokenizer.json"), tmp)


if __name__ == "__main__":
    main()
