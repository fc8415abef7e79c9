"""TREC text read in one pass over the file's bytes: lines split into fields, ids copied out as
Arrow string buffers, numbers parsed where the parse is exact.

trec_eval's dialect: fields are separated by any whitespace but a line break; blank lines and
lines whose first field starts with ``#`` are skipped; a run line's fields after the sixth are
ignored. A number is parsed here only when the result is exact: an integer of up to 18
significant digits; a decimal of up to 18 significant digits without exponent and with at most
27 places, correctly rounded (one division of two exact doubles when its digits fit in 2^53 and
it has at most 22 places, Clinger's fast path; else the Eisel-Lemire algorithm). Any other is
left to the caller, flagged with where its text lies. Ids with a byte above 127 are left to the
caller too (their UTF-8 checked).
"""

from __future__ import annotations

import numpy as np

from .hashing import FNV_OFFSET, FNV_PRIME
from .jit import jit, jit_inline
from .segments import same_bytes

NEWLINE = 10
COMMENT = 35  # '#'
MINUS = 45
POINT = 46
_POWERS = np.array([10.0**p for p in range(23)])  # each exact in float64
_EXACT_DIGITS = 2**53
_MOST_PLACES = 27  # Eisel-Lemire's table below: 5^-q for 0 <= -q <= 27, where its product is exact enough


def _powers_of_five(most_places: int) -> tuple[np.ndarray, np.ndarray]:
    """5^q for q = -most_places..0 as 128-bit numbers with bit 127 set (high and low uint64
    halves): 2^b / 5^-q rounded up for q < 0, 2^127 for q = 0 (Lemire, "Number Parsing at a
    Gigabyte per Second", 2021, section 5)."""
    high, low = [], []
    for q in range(-most_places, 1):
        power = 5**-q
        value = (1 << (power.bit_length() + 127)) // power + 1 if q else 1 << 127
        high.append(value >> 64)
        low.append(value & (2**64 - 1))
    return np.array(high, np.uint64), np.array(low, np.uint64)


_FIVE_HIGH, _FIVE_LOW = _powers_of_five(_MOST_PLACES)
_LEAST_TWO = -160  # 2^(power2 - 52) of Eisel-Lemire's results: at least 10^-27 / 2^52, at most 2^64
_TWO_POWERS = np.array([2.0**e for e in range(_LEAST_TWO, 65)])  # each exact, normal
_U1, _U9, _U32, _U52, _U63 = (np.uint64(n) for n in (1, 9, 32, 52, 63))
_LOW32 = np.uint64(2**32 - 1)
_LOW9 = np.uint64(2**9 - 1)  # the product's bits below a double's mantissa, rounding bit and one more

TEXT_OK, TEXT_BAD_LINE, TEXT_NOT_ASCII, TEXT_BAD_NUMBER = range(4)
"""Statuses of a chunk read by :func:`trec_fields`: every line read; a line with the wrong number
of fields; an id with a byte above 127; (set by the caller) a number that its exact parser
refused."""


@jit_inline
def _space(byte):
    """A field separator: whitespace other than a line break (most bytes fail the first test)."""
    return byte <= 32 and (byte == 32 or (9 <= byte <= 13 and byte != NEWLINE))


@jit_inline
def _field_end(byte):
    """Whitespace or a line break: where a field ends."""
    return byte <= 32 and (byte == 32 or 9 <= byte <= 13)


@jit_inline
def _skip_field(data, i, hi):
    while i < hi and not _field_end(data[i]):
        i += 1
    return i


@jit_inline
def _digits(data, i, hi, value, significant):
    """The decimal digits from ``data[i]`` appended to ``value``, which has ``significant`` digits
    (from its first nonzero one): (value, digits read, significant digits now, where they stop).
    Past 18 significant digits the value may have overflowed."""
    digits = 0
    while i < hi and 48 <= data[i] <= 57:
        value = value * 10 + (data[i] - 48)
        digits += 1
        significant += value != 0
        i += 1
    return value, digits, significant, i


@jit_inline
def _multiply(a, b):
    """The 128-bit product of uint64 ``a`` and ``b``: (high, low) uint64 halves."""
    a_low, a_high, b_low, b_high = a & _LOW32, a >> _U32, b & _LOW32, b >> _U32
    low_low, low_high, high_low = a_low * b_low, a_low * b_high, a_high * b_low
    middle = (low_low >> _U32) + (low_high & _LOW32) + (high_low & _LOW32)
    high = a_high * b_high + (low_high >> _U32) + (high_low >> _U32) + (middle >> _U32)
    return high, (low_low & _LOW32) | (middle << _U32)


@jit_inline
def _eisel_lemire(w, q):
    """``w * 10**q`` correctly rounded to the nearest double, ties to even, for ``0 < w < 2**63``
    and ``-27 <= q <= 0`` (Lemire 2021, Algorithm 1, with round-to-even for exact halfway cases,
    which occur only for q >= -4; the 128-bit product is always exact enough for w < 2**64,
    Mushtak & Lemire 2023)."""
    w = np.uint64(w)
    shifted = 0
    while w < np.uint64(1) << _U63 and shifted < 64:  # the leading bit at bit 63 (bounded: w = 0 never loops)
        w <<= _U1
        shifted += 1
    at = q + _MOST_PLACES
    high, low = _multiply(w, _FIVE_HIGH[at])
    if high & _LOW9 == _LOW9:  # the truncated low half of 5^q could carry into the kept bits
        carry, _ = _multiply(w, _FIVE_LOW[at])
        low += carry
        if carry > low:
            high += _U1
    upper = high >> _U63
    shift = upper + _U9
    mantissa = high >> shift
    power2 = (((152170 + 65536) * q) >> 16) + 63 + int(upper) - shifted  # floor(q log2 10) + 63
    if low <= _U1 and q >= -4 and mantissa & np.uint64(3) == _U1 and (mantissa << shift) == high:
        mantissa &= ~_U1  # exactly halfway: round to even
    mantissa = (mantissa + (mantissa & _U1)) >> _U1
    if mantissa >= np.uint64(2) << _U52:  # rounded up to the next power of two
        mantissa >>= _U1
        power2 += 1
    return float(mantissa) * _TWO_POWERS[power2 - 52 - _LEAST_TWO]


@jit_inline
def _scan_integer(data, i, hi):
    """The field at ``data[i]`` read as an integer: (value, exact, its end). Exact only for
    ``-?digits`` of up to 18 digits; the field is read to its end either way."""
    negative = data[i] == MINUS
    if negative:
        i += 1
    value, digits, significant, i = _digits(data, i, hi, 0, 0)
    exact = digits > 0 and significant <= 18 and (i == hi or _field_end(data[i]))
    return (-value if negative else value), exact, _skip_field(data, i, hi)


@jit_inline
def _scan_decimal(data, i, hi):
    """The field at ``data[i]`` read as a number: (value, exact, its end). Exact where the parse
    is (``-?digits[.digits]``, up to 18 significant digits, at most 27 places: see the module's
    docstring); the field is read to its end either way."""
    negative = data[i] == MINUS
    if negative:
        i += 1
    mantissa, whole, significant, i = _digits(data, i, hi, 0, 0)
    places = 0
    if i < hi and data[i] == POINT:
        mantissa, places, significant, i = _digits(data, i + 1, hi, mantissa, significant)
    exact = whole > 0 and significant <= 18 and places <= _MOST_PLACES and (i == hi or _field_end(data[i]))
    value = 0.0
    if exact:  # the digit count first: no overflowed mantissa to mislead the tests below
        if mantissa <= _EXACT_DIGITS and places <= 22:
            value = mantissa / _POWERS[places]
        elif mantissa == 0:  # zeros past 22 places (Eisel-Lemire needs a nonzero mantissa)
            value = 0.0
        else:
            value = _eisel_lemire(mantissa, -places)
    return (-value if negative else value), exact, _skip_field(data, i, hi)


@jit
def trec_fields(data, lo, hi, run, ids, integers, reals, slow, keys):
    """Read the lines of ``data[lo:hi]`` (whole lines): a run's ``qid Q0 docno rank score tag
    [...]`` when ``run``, else qrels' ``qid iter docno rel``.

    ``ids`` = (qid offsets, qid bytes, docno offsets, docno bytes): Arrow string buffers, offsets
    int32 with room for one more than the lines, bytes with room for the text. ``integers``: the
    rank (runs); ``reals``: the score (runs) or the relevance. ``slow`` = (rows, field, start,
    stop): a number not parsed here, its row, its field (3 or 4) and its text's place in ``data``.
    ``keys`` = (changes, hashes), taken while the ids are copied so that the join need not pass
    over them again: the rows (after the first) whose qid differs from the row before's, and each
    docno's FNV-1a 64 hash (as :func:`fastrank.kernels.fnv1a64` hashes it).
    Returns (status, rows read, numbers left to the caller, qid changes).
    """
    qid_offsets, qid_bytes, doc_offsets, doc_bytes = ids
    slow_rows, slow_fields, slow_starts, slow_stops = slow
    changes, hashes = keys
    n_changes = 0
    wanted = 6 if run else 4
    number = 4 if run else 3  # the score, or the relevance
    qid_offsets[0] = 0
    doc_offsets[0] = 0
    q = 0
    d = 0
    row = 0
    n_slow = 0
    i = lo
    while i < hi:
        while i < hi and _space(data[i]):
            i += 1
        if i < hi and data[i] == COMMENT:
            while i < hi and data[i] != NEWLINE:
                i += 1
        if i >= hi or data[i] == NEWLINE:
            i += 1
            continue
        field = 0
        while i < hi and data[i] != NEWLINE:
            start = i
            if field == 0:
                while i < hi and not _field_end(data[i]):
                    qid_bytes[q] = data[i]
                    q += 1
                    i += 1
            elif field == 2:
                h = FNV_OFFSET
                while i < hi and not _field_end(data[i]):
                    doc_bytes[d] = data[i]
                    h = (h ^ np.uint64(data[i])) * FNV_PRIME
                    d += 1
                    i += 1
                hashes[row] = h
            else:
                exact = True
                if field == 3 and run:
                    integers[row], exact, i = _scan_integer(data, i, hi)
                elif field == number:
                    reals[row], exact, i = _scan_decimal(data, i, hi)
                else:
                    i = _skip_field(data, i, hi)
                if not exact:  # left to the caller's exact parser
                    slow_rows[n_slow], slow_fields[n_slow] = row, field
                    slow_starts[n_slow], slow_stops[n_slow] = start, i
                    n_slow += 1
            field += 1
            while i < hi and _space(data[i]):
                i += 1
        if field < wanted or (field > wanted and not run):
            return TEXT_BAD_LINE, row, n_slow, n_changes
        if row > 0 and not same_bytes(
            qid_bytes, qid_offsets[row - 1], qid_offsets[row], qid_bytes, qid_offsets[row], q
        ):
            changes[n_changes] = row
            n_changes += 1
        row += 1
        qid_offsets[row] = q
        doc_offsets[row] = d
        i += 1
    return (
        (TEXT_NOT_ASCII if _above_ascii(qid_bytes, q) or _above_ascii(doc_bytes, d) else TEXT_OK),
        row,
        n_slow,
        n_changes,
    )


@jit_inline
def _above_ascii(data, n):
    """Whether a byte of ``data[:n]`` is above 127 (one pass after the copy, vectorised, rather
    than a test per byte during it)."""
    high = 0
    for j in range(n):
        high |= data[j]
    return high > 127


@jit
def gather_text(data, starts, stops, offsets, out):
    """Copy the texts ``data[starts[i]:stops[i]]`` one after another into ``out``, with their
    Arrow offsets (int32, one more than texts)."""
    offsets[0] = 0
    p = 0
    for i in range(starts.shape[0]):
        n = stops[i] - starts[i]
        out[p : p + n] = data[starts[i] : stops[i]]
        p += n
        offsets[i + 1] = p
