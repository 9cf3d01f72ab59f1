/* Licensed under the Apache License, Version 2.0. */

/* turns: the load behind `make bench`'s CPU comparison. Two servers on
 * loopback take turns under one client: keep-alive GETs of one path on
 * CONNS connections each, only one server loaded at a time, switching
 * every TURN_MS. At the end of every turn no new request is sent until
 * the answers of the last ones have arrived, so that a turn's requests
 * are exactly those it completed. The CPU of each server's processes (all
 * threads: utime + stime in ns, from /proc/PID/task/TID/schedstat) is read
 * at the start and the end of the counted turns, so each server's CPU and
 * its requests cover the same stretch of time, and that stretch is the
 * same for both: neither server's start or end is measured apart from the
 * other's.
 *
 * One warm-up turn each (not counted), then TURNS counted turns in the
 * order A B B A, repeated: each server has as many turns as the other,
 * first as often as second.
 *
 *   turns [-t TURN_MS] [-n TURNS] [-c CONNS] PATH PORT_A PIDS_A PORT_B PIDS_B
 *
 * PIDS are comma-separated (the children whose CPU counts). Prints one
 * line per server, tab-separated key=value: server, requests, cpu_ns,
 * seconds (its counted turns, in all), failed (requests that got no
 * complete answer, or one not 2xx: a strict count; warm-up included),
 * reconnects (idle connections the server had closed), tasks_same and
 * warmup_requests. Exits 1 if a process or thread
 * came or went between the two readings (the CPU of a thread that ends
 * leaves the sum), or on any failed request. Loopback only. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define CLIENT_NAME "turns"
#include "client.h"

#define MAX_CONNS 64
#define MAX_PIDS  64
#define MAX_TASKS 4096
#define BUF_SIZE  16384
/* Wait this long for the last answers of a turn before calling them lost. */
#define DRAIN_NS  (2 * 1000000000LL)
/* After the last answer, let the server finish the request (logging runs
 * after the response is sent) before its CPU is read. */
#define SETTLE_NS (2 * 1000000LL)

typedef struct {
    int fd;
    int busy;               /* a request is out */
    size_t have;            /* bytes in buf */
    char buf[BUF_SIZE];
} conn_t;

typedef struct {
    const char *name;
    int port;
    int epfd;
    int npids;
    int pids[MAX_PIDS];
    conn_t conns[MAX_CONNS];
    long long warmup_requests, requests, failed, reconnects, busy_ns;
} server_t;

static int nconns = 8;
static char request[1024];
static size_t request_len;


static void sleep_ns(long long ns)
{
    struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static void conn_open(server_t *s, conn_t *c)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
        die("connect to port %d: %s", s->port, strerror(errno));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->busy = 0;
    c->have = 0;
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev))
        die("epoll_ctl: %s", strerror(errno));
}

static void conn_reopen(server_t *s, conn_t *c)
{
    close(c->fd);           /* leaves the epoll set */
    conn_open(s, c);
}

static void conn_send(server_t *s, conn_t *c)
{
    ssize_t n = write(c->fd, request, request_len);

    /* A short write cannot happen on an idle connection's empty buffer. */
    if (n != (ssize_t)request_len)
        die("write to port %d: %s", s->port, strerror(errno));
    c->busy = 1;
}

/* Is buf[0..have) one complete answer? 1 yes (and *ok if 2xx), 0 not yet,
 * -1 malformed or more than one answer's bytes. */
static int parse_answer(const conn_t *c, int *ok)
{
    const char *end, *cl;
    size_t head, body;

    end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (!end)
        return c->have == sizeof(c->buf) ? -1 : 0;
    head = (size_t)(end - c->buf) + 4;
    if (c->have < 12 || memcmp(c->buf, "HTTP/1.1 ", 9))
        return -1;
    cl = memmem(c->buf, head, "\r\nContent-Length:", 17);
    if (!cl)
        return -1;      /* the bench's paths all answer with a length */
    body = strtoul(cl + 17, NULL, 10);
    if (c->have < head + body)
        return 0;
    if (c->have > head + body)
        return -1;      /* no pipelining: nothing may follow */
    *ok = c->buf[9] == '2';
    return 1;
}

/* Read what arrived on c. */
static void conn_read(server_t *s, conn_t *c, int sending)
{
    ssize_t n;
    int ok = 0, done;

    n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
    if (n <= 0) {
        /* Closed: a lost request if one was out (a strict client counts
         * it), else a keep-alive connection the server let go. */
        if (c->busy)
            s->failed++;
        else
            s->reconnects++;
        conn_reopen(s, c);
        if (sending)
            conn_send(s, c);
        return;
    }
    c->have += (size_t)n;
    done = parse_answer(c, &ok);
    if (done == 0)
        return;
    if (done < 0)
        die("port %d: an answer this client cannot read: %.*s", s->port,
            (int)(c->have < 200 ? c->have : 200), c->buf);
    c->busy = 0;
    c->have = 0;
    if (ok)
        s->requests++;
    else
        s->failed++;
    if (sending)
        conn_send(s, c);
}

/* One turn of server s: load it for turn_ns, then wait for the answers
 * still out. */
static void run_turn(server_t *s, long long turn_ns)
{
    struct epoll_event ev[MAX_CONNS];
    long long start = now_ns(), deadline = start + turn_ns;
    int i, n, out;

    for (i = 0; i < nconns; i++) {
        conn_t *c = &s->conns[i];
        char b;

        /* Closed by the server while idle (KeepAliveTimeout): not a lost
         * request, but a new connection. */
        if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            s->reconnects++;
            conn_reopen(s, c);
        }
        conn_send(s, c);
    }
    for (;;) {
        long long t = now_ns();
        int sending = t < deadline;

        for (out = 0, i = 0; i < nconns; i++)
            out += s->conns[i].busy;
        if (!sending && !out)
            break;
        if (!sending && t > deadline + DRAIN_NS)
            die("port %d: %d answer(s) still out %.1f s after the turn",
                s->port, out, DRAIN_NS / 1e9);
        n = epoll_wait(s->epfd, ev, MAX_CONNS,
                       sending ? (int)((deadline - t) / 1000000) + 1 : 10);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (i = 0; i < n; i++)
            conn_read(s, ev[i].data.ptr, now_ns() < deadline);
    }
    s->busy_ns += now_ns() - start;
}

/* CPU ns of s's processes, all threads; their thread ids into tids. */
static long long cpu_ns(const server_t *s, int *tids, int *ntids)
{
    long long sum = 0;
    char path[64];
    int i;

    *ntids = 0;
    for (i = 0; i < s->npids; i++) {
        struct dirent *d;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/task", s->pids[i]);
        if (!(dir = opendir(path)))
            die("pid %d is gone", s->pids[i]);
        while ((d = readdir(dir))) {
            unsigned long long ns;
            FILE *f;
            int tid = atoi(d->d_name);

            if (tid <= 0)
                continue;
            snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat",
                     s->pids[i], tid);
            if (!(f = fopen(path, "r")))
                continue;       /* a thread ending now: the tids differ */
            if (fscanf(f, "%llu", &ns) == 1 && *ntids < MAX_TASKS) {
                sum += (long long)ns;
                tids[(*ntids)++] = tid;
            }
            fclose(f);
        }
        closedir(dir);
    }
    return sum;
}

static int same_tasks(const int *a, int na, const int *b, int nb)
{
    int i, j;

    if (na != nb)
        return 0;
    for (i = 0; i < na; i++) {
        for (j = 0; j < nb && a[i] != b[j]; j++)
            ;
        if (j == nb)
            return 0;
    }
    return 1;
}

static void parse_pids(server_t *s, char *list)
{
    char *tok, *save = NULL;

    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (s->npids == MAX_PIDS || atoi(tok) <= 0)
            die("bad pid list at '%s'", tok);
        s->pids[s->npids++] = atoi(tok);
    }
    if (!s->npids)
        die("no pids for server %s", s->name);
}

static int tids0[2][MAX_TASKS], tids1[2][MAX_TASKS];

int main(int argc, char **argv)
{
    static server_t srv[2] = { { .name = "A" }, { .name = "B" } };
    long long turn_ns = 250 * 1000000LL, cpu0[2], cpu1[2];
    int turns = 8, opt, i, k, nt0[2], nt1[2], bad = 0;

    while ((opt = getopt(argc, argv, "t:n:c:")) != -1) {
        switch (opt) {
        case 't': turn_ns = atoll(optarg) * 1000000LL; break;
        case 'n': turns = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        default: die("usage: turns [-t ms] [-n turns] [-c conns] "
                     "PATH PORT_A PIDS_A PORT_B PIDS_B");
        }
    }
    if (argc - optind != 5 || turn_ns <= 0 || turns < 4 || turns % 4
        || nconns < 1 || nconns > MAX_CONNS)
        die("usage: turns [-t ms] [-n turns, a multiple of 4] "
            "[-c conns <= %d] PATH PORT_A PIDS_A PORT_B PIDS_B", MAX_CONNS);
    request_len = (size_t)snprintf(request, sizeof(request),
                                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                   argv[optind]);
    if (request_len >= sizeof(request))
        die("path too long");
    for (k = 0; k < 2; k++) {
        srv[k].port = atoi(argv[optind + 1 + 2 * k]);
        parse_pids(&srv[k], argv[optind + 2 + 2 * k]);
        if ((srv[k].epfd = epoll_create1(0)) < 0)
            die("epoll_create1: %s", strerror(errno));
        for (i = 0; i < nconns; i++)
            conn_open(&srv[k], &srv[k].conns[i]);
    }

    for (k = 0; k < 2; k++)
        run_turn(&srv[k], turn_ns);
    sleep_ns(SETTLE_NS);
    for (k = 0; k < 2; k++) {
        cpu0[k] = cpu_ns(&srv[k], tids0[k], &nt0[k]);
        srv[k].warmup_requests = srv[k].requests;
        srv[k].requests = 0;
        srv[k].busy_ns = 0;
    }
    for (i = 0; i < turns; i++) {
        /* A B B A */
        static const int order[4] = { 0, 1, 1, 0 };
        run_turn(&srv[order[i % 4]], turn_ns);
    }
    sleep_ns(SETTLE_NS);
    for (k = 0; k < 2; k++)
        cpu1[k] = cpu_ns(&srv[k], tids1[k], &nt1[k]);

    for (k = 0; k < 2; k++) {
        int same = same_tasks(tids0[k], nt0[k], tids1[k], nt1[k]);

        printf("server=%s\trequests=%lld\tcpu_ns=%lld\tseconds=%.3f\t"
               "failed=%lld\treconnects=%lld\ttasks_same=%d\t"
               "warmup_requests=%lld\n", srv[k].name,
               srv[k].requests, cpu1[k] - cpu0[k], srv[k].busy_ns / 1e9,
               srv[k].failed, srv[k].reconnects, same,
               srv[k].warmup_requests);
        bad |= !same || srv[k].failed;
    }
    return bad;
}
