"""ETags on reads: a strong validator hashed from the answer's body, so it changes whenever
the answer does, including between callers shown different things (a candidate and the
staff reading one application), and needs no column of its own."""
from functools import wraps

from flask import make_response, request

ETAG_HEADER = {"ETag": {"description": "validator of this answer: send it back in "
                                       "If-None-Match to get 304 while it holds",
                        "schema": {"type": "string"}}}
NOT_MODIFIED = "Not Modified: the If-None-Match ETag still matches; no body"


def etagged(view):
    """The view's 200 answers carry an ETag; a GET whose If-None-Match matches it gets 304
    with the ETag and no body (werkzeug compares as RFC 9110 says, weakly)."""
    @wraps(view)
    def tagged(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200:
            response.add_etag()
            response.vary.add("Authorization")  # what is shown depends on who asks
            response.make_conditional(request)  # 304 for GET and HEAD only
        return response
    return tagged
