"""An SMTP server on loopback for the mail relay's tests (aiosmtpd): keeps
every message it accepts as a file, and can refuse like a real relay.

usage: smtp_sink.py PORT DIR [--defer N] [--reject ADDRESS]
  --defer N       answer 451 (try later) to the first N messages
  --reject ADDR   answer 550 (refused for good) to RCPT TO ADDR

Each accepted message is DIR/NNNN.eml (the bytes as received) beside
DIR/NNNN.rcpt (its envelope recipients, a line each); each refusal leaves
DIR/deferred-N or DIR/rejected-N. Prints "smtp sink ready" once listening;
runs until terminated.
"""

import argparse
import itertools
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("dir")
parser.add_argument("--defer", type=int, default=0)
parser.add_argument("--reject", action="append", default=[])
args = parser.parse_args()
os.makedirs(args.dir, exist_ok=True)
numbers = itertools.count(1)
refusals = itertools.count(1)
deferred = [args.defer]
rejected = {a.lower() for a in args.reject}


class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in rejected:
            open(os.path.join(args.dir, f"rejected-{next(refusals)}"), "w").close()
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if deferred[0] > 0:
            deferred[0] -= 1
            open(os.path.join(args.dir, f"deferred-{next(refusals)}"), "w").close()
            return "451 4.3.0 Try again later"
        n = next(numbers)
        with open(os.path.join(args.dir, f"{n:04}.rcpt"), "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        with open(os.path.join(args.dir, f"{n:04}.eml.tmp"), "wb") as f:
            f.write(envelope.original_content)
        os.rename(os.path.join(args.dir, f"{n:04}.eml.tmp"), os.path.join(args.dir, f"{n:04}.eml"))
        return "250 OK"


controller = Controller(Sink(), hostname="127.0.0.1", port=args.port)
controller.start()
print("smtp sink ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
controller.stop()
sys.exit(0)
