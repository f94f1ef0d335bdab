"""Repeated respondent ids across blocks without a Python set of ids: 128-bit
fingerprints of the trimmed ids (murmur3's finaliser over the id's bytes) kept with the
first row of each, in sorted numpy runs (`IdIndex`)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _by_fingerprint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The stable order by (a, b): by `a` alone unless two fingerprints share an `a`
    but not a `b` (a 64-bit collision), which sorting by `b` as well then settles."""
    order = np.argsort(a, kind="stable")
    sa, sb = a[order], b[order]
    tie = sa[1:] == sa[:-1]
    if tie.any() and (sb[1:][tie] != sb[:-1][tie]).any():
        return np.lexsort((b, a))
    return order


_M1 = np.uint64(0x87C37B91114253D5)
_M2 = np.uint64(0x4CF5AD432745937F)
_F1 = np.uint64(0xFF51AFD7ED558CCD)
_F2 = np.uint64(0xC4CEB9FE1A85EC53)
_SEEDS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03))


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _F1
    h = h ^ (h >> np.uint64(33))
    h = h * _F2
    return h ^ (h >> np.uint64(33))


def fingerprints(arr: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 64-bit MurmurHash3-style hashes (different seeds) of each string of `arr`,
    computed 8 bytes at a time over pyarrow's buffers (a 128-bit fingerprint), and
    each string's length in bytes."""
    import pyarrow as pa

    arr = arr.cast(pa.large_string())
    n = len(arr)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    lengths = np.diff(offsets)
    hashes = [np.full(n, seed, dtype=np.uint64) ^ lengths.astype(np.uint64) for seed in _SEEDS]
    if data is not None and n and int(lengths.max()) <= PADDED_ID_BYTES:
        words = _padded_words(data, offsets, lengths)
        for j in range(words.shape[1]):  # word j counts for strings longer than 8*j
            k = _rotl(words[:, j] * _M1, 31) * _M2
            longer = lengths > 8 * j
            for h in hashes:
                mixed = _rotl(h ^ k, 27) * np.uint64(5) + np.uint64(0x52DCE729)
                np.copyto(h, mixed, where=longer)
    elif data is not None:
        _hash_words(hashes, data, offsets, lengths)
    return _fmix(hashes[0]), _fmix(hashes[1]), lengths


PADDED_ID_BYTES = 64  # ids up to this long are hashed from one zero-padded matrix


def _padded_words(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The strings as rows of little-endian 8-byte words, zero-padded: (n, words)."""
    n, width = len(lengths), int(lengths.max())
    words = -(-width // 8)
    matrix = np.zeros((n, 8 * words), dtype=np.uint8)
    start = int(offsets[0])
    if int(lengths.min()) == width:  # one length (ids like R0000001): a reshape
        matrix[:, :width] = data[start : start + n * width].reshape(n, width)
    elif width:
        row = np.repeat(np.arange(n), lengths)
        col = np.arange(int(offsets[-1]) - start) - np.repeat(offsets[:-1] - start, lengths)
        matrix[row, col] = data[start : int(offsets[-1])]
    return matrix.view("<u8")


def _hash_words(
    hashes: list[np.ndarray], data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray
) -> None:
    """`fingerprints`' rounds for long strings: 8 bytes of the strings still going at a
    time, gathered from the buffer (no matrix as wide as the longest string)."""
    lanes = np.arange(8)
    active = np.nonzero(lengths > 0)[0]
    pos = 0
    while len(active):
        left = lengths[active, None] - pos
        at = np.minimum(offsets[active, None] + pos + lanes, len(data) - 1)
        word = np.where(lanes < left, data[at], 0).astype(np.uint8)
        k = np.ascontiguousarray(word).view("<u8").ravel()
        k = _rotl(k * _M1, 31) * _M2
        for h in hashes:
            h[active] = _rotl(h[active] ^ k, 27) * np.uint64(5) + np.uint64(0x52DCE729)
        pos += 8
        active = active[lengths[active] > pos]


class IdIndex:
    """Respondent ids seen so far as fingerprints (a 64-bit key and 32 more bits to
    confirm it) with the row of their first use, in sorted numpy runs merged as they
    grow: 16 bytes an id (12 without rows), a lookup is a binary search per run."""

    def __init__(self, keep_rows: bool = True) -> None:
        self.keep_rows = keep_rows
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def lookup(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Per fingerprint, the row it was first seen on (0 when rows aren't kept), or -1."""
        out = np.full(len(h1), -1, dtype=np.int64)
        check = h2.astype(np.uint32)
        for a, b, rows in self.runs:
            at = np.minimum(np.searchsorted(a, h1), len(a) - 1)
            near = a[at] == h1
            exact = near & (b[at] == check)
            out[exact] = rows[at[exact]] if self.keep_rows else 0
            for i in np.nonzero(near & ~exact)[0]:  # a 64-bit collision: look further
                end = np.searchsorted(a, h1[i], side="right")
                match = np.nonzero(b[at[i] : end] == check[i])[0]
                if len(match):
                    out[i] = rows[at[i] + match[0]] if self.keep_rows else 0
        return out

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray) -> None:
        if not len(h1):
            return
        order = np.argsort(h1, kind="stable")
        kept = rows[order].astype(np.uint32) if self.keep_rows else np.zeros(0, np.uint32)
        self.runs.append((h1[order], h2[order].astype(np.uint32), kept))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            last = self.runs.pop()
            self.runs[-1] = self._merged(self.runs[-1], last)

    def _merged(
        self, one: tuple[np.ndarray, ...], two: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two sorted runs as one, by inserting the second's entries (no full sort)."""
        at = np.searchsorted(one[0], two[0], side="right") + np.arange(len(two[0]))
        rest = np.ones(len(one[0]) + len(two[0]), dtype=bool)
        rest[at] = False
        merged = []
        for x, y in zip(one, two, strict=True):
            if not len(x) and not len(y):
                merged.append(x)
                continue
            out = np.empty(len(rest), dtype=x.dtype)
            out[at], out[rest] = y, x
            merged.append(out)
        return merged[0], merged[1], merged[2]
