"""fastrank.inputs.trec: TREC files read in one pass of fastrank's own reader, checked against a
plain Python reading of trec_eval's dialect (``str.split`` per line, ``float`` and ``int`` per
number), in chunks and across their borders, with the numbers the reader leaves to pyarrow."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastrank import InputError, kernels
from fastrank.inputs.trec import _read_fields, read_qrels, read_qrels_keyed, read_run, read_run_keyed

IDS = st.text(alphabet="abcXYZ019_-.:/", min_size=1, max_size=8)
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),  # shortest round-trip text: up to 17 digits
    st.decimals(-1000, 1000, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(
        ["-0", "-0.0", "007", "0.1", "1e-3", "2.5E+2", "+1.5", ".5", "5.", "123456789012345678.5"]
    ),
)
SEPARATORS = st.sampled_from([" ", "\t", "  ", " \t ", "\v", "\f"])


def _reference(text: str, run: bool):
    """Each data line's fields as trec_eval reads them."""
    rows = []
    for line in text.split("\n"):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            rows.append(fields)
    if run:
        return [(f[0], f[2], int(f[3]), float(f[4])) for f in rows]
    return [(f[0], f[2], float(f[3])) for f in rows]


@st.composite
def trec_text(draw, run: bool):
    lines = []
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "   ", "# a comment", "\t# 1 2 3 4 5 6", "#"])))
            continue
        sep = draw(SEPARATORS)
        if run:
            fields = [draw(IDS), "Q0", draw(IDS), str(draw(st.integers(-5, 10**12))), draw(NUMBERS), "tag"]
            fields += ["extra"] * draw(st.integers(0, 2))
        else:
            fields = [draw(IDS), "0", draw(IDS), str(draw(st.integers(-2, 4)))]
        lines.append(
            draw(st.sampled_from(["", " ", "\t"])) + sep.join(fields) + draw(st.sampled_from(["", " ", "\r"]))
        )
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def _read(tmp_path, text: str, run: bool):
    path = tmp_path / ("r.run" if run else "q.qrels")
    path.write_bytes(text.encode())
    table = (read_run if run else read_qrels)(path)
    names = ["qid", "docno", "rank", "score"] if run else ["qid", "docno", "rel"]
    _check_keys(path, run)
    return list(zip(*(table.column(name).to_pylist() for name in names), strict=True))


def _fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def _check_keys(path, run: bool) -> None:
    """The keys fastrank's reader takes on the way (when it read the file): the rows where a
    qid's run of lines starts, and each docno's FNV-1a 64 hash, as plain Python finds them."""
    table, keys = (read_run_keyed if run else read_qrels_keyed)(path)
    if keys is None:  # left to pyarrow's reader
        return
    qids, docnos = table.column("qid").to_pylist(), table.column("docno").to_pylist()
    assert keys.user_starts.tolist() == [r for r in range(len(qids)) if r == 0 or qids[r] != qids[r - 1]]
    assert keys.item_hashes.view(np.uint64).tolist() == [_fnv1a64(docno) for docno in docnos]


@given(text=st.booleans().flatmap(lambda run: st.tuples(st.just(run), trec_text(run))))
@settings(max_examples=150)
def test_fields_and_numbers_are_read_as_trec_eval_reads_them(tmp_path_factory, text):
    """Any whitespace but a line break separates fields; blank and comment lines are skipped; a
    run's fields after the tag are ignored; each number equals Python's correctly rounded parse
    of its text, whether the reader parsed it or left it to pyarrow (exponents, a plus sign,
    more digits than 2^53 holds)."""
    run, content = text
    want = _reference(content, run)
    got = _read(tmp_path_factory.mktemp("trec"), content, run)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want, strict=True):
        assert mine[:-1] == theirs[:-1]
        assert np.float64(mine[-1]).tobytes() == np.float64(theirs[-1]).tobytes()  # -0.0 too


def _kernel_numbers(numbers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The scores of a run whose lines carry ``numbers``, as the reader's kernel parses them, and
    the rows whose number it left to the caller."""
    data = np.frombuffer("".join(f"q Q0 d 1 {n} t\n" for n in numbers).encode(), np.uint8)
    n = len(numbers)
    ids = (np.empty(n + 1, np.int32), np.empty(len(data), np.uint8), np.empty(n + 1, np.int32),
           np.empty(len(data), np.uint8))  # fmt: skip
    reals, slow = np.empty(n, np.float64), tuple(np.empty(2 * n, np.int64) for _ in range(4))
    keys = (np.empty(n, np.int64), np.empty(n, np.uint64))
    status, rows, n_slow, _ = kernels.trec_fields(
        data, 0, len(data), True, ids, np.empty(n, np.int64), reals, slow, keys
    )
    assert (status, rows) == (kernels.TEXT_OK, n)
    return reals, slow[0][:n_slow]


def _decimal(mantissa: int, places: int) -> str:
    text = str(mantissa).rjust(places + 1, "0")
    return f"{text[:-places]}.{text[-places:]}" if places else text


@given(
    st.lists(
        st.tuples(st.integers(0, 10**18 - 1), st.integers(0, 27), st.booleans()).map(
            lambda t: ("-" if t[2] else "") + _decimal(t[0], t[1])
        ),
        min_size=1,
        max_size=40,
    )
)
@example(["0." + "0" * 25, "-0." + "0" * 27, "0.0"])  # zero past Clinger's 22 places: once a hang
def test_numbers_of_up_to_18_digits_are_parsed_exactly_by_the_reader_itself(numbers):
    """Up to 18 significant digits and 27 places: Clinger's division or Eisel-Lemire, never left
    to pyarrow, and bit for bit Python's correctly rounded ``float``."""
    reals, left = _kernel_numbers(numbers)
    assert len(left) == 0
    assert reals.tobytes() == np.array([float(n) for n in numbers]).tobytes()


def test_halfway_numbers_round_to_even_and_near_halfway_ones_round_to_nearest():
    """2^53 + an odd number lies halfway between two doubles (round to the even one), also with a
    zero place; with a digit more it lies just above or below (round to the nearer); and random
    ones: 30,000 of each against Python's ``float``."""
    rng = np.random.default_rng(7)
    odd = [int(m) | 1 for m in rng.integers(2**53, 2**54, 30_000, dtype=np.int64)]
    numbers = [str(m) for m in odd] + [f"{m}.0" for m in odd]
    digits = rng.integers(1, 10, len(odd))
    numbers += [_decimal(m * 10 + int(d), 1) for m, d in zip(odd, digits, strict=True)]
    mantissas, places = rng.integers(1, 10**18, 30_000, dtype=np.int64), rng.integers(0, 28, 30_000)
    numbers += [_decimal(int(m), int(p)) for m, p in zip(mantissas, places, strict=True)]
    reals, left = _kernel_numbers(numbers)
    assert len(left) == 0
    wrong = np.flatnonzero(reals.view(np.int64) != np.array([float(n) for n in numbers]).view(np.int64))
    assert not len(wrong), [numbers[i] for i in wrong[:5]]


def test_numbers_past_the_exact_parse_are_left_to_the_caller():
    """19 significant digits, 28 places, an exponent, a sign: flagged, not guessed."""
    numbers = [
        "1234567890123456789",
        "0.1234567890123456789",
        "0." + "0" * 27 + "1",
        "1e-3",
        "+1",
        "000000000000000000001.5",
    ]
    reals, left = _kernel_numbers(numbers)
    assert left.tolist() == [0, 1, 2, 3, 4]
    assert reals[5] == 1.5


def test_a_file_of_several_chunks_reads_whole_lines_across_their_borders(tmp_path):
    """Over 1 MiB the file is read in chunks on threads, cut at line breaks; the last line needs
    no line break; ids beyond ASCII are read by pyarrow's reader instead, alike."""
    rng = np.random.default_rng(3)
    places = rng.integers(1, 18, 60_000)
    scores = [round(float(s), int(d)) for s, d in zip(rng.random(60_000), places, strict=True)]
    lines = [f"q{i // 100} Q0 d{i:07d} {i % 100 + 1} {s!r} tag" for i, s in enumerate(scores)]
    text = "\n".join(lines)
    assert len(text) > 2 << 20
    assert _read_fields(text.encode(), run=True) is not None  # read by the chunked reader itself
    got = _read(tmp_path, text, run=True)  # its keys too, across the chunks' borders
    assert got == _reference(text, run=True)
    accented = text.replace("d0000001 ", "dé0000001 ")
    assert _read(tmp_path, accented, run=True) == _reference(accented, run=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 2 0.4\n", r"line 2 has 5 fields; a TREC run line has at least 6"),
        ("# header\nq1 Q0 d1 1 nan tag\n", r"line 2: score nan is not a finite number"),
        ("q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 x 0.4 tag\n", r"line 2: rank x is not an integer"),
        (
            "# c\nq1 Q0 d1 1 0.5 tag\nq1 Q0 d\udcff2 2 0.4 tag\n",
            r"line 3 is not UTF-8 text \(byte 0xff at column 8\)",
        ),
    ],
)
def test_a_bad_line_is_named_by_the_slower_reader(tmp_path, text, message):
    path = tmp_path / "bad.run"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputError, match=message):
        read_run(path)
