"""Grouping speech windows by voice: which windows were spoken by the same person.

Resemblyzer vectors all lie in one narrow cone (they are non-negative), so what the
voices of one meeting have in common dominates raw cosine similarity. Subtracting the
meeting's mean vector (`centered`) leaves what tells its voices apart, and the groups
are formed there, in four steps:

1. **Pieces.** Each speech region (speech between pauses) is cut where the voice
   changes (`speaker_pieces`: the partition into runs of windows that minimises the
   spread of each run around its mean plus `change_penalty` per cut, found exactly by
   dynamic programming). A piece is taken to be one voice.
2. **Count.** Unless a hint fixes it, the number of speakers is estimated by merging
   pieces (`estimate_count`): two groups of pieces are one voice while their mean
   vectors are closer than the noise of those means explains, that is while
   `|m_a - m_b|² <= threshold² + noise_scale * noise * (1 / T_a + 1 / T_b)`, where
   `T` is the seconds of speech behind a mean and `noise` the spread of single
   windows around the mean of their piece, measured on the meeting itself. Short
   groups therefore need a clearer difference than long ones, and the test does not
   drift with the length of the meeting the way a fixed distance cut does. Groups
   holding less than `min_cluster_share` of the speech do not count as people, and
   a group under `small_cluster_share` joins its nearest group unless it lies
   `small_cluster_margin` times its allowance away: a short group is more often an
   unusual stretch of a voice already heard (its words pull the vectors) than a new
   person.
   Centring cannot tell one voice from several, so a meeting whose raw vectors all
   stay close to their mean (`single_speaker_coherence`) is one speaker.
3. **Smoothing.** Every window is averaged with the windows of its piece within
   `smoothing_seconds`, which removes most of what the words said add to a vector
   while keeping the changes of speaker the pieces found.
4. **Assignment.** Ward clustering splits the smoothed windows into the chosen number
   of groups, and every window moves to the nearest group centroid (twice, so the
   centroids settle).

The pairwise steps see at most `max_windows` windows (and as many pieces), an even
sample over the whole meeting; the rest join the nearest centroid. Memory and time
therefore stay bounded on recordings of any length: O(max_windows²) for the sample
and the merging, O(windows) for the rest, O(windows x longest piece) for the cutting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meeting_agent.domain.models import SpeakerCount

__all__ = [
    "ClusteringSettings",
    "centered",
    "cluster_windows",
    "estimate_count",
    "group_sums",
    "normalized",
    "smooth_within_pieces",
    "speaker_pieces",
]

_Labels = npt.NDArray[np.int64]
_Matrix = npt.NDArray[np.float32]
_Seconds = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ClusteringSettings:
    """How windows become speakers; the defaults were chosen with `bench/diarization.py`."""

    # Distance between the mean centred vectors of two groups that marks two people
    # however much speech each has; smaller finds more speakers.
    threshold: float = 0.3
    # How far the noise of a mean (from a group's seconds of speech) widens that.
    noise_scale: float = 3.0
    # What one more cut inside a speech region must save in squared distance, per
    # second of windows (a cut is a change of speaker; smaller finds more changes).
    change_penalty: float = 1.5
    # Pieces are cut at most this long, which bounds the cutting's work.
    max_piece_seconds: float = 30.0
    smoothing_seconds: float = 2.0
    # With an estimated count, the share of speech a group needs to count as a speaker;
    # a group under `small_cluster_share` must also lie `small_cluster_margin` times
    # its allowance away from the nearest group, or it joins that group.
    min_cluster_share: float = 0.1
    small_cluster_share: float = 0.15
    small_cluster_margin: float = 1.5
    # Mean raw cosine similarity to the mean vector above which a meeting is taken to
    # have one voice (when the hint allows one).
    single_speaker_coherence: float = 0.88
    # How many windows (and pieces) the pairwise steps see at most.
    max_windows: int = 2_000

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 2:
            raise ValueError("threshold is a distance between centred vectors, in (0, 2]")
        if self.noise_scale < 0 or self.change_penalty < 0 or self.smoothing_seconds < 0:
            raise ValueError("noise_scale, change_penalty and smoothing_seconds are >= 0")
        if self.max_windows < 2:
            raise ValueError("max_windows must be at least 2")


def normalized(rows: _Matrix) -> _Matrix:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: _Matrix = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def centered(rows: _Matrix) -> _Matrix:
    """Unit rows minus their mean, made unit again: the space the voices are told apart in."""
    x = normalized(rows)
    return normalized(x - x.mean(axis=0, keepdims=True))


def group_sums(x: npt.NDArray[np.floating], labels: _Labels, count: int
               ) -> npt.NDArray[np.float64]:
    """Row sums per label (0..count-1), as one matrix product (`np.add.at` is slow)."""
    members = np.zeros((count, len(labels)), dtype=np.float64)
    members[labels, np.arange(len(labels))] = 1.0
    result: npt.NDArray[np.float64] = members @ np.asarray(x, dtype=np.float64)
    return result


def _centroids(x: _Matrix, labels: _Labels, count: int) -> _Matrix:
    return normalized(group_sums(x, labels, count).astype(np.float32))


def _compact(labels: _Labels) -> _Labels:
    """Labels renumbered 0..k-1 in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[inverse], dtype=np.int64)


def _even_sample(n: int, most: int) -> npt.NDArray[np.int64]:
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(np.int64))


def _cut(z: _Matrix, penalty: float, longest: int) -> list[int]:
    """Ends of the runs of `z` (rows in time order) that minimise spread + penalty per run.

    The spread of a run is the sum of squared distances of its rows to their mean,
    `n - |sum|² / n`; dynamic programming over the run ends, each run at most
    `longest` rows.
    """
    n = len(z)
    sums = np.zeros((n + 1, z.shape[1]), dtype=np.float64)
    np.cumsum(z, axis=0, dtype=np.float64, out=sums[1:])
    best = np.empty(n + 1)
    best[0] = -penalty
    back = np.zeros(n + 1, dtype=np.int64)
    for end in range(1, n + 1):
        begins = np.arange(max(0, end - longest), end)
        lengths = end - begins
        diff = sums[end] - sums[begins]
        cost = best[begins] + lengths - np.einsum("ij,ij->i", diff, diff) / lengths
        k = int(np.argmin(cost))
        best[end] = cost[k] + penalty
        back[end] = begins[k]
    ends: list[int] = []
    end = n
    while end > 0:
        ends.append(end)
        end = int(back[end])
    return ends[::-1]


def speaker_pieces(z: _Matrix, regions: npt.NDArray[np.int64], *, penalty: float,
                   longest: int) -> _Labels:
    """A piece number per window: each region's windows cut where the voice changes.

    Args:
        z: Centred unit vectors, one row per window, in time order.
        regions: The speech region of each window (non-decreasing).
        penalty: What a cut must save in summed squared distance to its run's mean.
        longest: Windows a piece holds at most.
    """
    pieces = np.zeros(len(z), dtype=np.int64)
    boundaries = np.flatnonzero(np.diff(regions)) + 1
    number = 0
    for first, stop in zip(np.r_[0, boundaries], np.r_[boundaries, len(z)], strict=True):
        begin = int(first)
        for end in _cut(z[begin:int(stop)], penalty, max(1, longest)):
            pieces[begin:int(first) + end] = number
            number += 1
            begin = int(first) + end
    return pieces


def smooth_within_pieces(z: _Matrix, starts: _Seconds, pieces: _Labels,
                         radius: float) -> _Matrix:
    """Each window averaged with the windows of its piece that start within `radius` s."""
    if radius <= 0 or len(z) == 0:
        return z
    sums = np.zeros((len(z) + 1, z.shape[1]), dtype=np.float64)
    np.cumsum(z, axis=0, dtype=np.float64, out=sums[1:])
    # Pieces are runs of consecutive windows; clip each window's span to its run.
    run_first = np.searchsorted(pieces, pieces, side="left")
    run_stop = np.searchsorted(pieces, pieces, side="right")
    lo = np.maximum(np.searchsorted(starts, starts - radius - 1e-9, side="left"), run_first)
    hi = np.minimum(np.searchsorted(starts, starts + radius + 1e-9, side="right"), run_stop)
    return normalized((sums[hi] - sums[lo]).astype(np.float32))


def estimate_count(z: _Matrix, pieces: _Labels, seconds: _Seconds,
                   settings: ClusteringSettings) -> int:
    """How many voices the pieces hold: merge groups while their means are one voice.

    Args:
        z: Centred unit vectors, one row per window.
        pieces: The piece of each window (0..k-1, each piece a run of windows).
        seconds: Seconds of speech behind each piece (k values).
        settings: `threshold`, `noise_scale`, the cluster shares, `max_windows`.
    """
    count = int(pieces.max()) + 1 if len(pieces) else 0
    if count < 2:
        return 1
    sizes = np.bincount(pieces, minlength=count)
    # Pieces are runs of windows, so their sums are sums over slices.
    runs = np.r_[0, np.flatnonzero(np.diff(pieces)) + 1]
    means = np.add.reduceat(z.astype(np.float64), runs, axis=0) / sizes[:, None]
    spread = np.einsum("ij,ij->i", z - means[pieces], z - means[pieces])
    settled = sizes[pieces] >= 3
    noise = float(spread[settled].mean() if settled.any() else spread.mean())
    chosen = _even_sample(count, max(2, settings.max_windows))
    means, seconds = means[chosen], np.maximum(seconds[chosen], 1e-3)
    floor, scale = settings.threshold ** 2, settings.noise_scale * noise
    labels = _merge(means, seconds, floor, scale)
    groups = int(labels.max()) + 1
    sums = group_sums(means * seconds[:, None], labels, groups)
    held = np.bincount(labels, weights=seconds, minlength=groups)
    # A group with little speech is more often an unusual stretch of a voice already
    # heard (its words pull the vectors) than a new person: it has to stand further
    # apart from its nearest group to stay.
    alive = np.ones(groups, dtype=bool)
    kept = np.zeros(groups, dtype=bool)
    while alive.sum() > 1:
        shares = np.where(alive & ~kept, held / held.sum(), np.inf)
        small = int(np.argmin(shares))
        if shares[small] >= settings.small_cluster_share:
            break
        centres = sums / held[:, None]
        gap = np.einsum("ij,ij->i", centres - centres[small], centres - centres[small])
        ratio = gap / (floor + scale * (1.0 / held[small] + 1.0 / held))
        ratio[~alive] = np.inf
        ratio[small] = np.inf
        nearest = int(np.argmin(ratio))
        if ratio[nearest] >= settings.small_cluster_margin:
            kept[small] = True
            continue
        sums[nearest] += sums[small]
        held[nearest] += held[small]
        alive[small] = False
    shares = held[alive] / held[alive].sum()
    # Tiny groups are pieces straddling two voices, laughter or noise, not people.
    return max(1, int((shares >= settings.min_cluster_share).sum()))


def _merge(means: npt.NDArray[np.float64], seconds: _Seconds, floor: float,
           noise: float) -> _Labels:
    """Merge the pair furthest inside its allowance until no pair is inside it.

    The allowance of two groups is `floor + noise * (1 / T_a + 1 / T_b)`; the pair
    with the smallest gap / allowance merges first. Each row's smallest ratio is
    kept, so a merge costs O(groups) rows' work rather than a scan of the table.
    """
    count = len(means)
    centres = means.astype(np.float64).copy()
    norms = np.einsum("ij,ij->i", centres, centres)
    weight = seconds.astype(np.float64).copy()
    active = np.ones(count, dtype=bool)
    labels = np.arange(count, dtype=np.int64)

    def allowance(rows: npt.NDArray[np.float64], columns: npt.NDArray[np.float64]
                  ) -> npt.NDArray[np.float64]:
        result: npt.NDArray[np.float64] = np.maximum(
            floor + noise * (1.0 / rows + 1.0 / columns), 1e-12)
        return result

    def ratios(i: int) -> npt.NDArray[np.float64]:
        gap = np.maximum(norms + norms[i] - 2.0 * (centres @ centres[i]), 0.0)
        result: npt.NDArray[np.float64] = gap / allowance(weight[i], weight)
        result[~active] = np.inf
        result[i] = np.inf
        return result

    gaps = np.maximum(norms[:, None] + norms[None, :] - 2.0 * (centres @ centres.T), 0.0)
    table = gaps / allowance(weight[:, None], weight[None, :])
    np.fill_diagonal(table, np.inf)
    nearest = np.argmin(table, axis=1)
    best = table[np.arange(count), nearest]
    while True:
        i = int(np.argmin(best))
        j = int(nearest[i])
        if not best[i] <= 1.0:
            break
        centres[i] = (centres[i] * weight[i] + centres[j] * weight[j]) / (weight[i] + weight[j])
        norms[i] = float(centres[i] @ centres[i])
        weight[i] += weight[j]
        active[j] = False
        labels[labels == j] = i
        table[j, :] = table[:, j] = np.inf
        best[j] = np.inf
        table[i, :] = table[:, i] = ratios(i)
        # Rows whose nearest group was one of the two, and row i, look again; the
        # others only need to know whether the new group i is nearer.
        stale = np.flatnonzero(active & ((nearest == i) | (nearest == j)))
        for k in (*stale.tolist(), i):
            nearest[k] = int(np.argmin(table[k]))
            best[k] = table[k, nearest[k]]
        closer = active & (table[:, i] < best)
        nearest[closer] = i
        best[closer] = table[closer, i]
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def cluster_windows(
    embeddings: _Matrix,
    *,
    speaker_count: SpeakerCount | None,
    starts: _Seconds,
    regions: npt.NDArray[np.int64],
    speech: _Seconds,
    step_seconds: float,
    settings: ClusteringSettings | None = None,
) -> _Labels:
    """One speaker number per window (0..k-1, in order of first appearance).

    Args:
        embeddings: Speaker vectors, one row per window, in time order.
        speaker_count: An exact count (minimum == maximum) or a range; None estimates
            the count.
        starts: When each window starts (seconds, non-decreasing).
        regions: The speech region of each window (non-decreasing); windows of one
            region are `step_seconds` apart.
        speech: Seconds of speech each window holds (its length, or its region's
            when the region is shorter).
        step_seconds: The spacing of windows inside a region.
        settings: The tuning; the defaults when None.
    """
    s = settings or ClusteringSettings()
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    raw = normalized(np.asarray(embeddings, dtype=np.float32))
    z = centered(raw)
    longest = max(1, math.floor(s.max_piece_seconds / step_seconds))
    # The penalty is per second of windows, so the cutting does not depend on the step.
    pieces = speaker_pieces(z, regions, penalty=s.change_penalty / step_seconds,
                            longest=longest)
    low, high = (1, n) if speaker_count is None else (
        max(1, speaker_count.minimum), max(1, speaker_count.maximum))
    sample = _even_sample(n, s.max_windows)
    if low == high:
        count = low
    else:
        mean = normalized(raw.mean(axis=0, keepdims=True))[0]
        coherence = float(np.mean(raw @ mean))
        if low <= 1 and coherence >= s.single_speaker_coherence:
            count = 1
        else:
            count = estimate_count(z, pieces, _piece_seconds(starts, speech, pieces), s)
        count = min(max(count, low), high)
    count = min(count, len(sample))
    if count <= 1:
        return np.zeros(n, dtype=np.int64)
    smooth = smooth_within_pieces(z, starts, pieces, s.smoothing_seconds)
    # Imported here: scikit-learn (and SciPy under it) takes a second to import, which
    # processes that never diarize should not pay.
    from sklearn.cluster import AgglomerativeClustering

    labels = np.asarray(AgglomerativeClustering(n_clusters=count, linkage="ward")
                        .fit_predict(smooth[sample]), dtype=np.int64)
    centroids = _centroids(smooth[sample], labels, count)
    # Everyone, sampled or not, goes to the nearest centroid; twice, so the centroids
    # also reflect the windows the sample left out.
    for _ in range(2):
        assigned = np.asarray(np.argmax(smooth @ centroids.T, axis=1), dtype=np.int64)
        centroids = _centroids(smooth, assigned, count)
    return _compact(assigned)


def _piece_seconds(starts: _Seconds, speech: _Seconds, pieces: _Labels) -> _Seconds:
    """Seconds of speech each piece covers: from its first window's start to its last
    window's end, or less when its windows hold less (a region shorter than a window)."""
    count = int(pieces.max()) + 1
    runs = np.r_[0, np.flatnonzero(np.diff(pieces)) + 1]
    first = starts[runs]
    last_end = np.maximum.reduceat(starts + speech, runs)
    held = np.bincount(pieces, weights=speech, minlength=count)
    result: _Seconds = np.minimum(last_end - first, held)
    return result
