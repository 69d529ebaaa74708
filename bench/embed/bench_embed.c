/* bench_embed.c MODEL_DIR PASSAGES_JSONL N THREADS REPS OUT [DTYPE=f32] — finerank's side of
 * bench/embed/run.sh: embeds the first N passages ("text" of each JSON line) in one
 * fr_embedder_embed call (tokenisation included), best of REPS after a warm-up, and writes the
 * embeddings (one line of floats each) to OUT for the agreement check. DTYPE: the dense layers'
 * compute type (f32, bf16, int8: fr_embedder_opts.dtype). Prints one JSON line.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "finerank.h"
#include "../bench.h"


int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: bench_embed MODEL PASSAGES N THREADS REPS OUT [DTYPE]\n"); return 2; }
    fr_dtype dt = FR_DTYPE_F32;
    if (argc > 7 && fr_dtype_parse(argv[7], &dt) < 0) { fprintf(stderr, "bench_embed: dtype %s?\n", argv[7]); return 2; }
    size_t N = strtoull(argv[3], 0, 10);
    int T = atoi(argv[4]), R = atoi(argv[5]);
    FILE *f = fopen(argv[2], "r");
    char **texts = calloc(N, sizeof *texts), *line = NULL;
    size_t cap = 0, n = 0;
    while (n < N && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        texts[n++] = strdup(json_string_value(json_object_get(o, "text")));
        json_decref(o);
    }
    fclose(f);
    fr_error err;
    fr_embedder *e;
    fr_embedder_opts oo = fr_embedder_opts_default();
    oo.threads = T;
    oo.dtype = dt;
    if (fr_embedder_open(argv[1], &oo, &e, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    int D = fr_embedder_dim(e);
    float *v = malloc(n * (size_t)D * sizeof *v);
    double best = 1e30;
    for (int r = 0; r <= R; r++) {
        double t0 = now();
        if (fr_embedder_embed(e, (const char *const *)texts, n, NULL, v, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double dt = now() - t0;
        if (r && dt < best) best = dt;
    }
    FILE *o = fopen(argv[6], "w");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < D; k++) fprintf(o, "%.7g%c", v[i * D + k], k + 1 < D ? ' ' : '\n');
    fclose(o);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"engine\": \"finerank %s\", \"passages\": %zu, \"threads\": %d, \"best_s\": %.4f, "
           "\"passages_per_s\": %.1f, \"peak_rss_mb\": %.1f}\n", fr_dtype_name(dt), n, T, best, n / best,
           ru.ru_maxrss / 1024.0);
    return 0;
}
