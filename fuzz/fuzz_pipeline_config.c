/* fuzz_pipeline_config.c — the pipeline's parsers on untrusted input: the first byte picks
 * the parser (config JSON, freshness spec, authority spec, combine spec, ISO 8601 date,
 * synonyms file), the rest is its input. Every call must return 0 or an error, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finerank.h"
#include "rank/synonyms.h"

static int analyze(void *ctx, const char *text, size_t len, fr_terms *out, fr_error *err) {
    return fr_analyze_terms((fr_analyzer *)ctx, text, (ptrdiff_t)len, out, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int sel = data[0] % 6;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char *s = malloc(n + 1);  // NUL-terminated copy for the string parsers
    if (!s) return 0;
    memcpy(s, in, n);
    s[n] = 0;
    fr_error err;
    fr_pipeline_config c = fr_pipeline_config_default();
    switch (sel) {
    case 0:
        if (fr_pipeline_config_apply_json(&c, in, n, "fuzz", &err) == 0) {
            char *j = fr_pipeline_config_to_json(&c);
            free(j);
        }
        break;
    case 1: {
        fr_freshness f;
        if (fr_freshness_parse(s, &f, &err) == 0) {
            char b[512];
            fr_freshness_format(&f, b, sizeof b);
            (void)fr_freshness_weight(&f, 1, 0, 1700000000000LL);
        }
        break;
    }
    case 2: {
        fr_authority a;
        if (fr_authority_parse(s, &a, &err) == 0) (void)fr_authority_weight(&a, "x", 1, 0.5);
        break;
    }
    case 3: {
        fr_combine cb;
        (void)fr_combine_parse(s, &cb, &err);
        break;
    }
    case 4: {
        int64_t ms;
        (void)fr_date_parse(in, n, "date", &ms, &err);
        (void)fr_duration_parse(in, n, "dur", &ms, &err);
        break;
    }
    case 5: {
        fr_analyzer *an = NULL;
        if (fr_analyzer_new("english", NULL, &an, &err) == 0) {
            fr__synonyms *syn = NULL;
            if (fr__synonyms_parse(in, n, "syn", analyze, an, &syn, &err) == 0) {
                fr_terms q = {0};
                fr_analyze_terms(an, "heating of the phone", -1, &q, &err);
                fr__synonyms_expand(syn, &q, 0.5f, NULL);
                fr_terms_free(&q);
            }
            fr__synonyms_free(syn);
            fr_analyzer_free(an);
        }
        break;
    }
    }
    free(s);
    return 0;
}
