/* Licensed under the Apache License, Version 2.0. */

/* The /memwatch handler and the section in mod_status's page. */

#ifndef MOD_MEMWATCH_STATUS_H
#define MOD_MEMWATCH_STATUS_H

void mw_status_register_hooks(void);

#endif /* MOD_MEMWATCH_STATUS_H */
