"""Every channel notifications go out by, in one table: what one send is made of, how it
is sent, which sends cannot succeed later, and the settings bounding its attempts.

Each channel has an RQ queue of its own, so a slow receiver on one never holds up another:
mail is `emails`, which worker.EmailWorker listens on. The webhook channel (HTTP) is to be
another row here with its queue `webhooks`, served by a worker started on that queue
(`rq worker -w worker.EmailWorker webhooks`), and its WEBHOOK_* settings.
"""
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass

from ats.notifications import mail, smtp
from ats.notifications.kinds import EMAIL


@dataclass(frozen=True)
class Channel:
    queue: str
    # notification id -> (what send takes, the notification detached), no transaction left open
    build: Callable
    send: Callable  # sends it, outside any transaction
    refused_for_good: Callable[[Exception], bool]  # a refusal no later attempt can change
    kept_open: Callable[[], AbstractContextManager]  # one connection for many sends
    settings: str  # its settings' prefix: <prefix>_SEND_TIMEOUT, _MAX_ATTEMPTS, _RETRY_DELAYS

    def send_timeout(self, config) -> int:
        """Seconds one send may run (RQ's job timeout)."""
        return config[f"{self.settings}_SEND_TIMEOUT"]

    def max_attempts(self, config) -> int:
        return config[f"{self.settings}_MAX_ATTEMPTS"]

    def retry_delays(self, config) -> list[int]:
        """The wait before each retry of a temporary failure: <prefix>_RETRY_DELAYS in order,
        its last one repeated, for <prefix>_MAX_ATTEMPTS - 1 retries."""
        delays, retries = config[f"{self.settings}_RETRY_DELAYS"], self.max_attempts(config) - 1
        return [delays[min(i, len(delays) - 1)] for i in range(retries)]


CHANNELS = {
    EMAIL: Channel(queue="emails", build=mail.message_for, send=smtp.send,
                   refused_for_good=mail.refused_for_good, kept_open=smtp.kept_open,
                   settings="MAIL"),
}


@contextmanager
def kept_open():
    """Inside the block, each channel's sends share one connection (the worker's life, an
    inline batch)."""
    with ExitStack() as stack:
        for channel in CHANNELS.values():
            stack.enter_context(channel.kept_open())
        yield
