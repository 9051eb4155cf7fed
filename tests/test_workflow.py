"""The transition table, checked exhaustively without an app: every from × to × role, and
the reasons each final stage takes."""
import pytest

from ats import workflow
from ats.workflow import InvalidReason, InvalidTransition, MoveNotAllowed, StageConflict

STAFF_ROLES = ("admin", "recruiter", "hiring_manager")
ROLES = STAFF_ROLES + ("candidate",)
OPEN = ("applied", "screening", "interview", "offer")

# written out from the contract, not derived from the table
STAFF_MOVES = {
    ("applied", "screening"), ("screening", "interview"), ("interview", "offer"),
    ("offer", "hired"),
    ("applied", "rejected"), ("screening", "rejected"), ("interview", "rejected"),
    ("offer", "rejected"),
}
CANDIDATE_MOVES = {(stage, "withdrawn") for stage in OPEN}
LEGAL = {role: STAFF_MOVES for role in STAFF_ROLES} | {"candidate": CANDIDATE_MOVES}
REJECTION_REASONS = ("not_qualified", "experience_level", "skills_mismatch", "position_filled",
                     "position_cancelled", "compensation", "location", "culture_add", "no_show",
                     "unresponsive", "other")
WITHDRAWAL_REASONS = ("accepted_other_offer", "compensation", "location", "timing",
                      "not_interested", "other")


def a_valid_reason(to_stage: str) -> str | None:
    return {"rejected": "other", "withdrawn": "timing"}.get(to_stage)


def test_the_stages():
    assert workflow.STAGES == ("applied", "screening", "interview", "offer", "hired",
                               "rejected", "withdrawn")
    assert workflow.INITIAL == "applied"


def test_the_pipeline_the_reports_follow():
    assert workflow.PIPELINE == ("applied", "screening", "interview", "offer", "hired")
    assert workflow.OPEN_STAGES == OPEN
    assert [workflow.next_in_pipeline(stage) for stage in workflow.STAGES] == [
        "screening", "interview", "offer", "hired", None, None, None]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("from_stage", workflow.STAGES)
@pytest.mark.parametrize("to_stage", workflow.STAGES)
def test_every_move_for_every_role(role, from_stage, to_stage):
    legal = LEGAL[role]
    reason = a_valid_reason(to_stage)
    if (from_stage, to_stage) in legal:
        workflow.check_change(from_stage, to_stage, role, reason)
        workflow.check_move(from_stage, to_stage, role)
        return
    # a move other roles make, never this one: 403 whatever the stage
    other_roles_make_it = any(to == to_stage for r in ROLES for (_, to) in LEGAL[r])
    if other_roles_make_it and not any(to == to_stage for (_, to) in legal):
        with pytest.raises(MoveNotAllowed):
            workflow.check_change(from_stage, to_stage, role, reason)
        return
    with pytest.raises(InvalidTransition) as raised:
        workflow.check_change(from_stage, to_stage, role, reason)
    assert (raised.value.from_stage, raised.value.to_stage) == (from_stage, to_stage)
    # allowed: the caller's own moves from there, in the table's order
    assert sorted(raised.value.allowed) == sorted(to for (fr, to) in legal if fr == from_stage)


@pytest.mark.parametrize("from_stage", workflow.STAGES)
@pytest.mark.parametrize("to_stage", workflow.STAGES)
def test_the_table_alone(from_stage, to_stage):
    every = STAFF_MOVES | CANDIDATE_MOVES
    if (from_stage, to_stage) in every:
        workflow.check_move(from_stage, to_stage)
    else:
        with pytest.raises(InvalidTransition) as raised:
            workflow.check_move(from_stage, to_stage)
        assert sorted(raised.value.allowed) == sorted(to for (fr, to) in every if fr == from_stage)


def test_final_stages_allow_nothing():
    assert [s for s in workflow.STAGES if workflow.is_final(s)] == ["hired", "rejected", "withdrawn"]


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("reason", REJECTION_REASONS)
def test_rejection_takes_each_reason_of_its_catalogue(role, reason):
    workflow.check_change("screening", "rejected", role, reason)


@pytest.mark.parametrize("reason", [None, "timing", "accepted_other_offer", "bogus"])
def test_rejection_requires_a_reason_of_its_catalogue(reason):
    with pytest.raises(InvalidReason):
        workflow.check_change("screening", "rejected", "recruiter", reason)


@pytest.mark.parametrize("reason", (None,) + WITHDRAWAL_REASONS)
def test_withdrawal_may_give_a_reason_of_its_catalogue(reason):
    workflow.check_change("interview", "withdrawn", "candidate", reason)


@pytest.mark.parametrize("reason", ["not_qualified", "no_show", "bogus"])
def test_withdrawal_takes_no_reason_outside_its_catalogue(reason):
    with pytest.raises(InvalidReason):
        workflow.check_change("interview", "withdrawn", "candidate", reason)


@pytest.mark.parametrize("to_stage", ["screening", "interview", "offer", "hired"])
def test_other_moves_take_no_reason(to_stage):
    with pytest.raises(InvalidReason):
        workflow.check_change("applied", to_stage, "recruiter", "other")


def test_a_forbidden_move_is_refused_before_its_reason_and_its_stage():
    with pytest.raises(MoveNotAllowed):
        workflow.check_change("hired", "rejected", "candidate", None)
    with pytest.raises(MoveNotAllowed):
        workflow.check_change("hired", "withdrawn", "recruiter", "bogus")


@pytest.mark.parametrize("to_stage, reason, to_candidate, shown", [
    ("rejected", "no_show", False, "no_show"),
    ("rejected", "no_show", True, None),         # never a rejection's reason
    ("withdrawn", "timing", True, "timing"),     # their own withdrawal's
    ("withdrawn", "timing", False, "timing"),
    ("withdrawn", None, True, None),
])
def test_who_sees_a_reason(to_stage, reason, to_candidate, shown):
    assert workflow.reason_shown(to_stage, reason, to_candidate) == shown


def test_expected_stage():
    workflow.check_expected(None, "offer")
    workflow.check_expected("offer", "offer")
    with pytest.raises(StageConflict) as raised:
        workflow.check_expected("interview", "offer")
    assert (raised.value.expected, raised.value.current) == ("interview", "offer")
