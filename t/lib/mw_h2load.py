#!/usr/bin/python3
"""A strict load client for t/protocols.t: HTTP/2 over cleartext (prior
knowledge), HTTP/2 over TLS (ALPN h2) and HTTP/1.1 (plain or TLS).
Loopback only, bounded in time; prints one JSON object with the counts.

Unlike h2load it tells a request the server did not process (safe to retry,
RFC 9113 8.7) from one it failed, and retries the first kind on a new
connection as a browser would:

- failed: a request started and not answered: a stream reset with any code
  but REFUSED_STREAM, the connection closed while it was open (for HTTP/2
  at or below a GOAWAY's last-stream-id), no complete response within
  --timeout, a non-2xx status, a body shorter than its Content-Length or
  not matching --expect; also a connection that cannot be made.
- refused: reset with REFUSED_STREAM; above_last: its stream id was above
  a GOAWAY's last-stream-id. Both are sent again (retried).
- held: a request a GOAWAY kept from being sent on its connection (a
  stream slot that stayed empty while the connection drained); it goes
  out on the next connection.

Modes: long (each of --conns connections keeps --streams streams in flight,
one request at a time for HTTP/1.1, until the server sends GOAWAY, says
"Connection: close" or closes; then a new connection) and reconnect (a new
connection every --per-conn requests). Latency is from the first time a
request was sent to its complete answer, retries included.

Uses Debian's python3-hpack and python3-hyperframe (the parts of
python3-h2 it needs): the h2 state machine itself stops reading streams
once a GOAWAY arrives, which a graceful shutdown notice must not do.
"""

import argparse
import json
import os
import re
import socket
import ssl
import sys
import time

import hpack
from hyperframe import frame as hf

REFUSED_STREAM = 0x7
DEBUG = os.environ.get('MW_H2LOAD_DEBUG')
PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
MAX_WINDOW = 2 ** 31 - 1


def debug(fmt, *args):
    """MW_H2LOAD_DEBUG=1: a line per connection event on stderr."""
    if DEBUG:
        sys.stderr.write('%d %.3f %s\n' % (os.getpid(), time.monotonic(),
                                           fmt % args))


class Stats:
    def __init__(self):
        self.ok = 0
        self.failed = 0
        self.errors = {}
        self.notes = {}         # not failures by themselves
        self.refused = 0
        self.above_last = 0
        self.held = 0
        self.retried = 0
        self.unsent_at_end = 0
        self.connections = 0
        self.goaways = 0
        self.closes = 0
        self.lat = []
        self.lat_retried = []   # of requests sent more than once
        self.pids = set()

    def fail(self, why, n=1):
        self.failed += n
        self.errors[why] = self.errors.get(why, 0) + n

    def done(self, req):
        self.ok += 1
        self.lat.append(time.monotonic() - req.t0)
        if req.tries > 1:
            self.lat_retried.append(self.lat[-1])


class Closed(Exception):
    """The connection ended; the message says how."""


class Conn:
    """One socket, plain or TLS, with a read buffer."""

    def __init__(self, a, alpn):
        s = socket.create_connection(('127.0.0.1', a.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.tls:
            ctx = ssl.create_default_context(cafile=a.cafile)
            ctx.set_alpn_protocols([alpn])
            s = ctx.wrap_socket(s, server_hostname='127.0.0.1')
            got = s.selected_alpn_protocol()
            if got != alpn:
                s.close()
                raise OSError('ALPN chose %r, not %r' % (got, alpn))
        self.s = s
        self.buf = bytearray()

    def send(self, data):
        try:
            self.s.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise Closed('write: %s' % type(e).__name__)

    def fill(self, timeout):
        """Read what comes within timeout; False if nothing came."""
        self.s.settimeout(timeout)
        try:
            d = self.s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (OSError, ssl.SSLError) as e:
            raise Closed('read: %s' % type(e).__name__)
        if not d:
            raise Closed('eof')
        self.buf += d
        return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Request:
    __slots__ = ('t0', 'tries')

    def __init__(self):
        self.t0 = None
        self.tries = 0


class Worker:
    """One client process: one connection at a time."""

    def __init__(self, a):
        self.a = a
        self.st = Stats()
        self.retry = []         # requests to send again
        self.expect = re.compile(a.expect.encode()) if a.expect else None
        self.end = time.monotonic() + a.seconds

    def next_request(self):
        if self.retry:
            self.st.retried += 1
            return self.retry.pop(0)
        return Request()

    def check(self, req, status, body, clen):
        """Judge a complete response."""
        if not 200 <= status < 300:
            self.st.fail('status %d' % status)
        elif clen is not None and len(body) != clen:
            self.st.fail('short body (%d of %d)' % (len(body), clen))
        elif self.expect and not self.expect.search(bytes(body)):
            self.st.fail('unexpected body')
        else:
            m = re.search(rb'pid=(\d+)', body)
            if m:
                self.st.pids.add(int(m.group(1)))
            self.st.done(req)

    def connect(self, alpn):
        try:
            c = Conn(self.a, alpn)
        except (OSError, ssl.SSLError) as e:
            self.st.fail('connect: %s' % (getattr(e, 'strerror', None) or e))
            time.sleep(0.05)
            return None
        self.st.connections += 1
        debug('connected')
        return c

    def run(self):
        while time.monotonic() < self.end:
            if self.a.proto == 'h2':
                self.h2_connection()
            else:
                self.h1_connection()
        self.st.unsent_at_end = len(self.retry)
        lat = self.st.lat
        return {
            'ok': self.st.ok, 'failed': self.st.failed,
            'errors': self.st.errors, 'notes': self.st.notes,
            'refused': self.st.refused,
            'above_last': self.st.above_last, 'held': self.st.held,
            'retried': self.st.retried,
            'unsent_at_end': self.st.unsent_at_end,
            'connections': self.st.connections, 'goaways': self.st.goaways,
            'closes': self.st.closes, 'pids': sorted(self.st.pids),
            'lat_ms': [round(x * 1000, 1) for x in lat],
            'lat_retried_ms': [round(x * 1000, 1)
                               for x in self.st.lat_retried],
        }

    # ---- HTTP/1.1 ----
    def h1_connection(self):
        a = self.a
        c = self.connect('http/1.1')
        if not c:
            return
        sent = 0
        try:
            while time.monotonic() < self.end and sent < a.per_conn:
                req = self.next_request()
                if req.t0 is None:
                    req.t0 = time.monotonic()
                req.tries += 1
                sent += 1
                try:
                    c.send(b'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
                           % a.path.encode())
                    status, body, clen, close = self.h1_response(c)
                except Closed as e:
                    self.st.fail('%s (%s connection)'
                                 % (e, 'reused' if sent > 1 else 'new'))
                    return
                self.check(req, status, body, clen)
                if close:
                    self.st.closes += 1
                    return
        finally:
            c.close()

    def h1_response(self, c):
        deadline = time.monotonic() + self.a.timeout

        def more():
            left = deadline - time.monotonic()
            if left <= 0:
                raise Closed('timeout')
            c.fill(min(left, 1.0))

        while b'\r\n\r\n' not in c.buf:
            try:
                more()
            except Closed as e:
                raise Closed('%s %s' % (e, 'in headers' if c.buf
                                        else 'before response'))
        end = c.buf.index(b'\r\n\r\n')
        head = bytes(c.buf[:end]).decode('latin-1').split('\r\n')
        del c.buf[:end + 4]
        m = re.match(r'HTTP/1\.1 (\d{3}) ', head[0] + ' ')
        if not m:
            raise Closed('bad status line')
        status = int(m.group(1))
        h = {}
        for line in head[1:]:
            k, _, v = line.partition(':')
            h[k.strip().lower()] = v.strip()
        close = 'close' in h.get('connection', '').lower()
        body = bytearray()
        clen = None
        if 'chunked' in h.get('transfer-encoding', '').lower():
            while True:
                while b'\r\n' not in c.buf:
                    more()
                i = c.buf.index(b'\r\n')
                try:
                    n = int(bytes(c.buf[:i]).split(b';')[0], 16)
                except ValueError:
                    raise Closed('bad chunk size')
                while len(c.buf) < i + 2 + n + 2:
                    more()
                body += c.buf[i + 2:i + 2 + n]
                del c.buf[:i + 2 + n + 2]
                if n == 0:
                    break
        elif 'content-length' in h:
            clen = int(h['content-length'])
            try:
                while len(c.buf) < clen:
                    more()
            except Closed as e:
                raise Closed('%s in body' % e)
            body = c.buf[:clen]
            del c.buf[:clen]
        else:
            raise Closed('no length')
        return status, body, clen, close

    # ---- HTTP/2 ----
    def h2_connection(self):
        a = self.a
        c = self.connect('h2')
        if not c:
            return
        enc, dec = hpack.Encoder(), hpack.Decoder()
        streams = {}            # id -> [req, status, body, Content-Length]
        next_id = 1
        started = 0
        goaway = None           # last-stream-id of the lowest GOAWAY
        gcode = ''              # its error code, if any
        peer_max = 100
        held = 0
        hdr = None              # [stream id, block, END_STREAM] being read
        st = self.st

        s = hf.SettingsFrame(0)
        s.settings = {hf.SettingsFrame.ENABLE_PUSH: 0,
                      hf.SettingsFrame.INITIAL_WINDOW_SIZE: MAX_WINDOW}
        w = hf.WindowUpdateFrame(0)
        w.window_increment = MAX_WINDOW - 65535
        try:
            c.send(PREFACE + s.serialize() + w.serialize())
            while True:
                now = time.monotonic()
                running = now < self.end
                # Fill the free stream slots, unless a GOAWAY came.
                want = min(a.streams, peer_max)
                out = []
                while running and len(streams) < want:
                    if goaway is not None:
                        free = want - len(streams)
                        if free > held:
                            st.held += free - held
                            held = free
                        break
                    if started >= a.per_conn:
                        break
                    req = self.next_request()
                    if req.t0 is None:
                        req.t0 = now
                    req.tries += 1
                    hf_ = hf.HeadersFrame(next_id)
                    hf_.data = enc.encode([
                        (':method', 'GET'), (':scheme',
                                             'https' if a.tls else 'http'),
                        (':authority', '127.0.0.1:%d' % a.port),
                        (':path', a.path)])
                    hf_.flags.add('END_HEADERS')
                    hf_.flags.add('END_STREAM')
                    out.append(hf_.serialize())
                    streams[next_id] = [req, None, bytearray(), None]
                    next_id += 2
                    started += 1
                if out:
                    c.send(b''.join(out))
                if not streams:
                    # Done with this connection: drained after a GOAWAY,
                    # its share of requests made, or the run is over.
                    if goaway is None:
                        g = hf.GoAwayFrame(0)
                        g.last_stream_id = 0
                        try:
                            c.send(g.serialize())
                        except Closed:
                            pass
                    return
                oldest = min(v[0].t0 for v in streams.values())
                if now - oldest > a.timeout:
                    raise Closed('timeout')
                c.fill(0.5)
                while len(c.buf) >= 9:
                    n = int.from_bytes(c.buf[:3], 'big')
                    if len(c.buf) < 9 + n:
                        break
                    f, _ = hf.Frame.parse_frame_header(
                        memoryview(bytes(c.buf[:9])), strict=False)
                    f.parse_body(memoryview(bytes(c.buf[9:9 + n])))
                    del c.buf[:9 + n]
                    t = f.type
                    if t == hf.SettingsFrame.type:
                        if 'ACK' not in f.flags:
                            peer_max = f.settings.get(
                                hf.SettingsFrame.MAX_CONCURRENT_STREAMS,
                                peer_max)
                            ack = hf.SettingsFrame(0)
                            ack.flags.add('ACK')
                            c.send(ack.serialize())
                    elif t == hf.PingFrame.type:
                        if 'ACK' not in f.flags:
                            p = hf.PingFrame(0)
                            p.opaque_data = f.opaque_data
                            p.flags.add('ACK')
                            c.send(p.serialize())
                    elif t in (hf.HeadersFrame.type,
                               hf.ContinuationFrame.type):
                        if t == hf.HeadersFrame.type:
                            hdr = [f.stream_id, f.data,
                                   'END_STREAM' in f.flags]
                        else:
                            hdr[1] += f.data
                        if 'END_HEADERS' not in f.flags:
                            continue
                        sid, blk, end_stream = hdr
                        headers = dec.decode(blk)   # keeps HPACK in step
                        v = streams.get(sid)
                        if v is None:
                            continue
                        for k, val in headers:
                            if k == ':status':
                                v[1] = int(val)
                            elif k == 'content-length':
                                v[3] = int(val)
                        if end_stream:
                            del streams[sid]
                            self.check(v[0], v[1] or 0, v[2], v[3])
                    elif t == hf.DataFrame.type:
                        v = streams.get(f.stream_id)
                        if v is None:
                            continue
                        v[2] += f.data
                        if 'END_STREAM' in f.flags:
                            del streams[f.stream_id]
                            self.check(v[0], v[1] or 0, v[2], v[3])
                    elif t == hf.RstStreamFrame.type:
                        v = streams.pop(f.stream_id, None)
                        if v is None:
                            continue
                        if f.error_code == REFUSED_STREAM:
                            st.refused += 1
                            self.retry.append(v[0])
                        else:
                            st.fail('stream reset, code %d' % f.error_code)
                    elif t == hf.GoAwayFrame.type:
                        st.goaways += 1
                        if f.error_code:
                            code = f.error_code
                            code -= (code >> 31) << 32    # as signed
                            k = 'GOAWAY code %d %r' % (code,
                                                      f.additional_data)
                            st.notes[k] = st.notes.get(k, 0) + 1
                            gcode = ' code %d' % code
                        last = f.last_stream_id
                        debug('GOAWAY last %d code %d, open %s', last,
                              f.error_code, sorted(streams))
                        goaway = last if goaway is None else min(goaway,
                                                                 last)
                        for sid in [x for x in streams if x > goaway]:
                            st.above_last += 1
                            self.retry.append(streams.pop(sid)[0])
        except Closed as e:
            debug('closed (%s), open %s', e, sorted(streams))
            if streams:
                why = str(e)
                if why == 'timeout':
                    st.fail('timeout (> %g s)' % a.timeout)
                    why = 'abandoned with a timed-out stream'
                    n = len(streams) - 1
                else:
                    why = 'connection closed (%s) with the stream open' % why
                    n = len(streams)
                if n:
                    st.fail(why + (' after GOAWAY' + gcode
                                   if goaway is not None else ''), n)
                streams.clear()
            elif goaway is None:
                st.closes += 1
        finally:
            c.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--proto', choices=['h2', 'http/1.1'], required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--cafile')
    p.add_argument('--mode', choices=['long', 'reconnect'], default='long')
    p.add_argument('--path', default='/')
    p.add_argument('--expect', help='a regex the body must match')
    p.add_argument('--seconds', type=float, default=10)
    p.add_argument('--conns', type=int, default=8)
    p.add_argument('--streams', type=int, default=10)
    p.add_argument('--per-conn', type=int, default=250)
    p.add_argument('--timeout', type=float, default=30)
    p.add_argument('--slow', type=float, default=2.0)
    a = p.parse_args()
    if a.mode == 'long':
        a.per_conn = float('inf')
    if a.proto == 'http/1.1':
        a.streams = 1

    kids = []
    for _ in range(a.conns):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                res = Worker(a).run()
            except Exception as e:      # a bug here must not look like a pass
                res = {'failed': 1, 'errors': {'client died: %r' % e: 1}}
            with os.fdopen(w, 'w') as f:
                json.dump(res, f)
            os._exit(0)
        os.close(w)
        kids.append((pid, r))

    tot = {'ok': 0, 'failed': 0, 'refused': 0, 'above_last': 0, 'held': 0,
           'retried': 0, 'unsent_at_end': 0, 'connections': 0,
           'goaways': 0, 'closes': 0, 'errors': {}, 'notes': {}}
    lat, lat_r, pids = [], [], set()
    for pid, r in kids:
        with os.fdopen(r) as f:
            data = f.read()
        os.waitpid(pid, 0)
        try:
            res = json.loads(data)
        except ValueError:
            res = {'failed': 1, 'errors': {'client died': 1}}
        for k in tot:
            if k in ('errors', 'notes'):
                for e, n in res.get(k, {}).items():
                    tot[k][e] = tot[k].get(e, 0) + n
            else:
                tot[k] += res.get(k, 0)
        lat += res.get('lat_ms', [])
        lat_r += res.get('lat_retried_ms', [])
        pids.update(res.get('pids', []))
    lat.sort()
    lat_r.sort()

    def pct(v, q):
        return v[min(len(v) - 1, int(q * len(v)))] if v else 0

    tot.update(p50_ms=pct(lat, 0.5), p99_ms=pct(lat, 0.99),
               max_ms=pct(lat, 1), slow=sum(1 for x in lat
                                            if x > a.slow * 1000),
               retried_p50_ms=pct(lat_r, 0.5), pids=len(pids))
    json.dump(tot, sys.stdout)
    print()


if __name__ == '__main__':
    main()
