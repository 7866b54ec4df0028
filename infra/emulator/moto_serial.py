"""moto server with one request at a time.

moto applies a DynamoDB transaction's condition checks and writes without a
lock, so two concurrent TransactWriteItems on a threaded server can both pass
a condition that real DynamoDB (serializable transactions) lets only one pass.
Serializing requests restores that guarantee, which the submit-once and
issue-once tests rely on.

Usage: python moto_serial.py [-H 127.0.0.1] -p PORT
"""

import argparse
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class OneAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialise the body inside the lock: the backend work happens there.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, OneAtATime(app), threaded=True)


if __name__ == "__main__":
    main()
