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
    const char *self;           /* the page's own path, decoded (as
                                 * r->uri): links encode it themselves */
    int refresh;                /* seconds, 0 for none */
    int child;                  /* slot of the detail view, -1 for none */
} mw_html_opts_t;

void mw_render_json(mw_out_t *out, const mw_view_t *v, apr_pool_t *p);
void mw_render_auto(mw_out_t *out, const mw_view_t *v, apr_pool_t *p);
void mw_render_prometheus(mw_out_t *out, const mw_view_t *v, apr_pool_t *p);
void mw_render_html(mw_out_t *out, const mw_view_t *v, apr_pool_t *p,
                    const mw_html_opts_t *opts);

/* Untrusted text as HTML text or an attribute value: escaped, and each
 * byte that starts no valid UTF-8 sequence, and each control character
 * but tab, CR and LF, written as U+FFFD, so the page stays valid UTF-8. */
void mw_put_html_text(mw_out_t *out, const char *s);

/* A decoded URL path (as r->uri) as an href value: every byte RFC 3986
 * does not allow in a path as it is ('?', '#', '%', quotes, spaces,
 * anything past ASCII) percent-encoded, so it stays one path; then '&'
 * and '\'' HTML-escaped. A path that starts with "//" (another host) or
 * not with '/' (a scheme?) gets a dot segment first. The output is ASCII. */
void mw_put_html_path(mw_out_t *out, const char *path);

/* A few lines for mod_status's /server-status (HTML or ?auto). */
void mw_render_status_section(mw_out_t *out, const mw_view_t *v,
                              apr_pool_t *p, int short_report);

#endif /* MW_RENDER_H */
