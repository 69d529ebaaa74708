/* fuzz_http_request.c — the HTTP server's request parser (src/serve/request.c) on untrusted
 * bodies: the first byte picks the dialect (Cohere v1, Cohere v2, Jina, TEI), the rest is the
 * body. Every call must return 0 or an HTTP error (status 400..599 with a message whose JSON
 * form is valid), never crash; on success the parsed request must be self-consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fr__dialect d = (fr__dialect)(data[0] % 4);
    fr__limits lim = {.max_documents = 1000, .max_json_depth = 32, .max_query_bytes = 4096};
    fr_pipeline_config base = fr_pipeline_config_default();
    fr__rr_req r;
    fr__http_err e = {0};
    if (fr__rr_parse(d, (const char *)data + 1, size - 1, &lim, &base, &r, &e) < 0) {
        if (e.status < 400 || e.status > 599) abort();
        char *j = fr__http_err_json(&e);
        if (!j) abort();  // messages quote only validated UTF-8
        free(j);
        return 0;
    }
    if (!r.query || !r.query_len || !r.n_docs || r.n_docs > lim.max_documents) abort();
    if (r.top_n < 1 || r.top_n > r.n_docs) abort();
    if (r.max_chunks < 0 || (r.max_chunks && r.long_docs == FR_LONG_TRUNCATE &&
                             !json_object_get(r.root, "long_docs")))
        abort();  // max_chunks_per_doc implies windows unless long_docs says otherwise
    if (r.truncate_left && r.dialect != FR__DIALECT_TEI) abort();
    size_t total = 0;
    for (size_t i = 0; i < r.n_docs; i++) {
        if (!r.docs[i].text) abort();
        total += r.docs[i].len;
    }
    (void)total;
    fr__rr_free(&r);
    return 0;
}
