// bench_hf.js — the same corpus through the Hugging Face tokenizers Rust library (npm
// @anush008/tokenizers, crate 0.22.2), single thread (run with RAYON_NUM_THREADS=1
// TOKENIZERS_PARALLELISM=false). Sequential await encode() over all inputs (texts and pairs),
// and one encodeBatch() per pass over the texts without a pair.
// usage: node bench_hf.js SECONDS CORPUS NAME=PATH...   (prints lines like bench_tokenize)
const fs = require("fs"), zlib = require("zlib");
const { Tokenizer } = require("@anush008/tokenizers");
const [secs, corpus, ...toks] = process.argv.slice(2);
const raw = corpus.endsWith(".gz") ? zlib.gunzipSync(fs.readFileSync(corpus)) : fs.readFileSync(corpus);
const inputs = raw.toString("utf8").split("\n").filter((l) => l.length).map((l) => JSON.parse(l));
const now = () => Number(process.hrtime.bigint()) / 1e9;
(async () => {
  for (const spec of toks) {
    const [name, path] = spec.split("=");
    const t = Tokenizer.fromFile(path);
    t.disablePadding();
    // encodeBatch of this binding takes single strings only: it runs on the texts without a pair
    const singles = inputs.filter((x) => x.pair === undefined).map((x) => x.text);
    for (const mode of ["sequential", "batch"]) {
      let tokens = 0, n = 0, errors = 0;
      const pass = async (count) => {
        if (mode === "sequential") {
          for (const x of inputs) {
            try { const e = await t.encode(x.text, x.pair === undefined ? null : x.pair); if (count) tokens += e.getIds().length; }
            catch (err) { errors++; }
          }
        } else {
          try { const es = await t.encodeBatch(singles); if (count) for (const e of es) tokens += e.getIds().length; }
          catch (err) { errors++; }
        }
      };
      await pass(false);
      const t0 = now();
      let dt;
      do { await pass(true); n += mode === "batch" ? singles.length : inputs.length; dt = now() - t0; } while (dt < Number(secs));
      console.log(`${name} ${mode === "batch" ? "hf-batch-singles" : "hf-sequential-all"} inputs=${n} tokens=${tokens} seconds=${dt.toFixed(3)} tokens_per_s=${Math.round(tokens / dt)} errors=${errors}`);
    }
  }
})();
