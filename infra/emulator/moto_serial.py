"""moto server with one request at a time.

moto applies a DynamoDB transaction's condition checks and writes without a
lock, so two concurrent TransactWriteItems on a threaded server can both pass
a condition that real DynamoDB (serializable transactions) lets only one pass.
Serializing requests restores that guarantee, which the submit-once and
issue-once tests rely on.

It also makes a transaction's rollback cheap. moto backs up every table a
TransactWriteItems touches with a deep copy before it starts, which costs the
whole table's size per transaction (most of a DynamoDB test run's time). With
one request at a time, keeping the previous version of the items the
transaction names is enough to undo it: that is what this server does, and
`check_rollback.py` proves a cancelled transaction still leaves nothing behind.

Usage: python moto_serial.py [-H 127.0.0.1] -p PORT
"""

import argparse
import copy
import signal
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class _TablesNotCopied:
    """moto's `copy` module as its transaction sees it: a table is "backed up"
    as itself (the undo log below restores its items); anything else is copied."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_key(table, op_type, op):
    attrs = op["Item"] if op_type == "Put" else op.get("Key") or {}
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


_original_transact = DynamoDBBackend.transact_write_items


def _transact_with_undo_log(self, transact_items):
    undo = []
    for entry in transact_items[:100]:
        try:
            op_type, op = next(iter(entry.items()))
            table = self.tables[op["TableName"]]
            key = _item_key(table, op_type, op)
            before = self.get_item(op["TableName"], key)
            undo.append((op["TableName"], key, copy.deepcopy(before)))
        except Exception:  # a malformed entry: moto's own checks answer it
            continue
    try:
        _original_transact(self, transact_items)
    except Exception:
        for table_name, key, before in reversed(undo):
            if before is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before.to_json()["Attributes"])
        raise


dynamodb_models.copy = _TablesNotCopied
DynamoDBBackend.transact_write_items = _transact_with_undo_log


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
