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


udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:38148
udp.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(udp.getsockname()))
udp_port = udp.getsockname()[1]
udp2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:41496
udp2.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(udp2.getsockname()))
sent = udp2.sendto(b"one", ("127.0.0.1", udp_port))
print(f"sendto: {sent} bytes")
sent = udp2.sendto(b"two", ("127.0.0.1", udp_port))
print(f"sendto: {sent} bytes")
sent = udp2.sendto(b"three", ("127.0.0.1", udp_port))
print(f"sendto: {sent} bytes")
data, peer = udp.recvfrom(1024)
print(f"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}")
data, peer = udp.recvfrom(1024)
print(f"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}")
data, peer = udp.recvfrom(1024)
print(f"recvfrom: {len(data)} bytes {data.hex()} from {address(peer)}")
