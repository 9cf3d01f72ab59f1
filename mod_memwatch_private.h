/* Licensed under the Apache License, Version 2.0. */

/* What every glue file of mod_memwatch shares: the module record and its
 * log macro. Each concern's API is in its own header; the layering, from
 * the bottom, is config, cgroup, children, table, mapping, leave, retire,
 * sample, parent, status, and mod_memwatch.c on top (README: Layout). */

#ifndef MOD_MEMWATCH_PRIVATE_H
#define MOD_MEMWATCH_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

/* From the first line of debian/changelog, its one source (Makefile,
 * config.m4). */
#ifndef MEMWATCH_VERSION
#error "MEMWATCH_VERSION is defined by the build, from debian/changelog"
#endif

/* The one symbol httpd looks up in the module; the Makefile hides the rest
 * (-fvisibility=hidden), so calls between the module's files are direct.
 * Protected, not default: the module's own references to its record
 * (every ap_get_module_config) then bind locally, not through the GOT,
 * a page less for each request to touch. httpd finds it with dlsym. */
#define MW_EXPORTED __attribute__((visibility("protected")))

extern module AP_MODULE_DECLARE_DATA memwatch_module MW_EXPORTED;
APLOG_USE_MODULE(memwatch);

#endif /* MOD_MEMWATCH_PRIVATE_H */
