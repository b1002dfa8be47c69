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


listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose [::1]:49963
listener.bind(("::1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(listener.getsockname()))
listener_port = listener.getsockname()[1]
listener.listen(16)
print("listen:", address(listener.getsockname()))
client = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel gave it [::1]:53980
client.connect(("::1", listener_port))
print("connect: local", address(client.getsockname()))
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# the lab got ECONNREFUSED (111)
try:
    sock.connect(("127.0.0.1", listener_port))
    print("connect: local", address(sock.getsockname()))
except OSError as error:
    failed("connect", error)
