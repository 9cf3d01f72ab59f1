/* Licensed under the Apache License, Version 2.0. */

/* Directives, their defaults, and the checks that stop configtest. */

#ifndef MOD_MEMWATCH_CONFIG_H
#define MOD_MEMWATCH_CONFIG_H

extern const command_rec mw_cmds[];

void *mw_create_server_config(apr_pool_t *p, server_rec *s);

/* check_config hook: limits that cannot all hold stop the server. */
int mw_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s);

#endif /* MOD_MEMWATCH_CONFIG_H */
