/* cmd_models.c — `finerank models`: the models in the Hugging Face cache (those fetched by
 * `finerank pull` and by Python tools alike), one line per snapshot with its refs and size. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "finerank.h"

static void human(uint64_t b, char *out, size_t n) {
    const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1000 && u < 4) v /= 1000, u++;
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

int cmd_models(int argc, char **argv) {
    const char *cache = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: finerank models [--cache-dir DIR]\n\n"
                   "Lists the models in the Hugging Face cache ($HF_HUB_CACHE, else "
                   "$HF_HOME/hub,\nelse ~/.cache/huggingface/hub).\n");
            return 0;
        } else if ((v = cli_opt(argc, argv, &i, "--cache-dir"))) {
            cache = v;
        } else {
            cli_usage_error("models: unknown argument '%s'", argv[i]);
        }
    }
    fr_hub_cached *list = NULL;
    size_t n = 0;
    fr_error err = {0};
    if (fr_hub_list_cached(cache, &list, &n, &err) < 0) {
        fprintf(stderr, "finerank models: %s\n", err.msg);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "finerank models: no models cached (finerank pull REPO_ID)\n");
        return 0;
    }
    printf("%-44s %-12s %-12s %6s %10s\n", "REPO", "REVISION", "COMMIT", "FILES", "SIZE");
    for (size_t i = 0; i < n; i++) {
        char size[32];
        human(list[i].bytes, size, sizeof size);
        printf("%-44s %-12s %-12.12s %6zu %10s\n", list[i].repo_id,
               list[i].refs[0] ? list[i].refs : "-", list[i].commit, list[i].n_files, size);
    }
    fr_hub_cached_free(list, n);
    return 0;
}
