/* cmd_tokenize.c — placeholder until the tokenizer lands. */
#include <stdio.h>
int cmd_tokenize(int argc, char **argv) {
    fprintf(stderr, "finerank tokenize: not built yet\n");
    return 2;
}
