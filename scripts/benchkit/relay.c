/* The physical limit: the least an IRC relay can do, in C on epoll (benchkit's "relay-c").
 *
 * Built by the benchmark with `cc -O2` (benchkit.servers) and run as `relay-c PORT`, like
 * benchkit/relay.py but without an interpreter: what lanchat and the C servers achieve is set
 * beside what one thread of C achieves on the same machine, load generator and rounds.
 * It answers NICK/USER with 001 and 376, JOIN with the JOIN broadcast and 366, PING with PONG,
 * and relays `PRIVMSG #room :text` to every other member of its one room with the sender's
 * prefix. Output is coalesced: bytes queued while handling one epoll_wait batch go out in one
 * write per connection at the end of the batch. No validation, no flood control, no modes.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
#define INBUF 16384

typedef struct {
    char in[INBUF];
    size_t inlen;
    char *out; /* queued output, written at the end of the batch or on EPOLLOUT */
    size_t outlen, outcap;
    int open, joined, dirty;
    char prefix[96]; /* ":nick!u@127.0.0.1 " */
    size_t prefixlen;
} Conn;

static Conn *conns[MAXFD];
static int members[MAXFD], nmembers; /* the one room */
static int dirty[MAXFD], ndirty;
static int ep;

static void queue(int fd, const char *data, size_t len) {
    Conn *c = conns[fd];
    if (!c || !c->open) return;
    if (c->outlen + len > c->outcap) {
        c->outcap = (c->outlen + len) * 2;
        c->out = realloc(c->out, c->outcap);
    }
    memcpy(c->out + c->outlen, data, len);
    c->outlen += len;
    if (!c->dirty) { c->dirty = 1; dirty[ndirty++] = fd; }
}

static void drop(int fd) {
    Conn *c = conns[fd];
    if (c->joined)
        for (int i = 0; i < nmembers; i++)
            if (members[i] == fd) { members[i] = members[--nmembers]; break; }
    c->open = 0; c->joined = 0; c->inlen = 0; c->outlen = 0;
    close(fd);
}

static void flush(int fd) {
    Conn *c = conns[fd];
    size_t done = 0;
    while (c->open && done < c->outlen) {
        ssize_t n = write(fd, c->out + done, c->outlen - done);
        if (n > 0) { done += (size_t)n; continue; }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev); /* the rest on EPOLLOUT */
        break;
    }
    memmove(c->out, c->out + done, c->outlen - done);
    c->outlen -= done;
}

static void line(int fd, char *l, size_t len) {
    Conn *c = conns[fd];
    char buf[1024];
    if (len > 8 && memcmp(l, "PRIVMSG ", 8) == 0) {
        size_t n = c->prefixlen + len + 2;
        if (n > sizeof buf) return;
        memcpy(buf, c->prefix, c->prefixlen);
        memcpy(buf + c->prefixlen, l, len);
        memcpy(buf + c->prefixlen + len, "\r\n", 2);
        for (int i = 0; i < nmembers; i++)
            if (members[i] != fd) queue(members[i], buf, n);
    } else if (len > 5 && memcmp(l, "PING ", 5) == 0) {
        int n = snprintf(buf, sizeof buf, ":relay.c PONG relay.c %.*s\r\n", (int)len - 5, l + 5);
        queue(fd, buf, (size_t)n);
    } else if (len > 5 && memcmp(l, "NICK ", 5) == 0) {
        int n = snprintf(c->prefix, sizeof c->prefix, ":%.*s!u@127.0.0.1 ", (int)len - 5, l + 5);
        c->prefixlen = (size_t)n < sizeof c->prefix ? (size_t)n : sizeof c->prefix - 1;
    } else if (len > 5 && memcmp(l, "USER ", 5) == 0) {
        int nick = (int)c->prefixlen - 14; /* ":" nick "!u@127.0.0.1 " */
        int n = snprintf(buf, sizeof buf, ":relay.c 001 %.*s :Welcome\r\n:relay.c 376 %.*s :End\r\n",
                         nick, c->prefix + 1, nick, c->prefix + 1);
        queue(fd, buf, (size_t)n);
    } else if (len > 5 && memcmp(l, "JOIN ", 5) == 0) {
        if (!c->joined) { c->joined = 1; members[nmembers++] = fd; }
        int n = snprintf(buf, sizeof buf, "%.*sJOIN %.*s\r\n", (int)c->prefixlen, c->prefix,
                         (int)len - 5, l + 5);
        for (int i = 0; i < nmembers; i++) queue(members[i], buf, (size_t)n);
        int nick = (int)c->prefixlen - 14;
        n = snprintf(buf, sizeof buf, ":relay.c 366 %.*s %.*s :End\r\n", nick, c->prefix + 1,
                     (int)len - 5, l + 5);
        queue(fd, buf, (size_t)n);
    } else if (len >= 4 && memcmp(l, "QUIT", 4) == 0) {
        drop(fd);
    }
}

static void readable(int fd) {
    Conn *c = conns[fd];
    ssize_t n = read(fd, c->in + c->inlen, INBUF - c->inlen);
    if (n <= 0) { drop(fd); return; }
    c->inlen += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i + 1 < c->inlen && c->open; i++)
        if (c->in[i] == '\r' && c->in[i + 1] == '\n') {
            line(fd, c->in + start, i - start);
            start = i + 2;
        }
    if (!c->open) return;
    if (start == 0 && c->inlen == INBUF) { drop(fd); return; } /* a line longer than INBUF */
    memmove(c->in, c->in + start, c->inlen - start);
    c->inlen -= start;
}

int main(int argc, char **argv) {
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is noticed by read() */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[argc - 1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (argc != 2 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 4096)) {
        perror("relay-c PORT");
        return 2;
    }
    ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[512];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    printf("ready: port %s\n", argv[1]);
    fflush(stdout);
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int cfd;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (cfd >= MAXFD) { close(cfd); continue; }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (!conns[cfd]) conns[cfd] = calloc(1, sizeof(Conn));
                    conns[cfd]->open = 1;
                    conns[cfd]->prefixlen = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            if (!conns[fd]->open) continue;
            if (evs[i].events & EPOLLOUT) {
                flush(fd);
                if (conns[fd]->outlen == 0) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readable(fd);
        }
        for (int i = 0; i < ndirty; i++) { /* the end of the batch: one write per connection */
            conns[dirty[i]]->dirty = 0;
            if (conns[dirty[i]]->open) flush(dirty[i]);
        }
        ndirty = 0;
    }
}
