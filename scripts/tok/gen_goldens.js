#!/usr/bin/env node
// Generate tokenizer conformance goldens from the Hugging Face tokenizers oracle.
//
// Oracle: npm @anush008/tokenizers@0.6.0 (Node binding of the HF tokenizers Rust
// crate 0.22.2), installed outside the repo:
//
//   NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node scripts/tok/gen_goldens.js
//
// Options: --only NAME[,NAME]  regenerate only these goldens (tokenizers.json is
//          always rewritten from the full list).
//
// Inputs:  tests/data/tok/corpus.jsonl.gz (scripts/tok/gen_corpus.py),
//          ../shared/tokenizers/<dir>/tokenizer.json (read, never copied),
//          tests/data/tok/<name>/tokenizer.json (built by scripts/tok/make_*.py|js).
// Outputs: tests/data/tok/tokenizers.json and tests/data/tok/<name>.golden.gz in
//          the format of TOK_GOLDEN_FORMAT.md (see tests/data/tok/README.md):
//          line 1 a header, then one case per line:
//          {"i": corpus line, "trunc": null | {"max_length", "strategy", "direction"?},
//          "ids", "type_ids"} ("direction": "left" only on the Left cases)
//          or {"i", "trunc", "error": "<oracle message>"} when the oracle throws.
// Cases:   every corpus line with trunc null (no setTruncation call: the file's own
//          "truncation" block applies); every pair also with longest_first 64,
//          only_first 64, only_second 64 and longest_first 512, and with direction Left
//          longest_first 64 and only_second 64; every single whose corpus line is a
//          multiple of 10 also with longest_first 16 (Right and Left). Padding is
//          always disabled, add_special_tokens = true.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { Tokenizer } = require('@anush008/tokenizers');

const ROOT = path.resolve(__dirname, '..', '..');
const DATA = path.join(ROOT, 'tests', 'data', 'tok');
const SHARED = process.env.FR_SHARED || path.resolve(ROOT, '..', '..', 'shared');
const GENERATOR = 'scripts/tok/gen_goldens.js';

// The real files in ../shared/tokenizers (never committed).
const SHARED_TOKENIZERS = ['bert-base-uncased', 'bert-base-chinese', 'roberta-base',
  't5-v1_1-xxl', 't5-v1_1-xxl-sd3', 'pegasus-legacy-metaspace'];

const STRATEGY = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };
const PAIR_TRUNCS = [['longest_first', 64], ['only_first', 64], ['only_second', 64], ['longest_first', 512],
  ['longest_first', 64, 'left'], ['only_second', 64, 'left']];
const SINGLE_TRUNCS = [['longest_first', 16], ['longest_first', 16, 'left']];

function oracleVersion() {
  const pkgDir = path.dirname(require.resolve('@anush008/tokenizers/package.json'));
  const v = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  return `@anush008/tokenizers@${v} (tokenizers 0.22.2)`;
}

function sha256(buf) { return crypto.createHash('sha256').update(buf).digest('hex'); }

function listTokenizers() {
  const list = SHARED_TOKENIZERS.map((d) => ({ name: d, path: `shared:tokenizers/${d}/tokenizer.json` }));
  const own = fs.readdirSync(DATA, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'textpipe' &&
      fs.existsSync(path.join(DATA, e.name, 'tokenizer.json')))
    .map((e) => e.name).sort();
  for (const d of own) list.push({ name: d, path: `tests/data/tok/${d}/tokenizer.json` });
  return list;
}

function resolvePath(p) {
  return p.startsWith('shared:') ? path.join(SHARED, p.slice('shared:'.length)) : path.join(ROOT, p);
}

function loadCorpus() {
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(DATA, 'corpus.jsonl.gz')));
  const lines = raw.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return { sha: sha256(raw), rows: lines.map((l) => JSON.parse(l)) };
}

// One tokenizer instance per truncation setting, so concurrent encodes never
// observe another setting.
function makeInstance(file, trunc) {
  const tk = Tokenizer.fromFile(file);
  tk.disablePadding();
  if (trunc) {
    const opts = { strategy: STRATEGY[trunc.strategy] };
    if (trunc.direction) opts.direction = trunc.direction;  // the binding's 'left' | 'right'
    tk.setTruncation(trunc.max_length, opts);
  }
  return tk;
}

async function encodeCase(tk, row) {
  try {
    const enc = row.pair !== undefined ? await tk.encode(row.text, row.pair) : await tk.encode(row.text);
    return { ids: enc.getIds(), type_ids: enc.getTypeIds() };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

async function genOne(entry, corpus, oracle) {
  const file = resolvePath(entry.path);
  const bytes = fs.readFileSync(file);
  const header = { _header: { generator: GENERATOR, oracle, node: process.version,
    tokenizer: entry.path, tokenizer_sha256: sha256(bytes), corpus_sha256: corpus.sha } };
  const cases = [];
  corpus.rows.forEach((row, i) => {
    cases.push({ i, trunc: null, row });
    const extra = row.pair !== undefined ? PAIR_TRUNCS : (i % 10 === 0 ? SINGLE_TRUNCS : []);
    for (const [strategy, max_length, direction] of extra) {
      cases.push({ i, trunc: direction ? { max_length, strategy, direction } : { max_length, strategy }, row });
    }
  });
  const instances = new Map();
  const inst = (trunc) => {
    const key = trunc ? `${trunc.strategy}/${trunc.max_length}/${trunc.direction || 'right'}` : 'null';
    if (!instances.has(key)) instances.set(key, makeInstance(file, trunc));
    return instances.get(key);
  };
  const out = [JSON.stringify(header)];
  let errors = 0;
  const BATCH = 256;
  for (let b = 0; b < cases.length; b += BATCH) {
    const chunk = cases.slice(b, b + BATCH);
    const res = await Promise.all(chunk.map((c) => encodeCase(inst(c.trunc), c.row)));
    chunk.forEach((c, k) => {
      const r = res[k];
      if (r.error !== undefined) errors++;
      out.push(JSON.stringify(r.error !== undefined ? { i: c.i, trunc: c.trunc, error: r.error }
        : { i: c.i, trunc: c.trunc, ids: r.ids, type_ids: r.type_ids }));
    });
  }
  const gz = zlib.gzipSync(Buffer.from(out.join('\n') + '\n', 'utf8'), { level: 9 });
  const dst = path.join(DATA, `${entry.name}.golden.gz`);
  fs.writeFileSync(dst, gz);
  console.log(`${entry.name}: ${cases.length} cases (${errors} oracle errors), ${gz.length} bytes -> ${path.relative(ROOT, dst)}`);
}

async function main() {
  const argv = process.argv.slice(2);
  const oi = argv.indexOf('--only');
  const only = oi >= 0 ? new Set(argv[oi + 1].split(',')) : null;
  const oracle = oracleVersion();
  const corpus = loadCorpus();
  const list = listTokenizers();
  fs.writeFileSync(path.join(DATA, 'tokenizers.json'),
    '[\n' + list.map((e) => '  ' + JSON.stringify(e)).join(',\n') + '\n]\n');
  for (const entry of list) {
    if (only && !only.has(entry.name)) continue;
    if (!fs.existsSync(resolvePath(entry.path))) {
      console.error(`${entry.name}: ${resolvePath(entry.path)} missing, skipped`);
      continue;
    }
    await genOne(entry, corpus, oracle);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
