/* Licensed under the Apache License, Version 2.0. */

/* mw_slot_claim from several processes at once on a real shared mapping:
 * no slot may be claimed twice (issue 8, "the slot race": slot_reset used
 * to zero the pid word after the CAS had won, for as long as its memset
 * took, and a second child could claim the slot in that window). */

#include <sys/mman.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_general.h>

#include "tap.h"
#include "mw_shm.h"

#define CLAIMERS    6
#define ROUNDS      300

typedef struct {
    volatile apr_uint32_t ready;
    volatile apr_uint32_t go;
    volatile int slot[CLAIMERS];
} race_t;

static void claimer(const mw_table_t *t, race_t *r, int id)
{
    apr_atomic_inc32(&r->ready);
    while (!apr_atomic_read32(&r->go)) {
        sched_yield();
    }
    r->slot[id] = mw_slot_claim(t, (apr_uint32_t)getpid(), 1,
                                apr_time_from_sec(1), 4096);
    _exit(0);
}

/* One round: returns the number of claimers whose slot another also got,
 * or whose slot does not hold their pid at the end. */
static int round_once(void *block, apr_size_t size, const mw_layout_t *l,
                      race_t *r, int *forked)
{
    mw_table_t t;
    pid_t pids[CLAIMERS];
    int i, j, bad = 0;

    mw_table_open(&t, block, size, l, 1);
    memset((void *)r, 0, sizeof(*r));
    for (i = 0; i < CLAIMERS; i++) {
        r->slot[i] = -2;
        pids[i] = fork();
        if (pids[i] == 0) {
            claimer(&t, r, i);
        }
        *forked += pids[i] > 0;
    }
    while (apr_atomic_read32(&r->ready) < CLAIMERS) {
        sched_yield();
    }
    apr_atomic_set32(&r->go, 1);
    for (i = 0; i < CLAIMERS; i++) {
        waitpid(pids[i], NULL, 0);
    }
    for (i = 0; i < CLAIMERS; i++) {
        mw_slot_t *s = r->slot[i] >= 0
                       ? mw_table_slot(&t, (apr_uint32_t)r->slot[i]) : NULL;
        int twice = 0;
        for (j = 0; j < CLAIMERS; j++) {
            twice |= j != i && r->slot[j] == r->slot[i];
        }
        bad += !s || twice || s->pid != (apr_uint32_t)pids[i];
    }
    return bad;
}

int main(void)
{
    /* A long history makes each slot large, and the old window wide. */
    mw_layout_t l = { CLAIMERS, 10000, 8 };
    apr_size_t size = mw_shm_size(&l);
    void *block = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    race_t *r = mmap(NULL, sizeof(race_t), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int k, bad_rounds = 0, bad = 0, forked = 0;

    apr_initialize();
    if (block == MAP_FAILED || r == MAP_FAILED) {
        bail_out("mmap failed");
    }
    for (k = 0; k < ROUNDS; k++) {
        int b = round_once(block, size, &l, r, &forked);
        bad += b;
        bad_rounds += b != 0;
    }
    is_int(forked, ROUNDS * CLAIMERS, "%d rounds of %d racing claimers forked",
           ROUNDS, CLAIMERS);
    is_int(bad_rounds, 0, "no round gave one slot to two children "
           "(%d claimers affected)", bad);
    munmap(block, size);
    munmap((void *)r, sizeof(race_t));
    apr_terminate();
    return done();
}
