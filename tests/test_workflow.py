"""The transition table, checked exhaustively without an app."""
import pytest

from ats import workflow
from ats.workflow import InvalidTransition

LEGAL = {
    ("applied", "screening"), ("screening", "interview"), ("interview", "offer"),
    ("offer", "hired"),
    ("applied", "rejected"), ("screening", "rejected"), ("interview", "rejected"),
    ("offer", "rejected"),
}


@pytest.mark.parametrize("from_stage", workflow.STAGES)
@pytest.mark.parametrize("to_stage", workflow.STAGES)
def test_every_pair_of_stages(from_stage, to_stage):
    if (from_stage, to_stage) in LEGAL:
        workflow.check_move(from_stage, to_stage)
    else:
        with pytest.raises(InvalidTransition) as raised:
            workflow.check_move(from_stage, to_stage)
        assert raised.value.from_stage == from_stage
        assert raised.value.to_stage == to_stage
        assert sorted(raised.value.allowed) == sorted(to for (fr, to) in LEGAL if fr == from_stage)


def test_final_stages_allow_nothing():
    assert [s for s in workflow.STAGES if workflow.is_final(s)] == ["hired", "rejected"]
    assert workflow.INITIAL == "applied"
