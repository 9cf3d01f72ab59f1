# Sourced by the scripts that start httpd: the httpd binary apxs was built
# for, SBINDIR/TARGET (/usr/sbin/apache2 on Debian); APXS picks another
# apxs. t/lib/MemwatchServer.pm finds it the same way for the tests.
#
#   source scripts/httpd.sh
#   HTTPD=$(httpd_binary)

httpd_binary() {
    local apxs=${APXS:-apxs} sbindir target
    sbindir=$("$apxs" -q SBINDIR) && target=$("$apxs" -q TARGET) || {
        echo "'$apxs -q' failed: is apxs (apache2-dev) installed?" >&2
        return 1
    }
    if [ ! -x "$sbindir/$target" ]; then
        echo "no httpd at $sbindir/$target" >&2
        return 1
    fi
    echo "$sbindir/$target"
}
