"""CSQ's monthly AWS cost, from the requests the deployed binaries made in the
benchmark (`csq-bench ... --steps-json FILE`, written by scripts/bench.sh).

Usage: python3 scripts/cost_model.py target/bench-steps.json

Per declaration: what one issued form costs when it is never rated, and what a
rating adds. Request counts come from the measured steps; item sizes and the
nightly job's per-form reads are measured figures written below; prices are
list prices (named with their date) to check against the price page before any
budget is made from them.
"""

import json
import math
import sys

# List prices, US East (N. Virginia), as published after DynamoDB's on-demand
# price cut of 1 November 2024 and unchanged in the price pages as last read
# for this model (2025). Asia Pacific (Singapore) is about 10-25 % higher per
# line; SES is the same everywhere.
PRICES = {
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_gb_month": 0.25,
    "lambda_gb_s": 0.0000166667,  # x86_64; arm64 is 20 % less
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "ses_email": 0.10 / 1e3,
    "eventbridge_event": 1.00 / 1e6,
    "logs_gb": 0.50,
}

# Measured in the benchmark's table (median item sizes, bytes; every item kind
# below is projected whole into one index, GSI1, so each write is paid twice).
FORM_ITEM = 2673
RATING_ITEM = 527  # one per rated subject
DECL_ITEM = 73
SUBJECTS = 6  # the benchmark's declaration
MEMORY_GB = 0.25  # template.yaml MemorySize (nightly: 512 MB, shared across forms)
# Latency of one call inside the region (assumed; the emulator on loopback is
# faster): DynamoDB, SES, SQS, EventBridge.
AWS_CALL_MS = {"DynamoDB": 6, "SESv2": 40, "SQS": 10, "EventBridge": 15, "SSM": 10}
LOG_BYTES_PER_INVOCATION = 900  # START/END/REPORT and one or two JSON lines
ACCESS_LOG_BYTES = 450
# The nightly reads each form on the night it is issued (the day's forms) and,
# if rated, on the night it is rated: the issue-day cohorts are kept from each
# day's records since issue 22, no longer by re-reading every form of the last
# 32 days each night (measured in `csq-bench nightly-requests`: flat as the
# table grows). The cohort rows themselves cost one query per unit a night.
NIGHTLY_READS_UNRATED = 1
NIGHTLY_READS_RATED = 1
# The stage times of a declaration (issue 20): its record and the day's
# snapshot, written once with the form, and the night's reads of the
# declaration's earlier ratings (its key, its form, the follow-up probe).
TIMES_ITEM = 900
TIMES_NIGHT_READS = 3


def wru(size, transactional=False):
    """Write units of one item: per KB, once for the table and once for GSI1
    (every item is projected whole into it), twice in a transaction."""
    units = math.ceil(size / 1024) * 2
    return units * (2 if transactional else 1)


def rru(size, reads=1, consistent=False):
    return math.ceil(size / 4096) * reads * (1 if consistent else 0.5)


def step(steps, function, starts):
    for s in steps:
        if s["function"] == function and s["what"].startswith(starts):
            return s
    raise SystemExit(f"no step {function} {starts!r} in the benchmark's output")


def lambda_seconds(s):
    """Handler time on AWS: the measured compute plus in-region call latency."""
    calls = sum(AWS_CALL_MS.get(op.split(".")[0], 10) * n for op, n in s["requests"].items())
    return (s["millis"] + calls) / 1000


def main(path):
    steps = json.load(open(path))
    issue = step(steps, "issue-form", "POST /v1/forms → 201")
    page = step(steps, "rating-form", "GET")
    submit = step(steps, "rating-form", "POST /f/{token}/submit")
    router = step(steps, "complaint-router", "SQS batch")

    def n(s, op):
        return s["requests"].get(op, 0)

    # One form, never rated: issued (writes as measured: the form and its
    # declaration key in one transaction, then the invitation's lease and its
    # outcome on the form), the invitation, a reminder and the expiry (each a
    # read and a rewrite of the form), and the nightly reads.
    unrated = {
        "wru": wru(FORM_ITEM + DECL_ITEM, transactional=True) * n(issue, "DynamoDB.TransactWriteItems")
        + wru(FORM_ITEM) * n(issue, "DynamoDB.PutItem")
        + 2 * wru(FORM_ITEM)
        + 2 * wru(TIMES_ITEM, transactional=True),
        "rru": rru(FORM_ITEM, n(issue, "DynamoDB.GetItem"), consistent=True)
        + 2 * rru(FORM_ITEM, consistent=True)
        + rru(FORM_ITEM, NIGHTLY_READS_UNRATED + TIMES_NIGHT_READS)
        + rru(TIMES_ITEM),
        "emails": n(issue, "SESv2.SendEmail") + 1,
        "events": n(issue, "EventBridge.PutEvents"),
        "http": 1,
        "invocations": 1,
        "gb_s": MEMORY_GB * lambda_seconds(issue),
        "sqs": 0,
        "stored_gb": 2 * (FORM_ITEM + DECL_ITEM + 2 * TIMES_ITEM) / 1e9,
    }
    # What a rating adds: the page, the review and the submission (the review
    # step reads the form like the page), the rating records, and no reminder
    # for most (assume half are rated after it went); one in twenty carries a
    # complaint through the queue and the router.
    complaint_share = 0.05
    rated = {
        "wru": wru(FORM_ITEM, transactional=True)
        + SUBJECTS * wru(RATING_ITEM, transactional=True)
        + n(submit, "DynamoDB.DeleteItem")
        - 0.5 * wru(FORM_ITEM)
        + complaint_share * 2 * wru(2000, transactional=True),
        "rru": rru(FORM_ITEM, 2 * n(page, "DynamoDB.GetItem") + n(submit, "DynamoDB.GetItem"), consistent=True)
        + rru(SUBJECTS * RATING_ITEM)
        + rru(FORM_ITEM, NIGHTLY_READS_RATED)
        + complaint_share * rru(FORM_ITEM, n(router, "DynamoDB.GetItem"), consistent=True),
        "emails": -0.5 + complaint_share * n(router, "SESv2.SendEmail"),
        "events": n(submit, "EventBridge.PutEvents") + complaint_share * n(router, "EventBridge.PutEvents"),
        "http": 3,
        "invocations": 3 + complaint_share,
        "gb_s": MEMORY_GB * (2 * lambda_seconds(page) + lambda_seconds(submit) + complaint_share * lambda_seconds(router)),
        "sqs": complaint_share * 3,  # send, receive, delete
        "stored_gb": 2 * SUBJECTS * RATING_ITEM / 1e9,
    }

    def dollars(d, days_kept=365):
        logs_gb = d["invocations"] * LOG_BYTES_PER_INVOCATION / 1e9 + d["http"] * ACCESS_LOG_BYTES / 1e9
        return {
            "DynamoDB writes": d["wru"] * PRICES["dynamodb_wru"],
            "DynamoDB reads": d["rru"] * PRICES["dynamodb_rru"],
            # A year of forms kept (personal data retention): at steady state each
            # day's forms occupy days_kept / 30 months of storage per month.
            "DynamoDB storage": d["stored_gb"] * days_kept / 30 * PRICES["dynamodb_gb_month"],
            "SES": d["emails"] * PRICES["ses_email"],
            "Lambda": d["gb_s"] * PRICES["lambda_gb_s"] + d["invocations"] * PRICES["lambda_request"],
            "API Gateway": d["http"] * PRICES["http_api_request"],
            "EventBridge": d["events"] * PRICES["eventbridge_event"],
            "SQS": d["sqs"] * PRICES["sqs_request"],
            "CloudWatch Logs": logs_gb * PRICES["logs_gb"],
        }

    print("per declaration          never rated       a rating adds")
    for key, label in [("wru", "DynamoDB WRU"), ("rru", "DynamoDB RRU"), ("emails", "SES emails"),
                       ("events", "EventBridge events"), ("sqs", "SQS requests"), ("invocations", "Lambda invocations"),
                       ("gb_s", "Lambda GB-s")]:
        print(f"  {label:<22} {unrated[key]:>12.3f} {rated[key]:>18.3f}")
    per_day = 50_000
    for response in (0.10, 0.30):
        u, r = dollars(unrated), dollars(rated)
        monthly = {k: 30 * per_day * (u[k] + response * r[k]) for k in u}
        total = sum(monthly.values())
        per_thousand = 1000 * sum(u[k] + response * r[k] for k in u)
        print(f"\n50,000 declarations a day, {response:.0%} rated: ${total:,.0f} a month, "
              f"${12 * total:,.0f} a year, ${per_thousand:.2f} per 1,000 declarations")
        for k, v in sorted(monthly.items(), key=lambda kv: -kv[1]):
            print(f"  {k:<18} ${v:>9,.2f}  {v / total:5.1%}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/bench-steps.json")
