#!/usr/bin/env python3
"""A socketlab session as a program: the same calls, in the same order.

Each call prints its result as the lab showed it. Run: python3 session.py
"""
import errno
import socket
import threading


def address(addr):
    """(host, port) as 127.0.0.1:80, or [::1]:80 for IPv6."""
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def failed(call, error):
    print(f"{call}: {errno.errorcode.get(error.errno, error.errno)}")


class Waiting(threading.Thread):
    """A call that waits in the kernel while the program goes on."""

    def __init__(self, call):
        super().__init__()
        self.call, self.result, self.error = call, None, None
        self.start()

    def run(self):
        try:
            self.result = self.call()
        except OSError as error:
            self.error = error

    def answer(self):
        """Waits for the call; its result, or its error raised here."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
print("setsockopt: SO_REUSEADDR =", listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
# in the lab the kernel chose 127.0.0.1:44169
listener.bind(("127.0.0.1", 0))
# port 0: the kernel chooses one; getsockname says which
print("bind:", address(listener.getsockname()))
listener_port = listener.getsockname()[1]
listener.listen(16)
print("listen:", address(listener.getsockname()))
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# accept waits in the kernel while the program goes on: a thread
accept_1 = Waiting(lambda: listener.accept())
# in the lab the kernel gave it 127.0.0.1:41778
client.connect(("127.0.0.1", listener_port))
print("connect: local", address(client.getsockname()))
conn, peer = accept_1.answer()
print("accept: peer", address(peer))
conn.close()
print("close: ok")
data = client.recv(1024)
print(f"recv: {len(data)} bytes {data.hex()}")
client.close()
print("close: ok")
listener.close()
print("close: ok")
listener2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("socket: ok")
# the lab got EADDRINUSE (98)
try:
    listener2.bind(("127.0.0.1", listener_port))
    print("bind:", address(listener2.getsockname()))
except OSError as error:
    failed("bind", error)
listener2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
print("setsockopt: SO_REUSEADDR =", listener2.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
listener2.bind(("127.0.0.1", listener_port))
print("bind:", address(listener2.getsockname()))
listener2.listen(16)
print("listen:", address(listener2.getsockname()))
