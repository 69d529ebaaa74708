/* trie.c — the byte trie shared by the Unigram model (unigram.c, vocabulary pieces) and the
 * added vocabulary (added.c, added-token patterns).
 *
 * Layout: nodes are numbered from 0 (the root); edges live in one open-addressing table
 * (linear probing, load ≤ 1/2) keyed by (node << 8 | byte) + 1 → child, so a step is one
 * hash probe and the trie of a 250k-piece vocabulary is a few MB. leaf[] is left to the
 * caller: each caller decides which id a node keeps when patterns repeat. Built once at load,
 * then only read (fr__trie_child, inline in tok.h), so it is tuned for lookups.
 */
#include <stdlib.h>

#include "tok/tok.h"

// Doubles the edge table (or creates it with t->init_cap slots) and rehashes every edge.
static int grow_edges(fr__trie *t) {
    size_t cap = t->ecap ? t->ecap * 2 : t->init_cap;
    uint64_t *k = calloc(cap, sizeof *k);
    uint32_t *c = malloc(cap * sizeof *c);
    if (!k || !c) { free(k); free(c); return FR_ENOMEM; }
    for (size_t i = 0; i < t->ecap; i++) {
        if (!t->ekeys[i]) continue;
        size_t j = fr__trie_hash(t->ekeys[i]) & (cap - 1);
        while (k[j]) j = (j + 1) & (cap - 1);
        k[j] = t->ekeys[i];
        c[j] = t->echild[i];
    }
    free(t->ekeys);
    free(t->echild);
    t->ekeys = k;
    t->echild = c;
    t->ecap = cap;
    return 0;
}

static int new_node(fr__trie *t, uint32_t *out) {
    if (t->n_nodes == t->nodes_cap) {
        size_t cap = t->nodes_cap ? t->nodes_cap * 2 : t->init_cap;
        int32_t *l = realloc(t->leaf, cap * sizeof *l);
        if (!l) return FR_ENOMEM;
        t->leaf = l;
        t->nodes_cap = cap;
    }
    t->leaf[t->n_nodes] = -1;
    *out = (uint32_t)t->n_nodes++;
    return 0;
}

int fr__trie_init(fr__trie *t, size_t init_cap) {
    *t = (fr__trie){0};
    t->init_cap = init_cap;
    uint32_t root;
    return new_node(t, &root) < 0 || grow_edges(t) < 0 ? FR_ENOMEM : 0;
}

int fr__trie_insert(fr__trie *t, const char *s, size_t len, uint32_t *node_out) {
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        int32_t c = fr__trie_child(t, node, b);
        if (c < 0) {
            if ((t->n_edges + 1) * 2 > t->ecap && grow_edges(t) < 0) return FR_ENOMEM;
            uint32_t nn;
            if (new_node(t, &nn) < 0) return FR_ENOMEM;
            uint64_t key = ((uint64_t)node << 8 | b) + 1;
            size_t j = fr__trie_hash(key) & (t->ecap - 1);
            while (t->ekeys[j]) j = (j + 1) & (t->ecap - 1);
            t->ekeys[j] = key;
            t->echild[j] = nn;
            t->n_edges++;
            c = (int32_t)nn;
        }
        node = (uint32_t)c;
    }
    *node_out = node;
    return 0;
}

void fr__trie_free(fr__trie *t) {
    free(t->ekeys);
    free(t->echild);
    free(t->leaf);
    *t = (fr__trie){0};
}
