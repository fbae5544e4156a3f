/* arena.c — bump allocator for graph metadata (names, nodes, values,
 * attributes). Everything is released at once by ecc_arena_free. */
#include "base.h"

#include <stdlib.h>
#include <string.h>

typedef struct ecc_chunk {
    struct ecc_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} ecc_chunk;

struct ecc_arena {
    ecc_chunk *head;
    size_t total;
};

enum { ECC_ARENA_CHUNK = 64 * 1024 };

ecc_arena *ecc_arena_create(void) { return calloc(1, sizeof(ecc_arena)); }

void ecc_arena_free(ecc_arena *a) {
    if (!a) return;
    for (ecc_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *ecc_arena_alloc(ecc_arena *a, size_t size) {
    size_t need;
    if (!ecc_add_size(size, 15, &need)) return NULL;
    need &= ~(size_t)15;
    if (need == 0) need = 16;
    ecc_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t csize = need > ECC_ARENA_CHUNK ? need : ECC_ARENA_CHUNK;
        size_t bytes;
        if (!ecc_add_size(sizeof(ecc_chunk), csize, &bytes)) return NULL;
        c = malloc(bytes);
        if (!c) return NULL;
        c->size = csize;
        c->used = 0;
        /* a big one-off allocation goes behind the current chunk so the
         * current chunk keeps serving small allocations */
        if (a->head && need > ECC_ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

void *ecc_arena_memdup(ecc_arena *a, const void *p, size_t n) {
    void *q = ecc_arena_alloc(a, n);
    if (q && n) memcpy(q, p, n);
    return q;
}

char *ecc_arena_strndup(ecc_arena *a, const char *s, size_t n) {
    if (!s) return NULL;
    size_t len = strnlen(s, n), bytes;
    if (!ecc_add_size(len, 1, &bytes)) return NULL;
    char *q = ecc_arena_alloc(a, bytes);
    if (q) memcpy(q, s, len);
    return q;
}

char *ecc_arena_strdup(ecc_arena *a, const char *s) {
    return s ? ecc_arena_strndup(a, s, strlen(s)) : NULL;
}

size_t ecc_arena_used(const ecc_arena *a) { return a->total; }
