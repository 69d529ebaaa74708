/* vocab.c — the string→id map every model and the added vocabulary use (fr__vocab).
 *
 * Layout: keys live back to back in one arena; entries (key offset, key length, id) in
 * one array; an open-addressing table of slots (linear probing, power-of-two size,
 * load <= 1/2) holds entry index + 1 with the top 32 bits of the hash as a tag so most
 * probes reject without touching the arena. Tuned for 30k–250k keys and hot lookups of
 * short keys (WordPiece tries ~10 substrings per word).
 */
#include <string.h>

#include "tok/tok.h"

// ---- hashing ----
// A 64-bit multiply-mix over 8-byte little-endian chunks (wyhash-like); quality is ample
// for hash tables and it is fast on short keys.
static inline uint64_t mix(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t fr__hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix(h ^ w, 0xA0761D6478BD642Full);
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)s[i] << (8 * i);
    h = mix(h ^ w, 0xE7037ED1A0B428DBull);
    return mix(h, 0x8EBC6AF09C88C6E3ull);
}

// ---- table ----
static int grow_slots(fr__vocab *v) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return FR_ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        uint64_t h = fr__hash_bytes(v->arena + v->ent[i].off, v->ent[i].len);
        size_t j = (size_t)h & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = (h & 0xFFFFFFFF00000000ull) | (uint64_t)(i + 1);
    }
    free(v->slots);
    v->slots = slots;
    v->cap = cap;
    return 0;
}

static size_t find(const fr__vocab *v, const char *key, size_t len, uint64_t h) {
    if (!v->cap) return (size_t)-1;
    size_t j = (size_t)h & (v->cap - 1);
    uint64_t tag = h & 0xFFFFFFFF00000000ull;
    for (;;) {
        uint64_t s = v->slots[j];
        if (!s) return (size_t)-1;
        if ((s & 0xFFFFFFFF00000000ull) == tag) {
            size_t e = (size_t)(s & 0xFFFFFFFFull) - 1;
            if (v->ent[e].len == len && memcmp(v->arena + v->ent[e].off, key, len) == 0) return e;
        }
        j = (j + 1) & (v->cap - 1);
    }
}

int32_t fr__vocab_get(const fr__vocab *v, const char *key, size_t len) {
    if (!v->n) return -1;
    size_t e = find(v, key, len, fr__hash_bytes(key, len));
    return e == (size_t)-1 ? -1 : v->ent[e].val;
}

int fr__vocab_put(fr__vocab *v, const char *key, size_t len, int32_t id) {
    if (len > UINT32_MAX / 2) return FR_ERANGE;
    uint64_t h = fr__hash_bytes(key, len);
    size_t e = find(v, key, len, h);
    if (e != (size_t)-1) { v->ent[e].val = id; return 0; }
    if (v->n >= 0x7FFFFFFF) return FR_ERANGE;
    if ((v->n + 1) * 2 > v->cap && grow_slots(v) < 0) return FR_ENOMEM;
    if (v->n == v->ncap) {
        size_t nc = v->ncap ? v->ncap * 2 : 64;
        struct fr__vocab_ent *ne = realloc(v->ent, nc * sizeof *ne);
        if (!ne) return FR_ENOMEM;
        v->ent = ne;
        v->ncap = nc;
    }
    if (v->arena_len + len + 1 > v->arena_cap) {
        size_t nc = v->arena_cap ? v->arena_cap : 4096;
        while (nc < v->arena_len + len + 1) nc *= 2;
        if (nc > UINT32_MAX) return FR_ERANGE;
        char *a = realloc(v->arena, nc);
        if (!a) return FR_ENOMEM;
        v->arena = a;
        v->arena_cap = nc;
    }
    memcpy(v->arena + v->arena_len, key, len);
    v->arena[v->arena_len + len] = 0;
    v->ent[v->n] = (struct fr__vocab_ent){(uint32_t)v->arena_len, (uint32_t)len, id};
    v->arena_len += len + 1;
    if (len > v->max_klen) v->max_klen = (uint32_t)len;
    size_t j = (size_t)h & (v->cap - 1);
    while (v->slots[j]) j = (j + 1) & (v->cap - 1);
    v->slots[j] = (h & 0xFFFFFFFF00000000ull) | (uint64_t)(v->n + 1);
    v->n++;
    return 0;
}

void fr__vocab_free(fr__vocab *v) {
    if (!v) return;
    free(v->arena);
    free(v->slots);
    free(v->ent);
    memset(v, 0, sizeof *v);
}
