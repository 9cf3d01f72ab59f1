/* Licensed under the Apache License, Version 2.0. */

/* The parent's duties toward its children, every ten seconds: one pass
 * over the table for every concern. */

#ifndef MOD_MEMWATCH_PARENT_H
#define MOD_MEMWATCH_PARENT_H

void mw_parent_register_hooks(void);

#endif /* MOD_MEMWATCH_PARENT_H */
