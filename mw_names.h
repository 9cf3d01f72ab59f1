/* Licensed under the Apache License, Version 2.0. */

/* mw_names: the states, reasons, verdicts and exits of a child, the
 * classes of its memory mappings, and the one place that names them.
 * Every format (HTML, JSON, ?auto, Prometheus, logs) takes its words from
 * here. APR only; included by mw_shm.h for the layout and by mw_view.h
 * for the renderers, which never see mw_shm.h. */

#ifndef MW_NAMES_H
#define MW_NAMES_H

#include <apr.h>

/* A figure that is not known (smaps_rollup missing, pools unmeasured). */
#define MW_UNKNOWN          APR_UINT64_MAX

/* a + b for known figures (neither MW_UNKNOWN), saturated just below
 * MW_UNKNOWN: figures children wrote may be anything. */
static APR_INLINE apr_uint64_t mw_add_known(apr_uint64_t a, apr_uint64_t b)
{
    return b > MW_UNKNOWN - 1 - a ? MW_UNKNOWN - 1 : a + b;
}

typedef enum {
    MW_STATE_FREE = 0,
    MW_STATE_WARMING,
    MW_STATE_OK,
    MW_STATE_WAITING,           /* over a limit, waiting for its turn */
    MW_STATE_RETIRING,
    MW_STATE_WOULD_RECYCLE,     /* over a limit, dry run */
    MW_STATE_EXITING,           /* stopped serving, not gone yet */
    MW_STATE_COUNT
} mw_state_e;

typedef enum {
    MW_REASON_NONE = 0,
    MW_REASON_GROWTH,
    MW_REASON_RSS,
    MW_REASON_PRIVATE,
    MW_REASON_SHARED,
    MW_REASON_TOTAL_PRIVATE,
    MW_REASON_PRESSURE,         /* MemwatchPressure */
    MW_REASON_MANUAL,           /* recycled by hand from the page */
    MW_REASON_COUNT
} mw_reason_e;

/* Is a child leaking, or is its heap fragmenting (mw_trend)? */
typedef enum {
    MW_VERDICT_WARMING = 0,         /* too few points since warm-up:
                                     * "measuring", not the state's
                                     * "warming", which it outlasts */
    MW_VERDICT_PLATEAU,             /* grew, then levelled off */
    MW_VERDICT_LEAKING,             /* keeps climbing with requests */
    MW_VERDICT_FRAGMENTED,          /* climbs too, but malloc's bytes in
                                     * use do not: the heap keeps free
                                     * memory it cannot give back */
    MW_VERDICT_COUNT
} mw_verdict_e;

/* Why a child is gone: recycled (see its reason), left with an older
 * generation (restart), or anything else (idle reduction,
 * MaxConnectionsPerChild, a crash). */
typedef enum {
    MW_EXIT_EXITED = 0,
    MW_EXIT_RESTART,
    MW_EXIT_RECYCLED
} mw_exit_e;

/* The classes of a process's memory mappings (mw_smaps.h). */
typedef enum {
    MW_MAPPING_HEAP = 0,        /* [heap]: the main arena's brk heap */
    MW_MAPPING_ANONYMOUS,       /* no path: thread arenas, large mallocs */
    MW_MAPPING_FILE,            /* a file mapped privately: code and data */
    MW_MAPPING_SHARED,          /* shared: System V, /dev/zero, memfd */
    MW_MAPPING_STACK,           /* [stack] and thread stacks */
    MW_MAPPING_CLASS_COUNT
} mw_mapping_class_e;

/* Names as the page and JSON show them. A value out of range (a damaged
 * table) is named "unknown", never read past a table. */
const char *mw_state_name(mw_state_e state);
const char *mw_reason_name(mw_reason_e reason);
const char *mw_verdict_name(mw_verdict_e verdict);

const char *mw_mapping_class_name(mw_mapping_class_e mclass);

/* The same state name as one token for line formats (?auto): spaces
 * become '_' and parentheses go, e.g. "over_limit_waiting". */
const char *mw_state_token(mw_state_e state);

/* An exit: the reason's name when recycled, else "restart" or "exited". */
const char *mw_exit_name(mw_exit_e exit, mw_reason_e reason);

#endif /* MW_NAMES_H */
