/* containers.c — growable pointer arrays and the string → pointer map
 * (open addressing with linear probing, FNV-1a hashing, tombstones). */
#include "base.h"

#include <stdlib.h>
#include <string.h>

bool ecc_ptrvec_push(ecc_ptrvec *v, void *item) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items) return false;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = item;
    return true;
}

void ecc_ptrvec_remove_at(ecc_ptrvec *v, size_t i) {
    if (i >= v->n) return;
    memmove(v->items + i, v->items + i + 1, (v->n - i - 1) * sizeof *v->items);
    v->n--;
}

void ecc_ptrvec_free(ecc_ptrvec *v) {
    free(v->items);
    memset(v, 0, sizeof *v);
}

static const char ecc_tombstone[] = "";

static uint64_t ecc_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t ecc_strmap_slot(const ecc_strmap *m, const char *key, bool *found) {
    size_t mask = m->cap - 1, i = (size_t)ecc_hash(key) & mask, tomb = SIZE_MAX;
    for (;;) {
        const char *k = m->keys[i];
        if (!k) {
            *found = false;
            return tomb != SIZE_MAX ? tomb : i;
        }
        if (k == ecc_tombstone) {
            if (tomb == SIZE_MAX) tomb = i;
        } else if (strcmp(k, key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

void *ecc_strmap_get(const ecc_strmap *m, const char *key) {
    if (!m->cap || !key) return NULL;
    bool found;
    size_t i = ecc_strmap_slot(m, key, &found);
    return found ? m->vals[i] : NULL;
}

static bool ecc_strmap_grow(ecc_strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    ecc_strmap bigger = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(void *)), 0, cap};
    if (!bigger.keys || !bigger.vals) {
        free(bigger.keys);
        free(bigger.vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i] || m->keys[i] == ecc_tombstone) continue;
        bool found;
        size_t j = ecc_strmap_slot(&bigger, m->keys[i], &found);
        bigger.keys[j] = m->keys[i];
        bigger.vals[j] = m->vals[i];
        bigger.n++;
    }
    free(m->keys);
    free(m->vals);
    *m = bigger;
    return true;
}

bool ecc_strmap_put(ecc_strmap *m, const char *key, void *val) {
    /* n counts live keys and tombstones alike, keeping probes short */
    if ((m->n + 1) * 4 >= m->cap * 3 && !ecc_strmap_grow(m)) return false;
    bool found;
    size_t i = ecc_strmap_slot(m, key, &found);
    if (!found && !m->keys[i]) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return true;
}

void ecc_strmap_del(ecc_strmap *m, const char *key) {
    if (!m->cap) return;
    bool found;
    size_t i = ecc_strmap_slot(m, key, &found);
    if (!found) return;
    m->keys[i] = ecc_tombstone;
    m->vals[i] = NULL;
}

void ecc_strmap_free(ecc_strmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
