/* Licensed under the Apache License, Version 2.0. */

/* Two deciders on one slot (a request thread and the watcher; the prefork
 * parent and the child), as two processes on a real shared mapping,
 * replayed in every order of their steps (issue 24, item 2). The old
 * decide() took a ticket, then moved the state; the loser of the state
 * CAS gave back a ticket, and it was the winner's: the slot stayed
 * RETIRING with none counted, and a second child was let go past
 * MemwatchMaxRetiring 1. That order is "A takes, B takes (refused,
 * ignored past the ceiling), B moves, A fails to move and gives back".
 * Both deciders read the slot's state (`from`) before either moves, as
 * decide() reads it first and then weighs the figures.
 *
 * mw_shm.c is built with MW_STEP_HOOK=mw_test_step: a decider stops at
 * every point where another could see its work half done, and goes on
 * only when the schedule says it is its turn; so each order runs exactly
 * once, and a failure names its order.
 *
 * -DMW_OLD_TICKETS makes the deciders call what decide() called before
 * (mw_retire_ticket_take, the state CAS, mw_retire_ticket_return), with a
 * step between each: built so against the mw_shm.c of 04869c4, this test
 * fails. */

#include <sys/mman.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_general.h>

#include "tap.h"
#include "mw_shm.h"

#define SEGMENTS    4       /* steps of one decision, at most */
#define ORDER_LEN   (2 * SEGMENTS)
#define NOW         apr_time_from_sec(1000)
#define PID_A       101     /* the slot both deciders decide on */
#define PID_C       102     /* a second child over its limit */
#define PID_X       103     /* a child already retiring */
#define CEILING     APR_UINT32_MAX

/* The schedule, and what the deciders did: shared with them. */
typedef struct {
    volatile apr_uint32_t pos;
    volatile apr_uint32_t done[2];
    volatile apr_uint32_t steps[2];
    volatile apr_uint32_t result[2];
    int order[ORDER_LEN];
} replay_t;

typedef struct {
    const char *name;
    apr_uint32_t from;          /* the state both deciders read */
    apr_uint32_t max[2];        /* MaxRetiring, or CEILING (RETIRE_NOW) */
    int x_retiring;             /* another child holds the one ticket */
    int winners;                /* how many may move the slot */
} scenario_t;

static replay_t *rp;
static int me = -1;             /* this process's decider; -1: none */

static void wait_turn(void)
{
    for (;;) {
        apr_uint32_t p = apr_atomic_read32(&rp->pos);
        if (p >= ORDER_LEN || rp->order[p] == me
            || apr_atomic_read32(&rp->done[1 - me])) {
            return;
        }
        sched_yield();
    }
}

/* Called by mw_shm.c between two steps: this step ends, wait for the
 * next turn. A no-op outside the deciders. */
void mw_test_step(void);
void mw_test_step(void)
{
    if (me < 0) {
        return;
    }
    apr_atomic_inc32(&rp->steps[me]);
    apr_atomic_inc32(&rp->pos);
    wait_turn();
}

#ifdef MW_OLD_TICKETS
/* What decide() did, for MW_DECISION_RETIRE (max) and RETIRE_NOW. */
static apr_status_t retire(const mw_table_t *t, mw_slot_t *sl,
                           apr_uint32_t from, apr_uint32_t max)
{
    if (max != CEILING) {
        if (!mw_retire_ticket_take(t, sl, max)) {
            return apr_atomic_read32(&sl->ticket_held) ? APR_EAGAIN
                                                       : APR_EBUSY;
        }
    }
    else {
        mw_retire_ticket_take(t, sl, CEILING);
    }
    mw_test_step();
    if (apr_atomic_cas32(&sl->state, MW_STATE_RETIRING, from) != from) {
        mw_test_step();
        mw_retire_ticket_return(t, sl);
        return APR_EAGAIN;
    }
    return APR_SUCCESS;
}
#else
static apr_status_t retire(const mw_table_t *t, mw_slot_t *sl,
                           apr_uint32_t from, apr_uint32_t max)
{
    return mw_slot_retire(t, sl, from, max, MW_REASON_GROWTH, 0);
}
#endif

static void decider(const mw_table_t *t, mw_slot_t *sl,
                    const scenario_t *sc, int id)
{
    me = id;
    alarm(10);                  /* a schedule that hangs fails the test */
    wait_turn();
    rp->result[me] = (apr_uint32_t)retire(t, sl, sc->from, sc->max[me]);
    apr_atomic_inc32(&rp->pos);
    apr_atomic_set32(&rp->done[me], 1);
    _exit(0);
}

static mw_slot_t *claim(const mw_table_t *t, apr_uint32_t pid,
                        apr_uint32_t state)
{
    mw_slot_t *s = mw_table_slot(t, (apr_uint32_t)mw_slot_claim(t, pid, 1,
                                                                NOW, 4096));
    apr_atomic_set32(&s->state, state);
    return s;
}

/* A second child over its limit asks for a ticket: 1 if granted. */
static int second_child_retires(const mw_table_t *t, mw_slot_t *c)
{
#ifdef MW_OLD_TICKETS
    return mw_retire_ticket_take(t, c, 1)
           && apr_atomic_cas32(&c->state, MW_STATE_RETIRING,
                               MW_STATE_WAITING) == MW_STATE_WAITING;
#else
    return mw_slot_retire(t, c, MW_STATE_WAITING, 1, MW_REASON_GROWTH, 0) == APR_SUCCESS;
#endif
}

static const char *result_name(apr_uint32_t rv)
{
    switch (rv) {
    case APR_SUCCESS: return "moved";
    case APR_EBUSY:   return "EBUSY";
    case APR_EAGAIN:  return "EAGAIN";
    default:          return "?";
    }
}

/* Run one order; returns NULL if all held, else what went wrong (details
 * into why). */
static const char *run_order(void *block, apr_size_t size,
                             const mw_layout_t *l, const scenario_t *sc,
                             char *why, apr_size_t len)
{
    mw_table_t t;
    mw_slot_t *a, *c;
    pid_t pids[2];
    apr_uint32_t others, won = 0, i, held, count;
    int k, status, bad_exit = 0;

    mw_table_open(&t, block, size, l, 1);
    a = claim(&t, PID_A, sc->from);
    c = claim(&t, PID_C, MW_STATE_WAITING);
    others = 0;
    if (sc->x_retiring) {
        mw_slot_t *x = claim(&t, PID_X, MW_STATE_WAITING);
        others = second_child_retires(&t, x);
    }
    rp->pos = 0;
    for (k = 0; k < 2; k++) {
        rp->done[k] = rp->steps[k] = 0;
        rp->result[k] = APR_EGENERAL;
    }
    for (k = 0; k < 2; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            decider(&t, a, sc, k);
        }
        if (pids[k] < 0) {
            bail_out("fork failed");
        }
    }
    for (k = 0; k < 2; k++) {
        waitpid(pids[k], &status, 0);
        bad_exit |= !WIFEXITED(status) || WEXITSTATUS(status) != 0
                    || rp->steps[k] >= SEGMENTS;
    }
    if (bad_exit) {
        return "a decider hung, died or took more steps than scheduled";
    }
    for (k = 0; k < 2; k++) {
        won += rp->result[k] == APR_SUCCESS;
    }
    held = apr_atomic_read32(&a->ticket_held);
    count = apr_atomic_read32(&t.hdr->retiring);
    snprintf(why, len, "A %s, B %s; slot %s, ticket_held %u, retiring %u "
             "(others %u)", result_name(rp->result[0]),
             result_name(rp->result[1]), mw_state_name(a->state), held,
             count, others);
    /* MaxRetiring 1: a second child must wait while a ticket is out. */
    if (second_child_retires(&t, c) != (others + won == 0)) {
        return "a second child retired past MaxRetiring 1";
    }
    if (won != (apr_uint32_t)sc->winners
        || (a->state == MW_STATE_RETIRING) != (won == 1)
        || held != won || count != others + won) {
        return "the slot and the count disagree";
    }
    mw_slot_reap(&t, PID_C, 1, NOW);
    mw_slot_leave(&t, a, NOW);
    mw_slot_reap(&t, PID_A, 1, NOW);
    i = apr_atomic_read32(&t.hdr->retiring);
    if (i != others) {
        snprintf(why, len, "retiring %u after leave and reap, want %u", i,
                 others);
        return "a ticket was lost or given back twice";
    }
    return NULL;
}

/* Every order of two deciders of SEGMENTS steps each. */
static void run_scenario(void *block, apr_size_t size, const mw_layout_t *l,
                         const scenario_t *sc)
{
    unsigned bits;
    int orders = 0, bad = 0;
    char why[200], first[300] = "";

    for (bits = 0; bits < 1u << ORDER_LEN; bits++) {
        const char *err;
        int k;

        if (__builtin_popcount(bits) != SEGMENTS) {
            continue;
        }
        for (k = 0; k < ORDER_LEN; k++) {
            rp->order[k] = (bits >> k) & 1;
        }
        orders++;
        why[0] = '\0';
        err = run_order(block, size, l, sc, why, sizeof(why));
        if (err && !bad++) {
            char o[ORDER_LEN + 1];
            for (k = 0; k < ORDER_LEN; k++) {
                o[k] = rp->order[k] ? 'B' : 'A';
            }
            o[ORDER_LEN] = '\0';
            snprintf(first, sizeof(first), "order %s: %s (%s)", o, err,
                     why);
        }
    }
    ok(orders == 70 && bad == 0, "%s: %d of %d orders go wrong", sc->name,
       bad, orders);
    if (bad) {
        diag("first: %s", first);
    }
}

int main(void)
{
    static const scenario_t scenarios[] = {
        { "both past the ceiling (the issue's case)", MW_STATE_WAITING,
          { CEILING, CEILING }, 0, 1 },
        { "one at MaxRetiring 1, one past the ceiling", MW_STATE_WAITING,
          { 1, CEILING }, 0, 1 },
        { "past the ceiling, then at MaxRetiring 1", MW_STATE_OK,
          { CEILING, 1 }, 0, 1 },
        { "both at MaxRetiring 1", MW_STATE_OK, { 1, 1 }, 0, 1 },
        { "both at MaxRetiring 1, its ticket out", MW_STATE_WAITING,
          { 1, 1 }, 1, 0 },
        { "ticket out, one past the ceiling", MW_STATE_WAITING,
          { 1, CEILING }, 1, 1 },
    };
    mw_layout_t l = { 4, 0, 4 };
    apr_size_t size = mw_shm_size(&l);
    void *block = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    apr_size_t i;

    apr_initialize();
    rp = mmap(NULL, sizeof(replay_t), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED || rp == MAP_FAILED) {
        bail_out("mmap failed");
    }
    for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        run_scenario(block, size, &l, &scenarios[i]);
    }
    munmap(block, size);
    munmap((void *)rp, sizeof(replay_t));
    apr_terminate();
    return done();
}
