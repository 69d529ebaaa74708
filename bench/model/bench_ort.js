// bench_ort.js MODEL_ONNX PAIRS_JSON THREADS REPS BATCH LOGITS_OUT — ONNX Runtime's side of
// bench/model/run.sh: the same weights (make_minilm.py's torch.onnx export), the same pairs,
// batches of BATCH pairs (all pairs of a file have one length, so there is no padding),
// intra-op threads = THREADS. Prints one JSON line like bench_model.c.
// Run: NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node bench_ort.js ...
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, pairsPath, threads, reps, batch, out] = process.argv.slice(2);
  const pairs = JSON.parse(fs.readFileSync(pairsPath, 'utf8'));
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: +threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const B = +batch;
  const feeds = [];
  for (let s = 0; s < pairs.length; s += B) {
    const chunk = pairs.slice(s, s + B), L = chunk[0].ids.length;
    const ids = new BigInt64Array(chunk.length * L), mask = new BigInt64Array(chunk.length * L).fill(1n),
      types = new BigInt64Array(chunk.length * L);
    chunk.forEach((p, i) => p.ids.forEach((v, j) => { ids[i * L + j] = BigInt(v); types[i * L + j] = BigInt(p.types[j]); }));
    const dims = [chunk.length, L];
    feeds.push({ input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims),
      token_type_ids: new ort.Tensor('int64', types, dims) });
  }
  let logits = [];
  for (const f of feeds) logits.push(...(await sess.run(f)).logits.data);  // warm up
  let best = 1e30;
  for (let r = 0; r < +reps; r++) {
    const t0 = process.hrtime.bigint();
    logits = [];
    for (const f of feeds) logits.push(...(await sess.run(f)).logits.data);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (dt < best) best = dt;
  }
  fs.writeFileSync(out, logits.map((x) => x.toPrecision(7)).join('\n') + '\n');
  console.log(JSON.stringify({ engine: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version,
    seq_len: pairs[0].ids.length, pairs: pairs.length, threads: +threads, batch: B, best_s: +best.toFixed(4),
    pairs_per_s: +(pairs.length / best).toFixed(1), peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1) }));
}
main().catch((e) => { console.error(e); process.exit(1); });
