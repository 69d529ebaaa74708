// langchain.js BASE_URL — LangChain JS's CohereRerank (npm @langchain/cohere, which drives its
// own pinned cohere-ai 7.x client) against finerank: rerank() and compressDocuments().
const { CohereRerank } = require("@langchain/cohere");
const { CohereClient } = require("cohere-ai");
const base = process.argv[2];
let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) passed++; else { failed++; console.error("FAIL langchain: " + what); }
}
(async () => {
  try {
    // LangChain accepts a ready client; point it at finerank.
    const client = new CohereClient({ token: "unused", environment: base });
    const rr = new CohereRerank({ client, model: "rerank-v3.5", topN: 2 });
    const texts = ["Paris is the capital of France.", "Bananas are yellow.", "France's capital city is Paris."];
    const out = await rr.rerank(texts, "What is the capital of France?");
    check(Array.isArray(out) && out.length === 2, "rerank returns topN documents (" + (out && out.length) + ")");
    check(out[0].index === 0 || out[0].index === 2 || out[0].index === 1, "rerank index in range");
    check(out.every((x) => Number.isInteger(x.index) && typeof x.relevanceScore === "number"), "rerank fields");
    const docs = texts.map((t, i) => ({ pageContent: t, metadata: { i } }));
    const comp = await rr.compressDocuments(docs, "What is the capital of France?");
    check(comp.length === 2, "compressDocuments keeps topN");
    check(comp.every((d) => typeof d.metadata.relevanceScore === "number"), "compressDocuments metadata.relevanceScore");
    check(comp[0].metadata.relevanceScore >= comp[1].metadata.relevanceScore, "best first");
  } catch (e) {
    failed++;
    console.error("FAIL langchain: exception " + (e && e.stack || e));
  }
  console.log(`compat_langchain: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
