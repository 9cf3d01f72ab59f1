dnl Build mod_memwatch inside httpd's tree as modules/memwatch/:
dnl   ./configure --enable-memwatch=shared
dnl The out-of-tree Makefile reads the object list from this file too.

APACHE_MODPATH_INIT(memwatch)

memwatch_objects="mod_memwatch.lo mod_memwatch_cgroup.lo mod_memwatch_children.lo mod_memwatch_config.lo mod_memwatch_leave.lo mod_memwatch_mapping.lo mod_memwatch_parent.lo mod_memwatch_retire.lo mod_memwatch_sample.lo mod_memwatch_status.lo mod_memwatch_table.lo mw_attr.lo mw_budget.lo mw_cgroup.lo mw_format.lo mw_heap.lo mw_key.lo mw_manual.lo mw_names.lo mw_policy.lo mw_pool.lo mw_proc.lo mw_render_chart.lo mw_render_html.lo mw_render_text.lo mw_shm.lo mw_smaps.lo mw_trend.lo mw_view.lo"

APACHE_MODULE(memwatch, per-child memory watching and graceful recycling, $memwatch_objects, , no)

APACHE_MODPATH_FINISH
