/* replay_main.c — runs a libFuzzer target (LLVMFuzzerTestOneInput) over every file of a seed
 * corpus directory without libFuzzer, so that `make check` (and the sanitizer build) replay
 * the corpus on every commit. Usage: replay_fuzz_X DIR_OR_FILE...
 * Prints "<name>: N passed, 0 failed"; a crash is caught by the sanitizer or the runner.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    LLVMFuzzerTestOneInput(buf, got);  // exact-size buffer: ASan sees any overread
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    int n = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) { fprintf(stderr, "%s: missing\n", argv[i]); bad++; continue; }
        if (!S_ISDIR(st.st_mode)) { if (run_file(argv[i]) == 0) n++; else bad++; continue; }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            if (run_file(p) == 0) n++; else bad++;
        }
        if (d) closedir(d);
    }
    const char *name = strrchr(argv[0], '/');
    printf("%s: %d passed, %d failed\n", name ? name + 1 : argv[0], n, bad);
    return bad != 0;
}
