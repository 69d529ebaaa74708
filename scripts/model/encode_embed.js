// encode_embed.js IN.json OUT.json — the tokenizer oracle for make_embed_checkpoints.py.
// IN: {"tokenizer": path, "max_length": N, "texts": [text, ...]}
// OUT: [[ids...], ...]: each text encoded alone with special tokens, truncated to max_length
// (what sentence-transformers' Transformer module asks the tokenizer for: truncation
// "longest_first", max_length = max_seq_length).
// Run: NODE_PATH=$HOME/.cache/finerank-oracles/node_modules node encode_embed.js IN OUT
// Oracle: @anush008/tokenizers 0.6.0 = Hugging Face tokenizers (Rust) 0.22.2.
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

async function main() {
  const inp = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const tok = Tokenizer.fromFile(inp.tokenizer);
  tok.setTruncation(inp.max_length, { strategy: 'LongestFirst' });
  const out = [];
  for (const t of inp.texts) out.push((await tok.encode(t)).getIds());
  fs.writeFileSync(process.argv[3], JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
