# A WSGI application that leaks: every request keeps 32 KiB in a
# module-level list, as a cache that is never trimmed would. Used by
# t/runtime.t in embedded mode (never on a real server).
import os

leaked = []


def application(environ, start_response):
    leaked.append(b'x' * (32 * 1024))
    body = b'leaked 32 KiB pid=%d\n' % os.getpid()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
