"""`epochlog subjects import participants.tsv` and `epochlog subjects ls`."""

from __future__ import annotations

from pathlib import Path

from epochlog import Tracker

from ..cli.helpers import Cli, assert_user_error

HBN = (
    "participant_id\trelease_number\tSex\tAge\tehq_total\tp_factor\tsite\tcommercial_use\n"
    "sub-NDARAB793GL3\tR1\tM\t10.5\t73\t0.21\t001\tYes\n"
    "sub-NDARAC853DTE\tR1\tF\t7.25\t-13\tn/a\t002\tNo\n"
    "sub-NDARAD224CRB\tR1\tn/a\t17\tn/a\t-0.5\t001\tYes\n"
)


def write(tmp_path: Path, text: str, name: str = "participants.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def subjects(uri: str) -> dict[str, dict]:
    with Tracker(uri) as tracker:
        return {s["subject_id"]: s for s in tracker.get_subjects()}


def test_import_types_columns_and_leaves_out_na(cli: Cli, uri: str, tmp_path: Path) -> None:
    result = cli.ok("subjects", "import", write(tmp_path, HBN))
    assert "Imported 3 subjects" in result.stdout and "3 new" in result.stdout
    stored = subjects(uri)
    first = stored["sub-NDARAB793GL3"]
    assert first["Age"] == 10.5 and type(first["Age"]) is float
    assert first["ehq_total"] == 73 and type(first["ehq_total"]) is int
    assert first["site"] == "001"  # leading zeros: an identifier, kept as text
    assert first["Sex"] == "M" and first["releases"] == ["R1"]
    assert "p_factor" not in stored["sub-NDARAC853DTE"]
    assert "Sex" not in stored["sub-NDARAD224CRB"]
    assert stored["sub-NDARAD224CRB"]["Age"] == 17.0 and type(stored["sub-NDARAD224CRB"]["Age"]) is float


def test_reimport_merges_and_releases_accumulate(cli: Cli, uri: str, tmp_path: Path) -> None:
    cli.ok("subjects", "import", write(tmp_path, HBN))
    later = write(tmp_path, "participant_id\tAge\nsub-NDARAB793GL3\t11.0\nsub-NDARZZ000AAA\t9\n", "r5.tsv")
    report = cli.json("subjects", "import", later, "--release", "R5")
    assert report["new"] == 1 and report["updated"] == 1
    stored = subjects(uri)
    assert stored["sub-NDARAB793GL3"]["Age"] == 11.0
    assert stored["sub-NDARAB793GL3"]["Sex"] == "M"  # kept from the first file
    assert stored["sub-NDARAB793GL3"]["releases"] == ["R1", "R5"]
    assert len(stored) == 4


def test_subjects_ls_and_query(cli: Cli, tmp_path: Path) -> None:
    cli.ok("subjects", "import", write(tmp_path, HBN))
    table = cli.ok("subjects", "ls").stdout
    assert "3 subjects" in table and "sub-NDARAC853DTE" in table and "ehq_total" in table
    young = cli.json("subjects", "ls", "--query", '{"Age": {"$lt": 12}}')
    assert [s["subject_id"] for s in young] == ["sub-NDARAB793GL3", "sub-NDARAC853DTE"]
    assert "No subjects match" in cli.ok("subjects", "ls", "-q", '{"Age": {"$gt": 99}}').stdout


def test_without_participant_id(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "subject\tage\nsub-01\t10\n")
    assert_user_error(cli("subjects", "import", path), "no participant_id column", "subject, age")


def test_bad_files(cli: Cli, tmp_path: Path) -> None:
    assert_user_error(cli("subjects", "import", tmp_path / "missing.tsv"), "no such file")
    assert_user_error(cli("subjects", "import", write(tmp_path, "", "empty.tsv")), "empty file")
    binary = tmp_path / "binary.tsv"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    assert_user_error(cli("subjects", "import", binary), "not a UTF-8 text file")
    ragged = write(tmp_path, "participant_id\tage\nsub-01\t10\textra\n", "ragged.tsv")
    assert_user_error(cli("subjects", "import", ragged), "line 2")


def test_export_subjects(cli: Cli, tmp_path: Path) -> None:
    cli.ok("subjects", "import", write(tmp_path, HBN))
    lines = cli.ok("export", "subjects", "--format", "csv").stdout.splitlines()
    assert lines[0].startswith("_id,subject_id,")
    assert len(lines) == 4
    usage = cli("export", "subjects", "--challenge", "1")
    assert usage.exit_code == 2
