"""Which idempotency answers an account keeps (pure part of the ledger)."""

from __future__ import annotations

from services.common.ledger import APPLIED_KEYS, APPLIED_WEIGHT, _remember


def answers(n: int, prefix: str = "k", results: int = 0) -> dict:
    result = {"results": [{"ok": True}] * results} if results else {"cash": "1.00"}
    weight = results or 1
    return {f"{prefix}{i}": {"fp": "x", "result": result, "n": weight} for i in range(n)}


def test_the_newest_single_answers_are_kept_in_order():
    kept = _remember(answers(APPLIED_KEYS), "new", "fp", {"cash": "2.00"})
    assert len(kept) == APPLIED_KEYS
    assert list(kept)[-1] == "new" and "k0" not in kept
    assert list(kept)[:-1] == [f"k{i}" for i in range(1, APPLIED_KEYS)]


def test_batch_answers_weigh_as_many_as_their_results():
    older = answers(2, prefix="batch", results=APPLIED_WEIGHT // 2)
    kept = _remember(older, "new", "fp", {"results": [{"ok": True}] * 10}, answers=10)
    assert list(kept) == ["batch1", "new"]


def test_the_newest_answer_is_kept_however_large():
    huge = {"results": [{"ok": True}] * (APPLIED_WEIGHT + 1)}
    assert list(_remember(answers(3), "new", "fp", huge, APPLIED_WEIGHT + 1)) == ["new"]
