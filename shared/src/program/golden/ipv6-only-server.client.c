/* The client half of a socketlab session: its calls, in the lab's order.
 * Each call prints its result as the lab showed it.
 * Run it once the server has printed its address:
 * cc -Wall -o client client.c && ./client LISTENER_PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The name of an errno this session met, as the lab showed it. */
static const char *errno_name(int error)
{
    switch (error) {
    case ECONNREFUSED: return "ECONNREFUSED";
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

int main(int argc, char *argv[])
{
    struct sockaddr_storage addr;
    socklen_t addr_len;

    if (argc != 2) {
        fprintf(stderr, "usage: %s LISTENER_PORT: the port the server printed\n", argv[0]);
        return 2;
    }
    int listener_port = atoi(argv[1]);
    /* socket(AF_INET6, SOCK_STREAM) */
    int client = socket(AF_INET6, SOCK_STREAM, 0);
    if (client == -1)
        die("socket");
    printf("socket: ok\n");
    /* connect(client, [::1]:49963) */
    /* in the lab the kernel gave it [::1]:53980 */
    addr_len = make_address(&addr, "::1", listener_port); /* the server's port, from the command line */
    if (connect(client, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client);
    /* socket(AF_INET, SOCK_STREAM) */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock == -1)
        die("socket");
    printf("socket: ok\n");
    /* connect(sock, 127.0.0.1:49963) */
    /* the lab got ECONNREFUSED (111) */
    addr_len = make_address(&addr, "127.0.0.1", listener_port); /* the server's port, from the command line */
    if (connect(sock, (struct sockaddr *)&addr, addr_len) == -1)
        printf("connect: %s\n", errno_name(errno));
    else {
        print_local("connect: local ", sock);
    }
    return 0;
}
