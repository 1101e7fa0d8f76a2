#!/usr/bin/python3
"""Runs S3 operations with boto3, as a notebook user would, and reports each
outcome as JSON. The credentials come only from the AWS profile that
`credctl aws configure` wrote (credential_process); nothing else is given.

stdin: {"profile": "scratch", "ops": [{"op": "put", "bucket": "b", "key": "k", "body": "x"}, ...]}
stdout: [{"ok": true, "value": ...} | {"ok": false, "code": "AccessDenied"}, ...]
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

spec = json.load(sys.stdin)
session = boto3.Session(profile_name=spec["profile"])
# botocore < 1.31 ignores endpoint_url in the config file; read the value
# credctl wrote there and hand it over explicitly.
endpoint = session._session.get_scoped_config().get("endpoint_url")
s3 = session.client(
    "s3",
    endpoint_url=endpoint,
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)


def run(op):
    kind, bucket = op["op"], op["bucket"]
    if kind == "put":
        s3.put_object(Bucket=bucket, Key=op["key"], Body=op["body"].encode())
        return None
    if kind == "get":
        return s3.get_object(Bucket=bucket, Key=op["key"])["Body"].read().decode()
    if kind == "delete":
        s3.delete_object(Bucket=bucket, Key=op["key"])
        return None
    if kind == "list":
        resp = s3.list_objects_v2(Bucket=bucket, Prefix=op.get("prefix", ""))
        return sorted(o["Key"] for o in resp.get("Contents", []))
    if kind == "multipart":
        part = b"m" * (5 * 1024 * 1024)
        up = s3.create_multipart_upload(Bucket=bucket, Key=op["key"])
        parts = []
        for n in (1, 2):
            r = s3.upload_part(Bucket=bucket, Key=op["key"], UploadId=up["UploadId"], PartNumber=n, Body=part)
            parts.append({"ETag": r["ETag"], "PartNumber": n})
        s3.complete_multipart_upload(
            Bucket=bucket, Key=op["key"], UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
        )
        return s3.head_object(Bucket=bucket, Key=op["key"])["ContentLength"]
    if kind == "identity":
        # Which credentials did botocore get from credential_process?
        creds = session.get_credentials().get_frozen_credentials()
        return creds.access_key[:4]
    raise ValueError("unknown op " + kind)


out = []
for op in spec["ops"]:
    try:
        out.append({"ok": True, "value": run(op)})
    except ClientError as e:
        out.append({"ok": False, "code": e.response["Error"]["Code"]})
print(json.dumps(out))
