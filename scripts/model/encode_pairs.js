// encode_pairs.js IN.json OUT.json — the tokenizer oracle for make_checkpoints.py.
// IN: {"tokenizer": path, "max_length": N, "pairs": [[query, passage], ...]}
// OUT: [{"ids", "types", "q_ids", "p_ids"}, ...] where ids/types are the pair encoding with
// special tokens truncated to max_length with LongestFirst (what sentence-transformers'
// CrossEncoder asks the tokenizer for), and q_ids/p_ids are the query and passage encoded
// alone without special tokens and without truncation (for the long-document windows).
// Run: NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node encode_pairs.js IN OUT
// Oracle: @anush008/tokenizers 0.6.0 = Hugging Face tokenizers (Rust) 0.22.2.
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

async function main() {
  const inp = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const trunc = Tokenizer.fromFile(inp.tokenizer);
  trunc.setTruncation(inp.max_length, { strategy: 'LongestFirst' });
  const plain = Tokenizer.fromFile(inp.tokenizer);
  const out = [];
  for (const [q, p] of inp.pairs) {
    const e = await trunc.encode(q, p);
    const eq = await plain.encode(q, null, { addSpecialTokens: false });
    const ep = await plain.encode(p, null, { addSpecialTokens: false });
    out.push({ ids: e.getIds(), types: e.getTypeIds(), q_ids: eq.getIds(), p_ids: ep.getIds() });
  }
  fs.writeFileSync(process.argv[3], JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
