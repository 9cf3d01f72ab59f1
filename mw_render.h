/* Licensed under the Apache License, Version 2.0. */

/* mw_render: one small renderer per output format, each taking a collected
 * mw_view_t. No httpd types: the handler passes an mw_out_t that writes to
 * the response. Renderers see mw_view's records only, never the
 * shared-memory layout. */

#ifndef MW_RENDER_H
#define MW_RENDER_H

#include "mw_format.h"
#include "mw_view.h"

typedef struct mw_html_opts_t {
    const char *self;           /* the page's own path, for links */
    int refresh;                /* seconds, 0 for none */
    int child;                  /* slot of the detail view, -1 for none */
} mw_html_opts_t;

void mw_render_json(mw_out_t *out, const mw_view_t *v, apr_pool_t *p);
void mw_render_auto(mw_out_t *out, const mw_view_t *v, apr_pool_t *p);
void mw_render_prometheus(mw_out_t *out, const mw_view_t *v, apr_pool_t *p);
void mw_render_html(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                    const mw_html_opts_t *opts);

/* A few lines for mod_status's /server-status (HTML or ?auto). */
void mw_render_status_section(mw_out_t *out, const mw_view_t *v,
                              apr_pool_t *p, int short_report);

#endif /* MW_RENDER_H */
