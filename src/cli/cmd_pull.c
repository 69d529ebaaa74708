/* cmd_pull.c — `finerank pull REPO_ID [--revision REV] [--include PATTERN]...`: downloads a
 * model from the Hugging Face hub into the shared cache (src/hub/) and prints the snapshot
 * folder. A progress bar on stderr when it is a terminal, nothing but errors otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "finerank.h"

typedef struct bar {
    char file[64];
    double last;     // monotonic seconds of the last redraw
    int done_drawn;
} bar;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void draw(void *ud, const char *file, uint64_t done, uint64_t total) {
    bar *b = ud;
    double t = now();
    int fin = total && done >= total;
    if (strncmp(b->file, file, sizeof b->file - 1)) {  // a new file
        snprintf(b->file, sizeof b->file, "%s", file);
        b->done_drawn = 0;
    } else if (!fin && t - b->last < 0.1) {
        return;
    }
    if (b->done_drawn) return;
    b->last = t;
    int width = 30, fill = total ? (int)((double)done / (double)total * width) : 0;
    char cells[31];
    for (int i = 0; i < width; i++) cells[i] = i < fill ? '#' : '.';
    cells[width] = 0;
    if (total)
        fprintf(stderr, "\r%-34.34s [%s] %3d%% %8.1f / %.1f MB", file, cells,
                (int)(100.0 * (double)done / (double)total), done / 1e6, total / 1e6);
    else
        fprintf(stderr, "\r%-34.34s %8.1f MB", file, done / 1e6);
    if (fin) {
        fprintf(stderr, "\n");
        b->done_drawn = 1;
    }
    fflush(stderr);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: finerank pull REPO_ID [--revision REV] [--include PATTERN]...\n\n"
            "Downloads a model from the Hugging Face hub into its cache (shared with Python\n"
            "tools) and prints the snapshot folder. REPO_ID is ORG/NAME or an alias:\n"
            "  bge-reranker-base, bge-reranker-large, bge-reranker-v2-m3, bce-reranker-base_v1,\n"
            "  ms-marco-MiniLM-L-6-v2, ms-marco-TinyBERT-L-2-v2, mmarco-mMiniLMv2\n"
            "Environment: HF_TOKEN (gated models), HF_ENDPOINT, HF_HOME / HF_HUB_CACHE,\n"
            "HF_HUB_OFFLINE=1 (use the cache only).\n");
}

int cmd_pull(int argc, char **argv) {
    const char *repo = NULL;
    fr_hub_opts o = fr_hub_opts_default();
    const char **inc = calloc((size_t)argc, sizeof *inc);
    if (!inc) return 1;
    size_t n_inc = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            free(inc);
            return 0;
        } else if ((v = cli_opt(argc, argv, &i, "--revision"))) {
            o.revision = v;
        } else if ((v = cli_opt(argc, argv, &i, "--include"))) {
            inc[n_inc++] = v;
        } else if (argv[i][0] == '-') {
            cli_usage_error("pull: unknown option '%s'", argv[i]);
        } else if (!repo) {
            repo = argv[i];
        } else {
            cli_usage_error("pull: one REPO_ID at a time ('%s' is extra)", argv[i]);
        }
    }
    if (!repo) {
        usage(stderr);
        free(inc);
        return 2;
    }
    o.include = inc;
    o.n_include = n_inc;
    bar b = {{0}, 0, 0};
    if (isatty(2)) {
        o.progress = draw;
        o.progress_ud = &b;
    }
    char *dir = NULL;
    fr_error err = {0};
    int rc = fr_hub_pull(repo, &o, &dir, &err);
    free(inc);
    if (rc < 0) {
        if (o.progress && b.file[0] && !b.done_drawn) fprintf(stderr, "\n");
        fprintf(stderr, "finerank pull: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", dir);
    free(dir);
    return 0;
}
