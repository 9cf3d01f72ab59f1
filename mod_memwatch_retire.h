/* Licensed under the Apache License, Version 2.0. */

/* Deciding to retire a child, leaving gracefully per MPM, and ending a
 * child stuck in its exit. */

#ifndef MOD_MEMWATCH_RETIRE_H
#define MOD_MEMWATCH_RETIRE_H

void mw_retire_register_hooks(void);

#endif /* MOD_MEMWATCH_RETIRE_H */
