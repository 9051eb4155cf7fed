"""Flask-Limiter, made to hold when Redis fails and to take slots before the work they guard.

Redis down or hung (its client gives up after 0.5 s, see RATELIMIT_STORAGE_OPTIONS): limits are
counted in this process's memory, Flask-Limiter's own fallback, until Redis answers again
(Flask-Limiter probes it now and then). Two things are added to what it offers:

- the switch to memory happens once, under a lock: Flask-Limiter fails (or, swallowing errors,
  lets through unlimited and logs a traceback) every request that was waiting on Redis when
  another one switched, and each racer logs the switch again;
- a view may give back the slots its request took (give_back), so a limit can be taken
  atomically before the work and still count only some outcomes.
"""
import logging
import threading
import time

import flask
import flask_limiter
from flask_limiter import RateLimitExceeded
from limits.storage import MemoryStorage, RedisStorage

log = logging.getLogger(__name__)


class Limiter(flask_limiter.Limiter):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._switching = threading.Lock()

    def init_app(self, app: flask.Flask) -> None:
        self._storage_dead = False  # a new binding starts on the storage it is given
        super().init_app(app)

    def reset(self) -> None:
        """Clear every limit: the fallback's counts as well as the storage's."""
        fallback = getattr(self, "_fallback_storage", None)
        if fallback is not None:
            fallback.reset()
        super().reset()

    def _check_request_limit(self, callable_name: str | None = None,
                             in_middleware: bool = True) -> None:
        endpoint = self.identify_request()
        try:
            self._evaluate(endpoint, callable_name, in_middleware)
            return
        except RateLimitExceeded:
            raise
        except Exception:
            self._fall_back()
        try:
            self._evaluate(endpoint, callable_name, in_middleware)
        except RateLimitExceeded:
            raise
        except Exception:  # memory failing too: never let a limit be why a request fails
            log.exception("rate limits could not be checked for this request")

    def _evaluate(self, endpoint: str, callable_name: str | None, in_middleware: bool) -> None:
        # Flask-Limiter's own steps (private, pinned version): choose the limits, then hit them
        limits = self._Limiter__filter_limits(endpoint, flask.request.blueprint, callable_name,
                                              in_middleware)
        self._Limiter__evaluate_limits(endpoint, limits)

    def _fall_back(self) -> None:
        with self._switching:
            if not self._storage_dead:
                self._storage_dead = True
                # Flask-Limiter's first probe of the storage would come with the next check and
                # make this request wait a second time: the probes start a second from now
                self._Limiter__last_check_backend = time.time()
                self._Limiter__check_backend_count = 0
                self.logger.warning(
                    "Rate limit storage unreachable - falling back to in-memory storage")
        self.context.seen_limits.clear()

    def give_back(self) -> None:
        """Return the slots this request took: as if it had never been counted."""
        taken = [limit.key for limit in self.current_limits if not limit.breached]
        if not taken:
            return
        storage = self.limiter.storage
        try:
            if isinstance(storage, RedisStorage):
                # the newest entry goes, this request's or one taken since: the count is exact,
                # the window may end a request's duration early
                pipe = storage.get_connection().pipeline(transaction=False)
                for key in taken:
                    pipe.lpop(storage.prefixed_key(key))
                pipe.execute()
            elif isinstance(storage, MemoryStorage):
                for key in taken:
                    with storage.locks[key]:
                        if storage.events.get(key):
                            del storage.events[key][0]
        except Exception:  # the slot stays taken: stricter, never a failure
            self._fall_back()
