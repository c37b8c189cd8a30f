"""Grouping speech windows by voice: which windows were spoken by the same person.

Resemblyzer vectors all lie in one narrow cone (they are non-negative), so what the
voices of one meeting have in common dominates raw cosine similarity. Subtracting the
meeting's mean vector (`centered`) leaves what tells its voices apart, and the groups
are formed there, in five steps:

1. **Pieces.** Each speech region (speech between pauses) is cut where the voice
   changes (`speaker_pieces`: the partition into runs of windows that minimises the
   spread of each run around its mean plus `change_penalty` per cut, found exactly by
   dynamic programming). A piece is taken to be one voice.
2. **Grouping.** Pieces are merged into speakers (`group_pieces`): two groups of
   pieces are one voice while their mean vectors are closer than the noise of those
   means explains, that is while
   `|m_a - m_b|² <= threshold² + noise_scale * noise * (1 / T_a + 1 / T_b)`, where
   `T` is the seconds of speech behind a mean and `noise` the spread of single
   windows around the mean of their piece, measured on the meeting itself. Short
   groups therefore need a clearer difference than long ones.
3. **Count.** A hint bounds the merging (it goes on, or stops, to stay in the range).
   Otherwise, a group under `small_cluster_share` of the speech (at most
   `small_cluster_seconds`) joins its nearest group unless it lies
   `small_cluster_margin` times its allowance away, and one under
   `min_cluster_share` (at most `min_cluster_seconds`) always joins: a short group
   is more often an unusual stretch of a voice already heard (its words pull the
   vectors) than a new person, but in a long meeting a few minutes of speech is a
   person however small its share.
   Centring cannot tell one voice from several, so a meeting whose raw vectors all
   stay close to their mean (`single_speaker_coherence`) is one speaker.
4. **Assignment.** Every window is averaged with the windows of its piece within
   `smoothing_seconds` (which removes most of what the words said add to a vector
   while keeping the changes of speaker the pieces found) and moves to the nearest
   speaker centroid, twice, so the centroids settle.
5. **Splitting.** With the count estimated, each speaker is clustered once more on
   its own, into two, and split where the halves are plainly different voices
   (`split_similarity`): voices far from the meeting's mean, such as a telephone
   line among room microphones, look alike in the meeting's centred space.

Meetings longer than `chunk_seconds` are clustered a chunk at a time, each chunk as
a meeting of its own (the steps above were tuned on meetings of minutes), and the
chunks' speakers are then linked in the whole meeting's centred space, closest pair
first, never two speakers of one chunk (`_cluster_by_chunks`), as pyannote and NeMo
link the clusters of long audio. Over hours the same voice drifts with what it says
further than two voices of one short meeting stand apart, so one merge rule for the
whole meeting would split it; a chunk sees too little for that drift to matter.

Memory and time therefore stay linear in the length of the meeting: the pairwise
work is that of one chunk, plus one table of the chunks' speakers; the rest is
O(windows), computed in blocks where a temporary would otherwise be as large as the
vectors, and O(windows x longest piece) for the cutting.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from meeting_agent.domain.models import SpeakerCount

__all__ = [
    "CentredVectors",
    "ClusteringSettings",
    "centered",
    "cluster_vectors",
    "cluster_windows",
    "group_pieces",
    "group_sums",
    "normalized",
    "smooth_within_pieces",
    "speaker_pieces",
]

_Labels = npt.NDArray[np.int64]
# Rows of window vectors worked on at once where a whole-meeting temporary would grow
# with the meeting's length.
_BLOCK_ROWS = 4096
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
    # its allowance away from the nearest group, or it joins that group. Neither share
    # asks for more than its seconds: a long meeting's minor speakers are people.
    min_cluster_share: float = 0.1
    min_cluster_seconds: float = 8.0
    small_cluster_share: float = 0.15
    small_cluster_seconds: float = 15.0
    small_cluster_margin: float = 1.5
    # Mean raw cosine similarity to the mean vector above which a meeting is taken to
    # have one voice (when the hint allows one).
    single_speaker_coherence: float = 0.88
    # Raw cosine similarity of a speaker's two halves below which they are two people.
    split_similarity: float = 0.93
    # Longer meetings are clustered this many seconds at a time, and the chunks'
    # speakers linked while their mean centred vectors are closer than
    # `link_distance` (never two of one chunk: a chunk told them apart).
    chunk_seconds: float = 600.0
    link_distance: float = 0.45

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 2:
            raise ValueError("threshold is a distance between centred vectors, in (0, 2]")
        if self.noise_scale < 0 or self.change_penalty < 0 or self.smoothing_seconds < 0:
            raise ValueError("noise_scale, change_penalty and smoothing_seconds are >= 0")
        if self.chunk_seconds < 30:
            raise ValueError("chunk_seconds must be at least 30")


def normalized(rows: _Matrix) -> _Matrix:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: _Matrix = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


@dataclass(frozen=True)
class CentredVectors:
    """Window vectors in the space the voices are told apart in, and the way back.

    `z[i]` is unit row i minus the mean unit row, made unit again; with its length
    before that (`lengths[i]`) and the mean, the unit row is `z[i] * lengths[i] + mean`,
    so one matrix the size of the vectors is all a meeting keeps, however long.
    """

    z: _Matrix
    lengths: npt.NDArray[np.float32]
    mean: npt.NDArray[np.float32]

    @classmethod
    def of(cls, embeddings: _Matrix, *, in_place: bool = False) -> CentredVectors:
        """The centred vectors of `embeddings`, written over them when `in_place`
        (a float32 matrix the caller no longer needs)."""
        rows = np.asarray(embeddings, dtype=np.float32)
        total = np.zeros(rows.shape[1], dtype=np.float64)
        for begin in range(0, len(rows), _BLOCK_ROWS):
            total += normalized(rows[begin : begin + _BLOCK_ROWS]).sum(axis=0, dtype=np.float64)
        mean = (total / max(len(rows), 1)).astype(np.float32)
        # Each block is read before it is written, so the result may take its place.
        z = rows if in_place and rows is embeddings else np.empty(rows.shape, dtype=np.float32)
        lengths = np.empty(len(rows), dtype=np.float32)
        for begin in range(0, len(rows), _BLOCK_ROWS):
            x = normalized(rows[begin : begin + _BLOCK_ROWS]) - mean
            length = np.linalg.norm(x, axis=1)
            z[begin : begin + len(x)] = x / np.maximum(length, 1e-12)[:, None]
            lengths[begin : begin + len(x)] = length
        return cls(z, lengths, mean)

    def unit(self, rows: npt.NDArray[np.int64]) -> _Matrix:
        """The unit (uncentred) vectors of `rows`."""
        result: _Matrix = self.z[rows] * self.lengths[rows, None] + self.mean
        return result

    @property
    def coherence(self) -> float:
        """Mean cosine similarity of the unit rows to their mean direction.

        The centred rows sum to zero, so that mean is the length of the mean row.
        """
        return float(np.linalg.norm(self.mean))


def centered(rows: _Matrix) -> _Matrix:
    """Unit rows minus their mean, made unit again: the space the voices are told apart in."""
    return CentredVectors.of(rows).z


def group_sums(x: npt.NDArray[np.floating], labels: _Labels, count: int) -> npt.NDArray[np.float64]:
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


def speaker_pieces(
    z: _Matrix, regions: npt.NDArray[np.int64], *, penalty: float, longest: int
) -> _Labels:
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
        for end in _cut(z[begin : int(stop)], penalty, max(1, longest)):
            pieces[begin : int(first) + end] = number
            number += 1
            begin = int(first) + end
    return pieces


def smooth_within_pieces(z: _Matrix, starts: _Seconds, pieces: _Labels, radius: float) -> _Matrix:
    """Each window averaged with the windows of its piece that start within `radius` s."""
    result = np.empty_like(z)
    for begin, stop, block in _smoothed_blocks(z, starts, pieces, radius):
        result[begin:stop] = block
    return result


def _smoothed_blocks(
    z: _Matrix, starts: _Seconds, pieces: _Labels, radius: float
) -> Iterator[tuple[int, int, _Matrix]]:
    """`smooth_within_pieces` a few thousand windows at a time, cut between pieces (no
    average crosses one), so that hours of windows need no second matrix of vectors."""
    piece_starts = np.r_[0, np.flatnonzero(np.diff(pieces)) + 1, len(z)]
    cuts = np.unique(
        np.r_[
            piece_starts[np.searchsorted(piece_starts, np.arange(0, len(z), _BLOCK_ROWS))], len(z)
        ]
    )
    for begin, stop in itertools.pairwise(cuts.tolist()):
        rows = z[begin:stop]
        if radius <= 0:
            yield begin, stop, rows
            continue
        at, of = starts[begin:stop], pieces[begin:stop]
        sums = np.zeros((len(rows) + 1, z.shape[1]), dtype=np.float64)
        np.cumsum(rows, axis=0, dtype=np.float64, out=sums[1:])
        # Pieces are runs of consecutive windows; clip each window's span to its run.
        run_first = np.searchsorted(of, of, side="left")
        run_stop = np.searchsorted(of, of, side="right")
        lo = np.maximum(np.searchsorted(at, at - radius - 1e-9, side="left"), run_first)
        hi = np.minimum(np.searchsorted(at, at + radius + 1e-9, side="right"), run_stop)
        yield begin, stop, normalized((sums[hi] - sums[lo]).astype(np.float32))


def _piece_means(z: _Matrix, pieces: _Labels) -> tuple[npt.NDArray[np.float64], float]:
    """The mean vector of each piece, and the spread of single windows around them.

    The spread (mean squared distance of a window to its piece's mean, over pieces of
    three windows or more) is the noise a mean of T seconds carries, scaled by 1 / T.
    """
    count = int(pieces.max()) + 1
    sizes = np.bincount(pieces, minlength=count)
    # Pieces are runs of windows, so their sums are sums over slices.
    runs = np.r_[0, np.flatnonzero(np.diff(pieces)) + 1]
    means = np.add.reduceat(z, runs, axis=0, dtype=np.float64) / sizes[:, None]
    spread = np.empty(len(z))
    for begin in range(0, len(z), _BLOCK_ROWS):
        gap = z[begin : begin + _BLOCK_ROWS] - means[pieces[begin : begin + _BLOCK_ROWS]]
        spread[begin : begin + _BLOCK_ROWS] = np.einsum("ij,ij->i", gap, gap)
    settled = sizes[pieces] >= 3
    return means, float(spread[settled].mean() if settled.any() else spread.mean())


@dataclass
class _Groups:
    """Groups of pieces: what each piece belongs to, and each group's mean and seconds."""

    of_piece: _Labels
    means: npt.NDArray[np.float64]
    seconds: _Seconds

    def regroup(self, labels: _Labels) -> _Groups:
        """Groups of these groups (`labels[g]` is the new group of group g)."""
        count = int(labels.max()) + 1
        held = np.bincount(labels, weights=self.seconds, minlength=count).astype(np.float64)
        sums = group_sums(self.means * self.seconds[:, None], labels, count)
        return _Groups(labels[self.of_piece], sums / held[:, None], held)


def group_pieces(
    means: npt.NDArray[np.float64],
    seconds: _Seconds,
    noise: float,
    *,
    low: int,
    high: int,
    settings: ClusteringSettings,
) -> _Labels:
    """A speaker number per piece: pieces merged while they are one voice.

    The hint (`low`..`high`) forces or refuses merges to stay in its range; an
    estimated count then follows the share rules of `_absorb_small`.

    Args:
        means: Mean centred vector of each piece.
        seconds: Seconds of speech behind each piece.
        noise: Spread of single windows around their piece's mean.
        low: Fewest speakers allowed (1 when estimated).
        high: Most speakers allowed.
        settings: `threshold`, `noise_scale` and the cluster shares.
    """
    floor, scale = settings.threshold**2, settings.noise_scale * noise
    groups = _Groups(np.arange(len(means), dtype=np.int64), means, np.maximum(seconds, 1e-3))
    groups = groups.regroup(
        _merge(groups.means, groups.seconds, floor, scale, fewest=low, most=high)
    )
    if low < high:
        groups = groups.regroup(_absorb_small(groups, floor, scale, low, settings))
    return _compact(groups.of_piece)


def _absorb_small(
    groups: _Groups, floor: float, scale: float, low: int, settings: ClusteringSettings
) -> _Labels:
    """What is left of each group once groups too small to be people have joined others.

    A group with little speech is more often an unusual stretch of a voice already
    heard (its words pull the vectors) than a new person: under `small_cluster_share`
    of the speech it has to lie `small_cluster_margin` times its allowance away from
    its nearest group to stay, and under `min_cluster_share` it never stays. The shares
    stop growing at `small_cluster_seconds` and `min_cluster_seconds`: in a long
    meeting someone who speaks for a few minutes is a person, though a small share.
    """
    count = len(groups.seconds)
    held = groups.seconds.copy()
    sums = groups.means * held[:, None]
    total = float(held.sum())
    small = min(settings.small_cluster_share * total, settings.small_cluster_seconds)
    tiny = min(settings.min_cluster_share * total, settings.min_cluster_seconds)
    into = np.arange(count, dtype=np.int64)
    alive = np.ones(count, dtype=bool)
    kept = np.zeros(count, dtype=bool)
    while alive.sum() > max(1, low):
        candidates = np.where(alive & ~kept, held, np.inf)
        weakest = int(np.argmin(candidates))
        if candidates[weakest] >= small:
            break
        centres = sums / held[:, None]
        gap = np.einsum("ij,ij->i", centres - centres[weakest], centres - centres[weakest])
        ratio = gap / (floor + scale * (1.0 / held[weakest] + 1.0 / held))
        ratio[~alive] = np.inf
        ratio[weakest] = np.inf
        nearest = int(np.argmin(ratio))
        if held[weakest] >= tiny and ratio[nearest] >= settings.small_cluster_margin:
            kept[weakest] = True
            continue
        sums[nearest] += sums[weakest]
        held[nearest] += held[weakest]
        alive[weakest] = False
        into[into == weakest] = nearest
    return np.unique(into, return_inverse=True)[1].astype(np.int64)


def _merge(
    means: npt.NDArray[np.float64],
    seconds: _Seconds,
    floor: float,
    noise: float,
    *,
    fewest: int = 1,
    most: int | None = None,
) -> _Labels:
    """Merge the pair furthest inside its allowance until no pair is inside it.

    The allowance of two groups is `floor + noise * (1 / T_a + 1 / T_b)`; the pair
    with the smallest gap / allowance merges first. Merging never goes below `fewest`
    groups, and goes on past the allowance while there are more than `most`. Each
    row's smallest ratio is kept, so a merge costs O(groups) rows' work rather than
    a scan of the table.
    """
    count = len(means)
    most = count if most is None else most
    centres = means.astype(np.float64).copy()
    norms = np.einsum("ij,ij->i", centres, centres)
    weight = seconds.astype(np.float64).copy()
    active = np.ones(count, dtype=bool)
    labels = np.arange(count, dtype=np.int64)

    def allowance(
        rows: npt.NDArray[np.float64], columns: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        result: npt.NDArray[np.float64] = np.maximum(
            floor + noise * (1.0 / rows + 1.0 / columns), 1e-12
        )
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
    groups = count
    while groups > max(1, fewest):
        i = int(np.argmin(best))
        j = int(nearest[i])
        if not (best[i] <= 1.0 or groups > most):
            break
        centres[i] = (centres[i] * weight[i] + centres[j] * weight[j]) / (weight[i] + weight[j])
        norms[i] = float(centres[i] @ centres[i])
        weight[i] += weight[j]
        active[j] = False
        groups -= 1
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
    if len(embeddings) == 0:
        return np.zeros(0, dtype=np.int64)
    return cluster_vectors(
        CentredVectors.of(embeddings),
        speaker_count=speaker_count,
        starts=starts,
        regions=regions,
        speech=speech,
        step_seconds=step_seconds,
        settings=settings,
    )


def cluster_vectors(
    vectors: CentredVectors,
    *,
    speaker_count: SpeakerCount | None,
    starts: _Seconds,
    regions: npt.NDArray[np.int64],
    speech: _Seconds,
    step_seconds: float,
    settings: ClusteringSettings | None = None,
) -> _Labels:
    """`cluster_windows` on vectors already centred (which the caller may keep)."""
    s = settings or ClusteringSettings()
    n = len(vectors.z)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    low, high = (
        (1, n)
        if speaker_count is None
        else (max(1, speaker_count.minimum), max(1, speaker_count.maximum))
    )
    if low <= 1 < high and vectors.coherence >= s.single_speaker_coherence:
        return np.zeros(n, dtype=np.int64)
    chunks = _chunks(starts, regions, s.chunk_seconds)
    if len(chunks) > 1:
        return _cluster_by_chunks(
            vectors,
            chunks,
            low=low,
            high=high,
            starts=starts,
            regions=regions,
            speech=speech,
            step_seconds=step_seconds,
            settings=s,
        )
    z = vectors.z
    pieces = _pieces(z, regions, step_seconds, s)
    low, high = min(low, int(pieces.max()) + 1), min(high, int(pieces.max()) + 1)
    if high <= 1:
        return np.zeros(n, dtype=np.int64)
    means, noise = _piece_means(z, pieces)
    speaker_of_piece = group_pieces(
        means, _piece_seconds(starts, speech, pieces), noise, low=low, high=high, settings=s
    )
    count = int(speaker_of_piece.max()) + 1
    if count <= 1:
        return np.zeros(n, dtype=np.int64)
    assigned = _nearest_centroids(
        z, starts, pieces, s.smoothing_seconds, speaker_of_piece[pieces], count
    )
    if low < high:
        assigned = _split_distinct(
            vectors,
            _compact(assigned),
            starts=starts,
            regions=regions,
            speech=speech,
            step_seconds=step_seconds,
            settings=s,
            room=high - count,
        )
    return _compact(assigned)


def _pieces(
    z: _Matrix, regions: npt.NDArray[np.int64], step_seconds: float, settings: ClusteringSettings
) -> _Labels:
    longest = max(1, math.floor(settings.max_piece_seconds / step_seconds))
    # The penalty is per second of windows, so the cutting does not depend on the step.
    return speaker_pieces(
        z, regions, penalty=settings.change_penalty / step_seconds, longest=longest
    )


def _chunks(
    starts: _Seconds, regions: npt.NDArray[np.int64], seconds: float
) -> list[tuple[int, int]]:
    """Runs of windows about `seconds` long, cut between speech regions; a last run
    shorter than half of that joins the one before.

    Not shorter runs of equal length: on `bench/diarization.py` a chunk of less than
    about ten minutes holds too little of each voice to be clustered as reliably.
    """
    cuts = [0]
    for i in (np.flatnonzero(np.diff(regions)) + 1).tolist():
        if starts[i] - starts[cuts[-1]] >= seconds:
            cuts.append(i)
    if len(cuts) > 1 and starts[-1] - starts[cuts[-1]] < seconds / 2:
        cuts.pop()
    return list(itertools.pairwise([*cuts, len(starts)]))


def _cluster_by_chunks(
    vectors: CentredVectors,
    chunks: list[tuple[int, int]],
    *,
    low: int,
    high: int,
    starts: _Seconds,
    regions: npt.NDArray[np.int64],
    speech: _Seconds,
    step_seconds: float,
    settings: ClusteringSettings,
) -> _Labels:
    """Each chunk clustered as a meeting of its own, then its speakers linked across.

    A chunk is centred on its own mean, as a short meeting is, which is where the
    count and the grouping were tuned. Its speakers are then compared in the whole
    meeting's centred space, where a voice keeps one place: `_link_across_chunks`
    joins the closest speakers of different chunks, and a last merge by the usual
    allowance (`_merge`, which also brings the count into the hint's range) joins
    what a chunk had split in two.
    """
    hint = SpeakerCount(1, high) if high < len(starts) else None
    # A chunk's vectors all close to their mean are as likely two voices alike as one
    # (the meeting as a whole was not one voice): a chunk is split by the pieces, and
    # what it split of one voice is joined again below.
    settings_of_chunk = replace(settings, single_speaker_coherence=math.inf)
    labels = np.empty(len(starts), dtype=np.int64)
    chunk_of: list[int] = []
    sums = []
    for number, (begin, stop) in enumerate(chunks):
        found = cluster_windows(
            vectors.unit(np.arange(begin, stop)),
            speaker_count=hint,
            starts=starts[begin:stop],
            regions=regions[begin:stop],
            speech=speech[begin:stop],
            step_seconds=step_seconds,
            settings=settings_of_chunk,
        )
        count = int(found.max()) + 1
        labels[begin:stop] = found + len(chunk_of)
        chunk_of += [number] * count
        sums.append(group_sums(vectors.z[begin:stop], found, count))
    totals = np.vstack(sums)
    windows = np.bincount(labels, minlength=len(chunk_of)).astype(np.float64)
    linked = _link_across_chunks(totals, windows, np.asarray(chunk_of), settings.link_distance**2)
    count = int(linked.max()) + 1
    held = np.bincount(linked, weights=windows, minlength=count).astype(np.float64)
    means = group_sums(totals, linked, count) / held[:, None]
    _, noise = _piece_means(vectors.z, _pieces(vectors.z, regions, step_seconds, settings))
    final = _merge(
        means,
        held * step_seconds,
        settings.threshold**2,
        settings.noise_scale * noise,
        fewest=low,
        most=high,
    )
    return _compact(final[linked][labels])


def _link_across_chunks(
    sums: npt.NDArray[np.float64], windows: npt.NDArray[np.float64], chunk_of: _Labels, limit: float
) -> _Labels:
    """Speakers of all chunks joined, closest pair first, while the squared distance of
    their means is under `limit`; two speakers of one chunk never join, nor do groups
    holding speakers of one chunk."""
    count = len(windows)
    sums, windows = sums.copy(), windows.copy()
    conflict = chunk_of[:, None] == chunk_of[None, :]
    labels = np.arange(count, dtype=np.int64)

    def distances(i: int) -> npt.NDArray[np.float64]:
        means = sums / windows[:, None]
        gap = means - means[i]
        result: npt.NDArray[np.float64] = np.einsum("ij,ij->i", gap, gap)
        result[conflict[i]] = np.inf
        return result

    means = sums / windows[:, None]
    norms = np.einsum("ij,ij->i", means, means)
    table = np.maximum(norms[:, None] + norms[None, :] - 2.0 * (means @ means.T), 0.0)
    table[conflict] = np.inf
    while True:
        i, j = (int(k) for k in np.unravel_index(int(np.argmin(table)), table.shape))
        if not table[i, j] < limit:
            break
        sums[i] += sums[j]
        windows[i] += windows[j]
        conflict[i] |= conflict[j]
        conflict[:, i] = conflict[i]
        labels[labels == j] = i
        table[j, :] = table[:, j] = np.inf
        conflict[j, :] = conflict[:, j] = True
        table[i, :] = table[:, i] = distances(i)
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _nearest_centroids(
    z: _Matrix, starts: _Seconds, pieces: _Labels, radius: float, labels: _Labels, count: int
) -> _Labels:
    """Every smoothed window moved to the nearest speaker centroid, twice.

    Twice, so that a window its piece's average misplaced (a piece straddling a
    change of voice) finds its voice and the centroids settle. The smoothed windows
    are worked out again on each pass rather than kept.
    """
    sums = np.zeros((count, z.shape[1]), dtype=np.float64)
    for begin, stop, block in _smoothed_blocks(z, starts, pieces, radius):
        sums += group_sums(block, labels[begin:stop], count)
    assigned = labels
    for _ in range(2):
        centroids = normalized(sums.astype(np.float32))
        assigned = np.empty(len(z), dtype=np.int64)
        sums = np.zeros((count, z.shape[1]), dtype=np.float64)
        for begin, stop, block in _smoothed_blocks(z, starts, pieces, radius):
            nearest = np.argmax(block @ centroids.T, axis=1)
            assigned[begin:stop] = nearest
            sums += group_sums(block, nearest, count)
    return assigned


def _split_distinct(
    vectors: CentredVectors,
    labels: _Labels,
    *,
    starts: _Seconds,
    regions: npt.NDArray[np.int64],
    speech: _Seconds,
    step_seconds: float,
    settings: ClusteringSettings,
    room: int,
) -> _Labels:
    """Speakers split in two where their two halves are plainly different voices.

    Voices far from the meeting's mean (another microphone, a telephone line) look
    alike once centred on it: the centring that spreads the meeting's voices apart
    also shrinks what separates those. Each speaker is therefore clustered once more
    on its own, centred on its own mean, into two halves, and the halves stay apart
    when their raw mean vectors are less similar than `split_similarity`. Halves of
    one voice split by what was said stay more alike the more speech each holds, so
    both must hold twice `min_cluster_seconds` (see `bench/diarization.py`).
    """
    result = labels.copy()
    next_label = int(labels.max()) + 1
    exact = SpeakerCount(2, 2)
    enough = 2 * settings.min_cluster_seconds
    for speaker in range(int(labels.max()) + 1):
        if room <= 0:
            break
        members = np.flatnonzero(labels == speaker)
        if len(members) * step_seconds < 2 * enough:
            continue
        unit = vectors.unit(members)
        halves = cluster_windows(
            unit,
            speaker_count=exact,
            starts=starts[members],
            regions=regions[members],
            speech=speech[members],
            step_seconds=step_seconds,
            settings=settings,
        )
        if np.bincount(halves, minlength=2).min() * step_seconds < enough:
            continue
        first, second = _centroids(unit, halves, 2)
        if float(first @ second) >= settings.split_similarity:
            continue
        result[members[halves == 1]] = next_label
        next_label += 1
        room -= 1
    return result


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
