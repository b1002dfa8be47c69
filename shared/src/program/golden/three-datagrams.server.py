#!/usr/bin/env python3
"""The server half of a socketlab session: its calls, in the lab's order.

Each call prints its result as the lab showed it.
Run it first: python3 server.py
then the client, with the port this program prints.
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


sys.stdout.reconfigure(line_buffering=True)  # each line at once, even into a pipe
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:38148
udp.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(udp.getsockname()))
data, peer = udp.recvfrom(1024)
print(f"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}")
data, peer = udp.recvfrom(1024)
print(f"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}")
data, peer = udp.recvfrom(1024)
print(f"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}")
