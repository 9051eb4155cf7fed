"""Context helpers shared by the delivery channels."""
from contextlib import contextmanager
from contextvars import ContextVar


@contextmanager
def kept(var: ContextVar, resource):
    """Inside the block, var holds resource (what this thread's sends share: a connection, a
    pool); it is closed when the block ends."""
    token = var.set(resource)
    try:
        yield resource
    finally:
        var.reset(token)
        resource.close()
