/* Licensed under the Apache License, Version 2.0. */

/* mw_render_chart: the HTML page's SVG charts (mw_render_html.c). */

#ifndef MW_RENDER_CHART_H
#define MW_RENDER_CHART_H

#include "mw_render.h"

/* One line: a child's samples, oldest first. */
typedef struct mw_chart_series_t {
    const mw_sample_t *s;
    int n;
    int field;          /* 0 rss, 1 private */
    const char *colour;
} mw_chart_series_t;

/* The i-th child on the page: a colour of its own (0 and 1 also draw a
 * child's RSS and private memory). */
const char *mw_chart_colour(apr_pool_t *p, int i);

/* A child's history with its current figures appended as the newest
 * point, so a chart is never empty and always reaches "now"; *n points. */
const mw_sample_t *mw_chart_with_now(apr_pool_t *p, const mw_view_t *v,
                                          const mw_child_view_t *c, int *n);

/* One SVG line chart titled `label`; `total` adds a summed line over the
 * series. */
void mw_chart(mw_out_t *out, apr_pool_t *p, const mw_chart_series_t *series,
              int nseries, int total, const mw_view_t *v, const char *label);

#endif /* MW_RENDER_CHART_H */
