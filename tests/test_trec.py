"""fastrank.inputs.trec: TREC files read in one pass of fastrank's own reader, checked against a
plain Python reading of trec_eval's dialect (``str.split`` per line, ``float`` and ``int`` per
number), in chunks and across their borders, with the numbers the reader leaves to pyarrow."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastrank import InputError
from fastrank.inputs.trec import _read_fields, read_qrels, read_run

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
    return list(zip(*(table.column(name).to_pylist() for name in names), strict=True))


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
    got = _read(tmp_path, text, run=True)
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
