"""The hiring pipeline: stages and the only table that says which move is legal.

Pure Python, no database: everything else asks this module instead of comparing stages.
"""

APPLIED = "applied"
SCREENING = "screening"
INTERVIEW = "interview"
OFFER = "offer"
HIRED = "hired"
REJECTED = "rejected"

INITIAL = APPLIED

TRANSITIONS: dict[str, tuple[str, ...]] = {
    APPLIED: (SCREENING, REJECTED),
    SCREENING: (INTERVIEW, REJECTED),
    INTERVIEW: (OFFER, REJECTED),
    OFFER: (HIRED, REJECTED),
    HIRED: (),
    REJECTED: (),
}

STAGES: tuple[str, ...] = tuple(TRANSITIONS)


class InvalidTransition(Exception):
    """A move the table does not allow."""

    def __init__(self, from_stage: str, to_stage: str, message: str | None = None):
        self.from_stage = from_stage
        self.to_stage = to_stage
        self.allowed = list(TRANSITIONS[from_stage])
        super().__init__(message or f"An application cannot move from {from_stage} to {to_stage}.")


def allowed_moves(stage: str) -> tuple[str, ...]:
    return TRANSITIONS[stage]


def is_final(stage: str) -> bool:
    return not TRANSITIONS[stage]


def check_move(from_stage: str, to_stage: str) -> None:
    """Raise InvalidTransition unless the table allows from_stage → to_stage."""
    if to_stage not in TRANSITIONS[from_stage]:
        raise InvalidTransition(from_stage, to_stage)
