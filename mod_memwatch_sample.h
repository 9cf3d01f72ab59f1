/* Licensed under the Apache License, Version 2.0. */

/* The figures of every request and connection, history, trend and
 * attribution. */

#ifndef MOD_MEMWATCH_SAMPLE_H
#define MOD_MEMWATCH_SAMPLE_H

void mw_sample_register_hooks(void);

#endif /* MOD_MEMWATCH_SAMPLE_H */
