/* cmd_serve.c — `finerank serve`: the HTTP server (src/serve/) in the foreground until
 * SIGTERM or SIGINT, which drain it (stop accepting, finish in-flight requests) and exit 0.
 * Signals are blocked in every thread and taken by sigwait() here, so no handler runs inside
 * the library. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "finerank.h"

static void usage(FILE *f) {
    fr_server_opts d = fr_server_opts_default();
    fprintf(f,
            "usage: finerank serve [--index DIR] [--model DIR] [--config FILE] [--host ADDR] [--port N]\n"
            "                      [limits]\n"
            "  --index DIR            serve /v1/search and /v1/documents over this index\n"
            "  --model DIR            the cross-encoder for the rerank routes and the pipeline\n"
            "  --config FILE          pipeline config (JSON; docs/pipeline.md)\n"
            "  --host ADDR            IPv4 address to bind (%s)\n"
            "  --port N               0: an ephemeral port, printed on stdout (%d)\n"
            "  --model-name NAME      the \"model\" reported in responses (directory name)\n"
            "limits:\n"
            "  --max-body-bytes N     larger bodies get 413 (%zu)\n"
            "  --max-documents N      documents per rerank request (%zu)\n"
            "  --max-json-depth N     nesting depth of request bodies (%d)\n"
            "  --max-batch-tokens N   tokens per forward batch across requests (%d)\n"
            "  --max-queue N          requests waiting for a worker, and rerank jobs queued or\n"
            "                         running in the scorer pool, before 429 (%d)\n"
            "  --fuse-batches         one GEMM across requests (faster for tiny requests; scores\n"
            "                         then depend on batch neighbours within 1e-5)\n"
            "  --threads N            scorer threads (0: online CPUs)\n"
            "  --workers N            request threads for rerank/search/documents; more clients\n"
            "                         wait in the queue (0: 2 x scorer threads, at least 4)\n"
            "  --dtype T              dense-layer compute type: f32 (default), bf16, int8\n"
            "  --max-connections N    open connections (%d)\n"
            "  --per-ip N             open connections per client address (0: unlimited)\n"
            "  --timeout S            idle connection timeout in seconds (%d)\n"
            "  --drain-timeout S      SIGTERM waits at most this long for in-flight requests (%d)\n",
            d.host, d.port, d.max_body_bytes, d.max_documents, d.max_json_depth,
            d.max_batch_tokens, d.max_queue, d.max_connections, d.timeout_s, d.drain_timeout_s);
}

int cmd_serve(int argc, char **argv) {
    fr_server_opts o = fr_server_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(stdout); return 0; }
        else if ((v = cli_opt(argc, argv, &i, "--index"))) o.index_dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--model"))) o.model_dir = v;
        else if ((v = cli_opt(argc, argv, &i, "--config"))) o.config_path = v;
        else if ((v = cli_opt(argc, argv, &i, "--host"))) o.host = v;
        else if ((v = cli_opt(argc, argv, &i, "--port"))) o.port = (int)cli_parse_long("--port", v, 0, 65535);
        else if ((v = cli_opt(argc, argv, &i, "--model-name"))) o.model_name = v;
        else if ((v = cli_opt(argc, argv, &i, "--max-body-bytes"))) o.max_body_bytes = (size_t)cli_parse_long("--max-body-bytes", v, 1, 1L << 40);
        else if ((v = cli_opt(argc, argv, &i, "--max-documents"))) o.max_documents = (size_t)cli_parse_long("--max-documents", v, 1, 10000000);
        else if ((v = cli_opt(argc, argv, &i, "--max-json-depth"))) o.max_json_depth = (int)cli_parse_long("--max-json-depth", v, 2, 2000);
        else if ((v = cli_opt(argc, argv, &i, "--max-batch-tokens"))) o.max_batch_tokens = (int)cli_parse_long("--max-batch-tokens", v, 1, 1 << 24);
        else if ((v = cli_opt(argc, argv, &i, "--max-queue"))) o.max_queue = (int)cli_parse_long("--max-queue", v, 1, 1 << 20);
        else if (!strcmp(argv[i], "--fuse-batches")) o.fuse_batches = 1;
        else if ((v = cli_opt(argc, argv, &i, "--dtype"))) {
            if (fr_dtype_parse(v, &o.dtype) < 0) cli_usage_error("--dtype: expected f32, bf16 or int8");
        } else if ((v = cli_opt(argc, argv, &i, "--threads"))) o.scorer_threads = (int)cli_parse_long("--threads", v, 0, 1024);
        else if ((v = cli_opt(argc, argv, &i, "--workers"))) o.workers = (int)cli_parse_long("--workers", v, 0, 4096);
        else if ((v = cli_opt(argc, argv, &i, "--max-connections"))) o.max_connections = (int)cli_parse_long("--max-connections", v, 1, 1 << 20);
        else if ((v = cli_opt(argc, argv, &i, "--per-ip"))) o.per_ip_connections = (int)cli_parse_long("--per-ip", v, 0, 1 << 20);
        else if ((v = cli_opt(argc, argv, &i, "--timeout"))) o.timeout_s = (int)cli_parse_long("--timeout", v, 1, 86400);
        else if ((v = cli_opt(argc, argv, &i, "--drain-timeout"))) o.drain_timeout_s = (int)cli_parse_long("--drain-timeout", v, 0, 86400);
        else { usage(stderr); cli_usage_error("serve: unknown option '%s'", argv[i]); }
    }
    if (!o.index_dir && !o.model_dir) {
        usage(stderr);
        cli_usage_error("serve: give --index DIR, --model DIR or both");
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);  // inherited by every server thread
    signal(SIGPIPE, SIG_IGN);
    fr_error err;
    fr_server *s = NULL;
    if (fr_server_start(&o, &s, &err) < 0) {
        fprintf(stderr, "finerank serve: %s\n", err.msg);
        return 1;
    }
    printf("finerank serve: listening on http://%s:%d (%s%s%s)\n", o.host, fr_server_port(s),
           o.model_dir ? "model " : "", o.model_dir ? o.model_dir : "",
           o.index_dir ? (o.model_dir ? ", index" : "index") : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "finerank serve: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    fr_server_drain(s);
    fr_server_free(s);
    return 0;
}
