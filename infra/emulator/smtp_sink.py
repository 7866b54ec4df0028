"""An SMTP server on loopback for the mail relay's tests (aiosmtpd): keeps
every message it accepts as a file, and can refuse like a real relay.

usage: smtp_sink.py PORT DIR [--defer N] [--reject ADDRESS] [--tls MODE]
  --defer N       answer 451 (try later) to the first N messages
  --reject ADDR   answer 550 (refused for good) to RCPT TO ADDR
  --tls MODE      starttls: refuse mail until the client said STARTTLS;
                  implicit: TLS from the first byte (smtps). The certificate
                  is tls/relay.pem (localhost, 127.0.0.1), signed by tls/ca.pem.

Each accepted message is DIR/NNNN.eml (the bytes as received) beside
DIR/NNNN.rcpt (its envelope recipients, a line each); each refusal leaves
DIR/deferred-N or DIR/rejected-N. Prints "smtp sink ready" once listening;
runs until terminated.
"""

import argparse
import itertools
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("dir")
parser.add_argument("--defer", type=int, default=0)
parser.add_argument("--reject", action="append", default=[])
parser.add_argument("--tls", choices=["starttls", "implicit"])
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


options = {}
if args.tls:
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.path.join(here, "relay.pem"), os.path.join(here, "relay.key"))
    if args.tls == "starttls":
        options = {"tls_context": context, "require_starttls": True}
    else:
        options = {"ssl_context": context}
controller = Controller(Sink(), hostname="127.0.0.1", port=args.port, **options)
controller.start()
print("smtp sink ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
controller.stop()
sys.exit(0)
