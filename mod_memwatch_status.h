/* Licensed under the Apache License, Version 2.0. */

/* The /memwatch handler and the section in mod_status's page. */

#ifndef MOD_MEMWATCH_STATUS_H
#define MOD_MEMWATCH_STATUS_H

#include "httpd.h"

/* post_config, from mod_memwatch.c: the key of the recycle buttons
 * (MemwatchAllowRecycle). */
int mw_status_post_config(server_rec *s);

void mw_status_register_hooks(void);

#endif /* MOD_MEMWATCH_STATUS_H */
