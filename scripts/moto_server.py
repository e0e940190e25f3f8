"""moto_server, with DynamoDB's writes made serializable.

moto (5.2.5) serves requests on threads, and its TransactWriteItems is not
isolated: it deep-copies each table it touches, applies the items one by
one and, when a condition fails, puts the copies back, undoing whatever
other requests wrote to those tables meanwhile. Under concurrent orders
(the 200-on-stock-50 test) a refused order could give back stock that
another order had just taken. DynamoDB's transactions are serializable;
this launcher makes moto's writes so by running every DynamoDB write
operation under one lock. Reads are untouched. Everything else is moto.

usage: python scripts/moto_server.py [moto_server options]
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_writes = threading.RLock()

WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)


def _serialized(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with _writes:
            return method(*args, **kwargs)

    return run


for _name in WRITES:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main())
