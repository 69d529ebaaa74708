/* cmd_index.c — `finerank index build|add|delete|optimize|stats`: builds and maintains a BM25
 * index directory (src/index). Only this file prints; the library reports errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "finerank.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: finerank index build --corpus FILE --index DIR [--lang L] [--k1 X --b Y]\n"
            "                            [--title-weight N] [--on-error skip|fail] [--mem-mb N]\n"
            "                            [--optimize] [--no-sync] [--threads N]\n"
            "                            [--embed-model M [--vec f32|int8|int8-rescore|int8-refine]\n"
            "                             [--query-prompt TEXT] [--doc-prompt TEXT]]\n"
            "                            [--ann ivf|none [--ivf-lists N]]\n"
            "       finerank index add --index DIR --corpus FILE [--on-error skip|fail] [--threads N]\n"
            "       finerank index delete --index DIR --id ID [--id ID ...]\n"
            "       finerank index optimize --index DIR [--threads N]\n"
            "       finerank index stats --index DIR [--json]\n"
            "Documents are JSON lines: id (or _id), text, optional title, date (ISO 8601),\n"
            "source, authority, lang, meta (or metadata). A document whose id exists replaces it.\n"
            "--embed-model records a bi-encoder (directory, repo id or alias) in a new index: every\n"
            "segment then stores its documents' embeddings (title + \" \" + text, with the model's\n"
            "passage prompt), computed at build/add, for search --retriever dense|hybrid.\n"
            "--vec int8 stores them 4x smaller; int8-rescore scans int8 and rescores with F32;\n"
            "int8-refine scans int8 and rescores with 2 more bits per element (1.25x int8).\n"
            "--ann ivf gives every segment of >= 50,000 vectors an approximate index (IVF: k-means\n"
            "lists, N per segment, default ~sqrt(rows)), kept by later add/optimize/embed; search\n"
            "--nprobe N picks how many lists a query scans (exact: all rows). --ann none stops\n"
            "building them (existing ones are used until their segments are merged).\n"
            "--threads (default: online CPUs): build/add parse and index byte ranges of the corpus\n"
            "in parallel; optimize writes documents and postings on two threads. The index bytes\n"
            "do not depend on it.\n");
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(fr_index *ix, const fr_error *err) {
    fprintf(stderr, "finerank index: %s\n", err->msg);
    fr_index_close(ix);
    return 1;
}

static int print_stats(fr_index *ix, int json) {
    fr_index_stats st;
    fr_index_embedding em;
    fr_error err = {0};
    if (fr_index_stats_get(ix, &st, &err) < 0) return fail(ix, &err);
    int has_emb = fr_index_embedding_get(ix, &em, &err) == 0;
    if (json)
        printf("{\"docs\":%llu,\"live\":%llu,\"segments\":%llu,\"terms\":%llu,\"bytes\":%llu,"
               "\"avg_dl\":%.4f,\"avg_title_len\":%.4f,\"avg_text_len\":%.4f,\"k1\":%g,\"b\":%g,"
               "\"title_weight\":%d,\"lang\":\"%s\",\"generation\":%llu",
               (unsigned long long)st.n_docs, (unsigned long long)st.n_live,
               (unsigned long long)st.n_segments, (unsigned long long)st.n_terms,
               (unsigned long long)st.bytes, st.avg_dl, st.avg_title_len, st.avg_text_len, st.k1,
               st.b, st.title_weight, st.lang, (unsigned long long)st.generation);
    if (json && has_emb) {
        json_t *m = json_string(em.model);
        char *ms = json_dumps(m, JSON_ENCODE_ANY);
        printf(",\"embedding\":{\"model\":%s,\"dim\":%d,\"vec\":\"%s\",\"vectors\":%llu,"
               "\"missing\":%llu,\"ann\":\"%s\",\"ivf_lists\":%d,\"ivf_vectors\":%llu}",
               ms ? ms : "null", em.dim, fr_vec_type_name(em.type), (unsigned long long)em.n_vectors,
               (unsigned long long)em.n_missing, em.ann == FR_ANN_IVF ? "ivf" : "none", em.ivf_lists,
               (unsigned long long)em.n_ivf);
        free(ms);
        json_decref(m);
    }
    if (json) printf("}\n");
    else
        printf("documents   %llu (%llu live)\nsegments    %llu\nterms       %llu (summed over "
               "segments)\nbytes       %llu (%.1f per document)\navg length  %.2f (BM25F), title "
               "%.2f, text %.2f\nBM25        k1=%g b=%g title_weight=%d lang=%s\ngeneration  %llu\n",
               (unsigned long long)st.n_docs, (unsigned long long)st.n_live,
               (unsigned long long)st.n_segments, (unsigned long long)st.n_terms,
               (unsigned long long)st.bytes, st.n_docs ? (double)st.bytes / (double)st.n_docs : 0,
               st.avg_dl, st.avg_title_len, st.avg_text_len, st.k1, st.b, st.title_weight,
               st.lang, (unsigned long long)st.generation);
    if (!json && has_emb)
        printf("embedding   %s, %d dims, %s, %llu vectors%s\n", em.model, em.dim, fr_vec_type_name(em.type),
               (unsigned long long)em.n_vectors, em.n_missing ? " (some segments lack vectors: "
               "finerank embed --index backfills)" : "");
    if (!json && has_emb && em.ann == FR_ANN_IVF) {
        char lists[32] = "automatic";
        if (em.ivf_lists) snprintf(lists, sizeof lists, "%d", em.ivf_lists);
        printf("ann         ivf, %s lists per segment, %llu vectors indexed (the rest scanned exactly)\n",
               lists, (unsigned long long)em.n_ivf);
    }
    return 0;
}

int cmd_index(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    const char *corpus = NULL, *dir = NULL;
    const char *ids[256];
    int n_ids = 0, json = 0, optimize = 0, vec_given = 0, ann_off = 0;
    fr_index_opts o = fr_index_opts_default();
    o.threads = 0;  // online CPUs; the index content does not depend on it
    fr_on_error on_error = FR_ON_ERROR_FAIL;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if ((v = cli_opt(argc, argv, &i, "--corpus"))) corpus = v;
        else if ((v = cli_opt(argc, argv, &i, "--index"))) dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--lang"))) o.lang = v;
        else if ((v = cli_opt(argc, argv, &i, "--k1"))) o.k1 = cli_parse_double("--k1", v);
        else if ((v = cli_opt(argc, argv, &i, "--b"))) o.b = cli_parse_double("--b", v);
        else if ((v = cli_opt(argc, argv, &i, "--title-weight")))
            o.title_weight = (int)cli_parse_long("--title-weight", v, 0, 16);
        else if ((v = cli_opt(argc, argv, &i, "--mem-mb")))
            o.mem_budget = (size_t)cli_parse_long("--mem-mb", v, 1, 1 << 20) << 20;
        else if ((v = cli_opt(argc, argv, &i, "--threads")))
            o.threads = (int)cli_parse_long("--threads", v, 1, 64);
        else if ((v = cli_opt(argc, argv, &i, "--on-error"))) {
            if (!strcmp(v, "skip")) on_error = FR_ON_ERROR_SKIP;
            else if (!strcmp(v, "fail")) on_error = FR_ON_ERROR_FAIL;
            else cli_usage_error("--on-error: expected skip or fail, got '%s'", v);
        } else if ((v = cli_opt(argc, argv, &i, "--id"))) {
            if (n_ids == 256) cli_usage_error("at most 256 --id per call");
            ids[n_ids++] = v;
        } else if ((v = cli_opt(argc, argv, &i, "--embed-model"))) o.embed_model = v;
        else if ((v = cli_opt(argc, argv, &i, "--vec"))) o.vec_type = cli_parse_vec_type(v), vec_given = 1;
        else if ((v = cli_opt(argc, argv, &i, "--query-prompt"))) o.query_prompt = v;
        else if ((v = cli_opt(argc, argv, &i, "--doc-prompt"))) o.doc_prompt = v;
        else if ((v = cli_opt(argc, argv, &i, "--ann"))) {
            if (!strcmp(v, "ivf")) o.ann = FR_ANN_IVF;
            else if (!strcmp(v, "none")) ann_off = 1;
            else cli_usage_error("--ann: expected ivf or none, got '%s'", v);
        } else if ((v = cli_opt(argc, argv, &i, "--ivf-lists")))
            o.ivf_lists = (int)cli_parse_long("--ivf-lists", v, 2, 65536);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--optimize")) optimize = 1;
        else if (!strcmp(argv[i], "--no-sync")) o.sync = 0;
        else if (!strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        else cli_usage_error("index %s: unknown option '%s'", sub, argv[i]);
    }
    if (!dir) cli_usage_error("index %s: --index DIR is required", sub);
    fr_error err = {0};
    fr_index *ix = NULL;
    if (!strcmp(sub, "stats")) {
        if (fr_index_open(dir, &o, &ix, &err) < 0) return fail(NULL, &err);
        int rc = print_stats(ix, json);
        fr_index_close(ix);
        return rc;
    }
    int is_build = !strcmp(sub, "build"), is_add = !strcmp(sub, "add");
    if (!is_build && !is_add && strcmp(sub, "delete") && strcmp(sub, "optimize"))
        cli_usage_error("index: unknown subcommand '%s'", sub);
    if ((is_build || is_add) && !corpus) cli_usage_error("index %s: --corpus FILE is required", sub);
    if (!strcmp(sub, "delete") && !n_ids) cli_usage_error("index delete: --id ID is required");
    if (o.ivf_lists && o.ann != FR_ANN_IVF) cli_usage_error("index %s: --ivf-lists needs --ann ivf", sub);
    if (fr_index_build(dir, &o, &ix, &err) < 0) return fail(NULL, &err);
    if (ann_off && fr_index_set_ann(ix, FR_ANN_NONE, 0, &err) < 0) return fail(ix, &err);
    fr_index_embedding em;
    if (vec_given && fr_index_embedding_get(ix, &em, &err) == 0 && em.type != o.vec_type) {
        // The stored type is fixed when the model is recorded; silently keeping it would
        // leave the user believing the new one is in effect.
        const char *want = fr_vec_type_name(o.vec_type);
        fprintf(stderr, "finerank index: %s stores %s vectors, not %s; change the type with "
                "finerank embed --model %s --index %s --vec %s\n", dir, fr_vec_type_name(em.type),
                want, em.model, dir, want);
        fr_index_close(ix);
        return 1;
    }
    double t0 = now();
    if (is_build || is_add) {
        size_t added = 0, skipped = 0;
        int rc = fr_index_add_jsonl(ix, corpus, on_error, &added, &skipped, &err);
        if (rc < 0) {
            fr_error e2;
            fr_index_rollback(ix, &e2);
            fprintf(stderr, "finerank index: %s\nnothing was committed\n", err.msg);
            fr_index_close(ix);
            return 1;
        }
        if (skipped) fprintf(stderr, "finerank index: skipped %zu bad lines; first: %s\n", skipped, err.msg);
        if (fr_index_commit(ix, &err) < 0) return fail(ix, &err);
        double t1 = now();
        if (optimize && fr_index_optimize(ix, &err) < 0) return fail(ix, &err);
        double t2 = now();
        fprintf(stderr, "indexed %zu documents in %.2f s (%.0f docs/s)%s", added, t1 - t0,
                t1 > t0 ? (double)added / (t1 - t0) : 0.0, optimize ? "" : "\n");
        if (optimize) fprintf(stderr, ", optimized in %.2f s\n", t2 - t1);
    } else if (!strcmp(sub, "delete")) {
        int missing = 0;
        for (int i = 0; i < n_ids; i++)
            if (fr_index_delete(ix, ids[i], &err) < 0) {
                fprintf(stderr, "finerank index: %s\n", err.msg);
                missing++;
            }
        if (fr_index_commit(ix, &err) < 0) return fail(ix, &err);
        fprintf(stderr, "deleted %d of %d documents\n", n_ids - missing, n_ids);
        fr_index_close(ix);
        return missing ? 1 : 0;
    } else {
        if (fr_index_optimize(ix, &err) < 0) return fail(ix, &err);
        fprintf(stderr, "optimized in %.2f s\n", now() - t0);
    }
    fr_index_close(ix);
    return 0;
}
