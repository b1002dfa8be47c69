/* The server half of a socketlab session: its calls, in the lab's order.
 * Each call prints its result as the lab showed it.
 * Run it first: cc -Wall -o server server.c && ./server
 * then the client, with the port this program prints.
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

/* Prints `label`, how many bytes and the bytes in hex. */
static void print_bytes(const char *label, const char *data, ssize_t n)
{
    printf("%s: %zd bytes ", label, n);
    for (ssize_t i = 0; i < n; i++)
        printf("%02x", (unsigned char)data[i]);
}

int main(void)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    ssize_t n;
    static char buf[1024];

    setvbuf(stdout, NULL, _IOLBF, 0); /* each line at once, even into a pipe */
    /* socket(AF_INET, SOCK_DGRAM) */
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    if (udp == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(udp, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:38148 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(udp, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", udp);
    /* recvfrom(udp, at most 1024 bytes) */
    peer_len = sizeof peer;
    n = recvfrom(udp, buf, 1024, 0, (struct sockaddr *)&peer, &peer_len);
    if (n == -1)
        die("recvfrom");
    print_bytes("recvfrom", buf, n);
    print_address(" from ", &peer);
    /* recvfrom(udp, at most 1024 bytes) */
    peer_len = sizeof peer;
    n = recvfrom(udp, buf, 1024, 0, (struct sockaddr *)&peer, &peer_len);
    if (n == -1)
        die("recvfrom");
    print_bytes("recvfrom", buf, n);
    print_address(" from ", &peer);
    /* recvfrom(udp, at most 1024 bytes) */
    peer_len = sizeof peer;
    n = recvfrom(udp, buf, 1024, 0, (struct sockaddr *)&peer, &peer_len);
    if (n == -1)
        die("recvfrom");
    print_bytes("recvfrom", buf, n);
    print_address(" from ", &peer);
    return 0;
}
