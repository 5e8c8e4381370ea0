#!/usr/bin/env python3
"""A flood of idle clients, the attack bench/flood.py measures the server against: COUNT sockets that connect
and never send a byte (or, with --flags, send their flags as soon as the greeting is in and then nothing), each
reconnecting at once when the server closes it. One process, one epoll loop, so the flood is as fast as Python
allows on the cores it shares with the server. Every second it rewrites STATUS with its figures (key=value):
sockets connected now, connections made, and connections the server closed.

    bench/idleflood.py --unix PATH --count 3000 --status FILE
    bench/idleflood.py --tcp 127.0.0.1:PORT --count 3000 --status FILE --flags
"""
import argparse
import errno
import os
import resource
import selectors
import socket
import struct
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--unix", help="the server's Unix socket")
    target.add_argument("--tcp", help="HOST:PORT of the server")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--status", required=True)
    parser.add_argument("--flags", action="store_true", help="answer the greeting with the client's flags, then idle")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.count + 100)), hard))
    if args.unix:
        family, address = socket.AF_UNIX, args.unix
    else:
        host, port = args.tcp.rsplit(":", 1)
        family, address = socket.AF_INET, (host, int(port))
    Flood(family, address, args.count, args.status, args.flags).run()


GREETING_LENGTH = 18  # fixed newstyle: NBDMAGIC, IHAVEOPT, the handshake flags
CLIENT_FLAGS = struct.pack(">I", 3)  # FIXED_NEWSTYLE | NO_ZEROES


class Flood:
    def __init__(self, family, address, count, status, flags):
        self.family, self.address, self.count, self.status, self.flags = family, address, count, status, flags
        self.selector = selectors.DefaultSelector()
        self.received = {}          # greeting bytes received, per socket
        self.waiting = count        # sockets to (re)connect
        self.connected = 0          # sockets whose connection is established
        self.made = 0
        self.closed_by_server = 0

    def run(self):
        last_status = 0
        while True:
            self.connect_waiting()
            # A Unix socket whose listen queue is full refuses at once (EAGAIN): try again shortly, not in a spin.
            for key, events in self.selector.select(timeout=0.01 if self.waiting else 1):
                self.handle(key.fileobj, events)
            now = time.monotonic()
            if now - last_status >= 1:
                self.write_status()
                last_status = now

    def connect_waiting(self):
        while self.waiting:
            sock = socket.socket(self.family, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex(self.address)
            if code == 0:
                self.established(sock)
            elif code in (errno.EINPROGRESS, errno.EALREADY):
                self.selector.register(sock, selectors.EVENT_WRITE)
            else:
                sock.close()
                return
            self.waiting -= 1

    def established(self, sock):
        self.connected += 1
        self.made += 1
        self.received[sock] = 0
        self.selector.register(sock, selectors.EVENT_READ)

    def handle(self, sock, events):
        if events & selectors.EVENT_WRITE:
            self.selector.unregister(sock)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                self.established(sock)
            else:
                sock.close()
                self.waiting += 1
            return
        try:
            data = sock.recv(4096)  # the greeting, then the end
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(sock)
            del self.received[sock]
            sock.close()
            self.connected -= 1
            self.closed_by_server += 1
            self.waiting += 1
            return
        before = self.received[sock]
        self.received[sock] += len(data)
        if self.flags and before < GREETING_LENGTH <= self.received[sock]:
            try:
                sock.send(CLIENT_FLAGS)
            except OSError:
                pass  # closed meanwhile: the next read sees the end

    def write_status(self):
        text = f"connected={self.connected} made={self.made} closed_by_server={self.closed_by_server}\n"
        temporary = self.status + ".new"
        with open(temporary, "w") as out:
            out.write(text)
        os.replace(temporary, self.status)


if __name__ == "__main__":
    main()
