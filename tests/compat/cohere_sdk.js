// cohere_sdk.js BASE_URL — the real Cohere TypeScript SDK (npm cohere-ai) against finerank:
// v1 rerank with string and object documents, return_documents and top_n; v2 rerank. The SDK
// validates and parses the responses with its own schemas; we check what it hands back.
const { CohereClient, CohereClientV2 } = require("cohere-ai");
const base = process.argv[2];
let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) passed++; else { failed++; console.error("FAIL cohere-ai: " + what); }
}
(async () => {
  const docs = ["Carson City is the capital city of the American state of Nevada.",
                "Washington, D.C. is the capital of the United States.",
                "Capital punishment has existed in the United States."];
  try {
    const v1 = new CohereClient({ token: "unused", environment: base });
    const r = await v1.rerank({ model: "rerank-v3.5", query: "What is the capital of the United States?",
                                documents: docs, topN: 2, returnDocuments: true });
    check(typeof r.id === "string", "v1 id");
    check(Array.isArray(r.results) && r.results.length === 2, "v1 results length 2");
    for (const x of r.results) {
      check(Number.isInteger(x.index) && x.index >= 0 && x.index < docs.length, "v1 index");
      check(typeof x.relevanceScore === "number" && x.relevanceScore >= 0 && x.relevanceScore <= 1, "v1 relevanceScore");
      check(x.document && x.document.text === docs[x.index], "v1 document.text");
    }
    check(r.results[0].relevanceScore >= r.results[1].relevanceScore, "v1 best first");
    check(r.meta && r.meta.apiVersion && r.meta.apiVersion.version === "1", "v1 meta.apiVersion");
    check(r.meta.billedUnits && r.meta.billedUnits.searchUnits === 1, "v1 meta.billedUnits");
    const r2 = await v1.rerank({ query: "capital", documents: docs.map((t) => ({ text: t })) });
    check(r2.results.length === 3 && r2.results.every((x) => x.document === undefined), "v1 objects, no documents by default");

    const v2 = new CohereClientV2({ token: "unused", environment: base });
    const r3 = await v2.rerank({ model: "rerank-v3.5", query: "capital of the United States", documents: docs, topN: 3 });
    check(r3.results.length === 3, "v2 results");
    check(r3.results.every((x, i) => i === 0 || x.relevanceScore <= r3.results[i - 1].relevanceScore), "v2 sorted");
    check(r3.meta.apiVersion.version === "2", "v2 api version");
    // errors surface as the SDK's typed errors with the status code
    let status = 0;
    try { await v2.rerank({ model: "m", query: "", documents: docs }); } catch (e) { status = e.statusCode; }
    check(status === 422, "v2 empty query → 422 (got " + status + ")");
  } catch (e) {
    failed++;
    console.error("FAIL cohere-ai: exception " + (e && e.stack || e));
  }
  console.log(`compat_cohere_sdk: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
