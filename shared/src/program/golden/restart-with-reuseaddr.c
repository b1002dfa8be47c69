/* A socketlab session as a program: the same calls, in the same order.
 * Each call prints its result as the lab showed it.
 * Build and run: cc -Wall -pthread -o session session.c && ./session
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The name of an errno this session met, as the lab showed it. */
static const char *errno_name(int error)
{
    switch (error) {
    case EADDRINUSE: return "EADDRINUSE";
    default: return strerror(error);
    }
}

/* A call failed that did not fail in the lab: say why and stop. */
static void die(const char *call)
{
    perror(call);
    exit(1);
}

/* Fills `addr` with ip:port (IPv4 or IPv6); its length. */
static socklen_t make_address(struct sockaddr_storage *addr, const char *ip, int port)
{
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return sizeof *v4;
    }
    inet_pton(AF_INET6, ip, &v6->sin6_addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof *v6;
}

/* Prints `label` and an address as 127.0.0.1:80 or [::1]:80. */
static void print_address(const char *label, const struct sockaddr_storage *addr)
{
    char ip[INET6_ADDRSTRLEN];
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        printf("%s[%s]:%d\n", label, ip, ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        printf("%s%s:%d\n", label, ip, ntohs(v4->sin_port));
    }
}

/* Prints `label` and the socket's local address (getsockname). */
static void print_local(const char *label, int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
        die("getsockname");
    print_address(label, &addr);
}

/* The port the kernel gave the socket (getsockname). */
static int port_of(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
        die("getsockname");
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

/* Prints `label`, how many bytes and the bytes in hex. */
static void print_bytes(const char *label, const char *data, ssize_t n)
{
    printf("%s: %zd bytes ", label, n);
    for (ssize_t i = 0; i < n; i++)
        printf("%02x", (unsigned char)data[i]);
}

/* Prints `label` and the option's value as getsockopt reads it. */
static void print_option(const char *label, int fd, int level, int option, const char *name)
{
    int value;
    socklen_t len = sizeof value;
    if (getsockopt(fd, level, option, &value, &len) == -1)
        die("getsockopt");
    printf("%s: %s = %d\n", label, name, value);
}

/* A call that waits in the kernel while the program goes on, on its own thread. */
struct waiting {
    pthread_t thread;
    int fd;
    struct sockaddr_storage addr; /* connect's and sendto's address; accept's and recvfrom's peer */
    socklen_t addr_len;
    const char *data; /* what send and sendto send */
    size_t len;       /* how much: to send, or at most to receive */
    ssize_t result;
    int error;
    char buf[65536];
};

static void *wait_accept(void *arg)
{
    struct waiting *w = arg;
    w->addr_len = sizeof w->addr;
    w->result = accept(w->fd, (struct sockaddr *)&w->addr, &w->addr_len);
    w->error = errno;
    return NULL;
}

int main(void)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    ssize_t n;
    int value;
    static char buf[1024];
    int listener_port;

    /* socket(AF_INET, SOCK_STREAM) */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener == -1)
        die("socket");
    printf("socket: ok\n");
    /* setsockopt(listener, SO_REUSEADDR, 1) */
    value = 1;
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &value, sizeof value) == -1)
        die("setsockopt");
    print_option("setsockopt", listener, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
    /* bind(listener, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:44169 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(listener, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", listener);
    listener_port = port_of(listener);
    /* listen(listener, 16) */
    if (listen(listener, 16) == -1)
        die("listen");
    print_local("listen: ", listener);
    /* socket(AF_INET, SOCK_STREAM) */
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client == -1)
        die("socket");
    printf("socket: ok\n");
    /* accept(listener) */
    /* accept waits in the kernel while the program goes on: a thread */
    static struct waiting accept_1;
    accept_1.fd = listener;
    if (pthread_create(&accept_1.thread, NULL, wait_accept, &accept_1) != 0)
        die("pthread_create");
    /* connect(client, 127.0.0.1:44169) */
    /* in the lab the kernel gave it 127.0.0.1:41778 */
    addr_len = make_address(&addr, "127.0.0.1", listener_port); /* the port the kernel chose for it */
    if (connect(client, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client);
    /* accept(listener) */
    pthread_join(accept_1.thread, NULL);
    errno = accept_1.error;
    int conn = (int)accept_1.result;
    if (conn == -1)
        die("accept");
    print_address("accept: peer ", &accept_1.addr);
    /* close(conn) */
    if (close(conn) == -1)
        die("close");
    printf("close: ok\n");
    /* recv(client, at most 1024 bytes) */
    n = recv(client, buf, 1024, 0);
    if (n == -1)
        die("recv");
    print_bytes("recv", buf, n);
    printf("\n");
    /* close(client) */
    if (close(client) == -1)
        die("close");
    printf("close: ok\n");
    /* close(listener) */
    if (close(listener) == -1)
        die("close");
    printf("close: ok\n");
    /* socket(AF_INET, SOCK_STREAM) */
    int listener2 = socket(AF_INET, SOCK_STREAM, 0);
    if (listener2 == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(listener2, 127.0.0.1:44169) */
    /* the lab got EADDRINUSE (98) */
    addr_len = make_address(&addr, "127.0.0.1", listener_port); /* the port the kernel chose for it */
    if (bind(listener2, (struct sockaddr *)&addr, addr_len) == -1)
        printf("bind: %s\n", errno_name(errno));
    else {
        print_local("bind: ", listener2);
    }
    /* setsockopt(listener2, SO_REUSEADDR, 1) */
    value = 1;
    if (setsockopt(listener2, SOL_SOCKET, SO_REUSEADDR, &value, sizeof value) == -1)
        die("setsockopt");
    print_option("setsockopt", listener2, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
    /* bind(listener2, 127.0.0.1:44169) */
    addr_len = make_address(&addr, "127.0.0.1", listener_port); /* the port the kernel chose for it */
    if (bind(listener2, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", listener2);
    /* listen(listener2, 16) */
    if (listen(listener2, 16) == -1)
        die("listen");
    print_local("listen: ", listener2);
    return 0;
}
