/* index_util.h — helpers shared by the index tests: temporary directories and a small
 * deterministic corpus generator. */
#ifndef FR_TEST_INDEX_UTIL_H
#define FR_TEST_INDEX_UTIL_H

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void rm_rf(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4200];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline char *tmp_dir(char *buf, size_t n, const char *tag) {
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/fr_%s_XXXXXX", t && *t ? t : "/tmp", tag);
    return mkdtemp(buf);
}

// The first file of dir whose name ends in suffix, as dir/name into out. Returns 1 if found.
static inline int find_file(const char *dir, const char *suffix, char *out, size_t cap) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        if (strlen(e->d_name) > strlen(suffix) &&
            !strcmp(e->d_name + strlen(e->d_name) - strlen(suffix), suffix) && !found) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = 1;
        }
    if (d) closedir(d);
    return found;
}

// Files of dir whose names end in suffix.
static inline int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strlen(e->d_name) > strlen(suffix) &&
             !strcmp(e->d_name + strlen(e->d_name) - strlen(suffix), suffix);
    if (d) closedir(d);
    return n;
}

static inline uint64_t rng_next(uint64_t *s) {  // splitmix64
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// A Zipf-ish word: w<rank> with rank drawn from roughly 1/r over vocab words.
static inline int zipf_word(uint64_t *s, int vocab) {
    double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    int r = (int)(exp(u * log((double)vocab + 1.0))) - 1;
    return r < 0 ? 0 : r >= vocab ? vocab - 1 : r;
}

// Writes one JSON document with n_words words into buf.
static inline void gen_doc(char *buf, size_t n, const char *id, uint64_t *s, int n_words,
                           int vocab) {
    size_t o = (size_t)snprintf(buf, n, "{\"id\":\"%s\",\"title\":\"w%d w%d\",\"text\":\"", id,
                                zipf_word(s, vocab), zipf_word(s, vocab));
    for (int i = 0; i < n_words && o < n - 64; i++)
        o += (size_t)snprintf(buf + o, n - o, "%sw%d", i ? " " : "", zipf_word(s, vocab));
    snprintf(buf + o, n - o, "\",\"source\":\"src%d\",\"date\":\"2020-01-%02d\"}",
             (int)(rng_next(s) % 3), (int)(rng_next(s) % 28) + 1);
}

// The vectors files (*.frv) of dir: how many there are (*n_files, when not NULL), and how many
// have an int8 transform fitted on `fit` rows (the return; header: version-2 magic, u32 at
// byte 36: src/index/vectors.c).
static inline int files_fitted(const char *dir, uint32_t fit, int *n_files) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0, all = 0;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".frv")) continue;
        char p[4400];
        unsigned char h[40];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "rb");
        uint32_t got = 0;
        if (f && fread(h, 1, sizeof h, f) == sizeof h && !memcmp(h, "FRVECS02", 8)) memcpy(&got, h + 36, 4);
        if (f) fclose(f);
        n += got == fit;
        all++;
    }
    if (d) closedir(d);
    if (n_files) *n_files = all;
    return n;
}

#endif
