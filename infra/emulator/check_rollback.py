"""Checks the emulator's transaction rollback (moto_serial.py's undo log): a
cancelled TransactWriteItems leaves every item as it was, a new one absent,
and a committed one applies every write.

Usage: python check_rollback.py ENDPOINT
"""

import sys
import uuid

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="ap-southeast-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
table = f"rollback-{uuid.uuid4().hex[:8]}"
db.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                      {"AttributeName": "SK", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                           {"AttributeName": "SK", "KeyType": "RANGE"}])


def item(pk):
    got = db.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": "x"}}).get("Item")
    return got and got["v"]["S"]


db.put_item(TableName=table, Item={"PK": {"S": "a"}, "SK": {"S": "x"}, "v": {"S": "before"}})
db.put_item(TableName=table, Item={"PK": {"S": "c"}, "SK": {"S": "x"}, "v": {"S": "kept"}})
try:
    db.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {"PK": {"S": "a"}, "SK": {"S": "x"}, "v": {"S": "after"}}}},
        {"Put": {"TableName": table, "Item": {"PK": {"S": "b"}, "SK": {"S": "x"}, "v": {"S": "new"}}}},
        {"Delete": {"TableName": table, "Key": {"PK": {"S": "c"}, "SK": {"S": "x"}}}},
        {"Put": {"TableName": table, "Item": {"PK": {"S": "d"}, "SK": {"S": "x"}, "v": {"S": "no"}},
                 "ConditionExpression": "attribute_exists(PK)"}},
    ])
    sys.exit("a transaction with a failing condition was not cancelled")
except ClientError as e:
    assert e.response["Error"]["Code"] == "TransactionCanceledException", e.response
state = [item("a"), item("b"), item("c"), item("d")]
if state != ["before", None, "kept", None]:
    sys.exit(f"a cancelled transaction left {state}, not ['before', None, 'kept', None]")
db.transact_write_items(TransactItems=[
    {"Put": {"TableName": table, "Item": {"PK": {"S": "a"}, "SK": {"S": "x"}, "v": {"S": "after"}}}},
    {"Delete": {"TableName": table, "Key": {"PK": {"S": "c"}, "SK": {"S": "x"}}}},
])
state = [item("a"), item("c")]
if state != ["after", None]:
    sys.exit(f"a committed transaction left {state}")
db.delete_table(TableName=table)
print("ok: the emulator undoes a cancelled transaction and applies a committed one")
