/* The table of requests sent and not answered yet. Ids only grow, so the table stays sorted:
 * lookups are binary searches, removals leave a tombstone, and tombstones are swept when the
 * table fills up — cheap whether answers come in order or not. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t lower_bound(const pz_in_flight_table *t, uint64_t id) {
    size_t lo = t->head, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->items[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void sweep(pz_in_flight_table *t) {
    size_t kept = 0;
    for (size_t i = t->head; i < t->count; i++)
        if (t->items[i].call != 0) t->items[kept++] = t->items[i];
    t->head = 0;
    t->count = kept;
}

pz_err pz_in_flight_add(pz_in_flight_table *t, uint64_t id, pz_call call, pz_error *err) {
    if (t->count == t->cap) sweep(t);
    if (t->count == t->cap || t->live * 2 > t->cap) {   /* keep room for sweeps to pay off */
        size_t cap = t->cap ? t->cap * 2 : 64;
        pz_in_flight_entry *items = realloc(t->items, cap * sizeof *items);
        if (items == NULL) return pz_fail(err, PZ_ENOMEM, 0, 0, "out of memory");
        t->items = items;
        t->cap = cap;
    }
    t->items[t->count++] = (pz_in_flight_entry){id, call};
    t->live++;
    return PZ_OK;
}

pz_call pz_in_flight_find(const pz_in_flight_table *t, uint64_t id) {
    size_t i = lower_bound(t, id);
    return i < t->count && t->items[i].id == id ? t->items[i].call : (pz_call)0;
}

void pz_in_flight_remove(pz_in_flight_table *t, uint64_t id) {
    size_t i = lower_bound(t, id);
    if (i >= t->count || t->items[i].id != id || t->items[i].call == 0) return;
    t->items[i].call = (pz_call)0;
    t->live--;
    while (t->head < t->count && t->items[t->head].call == 0) t->head++;
    if (t->head == t->count) t->head = t->count = 0;
}

void pz_in_flight_free(pz_in_flight_table *t) {
    free(t->items);
    memset(t, 0, sizeof *t);
}
