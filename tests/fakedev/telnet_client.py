#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small Telnet client for the black-box tests of vigil-fakedev.

No telnetlib (deprecated, gone in Python 3.13): a socket and an IAC
parser that accepts the server's ECHO and SUPPRESS-GO-AHEAD and refuses
everything else, as a terminal client would.

Script mode: each STEP is run in order, then the transcript (the data
received, without IAC sequences) goes to stdout and the options the
server offered to stderr ("WILL 1"):
  expect=TEXT   wait until TEXT has arrived since the last expect
  send=TEXT     send TEXT and CR LF
  key=TEXT      send TEXT alone (\\s is a space)
  closed        wait until the server closes the connection
  sleep=SECONDS
Exit 0; 1 when a step times out or the connection ends before an expect
(the transcript is printed all the same).

Many mode (--many N): N sessions as users dev0000..dev(N-1) (--parallel
at once), each logging in, enabling, showing its running-config and
logging out; checks the hostname and the final "end"; prints
"sessions ok: K of N".
"""
import argparse
import socket
import sys
import threading
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ACCEPTED = {1, 3}  # ECHO, SUPPRESS-GO-AHEAD


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.data = bytearray()   # all data received
        self.mark = 0             # where the next expect starts
        self.offers = []
        self.closed = False
        self._state = 0
        self._cmd = 0
        self._answered = set()

    def _feed(self, chunk):
        for b in chunk:
            if self._state == 0:
                if b == IAC:
                    self._state = 1
                else:
                    self.data.append(b)
            elif self._state == 1:
                if b == IAC:
                    self.data.append(b)
                    self._state = 0
                elif b in (WILL, WONT, DO, DONT):
                    self._cmd = b
                    self._state = 2
                elif b == SB:
                    self._state = 3
                else:
                    self._state = 0
            elif self._state == 2:
                self._negotiate(self._cmd, b)
                self._state = 0
            elif self._state == 3:
                if b == IAC:
                    self._state = 4
            elif self._state == 4:
                self._state = 0 if b == SE else 3

    def _negotiate(self, cmd, opt):
        name = {WILL: "WILL", WONT: "WONT", DO: "DO", DONT: "DONT"}[cmd]
        self.offers.append("%s %d" % (name, opt))
        if (cmd, opt) in self._answered:
            return
        self._answered.add((cmd, opt))
        if cmd == WILL:
            reply = DO if opt in ACCEPTED else DONT
        elif cmd == DO:
            reply = WONT
        else:
            return
        self.sock.sendall(bytes([IAC, reply, opt]))

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self._feed(chunk)
        return True

    def expect(self, text):
        want = text.encode()
        deadline = time.monotonic() + self.timeout
        while True:
            i = self.data.find(want, self.mark)
            if i >= 0:
                self.mark = i + len(want)
                return True
            if self.closed or not self._read(deadline):
                return False

    def wait_closed(self):
        deadline = time.monotonic() + self.timeout
        while not self.closed:
            if not self._read(deadline) and not self.closed:
                return False
        return True

    def send(self, text):
        self.sock.sendall(text.encode().replace(b"\xff", b"\xff\xff"))

    def close(self):
        self.sock.close()


def run_script(args):
    c = Client(args.port, timeout=args.timeout)
    rc = 0
    for step in args.steps:
        kind, _, val = step.partition("=")
        if kind == "expect":
            ok = c.expect(val)
        elif kind == "send":
            c.send(val + "\r\n")
            ok = True
        elif kind == "key":
            c.send(val.replace("\\s", " "))
            ok = True
        elif kind == "closed":
            ok = c.wait_closed()
        elif kind == "sleep":
            time.sleep(float(val))
            ok = True
        else:
            sys.exit("unknown step " + step)
        if not ok:
            sys.stderr.write("step failed: %s\n" % step)
            rc = 1
            break
    c.close()
    sys.stdout.buffer.write(bytes(c.data))
    sys.stderr.write("".join(o + "\n" for o in c.offers))
    return rc


def one_session(port, user, timeout):
    c = Client(port, timeout=timeout)
    try:
        ok = (c.expect("Username: ") and c.send(user + "\r\n") is None and
              c.expect("Password: ") and c.send("test\r\n") is None and
              c.expect(user + ">") and c.send("enable\r\n") is None and
              c.expect("Password: ") and c.send("enable\r\n") is None and
              c.expect(user + "#") and
              c.send("show running-config\r\n") is None and
              c.expect("hostname " + user + "\n") and c.expect("\nend\n") and
              c.expect(user + "#") and c.send("exit\r\n") is None and
              c.wait_closed())
    finally:
        c.close()
    return ok


def run_many(args):
    lock = threading.Lock()
    state = {"next": 0, "ok": 0}

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= args.many:
                    return
                state["next"] += 1
            try:
                ok = one_session(args.port, "dev%04d" % i, args.timeout)
            except OSError as e:
                sys.stderr.write("dev%04d: %s\n" % (i, e))
                ok = False
            with lock:
                state["ok"] += ok
    threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("sessions ok: %d of %d" % (state["ok"], args.many))
    return 0 if state["ok"] == args.many else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--many", type=int, default=0)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("steps", nargs="*")
    args = ap.parse_args()
    sys.exit(run_many(args) if args.many else run_script(args))


if __name__ == "__main__":
    main()
