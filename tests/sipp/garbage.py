#!/usr/bin/env python3
"""Sends malformed SIP to a server on loopback, then checks it still answers.

Usage: garbage.py HOST:PORT [--count N] [--seconds S] [--seed N]
                            [--transport udp|tcp|both] [--no-check]

Each round picks one kind of garbage: random bytes, a valid request cut
short, NUL bytes in the start line or a header, a huge header, thousands of
headers, lying Content-Length values, broken start lines and URIs, bytes
that are not UTF-8, obsolete line folding, stray responses, bare CRLFs,
and, over TCP, several messages in one segment or a message sent in pieces
then dropped. It sends COUNT messages (default 400) or stops after SECONDS
(default 20), whichever comes first, over UDP, TCP or both.

Before and after, an OPTIONS over UDP must be answered (any SIP response):
the exit status is 0 if the server still answers afterwards, 1 if it does
not, 2 on bad arguments (a non-loopback address above all: this tool never
aims at another host).

Standard library only; deterministic for a given --seed.
"""

import argparse
import ipaddress
import random
import socket
import sys
import time

UDP_MAX = 65507  # the largest IPv4 UDP payload


def loopback_address(text):
    """HOST:PORT or [V6]:PORT to (host, port), refusing non-loopback hosts."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {host!r}")
    if not addr.is_loopback:
        raise argparse.ArgumentTypeError(f"refusing non-loopback address {host}")
    return str(addr), int(port)


class Garbage:
    """The generators; each returns bytes for one message."""

    def __init__(self, rng, host, port, transport):
        self.rng = rng
        self.host = host if ":" not in host else f"[{host}]"
        self.port = port
        self.transport = transport
        self.n = 0

    def valid(self, method="REGISTER", body=b"", extra=""):
        self.n += 1
        r = self.rng.getrandbits(32)
        head = (
            f"{method} sip:confab.local SIP/2.0\r\n"
            f"Via: SIP/2.0/{self.transport.upper()} {self.host}:9;branch=z9hG4bK-g{r:x}-{self.n}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:garbage@confab.local>;tag=g{r:x}\r\n"
            "To: <sip:garbage@confab.local>\r\n"
            f"Call-ID: garbage-{r:x}-{self.n}\r\n"
            f"CSeq: {self.n} {method}\r\n"
            f"Contact: <sip:garbage@{self.host}:9>\r\n"
            f"{extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def random_bytes(self):
        return self.rng.randbytes(self.rng.randint(1, 1400))

    def truncated(self):
        msg = self.valid("INVITE", b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n")
        return msg[: self.rng.randint(1, len(msg) - 1)]

    def nul_bytes(self):
        msg = bytearray(self.valid())
        for _ in range(self.rng.randint(1, 8)):
            msg.insert(self.rng.randint(0, len(msg)), 0)
        return bytes(msg)

    def huge_header(self):
        size = 60000 if self.transport == "udp" else self.rng.choice([70000, 300000])
        return self.valid(extra=f"Subject: {'x' * size}\r\n")

    def many_headers(self):
        count = 3000 if self.transport == "udp" else 20000
        vias = "".join(
            f"Via: SIP/2.0/UDP 10.0.{i // 250}.{i % 250}:5060;branch=z9hG4bK-{i}\r\n"
            for i in range(count)
        )
        return self.valid("OPTIONS", extra=vias)

    def bad_content_length(self):
        value = self.rng.choice(
            ["-1", "99999999999999999999", "abc", "4294967296", "", "10, 20", "1e3"]
        )
        msg = self.valid("MESSAGE", b"hello")
        return msg.replace(b"Content-Length: 5", f"Content-Length: {value}".encode())

    def long_body_claim(self):
        # Claims more body than it sends: a stream parser must wait, a
        # datagram parser must reject.
        msg = self.valid("MESSAGE", b"hello")
        return msg.replace(b"Content-Length: 5", b"Content-Length: 65000")

    def bad_start_line(self):
        return self.rng.choice(
            [
                b"REGISTER sip:confab.local SIP/3.0\r\n\r\n",
                b"REGISTER\r\n\r\n",
                b" sip:confab.local SIP/2.0\r\nContent-Length: 0\r\n\r\n",
                b"SIP/2.0 999999999999 Huge\r\n\r\n",
                b"SIP/2.0 OK\r\n\r\n",
                b"INVITE sip:" + b"a" * 5000 + b"@confab.local SIP/2.0\r\n\r\n",
                self.valid().replace(b"CSeq: ", b"CSeq: 99999999999999999999"),
                self.valid().replace(b"sip:confab.local", b"sip:@@@:::;;;"),
                self.valid().replace(b"sip:confab.local", b"sip:[::1"),
                self.valid().replace(b"sip:confab.local", b"sip:confab.local:99999"),
                self.valid().replace(b"Via: SIP/2.0/", b"Via: SIP/2.0/QUIC "),
                self.valid().replace(b"From: <", b"From: <<<<"),
                self.valid().replace(b"\r\n", b"\n"),
                self.valid().replace(b"\r\n", b"\r"),
            ]
        )

    def not_utf8(self):
        return self.valid(extra="Subject: ").replace(
            b"Subject: ", b"Subject: \xff\xfe\xc3\x28\xa0\xa1\xf0\x28\x8c\xbc"
        )

    def folding(self):
        return self.valid(extra="Subject: one\r\n two\r\n\tthree\r\n \r\n")

    def stray_response(self):
        msg = self.valid("INVITE")
        first, rest = msg.split(b"\r\n", 1)
        code = self.rng.choice([100, 180, 200, 401, 407, 486, 503, 699])
        return f"SIP/2.0 {code} Stray\r\n".encode() + rest

    def crlf(self):
        return b"\r\n" * self.rng.choice([1, 2, 3, 1000])

    def all(self):
        return [
            self.random_bytes,
            self.truncated,
            self.nul_bytes,
            self.huge_header,
            self.many_headers,
            self.bad_content_length,
            self.long_body_claim,
            self.bad_start_line,
            self.not_utf8,
            self.folding,
            self.stray_response,
            self.crlf,
        ]


def options_answered(host, port, timeout=2.0):
    """True if an OPTIONS to the server gets any SIP response over UDP."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    shown = f"[{host}]" if fam == socket.AF_INET6 else host
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        lport = s.getsockname()[1]
        deadline = time.monotonic() + timeout
        n = 0
        while time.monotonic() < deadline:
            n += 1
            msg = (
                f"OPTIONS sip:{shown}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {shown}:{lport};rport;branch=z9hG4bK-alive-{n}-{lport}\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:garbage@{shown}>;tag=alive{n}\r\n"
                f"To: <sip:{shown}:{port}>\r\n"
                f"Call-ID: alive-{n}-{lport}\r\n"
                f"CSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            s.sendto(msg.encode(), (host, port))
            s.settimeout(0.3)
            try:
                while True:
                    data = s.recv(UDP_MAX)
                    if data.startswith(b"SIP/2.0 ") and f"alive-{n}-{lport}".encode() in data:
                        return True
            except OSError:
                pass
    return False


def send_udp(sock, target, data):
    sock.sendto(data[:UDP_MAX], target)
    # Drain whatever the server answers (400s) so the buffer never fills.
    try:
        while sock.recv(UDP_MAX, socket.MSG_DONTWAIT):
            pass
    except OSError:
        pass


def send_tcp(target, fam, rng, messages):
    """One connection: the messages in one write, or in pieces with pauses,
    then close. Returns False if the connection could not be made."""
    try:
        s = socket.create_connection(target, timeout=2)
    except OSError:
        return False
    try:
        data = b"".join(messages)
        if rng.random() < 0.3 and len(data) > 10:
            # In pieces, then dropped mid-message.
            cut = rng.randint(1, len(data) - 1)
            s.sendall(data[:cut // 2])
            time.sleep(0.01)
            s.sendall(data[cut // 2 : cut])
        else:
            s.sendall(data)
        s.settimeout(0.05)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
    except OSError:
        pass  # the server may close on us: that is a fine answer to garbage
    finally:
        s.close()
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("target", type=loopback_address, help="HOST:PORT, loopback only")
    p.add_argument("--count", type=int, default=400)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--transport", choices=["udp", "tcp", "both"], default="both")
    p.add_argument("--no-check", action="store_true", help="skip the liveness check")
    args = p.parse_args()
    host, port = args.target
    if not (0 < port < 65536) or args.count < 0 or args.seconds <= 0:
        p.error("bad port, count or seconds")

    if not args.no_check and not options_answered(host, port):
        print(f"garbage: {host}:{port} does not answer OPTIONS before the run", file=sys.stderr)
        return 1

    rng = random.Random(args.seed)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    transports = ["udp", "tcp"] if args.transport == "both" else [args.transport]
    gens = {t: Garbage(rng, host, port, t) for t in transports}
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.bind((host, 0))
    deadline = time.monotonic() + args.seconds
    sent = {t: 0 for t in transports}
    tcp_refused = 0
    for i in range(args.count):
        if time.monotonic() > deadline:
            break
        t = transports[i % len(transports)]
        gen = gens[t]
        if t == "udp":
            send_udp(udp, (host, port), rng.choice(gen.all())())
        else:
            # Sometimes several messages back to back in one stream.
            k = 1 if rng.random() < 0.7 else rng.randint(2, 5)
            msgs = [rng.choice(gen.all())() for _ in range(k)]
            if not send_tcp((host, port), fam, rng, msgs):
                tcp_refused += 1
        sent[t] += 1
    udp.close()

    summary = ", ".join(f"{n} over {t.upper()}" for t, n in sent.items())
    if tcp_refused:
        summary += f" ({tcp_refused} TCP connections refused)"
    print(f"garbage: sent {summary}")
    if args.no_check:
        return 0
    if not options_answered(host, port, timeout=5.0):
        print(f"garbage: {host}:{port} no longer answers OPTIONS", file=sys.stderr)
        return 1
    print("garbage: the server still answers OPTIONS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
