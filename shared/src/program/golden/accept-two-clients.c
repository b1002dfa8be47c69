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
    int listener_port;

    /* socket(AF_INET, SOCK_STREAM) */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(listener, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:50771 */
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
    /* connect(client, 127.0.0.1:50771) */
    /* in the lab the kernel gave it 127.0.0.1:44258 */
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
    /* socket(AF_INET, SOCK_STREAM) */
    int client2 = socket(AF_INET, SOCK_STREAM, 0);
    if (client2 == -1)
        die("socket");
    printf("socket: ok\n");
    /* accept(listener) */
    /* accept waits in the kernel while the program goes on: a thread */
    static struct waiting accept_2;
    accept_2.fd = listener;
    if (pthread_create(&accept_2.thread, NULL, wait_accept, &accept_2) != 0)
        die("pthread_create");
    /* connect(client2, 127.0.0.1:50771) */
    /* in the lab the kernel gave it 127.0.0.1:44260 */
    addr_len = make_address(&addr, "127.0.0.1", listener_port); /* the port the kernel chose for it */
    if (connect(client2, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client2);
    /* accept(listener) */
    pthread_join(accept_2.thread, NULL);
    errno = accept_2.error;
    int conn2 = (int)accept_2.result;
    if (conn2 == -1)
        die("accept");
    print_address("accept: peer ", &accept_2.addr);
    return 0;
}
