/* Licensed under the Apache License, Version 2.0. */

/* Growth by mapping: what grew in this child since its warm-up, by class
 * and name of its memory mappings (mw_smaps.h). The baseline stays in the
 * child's own memory; a reading is published in its slot for its page. */

#ifndef MOD_MEMWATCH_MAPPING_H
#define MOD_MEMWATCH_MAPPING_H

#include "httpd.h"

#include "mod_memwatch_table.h"

/* The end of this child's warm-up: read its baseline. */
void mw_mapping_baseline(void);

/* Read this child's mappings now: what grew most since the baseline into
 * top (at most max, most first), published in its slot too. Returns how
 * many, or -1 when there is no reading (no baseline, or smaps could not
 * be read). Milliseconds on a large child: only where a request of
 * another client does not wait for it. */
int mw_mapping_growth(mw_mapping_growth_t *top, apr_uint32_t max);

/* The child page of slot `index` asks for a reading: this child makes it
 * at once if it is that child, else the child is asked (and answers with
 * mw_mapping_answer). */
void mw_mapping_ask(int index);

/* If this child was asked, read and publish: at most one reading every
 * few seconds, however often it is asked. */
void mw_mapping_answer(void);

/* Lifecycle, called in order from mod_memwatch.c. */
void mw_mapping_child_init(apr_pool_t *pchild, server_rec *s);

#endif /* MOD_MEMWATCH_MAPPING_H */
