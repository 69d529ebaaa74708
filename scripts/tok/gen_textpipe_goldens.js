#!/usr/bin/env node
// gen_textpipe_goldens.js — goldens for the tokenizer text pipeline (normalizers and
// pre-tokenizers), produced by the Hugging Face oracle, never by finerank.
//
//   NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node scripts/tok/gen_textpipe_goldens.js [SHARED]
//
// Oracle: npm @anush008/tokenizers@0.6.0 (tokenizers Rust crate 0.22.2). Each spec is put in a
// minimal tokenizer.json (Tokenizer.fromString), then getNormalizer().normalizeString(text)
// or getPreTokenizer().preTokenizeString(text) gives the reference output.
//
// Writes tests/data/tok/textpipe/cases.jsonl.gz (specs × texts) and sweep.jsonl.gz (every
// code point through per-character components). Line 1 of each is a {"_header": ...} object.
// Specs taken from real files under SHARED (default ../shared) are referenced by path
// ("shared:tokenizers/...#normalizer"), never copied: tests read them at run time.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const tk = require('@anush008/tokenizers');

const repo = path.resolve(__dirname, '..', '..');
const shared = process.argv[2] || path.resolve(repo, '..', 'shared');
const outDir = path.join(repo, 'tests', 'data', 'tok', 'textpipe');
const pkgVer = require('@anush008/tokenizers/package.json').version;
const header = {
  generator: 'scripts/tok/gen_textpipe_goldens.js',
  oracle: `@anush008/tokenizers@${pkgVer} (tokenizers 0.22.2)`,
  node: process.version,
};

function tokenizerWith(normalizer, preTokenizer) {
  const j = {
    version: '1.0', truncation: null, padding: null, added_tokens: [],
    normalizer: normalizer || null, pre_tokenizer: preTokenizer || null,
    post_processor: null, decoder: null,
    model: { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' },
  };
  return tk.Tokenizer.fromString(JSON.stringify(j));
}

// ---- inputs ----
const long = 'The quick brown fox jumps over the lazy dog. '.repeat(8) + 'Ünïcödé → ok! 123,456.78 ';
const texts = [
  '', ' ', '  ', 'a', 'Hello, world!', 'Hey   friend!', '  leading spaces', 'trailing spaces  ',
  ' multiple     spaces  inside ', "don't I'll WE'RE they've 's 'S 'LL", 'ＡＢＣ１２３ Ｈｅｌｌｏ！',
  'café naïve façade résumé', 'e\u0301 a\u0300\u0301\u0302\u0303 o\u0308\u0304', 'İstanbul ıi I',
  'ΣΑΣ σας ς', 'Straße STRASSE ß ẞ', 'ﬁ ﬂ ligatures ǅ ǈ', '①②③ ²³ ¼ ½ Ⅻ ⅻ', 'Ⓐⓑ ⓒ 🅐🄰 circled',
  '中文字符测试，标点。', '日本語のテキスト、カタカナ・ひらがな', '한국어 텍스트 입니다', '\u1100\u1161\u11A8 \uAC00\u11A8',
  'Привет, мир! Ёё', 'مرحبا بالعالم، كيف حالك؟ ١٢٣', 'नमस्ते दुनिया क्षत्रिय', 'สวัสดีชาวโลก ๑๒๓',
  'Tiếng Việt có dấu', 'שָׁלוֹם עוֹלָם', 'emoji 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇫🇷 ❤️ 1️⃣',
  'zero\u200bwidth\u200cnon\u200djoin\u2060wj', '\ufeffbom\ufeff', 'tab\tnew\nline\r\ncr\rvt\u000bff\u000c',
  '\u00a0nbsp\u3000ideo\u2009thin\u202fnarrow\u205fmath\u1680ogham', '\u0085nel\u2028ls\u2029ps',
  'ctrl\u0001\u0007\u001b\u007f\u0080\u009f end', '\ufffdreplacement\ufffd', 'a\u0000b',
  'numbers 123 4567 1,234.56 ٣٤٥ ۱۲۳ ０１２', '___under__score__', 'x=1;y=2//c /* c */ #h @m $d %p ^c &a *s',
  'http://example.com/a?b=c&d=e#frag', '▁already▁meta ▁ ▁▁', ' \n \n\n  ', 'end with space ',
  '\u0f73\u0f75\u0f81 tibetan', '\u{1D400}\u{1D401} math bold 𝟙𝟚', '\u{E0041}tag\u{E007F}', 'private\uE000use\u{F0000}',
  'Ⅳ ℌ ℍ K Å ℃ ™ ㈱ ㍻', '¿Qué? ¡Sí! «quotes» „low“ ‘single’', '—dash–en-hyphen‐minus−', '…ellipsis‥',
  'a_b-c.d,e;f:g!h?i', '\u0300starts with mark', 'Ǆemo Ǳ', 'ǰ ΐ ΰ ŉ', 'ﬀﬃ ﬅ', 'A\u030A\u0323 \u212B',
  '\u0b47\u0b3e \u0dd9\u0dcf', 'ｶﾀｶﾅ ﾊﾟ ｶﾞ', long,
  // alignment probes: removals and expansions at the start, marks after a leading space
  '\u000babc', '\u0002\u000bab', 'ab\u000bcd', ' \u0301x', '\ufb01x', '  hello', '\u00a0x', '\u3000\u3000a',
  '\u200bx', 'a\u0302\u0323b', '\u0301\u0300a', 'どこで生れ。Yes', 'Apples are りんご 林檎', '  lead Ωμέγα Кириллица',
];

// ---- specs ----
const t5path = 'tokenizers/t5-v1_1-xxl/tokenizer.json';
const pegpath = 'tokenizers/pegasus-legacy-metaspace/tokenizer.json';
const sd3path = 'tokenizers/t5-v1_1-xxl-sd3/tokenizer.json';
const normSpecs = [
  ['bert-uncased', { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true }],
  ['bert-cased', { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false }],
  ['bert-strip-only', { type: 'BertNormalizer', clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false }],
  ['bert-lower-keep-accents', { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: true }],
  ['nfc', { type: 'NFC' }], ['nfd', { type: 'NFD' }], ['nfkc', { type: 'NFKC' }], ['nfkd', { type: 'NFKD' }],
  ['lowercase', { type: 'Lowercase' }], ['strip-accents', { type: 'StripAccents' }],
  ['strip', { type: 'Strip', strip_left: true, strip_right: true }],
  ['strip-left', { type: 'Strip', strip_left: true, strip_right: false }],
  ['strip-right', { type: 'Strip', strip_left: false, strip_right: true }],
  ['replace-string', { type: 'Replace', pattern: { String: '  ' }, content: ' ' }],
  ['replace-string-empty-content', { type: 'Replace', pattern: { String: 'a' }, content: '' }],
  ['replace-regex-spaces', { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' }],
  ['replace-regex-s', { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }],
  ['replace-regex-empty-match', { type: 'Replace', pattern: { Regex: 'x*' }, content: '-' }],
  ['replace-regex-w', { type: 'Replace', pattern: { Regex: '\\w+' }, content: 'W' }],
  ['prepend', { type: 'Prepend', prepend: '▁' }],
  ['nmt', { type: 'Nmt' }], ['bytelevel', { type: 'ByteLevel' }],
  ['seq-nfd-strip-lower', { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] }],
  ['seq-nfkc-prepend-replace', { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }],
  // legacy: no "type", the fields identify the normalizer
  ['typeless-bert', { clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true }],
  ['typeless-strip', { strip_left: true, strip_right: true }],
  ['typeless-sequence', { normalizers: [{ type: 'NFKC' }, { prepend: '▁' }] }],
  ['typeless-replace', { pattern: { String: ' ' }, content: '▁' }],
  // specs tokenizers 0.22 rejects (required fields): finerank must reject them too
  ['bad-bert-missing-fields', { type: 'BertNormalizer', lowercase: false }],
  ['bad-strip-missing-fields', { type: 'Strip' }],
  ['bad-replace-no-content', { type: 'Replace', pattern: { String: 'a' } }],
  ['bad-prepend-missing', { type: 'Prepend' }],
  ['bad-sequence-missing', { type: 'Sequence' }],
  ['t5-normalizer', 'shared:' + t5path + '#normalizer'],
  ['pegasus-normalizer', 'shared:' + pegpath + '#normalizer'],
  ['t5-precompiled', 'shared:' + t5path + '#normalizer.normalizers[0]'],
];
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const behaviors = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
const preSpecs = [
  ['bert', { type: 'BertPreTokenizer' }], ['whitespace', { type: 'Whitespace' }],
  ['whitespace-split', { type: 'WhitespaceSplit' }],
  ['metaspace-always', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }],
  ['metaspace-first', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }],
  ['metaspace-never', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true }],
  ['metaspace-nosplit', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false }],
  ['metaspace-legacy', { type: 'Metaspace', replacement: '▁', add_prefix_space: true }],
  ['metaspace-legacy-false', { type: 'Metaspace', replacement: '▁', add_prefix_space: false }],
  ['metaspace-legacy-false-never', { type: 'Metaspace', replacement: '▁', add_prefix_space: false, prepend_scheme: 'never' }],
  ['metaspace-legacy-true-never', { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'never' }],
  ['metaspace-legacy-false-first', { type: 'Metaspace', replacement: '▁', add_prefix_space: false, prepend_scheme: 'first' }],
  ['metaspace-no-replacement', { type: 'Metaspace', prepend_scheme: 'always' }],
  ['metaspace-underscore', { type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true }],
  ...behaviors.map(b => ['punctuation-' + b, { type: 'Punctuation', behavior: b }]),
  ...behaviors.map(b => ['split-space-' + b, { type: 'Split', pattern: { String: ' ' }, behavior: b, invert: false }]),
  ...behaviors.map(b => ['split-space-inv-' + b, { type: 'Split', pattern: { String: ' ' }, behavior: b, invert: true }]),
  ...behaviors.map(b => ['split-digits-re-' + b, { type: 'Split', pattern: { Regex: '\\d+' }, behavior: b, invert: false }]),
  ['split-gpt2', { type: 'Split', pattern: { Regex: GPT2 }, behavior: 'Isolated', invert: false }],
  ['split-llama3', { type: 'Split', pattern: { Regex: LLAMA3 }, behavior: 'Isolated', invert: false }],
  ['split-qwen2', { type: 'Split', pattern: { Regex: QWEN2 }, behavior: 'Isolated', invert: false }],
  ['split-ws-removed', { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false }],
  ['split-w-inverted', { type: 'Split', pattern: { Regex: '\\w+' }, behavior: 'Removed', invert: true }],
  ['split-empty-matches', { type: 'Split', pattern: { Regex: 'a*' }, behavior: 'Isolated', invert: false }],
  ['digits', { type: 'Digits', individual_digits: false }], ['digits-individual', { type: 'Digits', individual_digits: true }],
  ['bytelevel', { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }],
  ['bytelevel-prefix', { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }],
  ['bytelevel-noregex', { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }],
  ['char-delimiter', { type: 'CharDelimiterSplit', delimiter: '-' }],
  ['unicode-scripts', { type: 'UnicodeScripts' }],
  ['seq-scripts-whitespace', { type: 'Sequence', pretokenizers: [{ type: 'UnicodeScripts' }, { type: 'WhitespaceSplit' }] }],
  ['seq-wsplit-metaspace', { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '▁', add_prefix_space: true }] }],
  ['seq-punct-metaspace-first', { type: 'Sequence', pretokenizers: [{ type: 'Punctuation', behavior: 'Isolated' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }] }],
  ['seq-llama3-bytelevel', { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: LLAMA3 }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] }],
  ['seq-digits-whitespace', { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'Whitespace' }] }],
  ['bad-split-no-invert', { type: 'Split', pattern: { String: ' ' }, behavior: 'Isolated' }],
  ['bad-split-lowercase-behavior', { type: 'Split', pattern: { Regex: '\\s' }, behavior: 'removed', invert: false }],
  ['bad-digits-missing', { type: 'Digits' }],
  ['bad-bytelevel-missing', { type: 'ByteLevel', add_prefix_space: false }],
  ['bad-chardelimiter-missing', { type: 'CharDelimiterSplit' }],
  ['bad-sequence-missing', { type: 'Sequence' }],
  ['punctuation-default', { type: 'Punctuation' }],
  ['metaspace-no-split-field', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first' }],
  ['metaspace-str-rep', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false, str_rep: '▁' }],
  ['t5-pretok', 'shared:' + t5path + '#pre_tokenizer'],
  ['t5-sd3-pretok', 'shared:' + sd3path + '#pre_tokenizer'],
  ['pegasus-pretok', 'shared:' + pegpath + '#pre_tokenizer'],
];

function resolve(spec) {
  if (typeof spec !== 'string') return spec;
  const m = /^shared:([^#]+)#(.*)$/.exec(spec);
  const file = path.join(shared, m[1]);
  if (!fs.existsSync(file)) return undefined;
  let v = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const part of m[2].split('.')) {
    const a = /^(\w+)(?:\[(\d+)\])?$/.exec(part);
    v = v[a[1]];
    if (a[2] !== undefined) v = v[+a[2]];
  }
  return v;
}

function gz(file, lines) {
  fs.writeFileSync(path.join(outDir, file), zlib.gzipSync(lines.map(l => JSON.stringify(l)).join('\n') + '\n', { level: 9 }));
}

// ---- cases ----
const lines = [{ _header: { ...header, shared_files: {} } }];
for (const f of [t5path, pegpath, sd3path]) {
  const p = path.join(shared, f);
  if (fs.existsSync(p)) lines[0]._header.shared_files[f] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}
for (const [kind, specs] of [['normalizer', normSpecs], ['pre_tokenizer', preSpecs]]) {
  for (const [name, spec] of specs) {
    const j = resolve(spec);
    if (j === undefined) { console.error(`skip ${name}: ${spec} absent`); continue; }
    let t;
    try {
      t = kind === 'normalizer' ? tokenizerWith(j, null) : tokenizerWith(null, j);
    } catch (e) {  // the oracle rejects the spec: finerank must reject it too
      lines.push({ kind, name, spec: typeof spec === 'string' ? spec : j, error: e.message });
      continue;
    }
    const obj = kind === 'normalizer' ? t.getNormalizer() : t.getPreTokenizer();
    const cases = texts.map(x => {
      if (kind === 'normalizer') return [x, obj.normalizeString(x)];
      return [x, obj.preTokenizeString(x).map(p => p[0])];
    });
    lines.push({ kind, name, spec: typeof spec === 'string' ? spec : j, cases });
  }
}
gz('cases.jsonl.gz', lines);

// ---- alignments ----
// Every normalizer spec again, this time with a Split pre-tokenizer that isolates each
// normalized character: encode() then gives, per normalized character, its original
// (code point) offsets; the start is HF's alignment, which Metaspace "first" depends on.
const align = [{ _header: { ...header, probe: 'Split [\\s\\S] Isolated + WordLevel; offsets in code points' } }];
(async () => {
  for (const [name, spec] of normSpecs) {
    const j = resolve(spec);
    if (j === undefined) continue;
    let t;
    try {
      t = tk.Tokenizer.fromString(JSON.stringify({
        version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: j,
        pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
        post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' },
      }));
    } catch (e) { continue; }
    const cases = [];
    for (const x of texts) {
      const e = await t.encode(x);
      cases.push([x, e.getOffsets().map(o => o[0])]);
    }
    align.push({ kind: 'normalizer', name, spec: typeof spec === 'string' ? spec : j, cases });
  }
  gz('align.jsonl.gz', align);
  console.error(`align: ${align.length - 1} specs`);
  if (!process.env.NO_SWEEP) sweepAll();
})();

function sweepAll() {
console.error(`cases: ${lines.length - 1} specs x ${texts.length} texts`);

// ---- code point sweep ----
// Normalizers: every code point c alone; the class is "=" when the output is c itself, else
// the output with c written as "X". Pre-tokenizers: the probe "a" + c + "b"; the class is the
// pieces joined by "|", c written as "X". Both record runs [first code point, class]
// whenever the class changes (surrogates are skipped and do not break a run).
const sweepNorm = [
  ['bert-uncased', normSpecs[0][1]], ['bert-cased', normSpecs[1][1]], ['nfc', { type: 'NFC' }],
  ['nfd', { type: 'NFD' }], ['nfkc', { type: 'NFKC' }], ['nfkd', { type: 'NFKD' }],
  ['lowercase', { type: 'Lowercase' }], ['strip-accents', { type: 'StripAccents' }], ['strip', normSpecs[10][1]],
  ['nmt', { type: 'Nmt' }],
  ['t5-precompiled', 'shared:' + t5path + '#normalizer.normalizers[0]'],
];
const sweepPre = [
  ['bert', { type: 'BertPreTokenizer' }], ['whitespace', { type: 'Whitespace' }],
  ['whitespace-split', { type: 'WhitespaceSplit' }], ['punctuation', { type: 'Punctuation', behavior: 'Isolated' }],
  ['digits', { type: 'Digits', individual_digits: true }],
  ['split-gpt2', preSpecs.find(s => s[0] === 'split-gpt2')[1]],
  ['split-llama3', preSpecs.find(s => s[0] === 'split-llama3')[1]],
  ['split-w', { type: 'Split', pattern: { Regex: '\\w+' }, behavior: 'Isolated', invert: false }],
  ['split-s', { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false }],
  ['unicode-scripts', { type: 'UnicodeScripts' }],
];
const sweep = [{ _header: { ...header, probe_pre_tokenizer: 'a + c + b', max_cp: 0x10FFFF } }];
const cps = [];
for (let c = 0; c <= 0x10FFFF; c++) if (c < 0xD800 || c > 0xDFFF) cps.push(c);
for (const [name, spec] of sweepNorm) {
  const j = resolve(spec);
  if (j === undefined) { console.error(`skip sweep ${name}`); continue; }
  const n = tokenizerWith(j, null).getNormalizer();
  const runs = [];
  let last = null;
  for (const c of cps) {
    const s = String.fromCodePoint(c), o = n.normalizeString(s);
    const cls = o === s ? '=' : o.split(s).join('X');
    if (cls !== last) { runs.push([c, cls]); last = cls; }
  }
  sweep.push({ kind: 'normalizer', name, spec: typeof spec === 'string' ? spec : j, runs });
  console.error(`sweep ${name}: ${runs.length} runs`);
}
for (const [name, spec] of sweepPre) {
  const p = tokenizerWith(null, spec).getPreTokenizer();
  const runs = [];
  let last = null;
  for (const c of cps) {
    const s = String.fromCodePoint(c);
    const cls = p.preTokenizeString('a' + s + 'b').map(x => x[0].split(s).join('X')).join('|');
    if (cls !== last) { runs.push([c, cls]); last = cls; }
  }
  sweep.push({ kind: 'pre_tokenizer', name, spec, runs });
  console.error(`sweep ${name}: ${runs.length} runs`);
}
gz('sweep.jsonl.gz', sweep);
}
