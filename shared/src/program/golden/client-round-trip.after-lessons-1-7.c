/* A socketlab session as a program: the same calls, in the same order.
 * Each call prints its result as the lab showed it.
 * Build and run: cc -Wall -o session session.c && ./session
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

/* The relay's echo_tcp lesson service, on the port its kernel chose:
 * it answers while that relay runs (started again, the relay gets another port). */
#define ECHO_TCP_PORT 46121

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

int main(void)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    ssize_t n;
    static char buf[1024];
    int listener3_port;

    /* socket(AF_INET, SOCK_STREAM) */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(listener, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:43677 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(listener, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", listener);
    /* listen(listener, 16) */
    if (listen(listener, 16) == -1)
        die("listen");
    print_local("listen: ", listener);
    /* socket(AF_INET, SOCK_STREAM) */
    int listener2 = socket(AF_INET, SOCK_STREAM, 0);
    if (listener2 == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(listener2, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:55349 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(listener2, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", listener2);
    /* listen(listener2, 16) */
    if (listen(listener2, 16) == -1)
        die("listen");
    print_local("listen: ", listener2);
    /* socket(AF_INET, SOCK_STREAM) */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(sock, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:51159 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(sock, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", sock);
    /* close(sock) */
    if (close(sock) == -1)
        die("close");
    printf("close: ok\n");
    /* socket(AF_INET, SOCK_STREAM) */
    int sock2 = socket(AF_INET, SOCK_STREAM, 0);
    if (sock2 == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(sock2, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:58451 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(sock2, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", sock2);
    /* socket(AF_INET, SOCK_STREAM) */
    int sock3 = socket(AF_INET, SOCK_STREAM, 0);
    if (sock3 == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(sock3, 127.0.0.1:38637) */
    addr_len = make_address(&addr, "127.0.0.1", 38637);
    if (bind(sock3, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", sock3);
    /* socket(AF_INET, SOCK_STREAM) */
    int sock4 = socket(AF_INET, SOCK_STREAM, 0);
    if (sock4 == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(sock4, 127.0.0.1:58515) */
    addr_len = make_address(&addr, "127.0.0.1", 58515);
    if (bind(sock4, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", sock4);
    /* socket(AF_INET, SOCK_STREAM) */
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client == -1)
        die("socket");
    printf("socket: ok\n");
    /* connect(client, 127.0.0.1:46121) */
    /* in the lab the kernel gave it 127.0.0.1:44736 */
    addr_len = make_address(&addr, "127.0.0.1", ECHO_TCP_PORT);
    if (connect(client, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client);
    /* send(client, 6 bytes) */
    n = send(client, "hello\n", 6, 0);
    if (n == -1)
        die("send");
    printf("send: %zd bytes\n", n);
    /* recv(client, at most 1024 bytes) */
    n = recv(client, buf, 1024, 0);
    if (n == -1)
        die("recv");
    print_bytes("recv", buf, n);
    printf("\n");
    /* socket(AF_INET, SOCK_STREAM) */
    int sock5 = socket(AF_INET, SOCK_STREAM, 0);
    if (sock5 == -1)
        die("socket");
    printf("socket: ok\n");
    /* socket(AF_INET, SOCK_STREAM) */
    int sock6 = socket(AF_INET, SOCK_STREAM, 0);
    if (sock6 == -1)
        die("socket");
    printf("socket: ok\n");
    /* close(sock5) */
    if (close(sock5) == -1)
        die("close");
    printf("close: ok\n");
    /* socket(AF_INET, SOCK_STREAM) */
    int sock7 = socket(AF_INET, SOCK_STREAM, 0);
    if (sock7 == -1)
        die("socket");
    printf("socket: ok\n");
    /* socket(AF_INET, SOCK_STREAM) */
    int listener3 = socket(AF_INET, SOCK_STREAM, 0);
    if (listener3 == -1)
        die("socket");
    printf("socket: ok\n");
    /* bind(listener3, 127.0.0.1:0) */
    /* in the lab the kernel chose 127.0.0.1:35893 */
    addr_len = make_address(&addr, "127.0.0.1", 0); /* port 0: the kernel chooses */
    if (bind(listener3, (struct sockaddr *)&addr, addr_len) == -1)
        die("bind");
    print_local("bind: ", listener3);
    listener3_port = port_of(listener3);
    /* listen(listener3, 16) */
    if (listen(listener3, 16) == -1)
        die("listen");
    print_local("listen: ", listener3);
    /* socket(AF_INET, SOCK_STREAM) */
    int client2 = socket(AF_INET, SOCK_STREAM, 0);
    if (client2 == -1)
        die("socket");
    printf("socket: ok\n");
    /* connect(client2, 127.0.0.1:35893) */
    /* in the lab the kernel gave it 127.0.0.1:43974 */
    addr_len = make_address(&addr, "127.0.0.1", listener3_port); /* the port the kernel chose for it */
    if (connect(client2, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client2);
    /* accept(listener3) */
    peer_len = sizeof peer;
    int conn = accept(listener3, (struct sockaddr *)&peer, &peer_len);
    if (conn == -1)
        die("accept");
    print_address("accept: peer ", &peer);
    /* socket(AF_INET, SOCK_STREAM) */
    int client3 = socket(AF_INET, SOCK_STREAM, 0);
    if (client3 == -1)
        die("socket");
    printf("socket: ok\n");
    /* connect(client3, 127.0.0.1:35893) */
    /* in the lab the kernel gave it 127.0.0.1:43988 */
    addr_len = make_address(&addr, "127.0.0.1", listener3_port); /* the port the kernel chose for it */
    if (connect(client3, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client3);
    /* accept(listener3) */
    peer_len = sizeof peer;
    int conn2 = accept(listener3, (struct sockaddr *)&peer, &peer_len);
    if (conn2 == -1)
        die("accept");
    print_address("accept: peer ", &peer);
    /* socket(AF_INET, SOCK_STREAM) */
    int client4 = socket(AF_INET, SOCK_STREAM, 0);
    if (client4 == -1)
        die("socket");
    printf("socket: ok\n");
    /* connect(client4, 127.0.0.1:46121) */
    /* in the lab the kernel gave it 127.0.0.1:44738 */
    addr_len = make_address(&addr, "127.0.0.1", ECHO_TCP_PORT);
    if (connect(client4, (struct sockaddr *)&addr, addr_len) == -1)
        die("connect");
    print_local("connect: local ", client4);
    /* send(client4, 5 bytes) */
    n = send(client4, "ping\n", 5, 0);
    if (n == -1)
        die("send");
    printf("send: %zd bytes\n", n);
    /* recv(client4, at most 1024 bytes) */
    n = recv(client4, buf, 1024, 0);
    if (n == -1)
        die("recv");
    print_bytes("recv", buf, n);
    printf("\n");
    /* close(client4) */
    if (close(client4) == -1)
        die("close");
    printf("close: ok\n");
    return 0;
}
