"""The hiring pipeline: stages, the only table that says which move is legal and who may
make it, and the reasons each final stage takes.

Pure Python, no database: everything else asks this module instead of comparing stages.
Whether a user may act on an application at all (their company, their job, their own
application) is ats.common.access's question; this table answers which moves their role makes.
"""
from typing import NamedTuple

APPLIED = "applied"
SCREENING = "screening"
INTERVIEW = "interview"
OFFER = "offer"
HIRED = "hired"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

INITIAL = APPLIED

# the roles of ats.models, spelled here so this module imports nothing of the app
STAFF = frozenset({"admin", "recruiter", "hiring_manager"})
CANDIDATE = frozenset({"candidate"})

# from stage -> {to stage: the roles that may make that move}, in the order answers list them
TRANSITIONS: dict[str, dict[str, frozenset]] = {
    APPLIED: {SCREENING: STAFF, REJECTED: STAFF, WITHDRAWN: CANDIDATE},
    SCREENING: {INTERVIEW: STAFF, REJECTED: STAFF, WITHDRAWN: CANDIDATE},
    INTERVIEW: {OFFER: STAFF, REJECTED: STAFF, WITHDRAWN: CANDIDATE},
    OFFER: {HIRED: STAFF, REJECTED: STAFF, WITHDRAWN: CANDIDATE},
    HIRED: {},
    REJECTED: {},
    WITHDRAWN: {},
}

STAGES: tuple[str, ...] = tuple(TRANSITIONS)

# the way forward, in order: every open stage leads to the next one (or ends rejected or
# withdrawn); reports count how many applications go each step of it
PIPELINE: tuple[str, ...] = (APPLIED, SCREENING, INTERVIEW, OFFER, HIRED)
OPEN_STAGES: tuple[str, ...] = tuple(stage for stage, moves in TRANSITIONS.items() if moves)
# the stages an application ends in (hired, rejected, withdrawn)
FINAL_STAGES: tuple[str, ...] = tuple(stage for stage, moves in TRANSITIONS.items() if not moves)

# the stages in which an application's interviews are scheduled and moved
INTERVIEW_STAGES: tuple[str, ...] = (SCREENING, INTERVIEW, OFFER)


class Reasons(NamedTuple):
    catalogue: tuple[str, ...]
    required: bool
    candidate_sees: bool  # whether the application's candidate is shown the reason


# the stages a move to which takes a reason; a move to any other stage takes none
REASONS: dict[str, Reasons] = {
    REJECTED: Reasons(("not_qualified", "experience_level", "skills_mismatch", "position_filled",
                       "position_cancelled", "compensation", "location", "culture_add",
                       "no_show", "unresponsive", "other"), required=True, candidate_sees=False),
    WITHDRAWN: Reasons(("accepted_other_offer", "compensation", "location", "timing",
                        "not_interested", "other"), required=False, candidate_sees=True),
}
ALL_REASONS: tuple[str, ...] = tuple(dict.fromkeys(r for rs in REASONS.values() for r in rs.catalogue))


class InvalidTransition(Exception):
    """A move the caller's role makes, but not from this stage (409)."""

    def __init__(self, from_stage: str, to_stage: str, role: str | None = None,
                 message: str | None = None):
        self.from_stage = from_stage
        self.to_stage = to_stage
        self.allowed = list(allowed_moves(from_stage, role))
        super().__init__(message or f"An application cannot move from {from_stage} to {to_stage}.")


class MoveNotAllowed(Exception):
    """A move that is other roles' to make, never the caller's (403)."""

    def __init__(self, to_stage: str, role: str):
        self.to_stage = to_stage
        self.role = role
        super().__init__(f"Moving an application to {to_stage} is not for a {role}.")


class InvalidReason(Exception):
    """A reason missing where the move requires one, unknown to its catalogue, or given to a
    move that takes none (422 on the field reason)."""


class StageConflict(Exception):
    """The caller expected the application in a stage it has left (409)."""

    def __init__(self, expected: str, current: str):
        self.expected = expected
        self.current = current
        super().__init__(f"The application is in {current}, not {expected}: reload it.")


def allowed_moves(stage: str, role: str | None = None) -> tuple[str, ...]:
    """The moves from stage: every one, or those role may make."""
    return tuple(to for to, roles in TRANSITIONS[stage].items() if role is None or role in roles)


def next_in_pipeline(stage: str) -> str | None:
    """The pipeline stage after stage (None for hired and the stages off the pipeline)."""
    position = PIPELINE.index(stage) + 1 if stage in PIPELINE else len(PIPELINE)
    return PIPELINE[position] if position < len(PIPELINE) else None


def is_final(stage: str) -> bool:
    return not TRANSITIONS[stage]


def takes_interviews(stage: str) -> bool:
    """Whether interviews may be scheduled or moved for an application in stage."""
    return stage in INTERVIEW_STAGES


def _ever_made_by(to_stage: str) -> set[str]:
    return {role for moves in TRANSITIONS.values() for role in moves.get(to_stage, ())}


def check_expected(expected: str | None, current: str) -> None:
    """Raise StageConflict if the caller named a stage the application is no longer in."""
    if expected is not None and expected != current:
        raise StageConflict(expected, current)


def check_reason(to_stage: str, reason: str | None) -> None:
    reasons = REASONS.get(to_stage)
    if reasons is None:
        if reason is not None:
            raise InvalidReason(f"A move to {to_stage} takes no reason.")
    elif reason is None:
        if reasons.required:
            raise InvalidReason(f"A move to {to_stage} needs a reason: one of "
                                f"{', '.join(reasons.catalogue)}.")
    elif reason not in reasons.catalogue:
        raise InvalidReason(f"Must be one of: {', '.join(reasons.catalogue)}.")


def _check_role(to_stage: str, role: str | None) -> None:
    ever = _ever_made_by(to_stage)
    if role is not None and ever and role not in ever:
        raise MoveNotAllowed(to_stage, role)


def check_move(from_stage: str, to_stage: str, role: str | None = None) -> None:
    """Raise unless role (None: any role) may move an application from from_stage to to_stage.

    A move reserved to other roles is MoveNotAllowed whatever the stage; a move nobody makes
    (back to applied) or not from here is InvalidTransition, listing the role's own moves.
    """
    _check_role(to_stage, role)
    roles = TRANSITIONS[from_stage].get(to_stage)
    if roles is None or (role is not None and role not in roles):
        raise InvalidTransition(from_stage, to_stage, role)


def check_change(from_stage: str, to_stage: str, role: str, reason: str | None) -> None:
    """A whole stage change: the role's right to the move (403), then the reason (422), then
    the stage it starts from (409)."""
    _check_role(to_stage, role)
    check_reason(to_stage, reason)
    check_move(from_stage, to_stage, role)


def reason_shown(to_stage: str, reason: str | None, to_candidate: bool) -> str | None:
    """The reason of a move as a reader sees it: the candidate only where the table says."""
    if reason is None or not to_candidate:
        return reason
    reasons = REASONS.get(to_stage)
    return reason if reasons is not None and reasons.candidate_sees else None
