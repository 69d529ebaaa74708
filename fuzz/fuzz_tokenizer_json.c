/* fuzz_tokenizer_json.c — libFuzzer target for the tokenizer.json loader: arbitrary bytes
 * must give a tokenizer or an error, never a crash, leak or out-of-bounds read. A loaded
 * tokenizer also encodes a fixed text and pair, to reach the parsed structures.
 */
#include <stdint.h>
#include <stdlib.h>

#include "finerank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_tokenizer *t = NULL;
    fr_error err;
    if (fr_tokenizer_open_mem((const char *)data, size, "fuzz.json", &t, &err) == 0) {
        fr_encode_opts o = fr_encode_opts_default();
        o.want_tokens = 1;
        fr_encoding e = {0};
        fr_tokenizer_encode(t, "Hello, wörld! [CLS] 東京 ab", -1, "x y", -1, &o, &e, &err);
        fr_encoding_free(&e);
        o.max_length = 5;
        o.strategy = FR_TRUNC_ONLY_SECOND;
        fr_tokenizer_encode(t, "a b c d e f g", -1, "h i j k", -1, &o, &e, &err);
        fr_encoding_free(&e);
        (void)fr_tokenizer_id_to_token(t, 0);
        (void)fr_tokenizer_token_to_id(t, "a");
        (void)fr_tokenizer_vocab_size(t);
        fr_tokenizer_free(t);
    }
    return 0;
}
