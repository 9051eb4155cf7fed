"""Every channel notifications go out by, in one table: the outbox table its rows live in,
the RQ job and queue that deliver them, what one send is made of, how it is sent, which sends
cannot succeed later, what a failure does beyond its row, and the settings bounding its
attempts.

Each channel has an RQ queue of its own, so a slow receiver on one never holds up another:
mail is `emails`, webhooks are `webhooks`, each served by workers started on it
(`python worker.py webhooks`, or `rq worker -w worker.EmailWorker webhooks`).

A channel's outbox rows share the columns delivery reads and writes (status, attempts,
last_error, claimed_until, send_after) and say with SENT and SENT_AT what a row that has
gone out is: ats.notifications.delivery claims, retries, fails and sweeps them all alike.
"""
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass

from ats.models import Notification, WebhookDelivery
from ats.notifications import mail, smtp
from ats.notifications.kinds import EMAIL, WEBHOOK
from ats.webhooks import sending


def _nothing(*_args) -> None:
    pass


@dataclass(frozen=True)
class Channel:
    queue: str
    outbox: type  # the model of its rows
    task: str  # the RQ job delivering one row, given its id
    job_prefix: str  # of the row's deterministic RQ job id
    # row id -> (what send takes, the row detached), no transaction left open
    build: Callable
    # sends it, outside any transaction -> column values to record with the success
    send: Callable
    refused_for_good: Callable[[Exception], bool]  # a refusal no later attempt can change
    kept_open: Callable[[], AbstractContextManager]  # one connection for many sends
    settings: str  # its settings' prefix: <prefix>_SEND_TIMEOUT, _MAX_ATTEMPTS, _RETRY_DELAYS
    trace: Callable[[object], dict]  # what a log line tells of a row (never an address or a body)
    # (row, error, given up), in the transaction recording a failed attempt
    after_failure: Callable = _nothing
    after_success: Callable = _nothing  # (what send took), in the transaction recording a success
    # the column naming a row's endpoint: after a success the job sends its next due rows too
    follows: str | None = None

    def send_timeout(self, config) -> int:
        """Seconds one send may run (RQ's job timeout adds the time to record its outcome)."""
        return config[f"{self.settings}_SEND_TIMEOUT"]

    def max_attempts(self, config) -> int:
        return config[f"{self.settings}_MAX_ATTEMPTS"]

    def retry_delays(self, config) -> list[int]:
        """The wait before each retry of a temporary failure: <prefix>_RETRY_DELAYS in order,
        its last one repeated, for <prefix>_MAX_ATTEMPTS - 1 retries."""
        delays, retries = config[f"{self.settings}_RETRY_DELAYS"], self.max_attempts(config) - 1
        return [delays[min(i, len(delays) - 1)] for i in range(retries)]


TASKS = "ats.notifications.tasks"
CHANNELS = {
    EMAIL: Channel(queue="emails", outbox=Notification, task=f"{TASKS}.send_notification",
                   job_prefix="notification", build=mail.message_for, send=smtp.send,
                   refused_for_good=mail.refused_for_good, kept_open=smtp.kept_open,
                   settings="MAIL", trace=mail.trace),
    WEBHOOK: Channel(queue="webhooks", outbox=WebhookDelivery, task=f"{TASKS}.send_webhook",
                     job_prefix="webhook-delivery", build=sending.request_for, send=sending.send,
                     refused_for_good=sending.refused_for_good, kept_open=sending.kept_open,
                     settings="WEBHOOK", trace=sending.trace, after_failure=sending.after_failure,
                     after_success=sending.after_success, follows="webhook_id"),
}


@contextmanager
def kept_open():
    """Inside the block, each channel's sends share one connection (the worker's life, an
    inline batch)."""
    with ExitStack() as stack:
        for channel in CHANNELS.values():
            stack.enter_context(channel.kept_open())
        yield
