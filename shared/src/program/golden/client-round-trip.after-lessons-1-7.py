#!/usr/bin/env python3
"""A socketlab session as a program: the same calls, in the same order.

Each call prints its result as the lab showed it. Run: python3 session.py
"""
import errno
import socket

# The relay's echo_tcp lesson service, on the port its kernel chose:
# it answers while that relay runs (started again, the relay gets another port).
ECHO_TCP_PORT = 46121


def address(addr):
    """(host, port) as 127.0.0.1:80, or [::1]:80 for IPv6."""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def failed(call, error):
    print(f"{call}: {errno.errorcode.get(error.errno, error.errno)}")


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:43677
listener.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(listener.getsockname()))
listener.listen(16)
print("listen:", address(listener.getsockname()))
listener2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:55349
listener2.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(listener2.getsockname()))
listener2.listen(16)
print("listen:", address(listener2.getsockname()))
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:51159
sock.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(sock.getsockname()))
sock.close()
print("close: ok")
sock2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:58451
sock2.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(sock2.getsockname()))
sock3 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
sock3.bind(("127.0.0.1", 38637))
print("bind:", address(sock3.getsockname()))
sock4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
sock4.bind(("127.0.0.1", 58515))
print("bind:", address(sock4.getsockname()))
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel gave it 127.0.0.1:44736
client.connect(("127.0.0.1", ECHO_TCP_PORT))
print("connect: local", address(client.getsockname()))
sent = client.send(b"hello\n")
print(f"send: {sent} bytes")
data = client.recv(1024)
print(f"recv: {len(data)} bytes {data.hex()}")
sock5 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
sock6 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
sock5.close()
print("close: ok")
sock7 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
listener3 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel chose 127.0.0.1:35893
listener3.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(listener3.getsockname()))
listener3_port = listener3.getsockname()[1]
listener3.listen(16)
print("listen:", address(listener3.getsockname()))
client2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel gave it 127.0.0.1:43974
client2.connect(("127.0.0.1", listener3_port))
print("connect: local", address(client2.getsockname()))
conn, peer = listener3.accept()
print("accept: peer", address(peer))
client3 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel gave it 127.0.0.1:43988
client3.connect(("127.0.0.1", listener3_port))
print("connect: local", address(client3.getsockname()))
conn2, peer = listener3.accept()
print("accept: peer", address(peer))
client4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# in the lab the kernel gave it 127.0.0.1:44738
client4.connect(("127.0.0.1", ECHO_TCP_PORT))
print("connect: local", address(client4.getsockname()))
sent = client4.send(b"ping\n")
print(f"send: {sent} bytes")
data = client4.recv(1024)
print(f"recv: {len(data)} bytes {data.hex()}")
client4.close()
print("close: ok")
