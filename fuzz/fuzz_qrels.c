/* fuzz_qrels.c — fr_qrels_parse on arbitrary bytes, then scores a fixed run against the
 * judgments it accepted (src/rank/metrics.c). */
#include <stdint.h>
#include <string.h>

#include "finerank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_qrels *qr = NULL;
    fr_error err;
    if (fr_qrels_parse((const char *)data, size, "fuzz", &qr, &err) == 0) {
        static const char run_txt[] = "1 Q0 12 1 3.5 t\n1 Q0 13 2 3.5 t\n2 Q0 a 1 1 t\n";
        fr_run *run = NULL;
        if (fr_run_parse(run_txt, sizeof run_txt - 1, "run", &run, &err) == 0) {
            fr_eval ev;
            if (fr_eval_run(qr, run, &ev, &err) == 0) fr_eval_free(&ev);
            fr_run_free(run);
        }
        (void)fr_qrels_grade(qr, "1", "12");
        fr_qrels_free(qr);
    }
    return 0;
}
