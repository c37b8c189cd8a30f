"""Clustering voice vectors (`adapters.diarization.clustering`) on synthetic vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from meeting_agent.adapters.diarization import LocalDiarizer, LocalDiarizerSettings
from meeting_agent.adapters.diarization.clustering import (
    CentredVectors,
    ClusteringSettings,
    centered,
    cluster_windows,
    smooth_within_pieces,
    speaker_pieces,
)
from meeting_agent.adapters.diarization.local import _plan_windows, _viterbi
from meeting_agent.domain.models import SpeakerCount
from meeting_agent.errors import FailedPrecondition
from meeting_agent.ports import NormalizedAudio

STEP = 0.5
TURN = 20  # windows per turn


def voice_centres(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.abs(rng.normal(0.2, 0.1, 256))
    return [np.abs(base + rng.normal(0, 0.7, 256)) for _ in range(count)]


def meeting(
    counts: list[int], *, noise: float = 0.05, seed: int = 0, turns_per_region: int = 1
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Non-negative unit vectors around one centre per voice, in turns of 20 windows.

    Turns of the voices alternate as in a conversation; `turns_per_region` turns share
    one speech region (no pause between them). Returns the vectors, the true voice of
    each window and the keyword arguments `cluster_windows` needs besides them.
    """
    rng = np.random.default_rng(seed)
    centres = voice_centres(len(counts), seed)
    remaining = list(counts)
    labels: list[int] = []
    voice = 0
    while any(remaining):
        while not remaining[voice % len(counts)]:
            voice += 1
        k = voice % len(counts)
        size = min(TURN, remaining[k])
        labels += [k] * size
        remaining[k] -= size
        voice += 1
    truth = np.asarray(labels)
    rows = np.abs(np.stack([centres[k] + rng.normal(0, noise, 256) for k in truth]))
    x = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    # A new region (after a pause) every `turns_per_region` turns.
    changes = np.r_[0, np.flatnonzero(np.diff(truth)) + 1]
    turn_of = np.searchsorted(changes, np.arange(len(truth)), side="right") - 1
    regions = (turn_of // turns_per_region).astype(np.int64)
    starts = np.arange(len(truth)) * STEP + regions * 1.0  # one second of pause each
    return (
        x,
        truth,
        {
            "starts": starts.astype(np.float64),
            "regions": regions,
            "speech": np.full(len(truth), 1.6),
            "step_seconds": STEP,
        },
    )


def agreement(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of pairs on which the two labellings agree (same / different)."""
    same_found = np.equal.outer(found, found)
    same_truth = np.equal.outer(truth, truth)
    return float((same_found == same_truth).mean())


def test_an_exact_hint_fixes_the_count() -> None:
    x, truth, where = meeting([60, 40, 30])

    labels = cluster_windows(x, speaker_count=SpeakerCount(3, 3), **where)  # type: ignore[arg-type]

    assert labels.max() + 1 == 3 and agreement(labels, truth) > 0.99


def test_the_count_is_estimated_and_clamped_to_the_range() -> None:
    x, truth, where = meeting([60, 40, 30])

    estimated = cluster_windows(x, speaker_count=None, **where)  # type: ignore[arg-type]
    at_most_two = cluster_windows(x, speaker_count=SpeakerCount(1, 2), **where)  # type: ignore[arg-type]
    at_least_four = cluster_windows(x, speaker_count=SpeakerCount(4, 6), **where)  # type: ignore[arg-type]

    assert estimated.max() + 1 == 3 and agreement(estimated, truth) > 0.99
    assert at_most_two.max() + 1 == 2
    assert at_least_four.max() + 1 == 4


def test_voices_are_found_inside_one_speech_region() -> None:
    # Three turns back to back with no pause: the cuts find the changes of voice.
    x, truth, where = meeting([60, 60, 60], turns_per_region=3)

    labels = cluster_windows(x, speaker_count=None, **where)  # type: ignore[arg-type]

    assert labels.max() + 1 == 3 and agreement(labels, truth) > 0.97


def test_one_voice_is_one_speaker() -> None:
    x, _, where = meeting([200])

    labels = cluster_windows(x, speaker_count=None, **where)  # type: ignore[arg-type]

    assert set(labels.tolist()) == {0}


def test_labels_are_numbered_in_order_of_first_appearance() -> None:
    x, _, where = meeting([30, 30])

    labels = cluster_windows(x, speaker_count=SpeakerCount(2, 2), **where)  # type: ignore[arg-type]

    assert labels[0] == 0 and np.argmax(labels == 0) < np.argmax(labels == 1)


def test_many_windows_are_clustered_chunk_by_chunk() -> None:
    x, truth, where = meeting([4000, 3000, 2000], noise=0.04)

    assert where["starts"][-1] > 4 * ClusteringSettings().chunk_seconds  # type: ignore[index]

    labels = cluster_windows(x, speaker_count=None, **where)  # type: ignore[arg-type]

    assert labels.shape == truth.shape
    assert labels.max() + 1 == 3 and agreement(labels, truth) > 0.99


def test_a_voice_back_after_many_chunks_joins_its_first_turns() -> None:
    # Voice 0 speaks first, is silent through ten chunks of the others, and returns.
    x, truth, _ = meeting([80, 400, 400], noise=0.05)
    first = np.flatnonzero(truth == 0)
    order = np.r_[first[:40], np.flatnonzero(truth != 0), first[40:]]
    x, truth = x[order], truth[order]
    regions = np.r_[0, np.cumsum(np.diff(truth) != 0)].astype(np.int64)
    starts = np.arange(len(truth)) * STEP + regions * 1.0

    labels = cluster_windows(
        x,
        speaker_count=None,
        starts=starts,
        regions=regions,
        speech=np.full(len(truth), 1.6),
        step_seconds=STEP,
        settings=ClusteringSettings(chunk_seconds=60),
    )

    assert labels.max() + 1 == 3 and agreement(labels, truth) > 0.99
    assert labels[0] == labels[-1]


def test_an_exact_hint_holds_across_chunks() -> None:
    x, truth, where = meeting([300, 300, 200, 200], noise=0.04)
    settings = ClusteringSettings(chunk_seconds=60)

    exact = cluster_windows(x, speaker_count=SpeakerCount(4, 4), settings=settings, **where)  # type: ignore[arg-type]
    fewer = cluster_windows(x, speaker_count=SpeakerCount(2, 2), settings=settings, **where)  # type: ignore[arg-type]

    assert exact.max() + 1 == 4 and agreement(exact, truth) > 0.99
    assert fewer.max() + 1 == 2


def test_one_window_is_one_speaker() -> None:
    x, _, where = meeting([1])
    none = {
        "starts": np.zeros(0),
        "regions": np.zeros(0, dtype=np.int64),
        "speech": np.zeros(0),
        "step_seconds": STEP,
    }

    assert cluster_windows(x, speaker_count=None, **where).tolist() == [0]  # type: ignore[arg-type]
    assert cluster_windows(x[:0], speaker_count=None, **none).size == 0  # type: ignore[arg-type]


def test_a_region_is_cut_where_the_voice_changes_and_nowhere_else() -> None:
    x, truth, _ = meeting([20, 20], noise=0.1)
    z = centered(x)

    two_voices = speaker_pieces(z, np.zeros(len(z), dtype=np.int64), penalty=3.0, longest=100)
    one_voice = speaker_pieces(
        z[truth == 0], np.zeros(20, dtype=np.int64), penalty=3.0, longest=100
    )
    capped = speaker_pieces(z[truth == 0], np.zeros(20, dtype=np.int64), penalty=3.0, longest=8)

    assert two_voices.tolist() == truth.tolist()
    assert set(one_voice.tolist()) == {0}
    assert np.bincount(capped).max() <= 8 and capped.tolist() == sorted(capped.tolist())


def test_pieces_never_span_two_regions() -> None:
    z = centered(meeting([10])[0])
    regions = np.repeat([0, 1], 5)

    pieces = speaker_pieces(z, regions, penalty=100.0, longest=100)

    assert pieces.tolist() == regions.tolist()


def test_smoothing_stays_inside_a_piece() -> None:
    z = np.eye(4, dtype=np.float32)
    starts = np.arange(4, dtype=np.float64) * STEP
    pieces = np.array([0, 0, 1, 1])

    smooth = smooth_within_pieces(z, starts, pieces, radius=10.0)

    expected = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]) / np.sqrt(2)
    np.testing.assert_allclose(smooth, expected, atol=1e-6)


def test_windows_are_planned_per_region_in_time_order() -> None:
    starts, speech, regions = _plan_windows([(0.0, 0.8), (1.5, 4.0), (4.6, 5.0)], 1.6, 0.5)

    assert regions.tolist() == [0, 1, 1, 1, 2]
    np.testing.assert_allclose(starts, [-0.4, 1.5, 2.0, 2.4, 4.0])
    np.testing.assert_allclose(speech, [0.8, 1.6, 1.6, 1.6, 0.4])
    assert (np.diff(starts) >= 0).all()


def test_viterbi_pays_for_each_change_of_speaker() -> None:
    # Speaker 1 leads briefly in the middle: not worth two changes at 0.5 each ...
    scores = np.array([[1.0, 0.0]] * 3 + [[0.0, 0.3]] + [[1.0, 0.0]] * 3)
    # ... but a longer lead is.
    longer = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3 + [[1.0, 0.0]] * 3)

    assert _viterbi(scores, np.full(len(scores), 0.5)).tolist() == [0] * 7
    assert _viterbi(longer, np.full(len(longer), 0.5)).tolist() == [0] * 3 + [1] * 3 + [0] * 3
    assert _viterbi(scores, np.zeros(len(scores))).tolist() == [0, 0, 0, 1, 0, 0, 0]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        ClusteringSettings(threshold=0)
    with pytest.raises(ValueError):
        ClusteringSettings(noise_scale=-1)
    with pytest.raises(ValueError):
        LocalDiarizerSettings(switch_penalty=-0.1)


def test_missing_weights_fail_as_a_precondition(tmp_path: Path) -> None:
    diarizer = LocalDiarizer(LocalDiarizerSettings(weights_path=tmp_path / "none.pt"))
    audio = NormalizedAudio(tmp_path / "a.f32", 1.0, ())

    with pytest.raises(FailedPrecondition) as failure:
        diarizer.diarize(
            audio,
            speaker_count=None,
            progress=lambda f, message="": None,
            check_cancelled=lambda: None,
        )

    assert failure.value.reason == "DIARIZATION_MODEL_UNAVAILABLE"


def test_centred_vectors_restore_the_unit_rows_and_may_replace_them() -> None:
    x, _, _ = meeting([30, 20, 10])
    # Any lengths: the unit rows are what count.
    rows = np.ascontiguousarray(x * 3.0, dtype=np.float32)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)

    vectors = CentredVectors.of(rows)
    in_place = CentredVectors.of(rows.copy(), in_place=True)

    everything = np.arange(len(rows))
    assert np.allclose(vectors.unit(everything), unit, atol=1e-5)
    assert np.allclose(np.linalg.norm(vectors.z, axis=1), 1.0, atol=1e-5)
    mean = unit.mean(axis=0) / np.linalg.norm(unit.mean(axis=0))
    assert vectors.coherence == pytest.approx(float((unit @ mean).mean()), abs=1e-5)
    assert np.array_equal(in_place.z, vectors.z)
