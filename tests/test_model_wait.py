"""A tool call that embeds waits for a model still loading, once and for a bounded time."""

from __future__ import annotations

import threading

import pytest

from mcp_memory import FakeEmbedder, ModelLoader, embeddings


class GatedModel(FakeEmbedder):
    """Stands in for FastEmbedder: the load finishes only when the test opens the gate."""

    gate = threading.Event()

    def __init__(self, *args: object, **kwargs: object) -> None:
        assert self.gate.wait(30), "the test never opened the gate"
        super().__init__()


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    gate = threading.Event()
    monkeypatch.setattr(GatedModel, "gate", gate)
    monkeypatch.setattr(embeddings, "FastEmbedder", GatedModel)
    yield gate
    gate.set()  # never leave a loader thread waiting


def test_a_loader_never_started_does_not_wait_and_stays_keyword_only() -> None:
    assert ModelLoader().settle(timeout=60) is None  # would hang a minute if it waited


def test_a_call_during_the_load_gets_the_model_once_it_arrives(gated: threading.Event) -> None:
    loader = ModelLoader().start()
    opener = threading.Thread(target=gated.set)
    opener.start()  # the load may finish before or during settle: both must yield the model
    assert isinstance(loader.settle(timeout=60), FakeEmbedder)
    opener.join()


def test_after_one_bounded_wait_later_calls_run_on_keywords_without_waiting(
    gated: threading.Event,
) -> None:
    loader = ModelLoader().start()
    assert loader.settle(timeout=0.05) is None  # the first window: waited, model still away
    assert loader.settle(timeout=60) is None  # past the deadline: no second minute of waiting
    gated.set()
    assert loader.wait(30) is not None and loader.settle() is loader.current()
