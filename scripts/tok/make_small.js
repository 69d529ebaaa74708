#!/usr/bin/env node
// Build the small hand-assembled tokenizer.json files that cover the components none of the
// trained / real tokenizers use, so the C tokenizer is checked on each of them.
//
//   NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node scripts/tok/make_small.js [--only a,b]
//
// Run after scripts/tok/make_trained.js and scripts/tok/make_xlmr.py: the vocabularies are
// taken from their outputs (wordpiece, xlmr-unigram) or trained here with the HF library
// (npm @anush008/tokenizers@0.6.0 = tokenizers 0.22.2; default trainer, then the first N
// merges kept, as in make_trained.js). The configuration around each model is written as
// JSON by this script, then loaded by the oracle (every file must load).
// BPE training is not byte-reproducible (the HF trainer breaks count ties in hash-map order),
// so re-running gives an equivalent but different file: regenerate the goldens afterwards.
//
// Files (tests/data/tok/<name>/tokenizer.json) and what each covers:
//   unigram-bytefallback  Unigram byte_fallback=true with a vocab lacking CJK, q/z and the
//                         byte token <0xF0> (so emoji fall back to <unk>); NFKC + Strip(both) normalizer; Metaspace
//                         prepend_scheme "first", split false; TemplateProcessing with
//                         several special tokens and type ids 0/1/2.
//   llama-bpe             Llama/Mistral-2023 style BPE: byte_fallback + fuse_unk + unk,
//                         normalizer Sequence[Prepend("▁"), Replace(" " -> "▁")], no
//                         pre-tokenizer, "<s> $A" template; byte tokens <0xF0>..<0xF4>
//                         left out so that 4-byte characters end in fused <unk>s.
//   qwen-bpe              Qwen2/Llama-3 style byte-level BPE: NFC normalizer, Split(llama-3
//                         regex, Isolated) + ByteLevel(use_regex=false), ignore_merges=true,
//                         post-processor Sequence[ByteLevel, TemplateProcessing], special
//                         added tokens <|...|>.
//   wp-whitespace         WordPiece max_input_chars_per_word=12; Sequence[NFD, StripAccents,
//                         Lowercase]; Sequence[Whitespace, Digits(individual_digits=true)];
//                         BertProcessing; a stored "truncation" block (LongestFirst, 48)
//                         and a stored "padding" block (must be ignored: goldens never pad).
//   wp-punct              WordPiece; Sequence[NFKC, Lowercase, Strip]; Sequence[WhitespaceSplit,
//                         Punctuation(contiguous), Digits(individual_digits=false)];
//                         TemplateProcessing with type ids 0/1/2 and a special token that
//                         expands to two ids.
//   bpe-chardelim         classic (not byte-level) BPE with an unk token (fuse_unk=false);
//                         Sequence[NFKD, Lowercase]; CharDelimiterSplit(" "); no
//                         post-processor, no decoder.
//   wp-split              WordPiece; BertNormalizer with non-default options (clean_text=false,
//                         handle_chinese_chars=false, strip_accents=true, lowercase=true);
//                         Sequence of Split pre-tokenizers with every behaviour (Removed,
//                         MergedWithPrevious, MergedWithNext, Isolated+invert, Contiguous),
//                         string and regex patterns; TemplateProcessing.
//   unigram-never         Unigram (xlmr-unigram's vocab); BertNormalizer(strip_accents=false,
//                         lowercase=true) + Replace(regex); Metaspace prepend_scheme "never",
//                         split true; no post-processor.
//   added-tokens          WordPiece + BertNormalizer + BertPreTokenizer with added tokens
//                         of every kind: special/non-special, single_word, lstrip, rstrip,
//                         normalized=true (matched after normalization, content itself
//                         normalized) and normalized=false.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const t = require('@anush008/tokenizers');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'tests', 'data', 'tok');

const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function readJson(name) {
  return JSON.parse(fs.readFileSync(path.join(OUT, name, 'tokenizer.json'), 'utf8'));
}

function write(name, j) {
  const dir = path.join(OUT, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(file, JSON.stringify(j));
  const tk = t.Tokenizer.fromFile(file);   // every file must load in the oracle
  console.log(`${name}: vocab ${tk.getVocabSize(true)} -> ${path.relative(ROOT, file)} (${fs.statSync(file).size} bytes)`);
}

function added(id, content, o = {}) {
  return { id, content, single_word: !!o.single_word, lstrip: !!o.lstrip, rstrip: !!o.rstrip,
    normalized: !!o.normalized, special: o.special === undefined ? true : o.special };
}

function template(single, pair, specials) {
  const parse = (s) => s.split(' ').map((p) => {
    const [id, ty] = p.split(':');
    const type_id = ty === undefined ? 0 : Number(ty);
    return id.startsWith('$') ? { Sequence: { id: id.slice(1), type_id } } : { SpecialToken: { id, type_id } };
  });
  const st = {};
  for (const [tok, id] of specials) st[tok] = { id: tok, ids: [id], tokens: [tok] };
  return { type: 'TemplateProcessing', single: parse(single), pair: parse(pair), special_tokens: st };
}

const isCjk = (s) => /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/u.test(s);

// Train with the HF library's default trainer on the generated training text.
let trainFile = null;
function trainedJson(model, setup) {
  if (!trainFile) {
    trainFile = path.join(os.tmpdir(), `finerank-tok-small-${process.pid}.txt`);
    execFileSync('/usr/bin/python3', [path.join(__dirname, 'gen_corpus.py'), '--train-text', trainFile,
      '--train-lines', '8000']);
  }
  const tk = new t.Tokenizer(model);
  setup(tk);
  tk.train([trainFile]);
  const tmp = path.join(os.tmpdir(), `finerank-tok-small-${process.pid}.json`);
  tk.save(tmp, false);
  const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.unlinkSync(tmp);
  return j;
}

// Keep the first `keep` trained merges whose parts are in `vocab` (an insertion-ordered
// object token -> id that already holds the base symbols); adds the merged tokens.
function keepMerges(trained, vocab, keep, accept = () => true) {
  const merges = [];
  for (const m of trained.model.merges) {
    if (merges.length >= keep) break;
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    if (!(a in vocab) || !(b in vocab) || !accept(a + b)) continue;
    merges.push([a, b]);
    if (!((a + b) in vocab)) vocab[a + b] = Object.keys(vocab).length;
  }
  return merges;
}

function addTok(vocab, tok) { if (!(tok in vocab)) vocab[tok] = Object.keys(vocab).length; return vocab[tok]; }

const hex2 = (b) => b.toString(16).toUpperCase().padStart(2, '0');

// ---- unigram-bytefallback ----
function unigramByteFallback() {
  const x = readJson('xlmr-unigram');
  const vocab = [['<unk>', 0.0], ['<s>', 0.0], ['</s>', 0.0], ['<sep>', 0.0], ['<cls>', 0.0]];
  for (let b = 0; b < 256; b++) {
    if (b === 0xF0) continue;   // left out: characters U+10000..U+3FFFF (emoji) become <unk>
    vocab.push([`<0x${hex2(b)}>`, 0.0]);
  }
  const pieces = x.model.vocab.slice(4, -1).filter(([p]) => !/[qzQZ]/.test(p) && !isCjk(p)).slice(0, 1500);
  for (const [p, s] of pieces) vocab.push([p, s]);
  const id = (tok) => vocab.findIndex(([p]) => p === tok);
  write('unigram-bytefallback', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: ['<unk>', '<s>', '</s>', '<sep>', '<cls>'].map((s) => added(id(s), s)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Strip', strip_left: true, strip_right: true }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
    post_processor: template('<cls> $A <sep>', '<cls>:2 $A:0 <sep>:0 </s>:1 $B:1 <sep>:1 <s>:2',
      [['<cls>', id('<cls>')], ['<sep>', id('<sep>')], ['</s>', id('</s>')], ['<s>', id('<s>')]]),
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
      { type: 'ByteFallback' }, { type: 'Fuse' }] },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: true },
  });
}

// ---- llama-bpe ----
function llamaBpe() {
  const trained = trainedJson(t.BPE.empty(), (tk) => tk.setPreTokenizer(t.metaspacePreTokenizer('\u2581', 'always', true)));
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) if (b < 0xF0 || b > 0xF4) addTok(vocab, `<0x${hex2(b)}>`);
  const alphabet = Object.keys(trained.model.vocab).filter((s) => [...s].length === 1 && !isCjk(s) && !/[qQ]/.test(s)).sort();
  alphabet.forEach((c) => addTok(vocab, c));
  const merges = keepMerges(trained, vocab, 2500);
  write('llama-bpe', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' },
      { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
    pre_tokenizer: null,
    post_processor: template('<s>:0 $A:0', '<s>:0 $A:0 <s>:1 $B:1', [['<s>', 1]]),
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
      { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
  });
}

// ---- qwen-bpe ----
function qwenBpe() {
  const trained = trainedJson(t.BPE.empty(), (tk) => tk.setPreTokenizer(t.byteLevelPreTokenizer(false, true)));
  const vocab = {};
  t.byteLevelAlphabet().sort().forEach((c) => addTok(vocab, c));
  const merges = keepMerges(trained, vocab, 2000);
  const n = Object.keys(vocab).length;
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|begin_of_text|>'];
  specials.forEach((s) => addTok(vocab, s));
  write('qwen-bpe', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: specials.map((s, k) => added(n + k, s)),
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA3_REGEX }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] },
    post_processor: { type: 'Sequence', processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      template('<|begin_of_text|> $A', '<|begin_of_text|> $A <|begin_of_text|>:1 $B:1',
        [['<|begin_of_text|>', vocab['<|begin_of_text|>']]])] },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges },
  });
}

// ---- WordPiece variants (vocabulary of tests/data/tok/wordpiece) ----
function wordpieceVocab() {
  return readJson('wordpiece').model.vocab;
}

function wpWhitespace() {
  const vocab = wordpieceVocab();
  write('wp-whitespace', {
    version: '1.0',
    truncation: { direction: 'Right', max_length: 48, strategy: 'LongestFirst', stride: 0 },
    padding: { strategy: { Fixed: 64 }, direction: 'Right', pad_to_multiple_of: null, pad_id: 0,
      pad_type_id: 0, pad_token: '[PAD]' },
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((s) => added(vocab[s], s)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'Digits', individual_digits: true }] },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', vocab['[SEP]']], cls: ['[CLS]', vocab['[CLS]']] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 12, vocab },
  });
}

function wpPunct() {
  const vocab = wordpieceVocab();
  const q = addTok(vocab, '[Q]');
  const eop = addTok(vocab, '[EOP]');
  write('wp-punct', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[Q]', '[EOP]'].map((s) => added(vocab[s], s)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' },
      { type: 'Strip', strip_left: true, strip_right: true }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' },
      { type: 'Punctuation', behavior: 'Contiguous' }, { type: 'Digits', individual_digits: false }] },
    // "[END]" is one template special token that expands to two ids ([SEP] [EOP]).
    post_processor: (() => {
      const p = template('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 [Q]:0 $A:0 [SEP]:0 $B:1 [END]:2',
        [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']], ['[Q]', q]]);
      p.special_tokens['[END]'] = { id: '[END]', ids: [vocab['[SEP]'], eop], tokens: ['[SEP]', '[EOP]'] };
      return p;
    })(),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  });
}

function bpeCharDelim() {
  const trained = trainedJson(t.BPE.empty(), (tk) => {
    tk.setNormalizer(t.sequenceNormalizer([t.nfkdNormalizer(), t.lowercase()]));
    tk.setPreTokenizer(t.charDelimiterSplit(' '));
  });
  const vocab = { '<unk>': 0 };
  const alphabet = Object.keys(trained.model.vocab).filter((s) => [...s].length === 1 && !isCjk(s)).sort();
  alphabet.forEach((c) => addTok(vocab, c));
  const merges = keepMerges(trained, vocab, 1500);
  write('bpe-chardelim', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [added(0, '<unk>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'CharDelimiterSplit', delimiter: ' ' },
    post_processor: null,
    decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  });
}

function wpSplit() {
  const vocab = wordpieceVocab();
  const split = (pattern, behavior, invert = false) => ({ type: 'Split', pattern, behavior, invert });
  write('wp-split', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((s) => added(vocab[s], s)),
    normalizer: { type: 'BertNormalizer', clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: true },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      split({ String: ' ' }, 'Removed'),
      split({ Regex: '[-_/]' }, 'MergedWithPrevious'),
      split({ Regex: '\\d+' }, 'MergedWithNext'),
      split({ String: '.' }, 'Contiguous'),
      split({ Regex: '[\\p{L}\\p{M}]+' }, 'Isolated', true),
    ] },
    post_processor: template('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1',
      [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']]]),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  });
}

function unigramNever() {
  const x = readJson('xlmr-unigram');
  write('unigram-never', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: x.added_tokens,
    normalizer: { type: 'Sequence', normalizers: [
      { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: true },
      { type: 'Replace', pattern: { Regex: '[0-9]{4,}' }, content: '#' }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: true },
    post_processor: null,
    decoder: null,
    model: x.model,
  });
}

function addedTokens() {
  const vocab = wordpieceVocab();
  const n = Object.keys(vocab).length;
  // [content, options]; new tokens get ids after the vocabulary, in this order.
  const extra = [
    ['rerank', { special: false, normalized: true, single_word: true }],
    ['BM25', { special: false, normalized: false }],
    ['<doc>', { special: true, lstrip: true, rstrip: true }],
    ['ing', { special: false, normalized: true }],                 // matches inside words
    ['[Q]', { special: true, rstrip: true }],
    ['ＡＢＣ', { special: false, normalized: true }],                // content normalized too: "abc"
    ['Hello World', { special: false, normalized: false, single_word: true }],
    ['<extra_id_0>', { special: true, lstrip: true }],
    ['the', { special: false, normalized: false, single_word: true }],  // also in the vocab
  ];
  const toks = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((s) => added(vocab[s], s));
  let next = n;
  for (const [c, o] of extra) toks.push(added(c in vocab ? vocab[c] : next++, c, o));
  write('added-tokens', {
    version: '1.0', truncation: null, padding: null,
    added_tokens: toks,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: template('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1',
      [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']]]),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  });
}

// --only a,b  rebuild only these (the BPE ones are not byte-reproducible, see above).
function main() {
  const builders = { 'unigram-bytefallback': unigramByteFallback, 'llama-bpe': llamaBpe, 'qwen-bpe': qwenBpe,
    'wp-whitespace': wpWhitespace, 'wp-punct': wpPunct, 'bpe-chardelim': bpeCharDelim,
    'added-tokens': addedTokens, 'wp-split': wpSplit, 'unigram-never': unigramNever };
  const oi = process.argv.indexOf('--only');
  const only = oi >= 0 ? process.argv[oi + 1].split(',') : Object.keys(builders);
  try {
    for (const name of only) {
      if (!builders[name]) throw new Error(`unknown tokenizer ${name}`);
      builders[name]();
    }
  } finally {
    if (trainFile) fs.unlinkSync(trainFile);
  }
}

main();
