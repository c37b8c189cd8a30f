"""Clustering voice vectors (`adapters.diarization.clustering`) on synthetic vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from meeting_agent.adapters.diarization import LocalDiarizer, LocalDiarizerSettings
from meeting_agent.adapters.diarization.clustering import cluster_windows
from meeting_agent.domain.models import SpeakerCount
from meeting_agent.errors import FailedPrecondition
from meeting_agent.ports import NormalizedAudio


def voices(counts: list[int], *, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Non-negative unit vectors around one centre per voice, in turns of 20 windows."""
    rng = np.random.default_rng(seed)
    base = np.abs(rng.normal(0.2, 0.1, 256))
    centres = [np.abs(base + rng.normal(0, 0.7, 256)) for _ in counts]
    labels = np.concatenate([np.full(n, i) for i, n in enumerate(counts)])
    # Interleave turns so that voices alternate as in a conversation.
    order = np.argsort(np.arange(len(labels)) % 20 + 20 * rng.permutation(len(labels)),
                       kind="stable")
    labels = labels[order]
    rows = np.stack([centres[k] + rng.normal(0, noise, 256) for k in labels])
    rows = np.abs(rows)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32), labels


def agreement(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of pairs on which the two labellings agree (same / different)."""
    same_found = np.equal.outer(found, found)
    same_truth = np.equal.outer(truth, truth)
    return float((same_found == same_truth).mean())


def test_an_exact_hint_fixes_the_count() -> None:
    x, truth = voices([60, 40, 30])

    labels = cluster_windows(x, speaker_count=SpeakerCount(3, 3), threshold=1.0)

    assert labels.max() + 1 == 3 and agreement(labels, truth) > 0.99


def test_the_count_is_estimated_and_clamped_to_the_range() -> None:
    x, truth = voices([60, 40, 30])

    estimated = cluster_windows(x, speaker_count=None, threshold=1.0)
    at_most_two = cluster_windows(x, speaker_count=SpeakerCount(1, 2), threshold=1.0)
    at_least_four = cluster_windows(x, speaker_count=SpeakerCount(4, 6), threshold=1.0)

    assert estimated.max() + 1 == 3 and agreement(estimated, truth) > 0.99
    assert at_most_two.max() + 1 == 2
    assert at_least_four.max() + 1 == 4


def test_labels_are_numbered_in_order_of_first_appearance() -> None:
    x, _ = voices([30, 30])

    labels = cluster_windows(x, speaker_count=SpeakerCount(2, 2), threshold=1.0)

    first_seen = [int(labels[np.argmax(labels == k)]) for k in range(2)]
    assert labels[0] == 0 and np.argmax(labels == 0) < np.argmax(labels == 1)
    assert first_seen == [0, 1]


def test_many_windows_are_clustered_through_a_bounded_sample() -> None:
    x, truth = voices([4000, 3000, 2000], noise=0.04)

    labels = cluster_windows(x, speaker_count=None, threshold=1.0, max_windows=300)

    assert labels.shape == truth.shape
    assert labels.max() + 1 == 3 and agreement(labels, truth) > 0.99


def test_one_window_is_one_speaker() -> None:
    x, _ = voices([1])

    assert cluster_windows(x, speaker_count=None, threshold=1.0).tolist() == [0]
    assert cluster_windows(x[:0], speaker_count=None, threshold=1.0).size == 0


def test_missing_weights_fail_as_a_precondition(tmp_path: Path) -> None:
    diarizer = LocalDiarizer(LocalDiarizerSettings(weights_path=tmp_path / "none.pt"))
    audio = NormalizedAudio(tmp_path / "a.f32", 1.0, ())

    with pytest.raises(FailedPrecondition) as failure:
        diarizer.diarize(audio, speaker_count=None, progress=lambda f, message="": None,
                         check_cancelled=lambda: None)

    assert failure.value.reason == "DIARIZATION_MODEL_UNAVAILABLE"
