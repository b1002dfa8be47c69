#!/usr/bin/env python3
"""The client half of a socketlab session: its calls, in the lab's order.

Each call prints its result as the lab showed it.
Run it once the server has printed its address:
python3 client.py SERVER_UDP_PORT
"""
import errno
import socket
import sys


def address(addr):
    """(host, port) as 127.0.0.1:80, or [::1]:80 for IPv6."""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def failed(call, error):
    print(f"{call}: {errno.errorcode.get(error.errno, error.errno)}")


if len(sys.argv) != 2:
    sys.exit(f"usage: {sys.argv[0]} SERVER_UDP_PORT: the port the server printed")
server_udp_port = int(sys.argv[1])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:41496
udp.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(udp.getsockname()))
sent = udp.sendto(b"one", ("127.0.0.1", server_udp_port))
print(f"sendto: {sent} bytes")
sent = udp.sendto(b"two", ("127.0.0.1", server_udp_port))
print(f"sendto: {sent} bytes")
sent = udp.sendto(b"three", ("127.0.0.1", server_udp_port))
print(f"sendto: {sent} bytes")
