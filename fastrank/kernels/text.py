"""TREC text read in one pass over the file's bytes: lines split into fields, ids copied out as
Arrow string buffers, numbers parsed where the parse is exact.

trec_eval's dialect: fields are separated by any whitespace but a line break; blank lines and
lines whose first field starts with ``#`` are skipped; a run line's fields after the sixth are
ignored. A number is parsed here only when the result is exact (an integer of up to 18 digits;
a decimal of up to 18 digits without exponent whose digits fit in 2^53 and whose point has at
most 22 places, one correctly rounded division); any other is left to the caller, flagged with
where its text lies. Ids with a byte above 127 are left to the caller too (their UTF-8 checked).
"""

from __future__ import annotations

import numpy as np

from .jit import jit, jit_inline

NEWLINE = 10
COMMENT = 35  # '#'
MINUS = 45
POINT = 46
_POWERS = np.array([10.0**p for p in range(23)])  # each exact in float64
_EXACT_DIGITS = 2**53

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
def _digits(data, i, hi, value):
    """The decimal digits from ``data[i]`` appended to ``value``: (value, digits read, where they
    stop)."""
    digits = 0
    while i < hi and 48 <= data[i] <= 57:
        value = value * 10 + (data[i] - 48)
        digits += 1
        i += 1
    return value, digits, i


@jit_inline
def _scan_integer(data, i, hi):
    """The field at ``data[i]`` read as an integer: (value, exact, its end). Exact only for
    ``-?digits`` of up to 18 digits; the field is read to its end either way."""
    negative = data[i] == MINUS
    if negative:
        i += 1
    value, digits, i = _digits(data, i, hi, 0)
    exact = 0 < digits <= 18 and (i == hi or _field_end(data[i]))
    return (-value if negative else value), exact, _skip_field(data, i, hi)


@jit_inline
def _scan_decimal(data, i, hi):
    """The field at ``data[i]`` read as a number: (value, exact, its end). Exact where the parse
    is (``-?digits[.digits]``, up to 18 digits, at most 2^53, at most 22 places: one correctly
    rounded division of two exact numbers); the field is read to its end either way."""
    negative = data[i] == MINUS
    if negative:
        i += 1
    mantissa, whole, i = _digits(data, i, hi, 0)
    places = 0
    if i < hi and data[i] == POINT:
        mantissa, places, i = _digits(data, i + 1, hi, mantissa)
    digits = whole + places
    exact = whole > 0 and digits <= 18 and places <= 22 and (i == hi or _field_end(data[i]))
    exact = exact and mantissa <= _EXACT_DIGITS  # after the digit count: no overflow to mislead it
    value = mantissa / _POWERS[places] if exact else 0.0
    return (-value if negative else value), exact, _skip_field(data, i, hi)


@jit
def trec_fields(data, lo, hi, run, ids, integers, reals, slow):
    """Read the lines of ``data[lo:hi]`` (whole lines): a run's ``qid Q0 docno rank score tag
    [...]`` when ``run``, else qrels' ``qid iter docno rel``.

    ``ids`` = (qid offsets, qid bytes, docno offsets, docno bytes): Arrow string buffers, offsets
    int32 with room for one more than the lines, bytes with room for the text. ``integers``: the
    rank (runs); ``reals``: the score (runs) or the relevance. ``slow`` = (rows, field, start,
    stop): a number not parsed here, its row, its field (3 or 4) and its text's place in ``data``.
    Returns (status, rows read, numbers left to the caller).
    """
    qid_offsets, qid_bytes, doc_offsets, doc_bytes = ids
    slow_rows, slow_fields, slow_starts, slow_stops = slow
    wanted = 6 if run else 4
    number = 4 if run else 3  # the score, or the relevance
    qid_offsets[0] = 0
    doc_offsets[0] = 0
    q = 0
    d = 0
    row = 0
    n_slow = 0
    high = 0
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
                    high |= data[i]
                    qid_bytes[q] = data[i]
                    q += 1
                    i += 1
            elif field == 2:
                while i < hi and not _field_end(data[i]):
                    high |= data[i]
                    doc_bytes[d] = data[i]
                    d += 1
                    i += 1
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
            return TEXT_BAD_LINE, row, n_slow
        row += 1
        qid_offsets[row] = q
        doc_offsets[row] = d
        i += 1
    return (TEXT_NOT_ASCII if high > 127 else TEXT_OK), row, n_slow


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
