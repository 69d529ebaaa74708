#!/usr/bin/env node
// Build the two tokenizers the project trains itself with the Hugging Face library:
//   tests/data/tok/wordpiece/tokenizer.json  BERT-style WordPiece
//   tests/data/tok/bpe/tokenizer.json        RoBERTa-style byte-level BPE
//
//   NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node scripts/tok/make_trained.js
//
// Training: the HF tokenizers library itself (npm @anush008/tokenizers@0.6.0 = Rust crate
// 0.22.2) through Tokenizer.train(files). The Node binding exposes no trainer options
// (its Trainer class is empty; train() uses the model's default trainer: vocab_size 30000,
// min_frequency 0, no special tokens, no initial alphabet). So we train with those defaults
// on a generated text (scripts/tok/gen_corpus.py --train-text, seeded) and then stop the
// training early by hand: keep the first WP_KEEP learned WordPiece entries (the trainer
// writes the alphabet first, then one entry per merge in merge order), and the first
// BPE_KEEP BPE merges plus the tokens they produce. A prefix of a BPE/WordPiece training
// run is itself a valid, smaller training result. The vocabulary is kept small on purpose
// so that unknown characters, ## continuations and multi-merge words occur.
//
// The special tokens, post-processors and decoders are then set as BERT / RoBERTa have
// them, and the result is written by the library's own serializer (Tokenizer.save).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const t = require('@anush008/tokenizers');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'tests', 'data', 'tok');
const WP_KEEP = 2400;
const BPE_KEEP = 3000;

function trainText() {
  const file = path.join(os.tmpdir(), `finerank-tok-train-${process.pid}.txt`);
  execFileSync('/usr/bin/python3', [path.join(__dirname, 'gen_corpus.py'), '--train-text', file]);
  return file;
}

// patch(j): optional edit of the saved JSON, for components the binding cannot build
// (it has no ByteLevel decoder constructor).
function saveTo(tk, name, patch) {
  const dir = path.join(OUT, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  tk.save(file, false);
  if (patch) {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    patch(j);
    fs.writeFileSync(file, JSON.stringify(j));
  }
  // Reload: every committed file must load in the oracle.
  const back = t.Tokenizer.fromFile(file);
  console.log(`${name}: vocab ${back.getVocabSize(true)} -> ${path.relative(ROOT, file)} (${fs.statSync(file).size} bytes)`);
}

function trainedJson(model, setup, text) {
  const tk = new t.Tokenizer(model);
  setup(tk);
  tk.train([text]);
  const tmp = path.join(os.tmpdir(), `finerank-tok-trained-${process.pid}.json`);
  tk.save(tmp, false);
  const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.unlinkSync(tmp);
  return j;
}

function byId(vocab) {
  return Object.entries(vocab).sort((a, b) => a[1] - b[1]).map((e) => e[0]);
}

function makeWordPiece(text) {
  const setup = (tk) => {
    tk.setNormalizer(t.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
    tk.setPreTokenizer(t.bertPreTokenizer());
  };
  const j = trainedJson(t.WordPiece.empty(), setup, text);
  const learned = byId(j.model.vocab).slice(0, WP_KEEP);
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const vocab = {};
  for (const tok of specials.concat(learned)) if (!(tok in vocab)) vocab[tok] = Object.keys(vocab).length;
  const tk = new t.Tokenizer(t.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##',
    maxInputCharsPerWord: 100 }));
  setup(tk);
  tk.setPostProcessor(t.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1',
    [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']]]));
  tk.setDecoder(t.wordPieceDecoder('##', true));
  tk.addSpecialTokens(specials);
  saveTo(tk, 'wordpiece');
}

function makeBpe(text) {
  const setup = (tk) => tk.setPreTokenizer(t.byteLevelPreTokenizer(true, true));
  const j = trainedJson(t.BPE.empty(), setup, text);
  const merges = j.model.merges.slice(0, BPE_KEEP).map((m) => (Array.isArray(m) ? m : m.split(' ')));
  const vocab = {};
  const add = (tok) => { if (!(tok in vocab)) vocab[tok] = Object.keys(vocab).length; };
  ['<s>', '<pad>', '</s>', '<unk>'].forEach(add);
  t.byteLevelAlphabet().sort().forEach(add);   // all 256 byte symbols, as RoBERTa has them
  for (const [a, b] of merges) add(a + b);
  add('<mask>');
  const tk = new t.Tokenizer(t.BPE.init(vocab, merges, {}));
  setup(tk);
  tk.setPostProcessor(t.robertaProcessing(['</s>', vocab['</s>']], ['<s>', vocab['<s>']], true, true));
  tk.addSpecialTokens(['<s>', '<pad>', '</s>', '<unk>']);
  tk.addAddedTokens([new t.AddedToken('<mask>', true, { leftStrip: true })]);   // as RoBERTa's <mask>
  saveTo(tk, 'bpe', (j) => {
    j.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  });
}

function main() {
  const text = trainText();
  try {
    makeWordPiece(text);
    makeBpe(text);
  } finally {
    fs.unlinkSync(text);
  }
}

main();
