"""Deploys template.yaml to the AWS emulator's CloudFormation, offline.

The SAM transform runs locally (samtranslator); moto's CloudFormation then
creates the table, queues, roles, functions and event source mappings from the
result. Prints the stack's physical resource ids as JSON, for the tests that
run the adapters' contract suites against exactly what the template defines.

Usage: python deploy_stack.py ENDPOINT_URL TEMPLATE_PATH
"""

import io
import json
import os
import sys
import time
import zipfile

import boto3
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

REGION = "ap-southeast-1"
BUCKET = "csq-artifacts"


class OfflinePolicies:
    """samtranslator asks IAM for AWS managed policy ARNs; offline we name them."""

    def load(self):
        names = ["AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSXrayWriteOnlyAccess"]
        return {n: f"arn:aws:iam::aws:policy/service-role/{n}" for n in names}


def main():
    endpoint, template_path = sys.argv[1], sys.argv[2]
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    client = lambda name: boto3.client(name, endpoint_url=endpoint, region_name=REGION)

    with open(template_path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # The build puts each function's bootstrap in an artefact; here one stand-in zip.
    template["Globals"]["Function"]["CodeUri"] = f"s3://{BUCKET}/functions.zip"
    transformed = transform(template, {}, OfflinePolicies())

    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    s3.put_object(Bucket=BUCKET, Key="functions.zip", Body=code.getvalue())

    cfn = client("cloudformation")
    stack = "csq-emulated"
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(transformed),
        Parameters=[
            {"ParameterKey": "MailFrom", "ParameterValue": "CSQ <no-reply@csq.example.vn>"},
            {"ParameterKey": "SenderIdentity", "ParameterValue": "csq.example.vn"},
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    for _ in range(120):
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        time.sleep(0.5)
    # Resource types moto cannot create (HTTP API, Cognito, Scheduler) come back
    # without ids; the tests use the ones it creates.
    resources = {
        r["LogicalResourceId"]: {"type": r.get("ResourceType"), "id": r.get("PhysicalResourceId")}
        for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
        if "LogicalResourceId" in r
    }
    print(json.dumps({"status": status, "resources": resources}))


if __name__ == "__main__":
    main()
