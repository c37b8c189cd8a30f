"""Grouping speech windows by voice: which windows were spoken by the same person.

Resemblyzer vectors all lie in one narrow cone (they are non-negative), so what the
voices of one meeting have in common dominates raw cosine similarity. Subtracting the
meeting's mean vector (`centered`) leaves what tells its voices apart, and the groups
are formed there:

* the number of speakers is the hint when it is exact; otherwise average-linkage
  agglomerative clustering cut at `threshold` (cosine distance) estimates it, counting
  only groups that hold at least `min_cluster_share` of the speech, and clamped to the
  hint's range. Centring cannot tell one voice from several, so a meeting whose raw
  vectors all stay close to their mean (`single_speaker_coherence`) is one speaker;
* Ward clustering then splits the windows into that many groups, and every window
  moves to the nearest group centroid (twice, so centroids settle).

The pairwise steps see at most `max_windows` windows, an even sample over the whole
meeting; the rest join the nearest centroid. Memory and time therefore stay bounded on
recordings of any length: O(max_windows²) for the sample, O(windows) for the rest.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.cluster import AgglomerativeClustering

from meeting_agent.domain.models import SpeakerCount

__all__ = ["centered", "cluster_windows", "normalized"]

_Labels = npt.NDArray[np.int64]
_Matrix = npt.NDArray[np.float32]


def normalized(rows: _Matrix) -> _Matrix:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: _Matrix = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def centered(rows: _Matrix) -> _Matrix:
    """Unit rows minus their mean, made unit again: the space the voices are told apart in."""
    x = normalized(rows)
    return normalized(x - x.mean(axis=0, keepdims=True))


def _centroids(x: _Matrix, labels: _Labels, count: int) -> _Matrix:
    sums = np.zeros((count, x.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, x)
    return normalized(sums.astype(np.float32))


def _compact(labels: _Labels) -> _Labels:
    """Labels renumbered 0..k-1 in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[inverse], dtype=np.int64)


def _estimate_count(z: _Matrix, weights: npt.NDArray[np.float32], threshold: float,
                    min_share: float) -> int:
    if len(z) < 2:
        return 1
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold,
                                     metric="cosine", linkage="average").fit_predict(z)
    total = max(float(weights.sum()), 1e-9)
    shares = np.bincount(labels, weights=weights) / total
    # Tiny groups are windows straddling two voices, laughter or noise, not people.
    return max(1, int((shares >= min_share).sum()))


def cluster_windows(
    embeddings: _Matrix,
    *,
    speaker_count: SpeakerCount | None,
    threshold: float,
    max_windows: int = 2_000,
    min_cluster_share: float = 0.1,
    single_speaker_coherence: float = 0.88,
    weights: npt.NDArray[np.float32] | None = None,
) -> _Labels:
    """One speaker number per window (0..k-1, in order of first appearance).

    Args:
        embeddings: Speaker vectors, one row per window, in time order.
        speaker_count: An exact count (minimum == maximum) or a range; None estimates
            the count.
        threshold: Cosine distance, in the centred space, at which groups stop merging
            when the count is estimated (smaller finds more speakers).
        max_windows: How many windows the pairwise clustering sees at most.
        min_cluster_share: With an estimated count, the share of speech a group needs
            to count as a speaker.
        single_speaker_coherence: Mean raw cosine similarity to the mean vector above
            which a meeting is taken to have one voice (when the hint allows one).
        weights: How much speech each window carries (seconds), for the shares.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    raw = normalized(np.asarray(embeddings, dtype=np.float32))
    z = centered(raw)
    w = np.ones(n, dtype=np.float32) if weights is None else np.asarray(weights, np.float32)
    low, high = (1, n) if speaker_count is None else (
        max(1, speaker_count.minimum), max(1, speaker_count.maximum))
    sample = np.unique(np.linspace(0, n - 1, min(n, max_windows)).round().astype(np.int64))
    if low == high:
        count = low
    else:
        mean = normalized(raw[sample].mean(axis=0, keepdims=True))[0]
        coherence = float(np.mean(raw[sample] @ mean))
        if low <= 1 and coherence >= single_speaker_coherence:
            count = 1
        else:
            count = _estimate_count(z[sample], w[sample], threshold, min_cluster_share)
        count = min(max(count, low), high)
    count = min(count, len(sample))
    if count <= 1:
        return np.zeros(n, dtype=np.int64)
    labels = np.asarray(AgglomerativeClustering(n_clusters=count, linkage="ward")
                        .fit_predict(z[sample]), dtype=np.int64)
    centroids = _centroids(z[sample], labels, count)
    # Everyone, sampled or not, goes to the nearest centroid; twice, so the centroids
    # also reflect the windows the sample left out.
    for _ in range(2):
        assigned = np.asarray(np.argmax(z @ centroids.T, axis=1), dtype=np.int64)
        centroids = _centroids(z, assigned, count)
    return _compact(assigned)
