// bench_ort_embed.js MODEL_ONNX TOKENIZER_JSON PASSAGES_JSONL N THREADS REPS BATCH OUT — ONNX
// Runtime's side of bench/embed/run.sh: the same weights (make_minilm_embed.py's export, mean
// pooling and normalisation inside the graph), passages tokenised by HF tokenizers
// (@anush008/tokenizers, truncation 256) OUTSIDE the timed region, sorted by length and padded
// per batch of BATCH, intra-op threads = THREADS. Prints one JSON line like bench_embed.c and
// writes the embeddings in input order to OUT.
const fs = require('fs');
const ort = require('onnxruntime-node');
const { Tokenizer } = require('@anush008/tokenizers');

async function main() {
  const [model, tokPath, passages, N, threads, reps, batch, out] = process.argv.slice(2);
  const texts = fs.readFileSync(passages, 'utf8').split('\n').filter((l) => l).slice(0, +N)
    .map((l) => JSON.parse(l).text);
  const tok = Tokenizer.fromFile(tokPath);
  tok.setTruncation(256);
  const enc = [];
  for (const t of texts) enc.push((await tok.encode(t)).getIds());
  const order = enc.map((_, i) => i).sort((a, b) => enc[b].length - enc[a].length);
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: +threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const feeds = [];
  for (let s = 0; s < order.length; s += +batch) {
    const idx = order.slice(s, s + +batch), L = enc[idx[0]].length;
    const ids = new BigInt64Array(idx.length * L), mask = new BigInt64Array(idx.length * L),
      types = new BigInt64Array(idx.length * L);
    idx.forEach((d, i) => enc[d].forEach((v, j) => { ids[i * L + j] = BigInt(v); mask[i * L + j] = 1n; }));
    const dims = [idx.length, L];
    feeds.push({ idx, f: { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims),
      token_type_ids: new ort.Tensor('int64', types, dims) } });
  }
  const res = new Array(texts.length);
  let best = 1e30;
  for (let r = 0; r <= +reps; r++) {
    const t0 = process.hrtime.bigint();
    for (const { idx, f } of feeds) {
      const e = (await sess.run(f)).embedding, D = e.dims[1];
      idx.forEach((d, i) => { res[d] = e.data.slice(i * D, (i + 1) * D); });
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r && dt < best) best = dt;
  }
  fs.writeFileSync(out, res.map((v) => Array.from(v).map((x) => x.toPrecision(7)).join(' ')).join('\n') + '\n');
  console.log(JSON.stringify({ engine: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version,
    passages: texts.length, threads: +threads, batch: +batch, best_s: +best.toFixed(4),
    passages_per_s: +(texts.length / best).toFixed(1), peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1) }));
}
main().catch((e) => { console.error(e); process.exit(1); });
