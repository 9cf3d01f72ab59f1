/* Licensed under the Apache License, Version 2.0. */

#include "mw_names.h"

/* Indexed by mw_state_e: the name, and the same as a token. */
static const char *const state_names[MW_STATE_COUNT][2] = {
    [MW_STATE_FREE]          = { "free", "free" },
    [MW_STATE_WARMING]       = { "warming", "warming" },
    [MW_STATE_OK]            = { "ok", "ok" },
    [MW_STATE_WAITING]       = { "over limit (waiting)",
                                 "over_limit_waiting" },
    [MW_STATE_RETIRING]      = { "retiring", "retiring" },
    [MW_STATE_WOULD_RECYCLE] = { "would recycle", "would_recycle" },
    [MW_STATE_EXITING]       = { "exiting", "exiting" },
};

static const char *const reason_names[MW_REASON_COUNT] = {
    [MW_REASON_NONE]          = "none",
    [MW_REASON_GROWTH]        = "growth",
    [MW_REASON_RSS]           = "rss",
    [MW_REASON_PRIVATE]       = "private",
    [MW_REASON_SHARED]        = "shared",
    [MW_REASON_TOTAL_PRIVATE] = "total_private",
    [MW_REASON_PRESSURE]      = "pressure",
    [MW_REASON_MANUAL]        = "manual",
};

static const char *const verdict_names[MW_VERDICT_COUNT] = {
    [MW_VERDICT_WARMING] = "measuring",
    [MW_VERDICT_PLATEAU] = "plateau",
    [MW_VERDICT_LEAKING] = "leaking",
    [MW_VERDICT_FRAGMENTED] = "fragmented",
};

static const char *const mapping_class_names[MW_MAPPING_CLASS_COUNT] = {
    [MW_MAPPING_HEAP]      = "heap",
    [MW_MAPPING_ANONYMOUS] = "anonymous",
    [MW_MAPPING_FILE]      = "file",
    [MW_MAPPING_SHARED]    = "shared",
    [MW_MAPPING_STACK]     = "stack",
};

const char *mw_mapping_class_name(mw_mapping_class_e mclass)
{
    return (unsigned)mclass < MW_MAPPING_CLASS_COUNT
           ? mapping_class_names[mclass] : "unknown";
}

const char *mw_verdict_name(mw_verdict_e verdict)
{
    return (unsigned)verdict < MW_VERDICT_COUNT ? verdict_names[verdict]
                                                : "unknown";
}

const char *mw_state_name(mw_state_e state)
{
    return (unsigned)state < MW_STATE_COUNT ? state_names[state][0]
                                            : "unknown";
}

const char *mw_state_token(mw_state_e state)
{
    return (unsigned)state < MW_STATE_COUNT ? state_names[state][1]
                                            : "unknown";
}

const char *mw_reason_name(mw_reason_e reason)
{
    return (unsigned)reason < MW_REASON_COUNT ? reason_names[reason]
                                              : "unknown";
}

const char *mw_exit_name(mw_exit_e exit, mw_reason_e reason)
{
    switch (exit) {
    case MW_EXIT_RECYCLED: return mw_reason_name(reason);
    case MW_EXIT_RESTART: return "restart";
    default: return "exited";
    }
}
