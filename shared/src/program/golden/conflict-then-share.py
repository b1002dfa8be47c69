#!/usr/bin/env python3
"""A socketlab session as a program: the same calls, in the same order.

Each call prints its result as the lab showed it. Run: python3 session.py
"""
import errno
import socket


def address(addr):
    """(host, port) as 127.0.0.1:80, or [::1]:80 for IPv6."""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def failed(call, error):
    print(f"{call}: {errno.errorcode.get(error.errno, error.errno)}")


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:44651
sock.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(sock.getsockname()))
sock_port = sock.getsockname()[1]
sock2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# the lab got EADDRINUSE (98)
try:
    sock2.bind(("127.0.0.1", sock_port))
    print("bind:", address(sock2.getsockname()))
except OSError as error:
    failed("bind", error)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("socket: ok")
udp.bind(("127.0.0.1", sock_port))
print("bind:", address(udp.getsockname()))
