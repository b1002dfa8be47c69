#!/usr/bin/env python3
"""The client half of a socketlab session: its calls, in the lab's order.

Each call prints its result as the lab showed it.
Run it once the server has printed its address:
python3 client.py LISTENER_PORT
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
    sys.exit(f"usage: {sys.argv[0]} LISTENER_PORT: the port the server printed")
listener_port = int(sys.argv[1])
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
