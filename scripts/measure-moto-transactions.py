"""How long moto takes for a placement-shaped TransactWriteItems as the table
it writes grows, alone and with concurrent writers: what bounds the local
stack's order rate (docs/performance.md, "Throughput").

Starts its own moto (through scripts/moto_server.py, as the stack runs it) on
a free loopback port, stops it at the end, and prints one line per table
size: the median and p90 of a transaction alone, and the median of one of
eight at once.

usage: .local/venv/bin/python scripts/measure-moto-transactions.py [max-items]
"""

import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    max_items = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    port = free_port()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    server = subprocess.Popen(
        [sys.executable, os.path.join(root, "scripts", "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        db = boto3.client(
            "dynamodb", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )
        for table in ("orders", "catalog"):
            db.create_table(
                TableName=table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            )
        db.put_item(TableName="catalog", Item={"id": {"S": "item"}, "stock": {"N": "1000000000"}})
        counter = iter(range(10**9))

        def place():
            # The shape of a placement: the order (conditional on being new)
            # and one stock line (conditional on enough stock).
            n = next(counter)
            started = time.perf_counter()
            db.transact_write_items(TransactItems=[
                {"Put": {"TableName": "orders", "Item": {"id": {"S": f"order-{n}"}, "body": {"S": "x" * 1500}},
                         "ConditionExpression": "attribute_not_exists(id)"}},
                {"Update": {"TableName": "catalog", "Key": {"id": {"S": "item"}},
                            "UpdateExpression": "SET stock = stock - :q",
                            "ConditionExpression": "stock >= :q",
                            "ExpressionAttributeValues": {":q": {"N": "1"}}}},
            ])
            return (time.perf_counter() - started) * 1000

        print(f"moto TransactWriteItems (2 items), by the size of the orders table, moto on 127.0.0.1:{port}")
        print(f"{'orders in table':>16} {'alone p50 ms':>13} {'alone p90 ms':>13} {'8 at once p50 ms':>17}")
        size = 0
        for target in sorted({t for t in (0, 500, 1000, 2000, 4000) if t < max_items} | {max_items}):
            while size < target:
                place()
                size += 1
            alone = sorted(place() for _ in range(30))
            size += 30
            with ThreadPoolExecutor(8) as pool:
                together = sorted(pool.map(lambda _: place(), range(32)))
            size += 32
            print(f"{size:>16} {statistics.median(alone):>13.1f} {alone[int(len(alone) * 0.9)]:>13.1f} "
                  f"{statistics.median(together):>17.1f}")
    finally:
        # By its PID; moto's server may not stop on TERM alone.
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


if __name__ == "__main__":
    main()
