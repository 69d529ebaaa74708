/* fuzz_trec_run.c — fr_run_parse on arbitrary bytes, then scores what it accepted against
 * fixed judgments (src/rank/metrics.c). */
#include <stdint.h>
#include <string.h>

#include "finerank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fr_qrels *qr;
    fr_error err;
    if (!qr) {
        static const char q[] = "query-id\tcorpus-id\tscore\n1\t12\t2\n1\t13\t1\n2\ta\t0\n";
        if (fr_qrels_parse(q, sizeof q - 1, "qrels", &qr, &err) < 0) return 0;
    }
    fr_run *run = NULL;
    if (fr_run_parse((const char *)data, size, "fuzz", &run, &err) == 0) {
        fr_eval ev;
        if (fr_eval_run(qr, run, &ev, &err) == 0) fr_eval_free(&ev);
        fr_run_free(run);
    }
    return 0;
}
