/* Licensed under the Apache License, Version 2.0. */

/* rate: the load behind `make bench`'s recycling-rate comparison. Two
 * servers on loopback take turns under one strict HTTP/1.1 client:
 * keep-alive GETs of one path on CONNS connections, only one server loaded
 * at a time, switching every TURN_MS: A B A B..., so that the machine's
 * changes of speed fall on both alike. Strict alternation: a server's
 * turn is also a stretch of load that follows a pause as long, the same
 * for both (in A B B A, A's first and last turns stand alone and B's come
 * in pairs, and on prefork that alone moved A/A runs to 0.84). A server's
 * requests are sent in its turns only; one still out when its turn ends
 * is waited for (a request is slow whenever it is), but holds up neither
 * the switch nor the other server's turn, as under a load that never
 * pauses. Its idle connections are closed when its turn ends, so no turn
 * starts on a connection the server may be closing for its idleness. A
 * server's rate is its answered requests over the length of its turns.
 *
 * Strict: every request must get one complete answer (Content-Length,
 * chunked, or a body ended by the server's close after "Connection:
 * close"); a refused connection, a connection closed or reset before the
 * answer was complete, an answer not 2xx and a request unanswered after
 * WAIT_MS are each one failed request. "Connection: close" is honoured:
 * the next request goes on a new connection. A request's latency runs from
 * when it was issued, its connection's set-up included.
 *
 * The children of each server's parent (PPID) are read from
 * /proc/PPID/task/PPID/children every 10 ms through the run: exits and
 * births. When the answers name their child ("pid=N", as the test module's
 * /mw/leak does), the requests each child answered are counted, and the
 * children both born and gone during the run give the child's lifetime in
 * requests.
 *
 *   rate [-t TURN_MS] [-j JITTER_MS] [-n TURNS] [-c CONNS] [-s SLOW_MS]
 *        [-w WAIT_MS] PATH PORT_A PPID_A PORT_B PPID_B
 *
 * With JITTER_MS, each pair of turns (A's and B's next) lasts TURN_MS
 * give or take up to JITTER_MS, drawn from a fixed sequence: where a
 * parent's once-a-second maintenance falls in a turn then changes from
 * turn to turn rather than staying where the server's start put it (on
 * prefork that phase decided how fast it replaced children).
 *
 * Prints one line per server, tab-separated key=value: server, requests
 * (answered 2xx), seconds (its turns, in all), failed and its kinds
 * (connect, closed, of them closed_reused: on a connection that had
 * answered before, timeout, status), slow (requests over SLOW_MS,
 * answered or not), p50_ms p90_ms p99_ms p999_ms max_ms (of the answered
 * requests), connections, closes (answers saying Connection: close),
 * exits, births, lives (children born and gone in the run that answered),
 * life_min life_median life_max (their requests), turn_requests,
 * turn_slow (by the turn a request was sent in) and turn_seconds
 * (comma-separated, its turns in order). Exits 2 on a usage or system
 * error or an answer it cannot read, else 0: judging is the caller's.
 * Loopback only. */

#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define CLIENT_NAME "rate"
#include "client.h"

#define MAX_CONNS  64
#define MAX_TURNS  4096
#define MAX_KIDS   1024
#define PID_SLOTS  65536        /* a power of 2 */
#define BUF_SIZE   65536
#define MS         1000000LL
#define POLL_NS    (10 * MS)
/* After a refused connection, wait this long before the next attempt. */
#define RETRY_NS   (10 * MS)

enum { IDLE, CONNECTING, WAITING };

typedef struct server server_t;

typedef struct {
    server_t *s;
    int fd;                 /* -1: none */
    int turn;               /* the server's turn the request was sent in */
    int state;
    int used;               /* answers on this connection so far */
    long long issued_ns;    /* the request's start, connection included */
    long long retry_ns;     /* IDLE after a refused connection: not before */
    size_t have;
    char buf[BUF_SIZE];
} conn_t;

typedef struct {
    int pid;
    int born;               /* appeared during the run */
    long long requests;
} child_t;

struct server {
    const char *name;
    int port, ppid;
    conn_t conns[MAX_CONNS];
    long long requests, failed, f_connect, f_closed, f_timeout, f_status;
    long long f_closed_reused;  /* of f_closed: the connection had answered */
    long long slow, connections, closes, exits, births, busy_ns;
    unsigned int *lat;      /* answered requests' latencies, us */
    size_t nlat, caplat;
    int kids[MAX_KIDS], nkids;
    child_t *pids;          /* open addressing on pid */
    long long *lives;       /* requests of each child born and gone */
    size_t nlives, caplives;
    int nturns;
    long long turn_requests[MAX_TURNS], turn_slow[MAX_TURNS];
    double turn_seconds[MAX_TURNS];
};

static int nconns = 8;
static long long slow_ns = 1000 * MS, wait_ns = 10000 * MS;
static char request[1024];
static size_t request_len;
static server_t srv[2] = { { .name = "A" }, { .name = "B" } };
static server_t *active;    /* whose turn it is; NULL once the turns end */
static int epfd;            /* both servers' connections */


/* The entry of pid, made if new; NULL if the table is full. */
static child_t *child(server_t *s, int pid)
{
    unsigned int i, h = (unsigned int)pid * 2654435761u;

    for (i = 0; i < PID_SLOTS; i++) {
        child_t *c = &s->pids[(h + i) & (PID_SLOTS - 1)];
        if (c->pid == pid)
            return c;
        if (!c->pid) {
            c->pid = pid;
            return c;
        }
    }
    return NULL;
}

/* Read the children of s's parent; count those that came and went since
 * the last reading (none are counted at the first). */
static void poll_children(server_t *s, int first)
{
    char path[64], buf[8192], *p, *end;
    int now[MAX_KIDS], n = 0, i, j;
    ssize_t len;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", s->ppid,
             s->ppid);
    if (!(f = fopen(path, "r")))
        die("server %s: parent %d is gone", s->name, s->ppid);
    len = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len > 0 ? len : 0] = '\0';
    for (p = buf; n < MAX_KIDS; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        now[n++] = (int)v;
    }
    for (i = 0; i < s->nkids; i++) {
        for (j = 0; j < n && now[j] != s->kids[i]; j++)
            ;
        if (j == n) {
            child_t *c = child(s, s->kids[i]);

            s->exits++;
            if (c && c->born && c->requests) {
                if (s->nlives == s->caplives) {
                    s->caplives = s->caplives ? 2 * s->caplives : 1024;
                    s->lives = realloc(s->lives,
                                       s->caplives * sizeof(*s->lives));
                    if (!s->lives)
                        die("out of memory");
                }
                s->lives[s->nlives++] = c->requests;
            }
            /* The pid may come back as another child (pid_max may be
             * 32768): its answers count from now on. */
            if (c) {
                c->born = 0;
                c->requests = 0;
            }
        }
    }
    for (j = 0; j < n; j++) {
        for (i = 0; i < s->nkids && s->kids[i] != now[j]; i++)
            ;
        if (i == s->nkids && !first) {
            child_t *c = child(s, now[j]);
            s->births++;
            if (c)
                c->born = 1;
        }
    }
    memcpy(s->kids, now, (size_t)n * sizeof(int));
    s->nkids = n;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);       /* leaves the epoll set */
    c->fd = -1;
    c->state = IDLE;
    c->have = 0;
    c->used = 0;
}

static void fail(server_t *s, conn_t *c, long long *kind, long long t)
{
    if (kind == &s->f_closed && c->used)
        s->f_closed_reused++;
    s->failed++;
    (*kind)++;
    if (t - c->issued_ns > slow_ns) {
        s->slow++;
        s->turn_slow[c->turn]++;
    }
    conn_close(c);
}

static void send_request(server_t *s, conn_t *c, long long t)
{
    if (send(c->fd, request, request_len, MSG_NOSIGNAL)
        != (ssize_t)request_len) {
        /* An empty socket buffer takes the whole request: the server has
         * closed or reset this connection. */
        fail(s, c, &s->f_closed, t);
        return;
    }
    c->state = WAITING;
}

/* Issue a request on c, on a new connection if it has none. */
static void issue(server_t *s, conn_t *c, long long t)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1, rc;

    c->issued_ns = t;
    c->turn = s->nturns;
    c->have = 0;
    if (c->fd >= 0) {
        send_request(s, c, t);
        return;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc && errno != EINPROGRESS) {
        fail(s, c, &s->f_connect, t);
        c->retry_ns = t + RETRY_NS;
        return;
    }
    s->connections++;
    ev.events = rc ? EPOLLOUT : EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev))
        die("epoll_ctl: %s", strerror(errno));
    if (rc)
        c->state = CONNECTING;
    else
        send_request(s, c, t);
}

/* Does the header block [buf, head) have a field name: with a value
 * containing token (case-insensitive)? */
static int header_has(const char *buf, size_t head, const char *name,
                      const char *token, const char **value)
{
    size_t nl = strlen(name);
    const char *p = buf, *end = buf + head;

    while ((p = memmem(p, (size_t)(end - p), "\r\n", 2)) && p + 2 < end) {
        const char *eol;

        p += 2;
        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl)
            && p[nl] == ':') {
            char v[256];
            size_t vl = (size_t)(eol - p) - nl - 1;

            if (value)
                *value = p + nl + 1;
            if (!token)
                return 1;
            vl = vl < sizeof(v) - 1 ? vl : sizeof(v) - 1;
            memcpy(v, p + nl + 1, vl);
            v[vl] = '\0';
            if (strcasestr(v, token))
                return 1;
        }
    }
    return 0;
}

/* Is c->buf one complete answer? 1 yes, 0 not yet, -1 malformed or more
 * than one answer's bytes. At eof a body without length is complete.
 * Sets *status and *closes (the server closes after it). */
static int parse(const conn_t *c, int eof, int *status, int *closes)
{
    const char *b = c->buf, *end, *cl;
    size_t head, pos;

    end = memmem(b, c->have, "\r\n\r\n", 4);
    if (!end)
        return c->have == BUF_SIZE ? -1 : 0;
    head = (size_t)(end - b) + 4;
    if (c->have < 12 || memcmp(b, "HTTP/1.", 7) || b[8] != ' ')
        return -1;
    *status = atoi(b + 9);
    *closes = header_has(b, head, "Connection", "close", NULL)
              || (b[7] == '0'
                  && !header_has(b, head, "Connection", "keep-alive", NULL));
    if (*status == 204 || *status == 304)
        return c->have == head ? 1 : -1;
    if (header_has(b, head, "Transfer-Encoding", "chunked", NULL)) {
        for (pos = head;;) {
            const char *eol = memmem(b + pos, c->have - pos, "\r\n", 2);
            unsigned long size;

            if (!eol)
                return 0;
            size = strtoul(b + pos, NULL, 16);
            pos = (size_t)(eol - b) + 2;
            if (!size) {
                /* Trailer fields, up to an empty line. */
                for (;;) {
                    eol = memmem(b + pos, c->have - pos, "\r\n", 2);
                    if (!eol)
                        return 0;
                    if (eol == b + pos)
                        return c->have == pos + 2 ? 1 : -1;
                    pos = (size_t)(eol - b) + 2;
                }
            }
            if (c->have < pos + size + 2)
                return 0;
            if (memcmp(b + pos + size, "\r\n", 2))
                return -1;
            pos += size + 2;
        }
    }
    if (header_has(b, head, "Content-Length", NULL, &cl)) {
        size_t body = strtoul(cl, NULL, 10);
        if (c->have < head + body)
            return 0;
        return c->have == head + body ? 1 : -1;
    }
    /* A body the server's close ends. */
    *closes = 1;
    return eof;
}

static void answered(server_t *s, conn_t *c, int status, int closes,
                     long long t)
{
    long long us = (t - c->issued_ns) / 1000;
    const char *p = memmem(c->buf, c->have, "pid=", 4);

    if (s->nlat == s->caplat) {
        s->caplat = s->caplat ? 2 * s->caplat : 65536;
        if (!(s->lat = realloc(s->lat, s->caplat * sizeof(*s->lat))))
            die("out of memory");
    }
    s->lat[s->nlat++] = us > 0xffffffffLL ? 0xffffffffu : (unsigned int)us;
    if (t - c->issued_ns > slow_ns) {
        s->slow++;
        s->turn_slow[c->turn]++;
    }
    if (status >= 200 && status < 300) {
        s->requests++;
        s->turn_requests[c->turn]++;
    }
    else {
        s->failed++;
        s->f_status++;
    }
    if (p) {
        child_t *k = child(s, atoi(p + 4));
        if (k)
            k->requests++;
    }
    c->used++;
    if (closes) {
        s->closes++;
        conn_close(c);
    }
    else if (s != active) {
        conn_close(c);      /* not kept idle across the other's turn */
    }
    else {
        c->state = IDLE;
        c->have = 0;
    }
}

/* Something happened on c. */
static void conn_event(conn_t *c, unsigned int events)
{
    server_t *s = c->s;
    long long t = now_ns();
    int status = 0, closes = 0, done, eof = 0, reset = 0;
    ssize_t n;

    if (c->state == CONNECTING) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
            fail(s, c, &s->f_connect, t);
            c->retry_ns = t + RETRY_NS;
            return;
        }
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev))
            die("epoll_ctl: %s", strerror(errno));
        send_request(s, c, t);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    n = read(c->fd, c->buf + c->have, BUF_SIZE - c->have);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0)
        reset = 1;      /* not an end a body without length may have */
    if (n <= 0) {
        eof = !reset;
        n = 0;
    }
    if (c->state != WAITING) {
        /* The server let an idle connection go: no request was out. */
        conn_close(c);
        return;
    }
    c->have += (size_t)n;
    done = parse(c, eof, &status, &closes);
    if (done < 0)
        die("port %d: an answer this client cannot read: %.*s", s->port,
            (int)(c->have < 300 ? c->have : 300), c->buf);
    if (done)
        answered(s, c, status, closes || eof, t);
    else if (eof || reset)
        fail(s, c, &s->f_closed, t);
}

static long long next_poll;

static void maybe_poll(long long t)
{
    if (t >= next_poll) {
        poll_children(&srv[0], 0);
        poll_children(&srv[1], 0);
        next_poll = t + POLL_NS;
    }
}

/* Fail the requests out longer than wait_ns, on both servers; the
 * number still out. */
static int expire(long long t)
{
    int k, i, out = 0;

    for (k = 0; k < 2; k++) {
        for (i = 0; i < nconns; i++) {
            conn_t *c = &srv[k].conns[i];

            if (c->state != IDLE && t - c->issued_ns > wait_ns)
                fail(&srv[k], c, &srv[k].f_timeout, t);
            out += c->state != IDLE;
        }
    }
    return out;
}

/* Wait for events until deadline (at most POLL_NS) and handle them; the
 * active server's idle connections send again. */
static void step(long long t, long long deadline)
{
    struct epoll_event ev[2 * MAX_CONNS];
    int i, n;

    n = epoll_wait(epfd, ev, 2 * MAX_CONNS,
                   deadline > t ? (int)((deadline - t + MS - 1) / MS) : 0);
    if (n < 0 && errno != EINTR)
        die("epoll_wait: %s", strerror(errno));
    for (i = 0; i < n; i++) {
        conn_t *c = ev[i].data.ptr;

        conn_event(c, ev[i].events);
        if (c->s == active && c->state == IDLE && t < c->retry_ns)
            continue;
        if (c->s == active && c->state == IDLE)
            issue(c->s, c, now_ns());
    }
}

/* One turn of server s: keep its connections busy for turn_ns, then
 * close those that are idle. */
static void run_turn(server_t *s, long long turn_ns)
{
    long long start = now_ns(), deadline = start + turn_ns;
    int i;

    if (s->nturns == MAX_TURNS)
        die("too many turns");
    active = s;
    for (i = 0; i < nconns; i++) {
        if (s->conns[i].state == IDLE)
            issue(s, &s->conns[i], start);
    }
    for (;;) {
        long long t = now_ns(), wake = t + POLL_NS;

        if (t >= deadline)
            break;
        maybe_poll(t);
        expire(t);
        for (i = 0; i < nconns; i++) {
            conn_t *c = &s->conns[i];

            if (c->state == IDLE && t >= c->retry_ns)
                issue(s, c, t);
            if (c->state == IDLE && c->retry_ns < wake)
                wake = c->retry_ns;
        }
        step(t, wake < deadline ? wake : deadline);
    }
    active = NULL;
    for (i = 0; i < nconns; i++) {
        if (s->conns[i].state == IDLE)
            conn_close(&s->conns[i]);
    }
    s->turn_seconds[s->nturns++] = (now_ns() - start) / 1e9;
    s->busy_ns += now_ns() - start;
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    return x < y ? -1 : x > y;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of the sorted latencies, in ms. */
static double quantile_ms(const server_t *s, double q)
{
    size_t i;

    if (!s->nlat)
        return 0;
    i = (size_t)(q * (double)s->nlat);
    return s->lat[i < s->nlat ? i : s->nlat - 1] / 1000.0;
}

static void report(server_t *s)
{
    long long *life = s->lives;
    size_t nlife = s->nlives, i;

    if (nlife)
        qsort(life, nlife, sizeof(*life), cmp_ll);
    qsort(s->lat, s->nlat, sizeof(*s->lat), cmp_uint);
    printf("server=%s\trequests=%lld\tseconds=%.3f\tfailed=%lld\t"
           "connect=%lld\tclosed=%lld\tclosed_reused=%lld\ttimeout=%lld\t"
           "status=%lld\t"
           "slow=%lld\tp50_ms=%.2f\tp90_ms=%.2f\tp99_ms=%.2f\t"
           "p999_ms=%.2f\tmax_ms=%.2f\tconnections=%lld\tcloses=%lld\t"
           "exits=%lld\tbirths=%lld\tlives=%zu\tlife_min=%lld\t"
           "life_median=%lld\tlife_max=%lld\tturn_requests=",
           s->name, s->requests, s->busy_ns / 1e9, s->failed, s->f_connect,
           s->f_closed, s->f_closed_reused, s->f_timeout, s->f_status, s->slow,
           quantile_ms(s, 0.50), quantile_ms(s, 0.90), quantile_ms(s, 0.99),
           quantile_ms(s, 0.999), s->nlat ? s->lat[s->nlat - 1] / 1000.0 : 0,
           s->connections, s->closes, s->exits, s->births, nlife,
           nlife ? life[0] : 0, nlife ? life[nlife / 2] : 0,
           nlife ? life[nlife - 1] : 0);
    for (i = 0; i < (size_t)s->nturns; i++)
        printf("%s%lld", i ? "," : "", s->turn_requests[i]);
    printf("\tturn_slow=");
    for (i = 0; i < (size_t)s->nturns; i++)
        printf("%s%lld", i ? "," : "", s->turn_slow[i]);
    printf("\tturn_seconds=");
    for (i = 0; i < (size_t)s->nturns; i++)
        printf("%s%.3f", i ? "," : "", s->turn_seconds[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    long long turn_ns = 1000 * MS, jitter_ns = 0, len = 0, t;
    unsigned int seed = 1;
    int turns = 8, opt, i, k;

    while ((opt = getopt(argc, argv, "t:j:n:c:s:w:")) != -1) {
        switch (opt) {
        case 't': turn_ns = atoll(optarg) * MS; break;
        case 'j': jitter_ns = atoll(optarg) * MS; break;
        case 'n': turns = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 's': slow_ns = atoll(optarg) * MS; break;
        case 'w': wait_ns = atoll(optarg) * MS; break;
        default: argc = 0; break;
        }
    }
    if (argc - optind != 5 || turn_ns <= 0 || jitter_ns < 0
        || jitter_ns >= turn_ns || turns < 2 || turns % 2
        || turns / 2 > MAX_TURNS || nconns < 1 || nconns > MAX_CONNS
        || slow_ns <= 0 || wait_ns < slow_ns)
        die("usage: rate [-t turn ms] [-j jitter ms < turn] "
            "[-n turns, both servers', even] "
            "[-c conns <= %d] [-s slow ms] [-w wait ms >= slow] "
            "PATH PORT_A PPID_A PORT_B PPID_B", MAX_CONNS);
    request_len = (size_t)snprintf(request, sizeof(request),
                                   "GET %s HTTP/1.1\r\n"
                                   "Host: 127.0.0.1\r\n\r\n", argv[optind]);
    if (request_len >= sizeof(request))
        die("path too long");
    if ((epfd = epoll_create1(0)) < 0)
        die("epoll_create1: %s", strerror(errno));
    for (k = 0; k < 2; k++) {
        server_t *s = &srv[k];

        s->port = atoi(argv[optind + 1 + 2 * k]);
        s->ppid = atoi(argv[optind + 2 + 2 * k]);
        if (s->port <= 0 || s->ppid <= 0)
            die("bad port or pid for server %s", s->name);
        if (!(s->pids = calloc(PID_SLOTS, sizeof(*s->pids))))
            die("out of memory");
        for (i = 0; i < nconns; i++) {
            s->conns[i].s = s;
            s->conns[i].fd = -1;
        }
        poll_children(s, 1);
    }
    t = now_ns();
    next_poll = t + POLL_NS;
    for (i = 0; i < turns; i++) {
        /* A's turn and B's next one last as long. */
        if (i % 2 == 0) {
            seed = seed * 1103515245u + 12345u;
            len = turn_ns + (long long)((double)(seed >> 8) / (1u << 24)
                                        * 2 * (double)jitter_ns)
                  - jitter_ns;
        }
        run_turn(&srv[i % 2], len);
    }
    /* The answers still out. */
    for (;;) {
        t = now_ns();
        maybe_poll(t);
        if (!expire(t))
            break;
        step(t, t + POLL_NS);
    }
    /* Children still leaving after that are not counted. */
    poll_children(&srv[0], 0);
    poll_children(&srv[1], 0);
    for (k = 0; k < 2; k++)
        report(&srv[k]);
    return 0;
}
