"""schemathesis hooks for .ci/fuzz.

gunicorn refuses request lines over 8 KiB with an HTML 414 of its own, before the app sees
them (gunicorn.conf.py): generated query strings stay well below that, so every answer the
fuzzer checks is the app's.
"""
from urllib.parse import urlencode

import schemathesis

MAX_QUERY_STRING = 6000  # characters on the wire, percent-encoding included


@schemathesis.hook
def filter_query(ctx, query):
    return not query or len(urlencode(query, doseq=True)) < MAX_QUERY_STRING
