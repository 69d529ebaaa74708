/* metrics.h — internals of src/rank/metrics.c shared with the tests (the public API is the
 * "evaluation" section of include/finerank.h). */
#ifndef FR_RANK_METRICS_H
#define FR_RANK_METRICS_H

#include "finerank.h"

// The five metrics of one query, as trec_eval computes them.
// rel:    (n_ret) grades of the ranked results, best first (< 0: not judged);
// grades: (n_judged) grades of every judged document of the query (any order);
// scratch: (n_judged) workspace. OUT: *m.
void fr__metrics_query(const int32_t *rel, size_t n_ret, const int32_t *grades,
                       size_t n_judged, int32_t *scratch, fr_metrics *m);

#endif
