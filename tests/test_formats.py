"""Inputs told by content (fastrank.formats): parquet, CSV with a sniffed delimiter, TREC text,
gzip, pipes and standard input, read end to end by the API and the CLI."""

from __future__ import annotations

import gzip
import io
import os
import sys
import threading
import time

import pandas as pd
import pytest

import fastrank
from fastrank.inputs.formats import looks_like_header, open_input, sniff_delimiter

from .cli import in_process, refused

FRAME = pd.DataFrame(
    {"user_id": [1, 1, 1, 2, 2], "video_id": [5, 6, 7, 5, 6], "watch_ratio": [2.0, 0.0, 1.0, 1.0, 0.0],
     "s": [0.9, 0.1, 0.5, 0.2, 0.8]}
)  # fmt: skip
RUN = "q1 Q0 d1 1 0.9 t\nq1 Q0 d2 2 0.8 t\nq2 Q0 d1 1 0.7 t\n"
QRELS = "q1 0 d2 1\nq2 0 d1 2\n"


def _mean(frame=FRAME, **kwargs):
    return fastrank.evaluate(frame, baselines=["s"], k=[2], **kwargs).mean("s", k=2)


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("semicolons.csv", lambda f, p: f.to_csv(p, sep=";", index=False)),
        ("tabs.tsv", lambda f, p: f.to_csv(p, sep="\t", index=False)),
        ("pipes.txt", lambda f, p: f.to_csv(p, sep="|", index=False)),
        ("data.txt", lambda f, p: f.to_csv(p, index=False)),  # a CSV by content, not parquet by default
        ("data.csv.gz", lambda f, p: f.to_csv(p, index=False, compression="gzip")),
        ("data.tsv.gz", lambda f, p: f.to_csv(p, sep="\t", index=False, compression="gzip")),
        ("gzipped.csv", lambda f, p: p.write_bytes(gzip.compress(f.to_csv(index=False).encode()))),
        ("table.bin", lambda f, p: f.to_parquet(p)),  # parquet by its magic bytes, whatever its name
    ],
)
def test_tables_are_read_by_content(tmp_path, name, write):
    path = tmp_path / name
    write(FRAME, path)
    assert _mean(path) == _mean()


def test_delimiter_sniffing_and_the_explicit_delimiter(tmp_path):
    assert sniff_delimiter(b"a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter(b'a,b\n"x;y",2\n') == ","  # a delimiter inside quotes does not count
    assert sniff_delimiter(b"a\tb\n1\t2\n") == "\t"
    path = tmp_path / "colons.csv"
    path.write_text(FRAME.to_csv(index=False).replace(",", ":"))
    with pytest.raises(fastrank.InputError, match=r"one column: if the file is delimited by something else"):
        _mean(path)
    assert _mean(path, delimiter=":") == _mean()
    with pytest.raises(fastrank.InputError, match="The 'delimiter' parameter must be one character"):
        _mean(path, delimiter="::")


def test_a_missing_header_is_named(tmp_path, capsys):
    path = tmp_path / "nohead.csv"
    FRAME.to_csv(path, index=False, header=False)
    code, _, err = in_process(capsys, "evaluate", path, "--baseline", "s")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "looks like data, not column names: add a header line" in err, err


def test_a_parquet_name_on_other_bytes_says_what_the_file_holds(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_text("user_id,video_id\n1,2\n")
    with pytest.raises(fastrank.InputError, match=r"data.parquet: cannot read as parquet: .*it holds text"):
        _mean(path)


def test_trec_files_by_content_tabs_and_ids_that_look_like_nulls(tmp_path):
    """Whitespace of any kind separates TREC fields; NA, null and nan are document ids."""
    run = "q1\tQ0\tNA\t1\t0.9\tt\nq1  Q0 null 2 0.8 t \n\nq2\tQ0\tnan\t1\t0.7\tt\n"
    (tmp_path / "r.txt").write_text(run)
    (tmp_path / "q.txt").write_text("q1 0 null 1\nq2 0 nan 2\n")
    result = fastrank.evaluate_run(tmp_path / "r.txt", tmp_path / "q.txt", k=[2], metrics=["mrr"])
    assert result.per_user.set_index("user")["value"].to_dict() == {"q1": 0.5, "q2": 1.0}


def test_a_trec_file_whose_first_query_is_par1_is_text(tmp_path):
    (tmp_path / "r.run").write_text("PAR1 Q0 d1 1 0.9 t\n")
    (tmp_path / "q.qrels").write_text("PAR1 0 d1 1\n")
    assert open_input(tmp_path / "r.run").kind == "text"
    assert fastrank.evaluate_run(tmp_path / "r.run", tmp_path / "q.qrels").mean("r", k=10) == 1.0


def test_a_text_table_with_a_header_is_a_csv_run():
    assert looks_like_header("user_id,item_id,score") and looks_like_header("uid\titem\tscore")
    assert not looks_like_header("q1 Q0 d1 1 0.9 t") and not looks_like_header("1,2,0.5")


def test_gzipped_trec_files_are_read(tmp_path):
    (tmp_path / "r.run.gz").write_bytes(gzip.compress(RUN.encode()))
    (tmp_path / "q.qrels").write_text(QRELS)
    plain = tmp_path / "plain.run"
    plain.write_text(RUN)
    got = fastrank.evaluate_run(tmp_path / "r.run.gz", tmp_path / "q.qrels", metrics=["mrr"])
    want = fastrank.evaluate_run(plain, tmp_path / "q.qrels", metrics=["mrr"])
    assert got.mean("r", k=10, metric="mrr") == want.mean("plain", k=10, metric="mrr") == 0.75


def _pipe(text: bytes) -> str:
    """A path to the read end of a pipe that a thread fills, as ``<(cat file)`` gives."""
    read, write = os.pipe()

    def fill():
        os.write(write, text)
        os.close(write)

    threading.Thread(target=fill, daemon=True).start()
    return f"/dev/fd/{read}"


def test_pipes_are_read_once_by_content(tmp_path, capsys):
    truth = tmp_path / "q.qrels"
    truth.write_text(QRELS)
    code, out, err = in_process(
        capsys, "evaluate", "--run", _pipe(RUN.encode()), "--truth", truth, "--metrics", "mrr"
    )
    assert code == 0, err
    assert "pipe" in out and "0.7500" in out
    # compare reads the truth twice (the evaluation, then the slices): a pipe is read once, kept.
    parquet = tmp_path / "t.parquet"
    truth_table = {"user_id": ["q1", "q2"], "item_id": ["d2", "d1"], "relevance": [1.0, 2.0], "g": [0, 1]}
    pd.DataFrame(truth_table).to_parquet(parquet)
    code, out, err = in_process(
        capsys, "compare", "--run", _pipe(RUN.encode()), "--truth", _pipe(parquet.read_bytes()),
        "--slice-by", "g", "--resamples", "50",
    )  # fmt: skip
    assert code == 0, err
    assert "g=0" in out and "g=1" in out


def test_standard_input_is_read_once(tmp_path, capsys, monkeypatch):
    truth = tmp_path / "q.qrels"
    truth.write_text(QRELS)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(RUN.encode())))
    code, out, err = in_process(capsys, "evaluate", "--run", "-", "--truth", truth, "--metrics", "mrr")
    assert code == 0 and "stdin" in out, err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(QRELS.encode())))
    code, _, err = in_process(capsys, "evaluate", "--run", "-", "--truth", "-")
    assert code == 2 and "standard input can be read once" in err, err


def test_a_named_pipe_without_a_writer_is_waited_for_and_said(tmp_path, capsys):
    fifo = tmp_path / "run.fifo"
    os.mkfifo(fifo)
    (tmp_path / "q.qrels").write_text(QRELS)

    def write_late():
        time.sleep(1.6)  # past the note's second
        with open(fifo, "w") as out:
            out.write(RUN)

    threading.Thread(target=write_late, daemon=True).start()
    code, _, err = in_process(capsys, "evaluate", "--run", fifo, "--truth", tmp_path / "q.qrels")
    assert code == 0, err
    assert f"fastrank: waiting for data on {fifo} (a pipe; nothing written to it yet" in err


def test_a_headerless_csv_with_repeated_values_says_the_header_is_missing(tmp_path, capsys):
    path = tmp_path / "nohead.csv"
    path.write_text("1,1,1.0,0.1\n1,2,0.0,0.2\n")  # the first row's "names" repeat: 1, 1
    line = refused(capsys, "evaluate", path, "--baseline", "s")
    assert "two columns are named '1'" in line and "looks like data, not column names" in line


def test_a_trec_run_given_as_data_is_named_for_what_it_is(tmp_path, capsys):
    path = tmp_path / "bm25.run"
    path.write_text(RUN)
    assert "it looks like a TREC run file: evaluate runs with --run and --truth" in refused(
        capsys, "evaluate", path, "--baseline", "score"
    )


def test_the_format_can_be_named_instead_of_guessed(tmp_path, capsys):
    """``input_format=`` / ``--input-format`` reads every input as the format named, whatever its
    content suggests; a name that is not registered is refused with the registered ones."""
    path = tmp_path / "table.parquet.bak"
    FRAME.to_parquet(path)
    assert _mean(path, input_format="parquet") == _mean()
    with pytest.raises(fastrank.InputError, match=r"table.parquet.bak: cannot read as CSV"):
        _mean(path, input_format="csv")
    (tmp_path / "run.txt").write_text("user_id;item_id;score\nq1;d2;0.5\nq2;d1;0.4\n")
    (tmp_path / "truth.txt").write_text("user_id;item_id;relevance\nq1;d2;1\nq2;d1;2\n")
    got = fastrank.evaluate_run(
        tmp_path / "run.txt", tmp_path / "truth.txt", metrics=["mrr"], input_format="csv"
    )
    assert got.mean("run", metric="mrr") == 1.0
    with pytest.raises(
        fastrank.InputError, match=r"'input_format' parameter must be one of 'parquet', 'csv'"
    ):
        _mean(path, input_format="trec")  # TREC files are runs and truth, not tables
    line = refused(capsys, "evaluate", path, "--baseline", "s", "--input-format", "json")
    assert "invalid choice: 'json'" in line
