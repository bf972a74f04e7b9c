"""`posetrack eval posetrack --report`: the page's numbers are `--json`'s; worst sequences first."""

from __future__ import annotations

import json

from click.testing import CliRunner

import posetrack.cli.commands  # noqa: F401  (registers the subcommands)
from posetrack.cli.main import cli
from posetrack.report.eval_report import sequence_rows
from tests.evaluation.builders import person, sequence, write
from tests.report._page import parse_page


def _dataset(tmp_path):
    """Three sequences: perfect, one person missed half the time, and ids swapped midway."""
    gt, pr = tmp_path / "gt", tmp_path / "pr"
    two = [[person(1), person(2, shift=(200, 0))] for _ in range(6)]
    write(gt, "000001_mpii_test", sequence(two, "000001_mpii_test"))
    write(pr, "000001_mpii_test", sequence(two, "000001_mpii_test"))
    write(gt, "000002_mpii_test", sequence(two, "000002_mpii_test"))
    missed = [[person(1)] + ([person(2, shift=(200, 0))] if f % 2 else []) for f in range(6)]
    write(pr, "000002_mpii_test", sequence(missed, "000002_mpii_test"))
    write(gt, "000003_mpii_test", sequence(two, "000003_mpii_test"))
    swapped = [[person(1 if f < 3 else 2), person(2 if f < 3 else 1, shift=(200, 0))] for f in range(6)]
    write(pr, "000003_mpii_test", sequence(swapped, "000003_mpii_test"))
    return gt, pr


def test_eval_report_numbers_are_the_json_numbers(tmp_path):
    gt, pr = _dataset(tmp_path)
    out_json, out_html = tmp_path / "m.json", tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["eval", "posetrack", str(gt), str(pr), "--json", str(out_json),
                                 "--report", str(out_html)])
    assert r.exit_code == 0, r.output
    metrics = json.loads(out_json.read_text())
    data, images, parser = parse_page(out_html.read_text())
    assert data == metrics
    assert len(images) == 2 and parser.tables == 1
    rows = sequence_rows(data)
    assert [row["sequence"] for row in rows][-1] == "000001_mpii_test"  # the perfect one last
    assert rows[-1]["mota"] == 100.0 and rows[0]["mota"] < 100.0
    assert sum(row["misses"] for row in rows) == sum(metrics["counts"]["misses"])
    assert sum(row["switches"] for row in rows) == sum(metrics["counts"]["switches"]) > 0
    html = out_html.read_text()
    # the table lists the worst sequence first, and the page can sort it
    assert html.index(rows[0]["sequence"] + "</td>") < html.index("000001_mpii_test</td>")
    assert "addEventListener('click'" in html


def test_eval_report_alone_matches_an_evaluation_without_it(tmp_path):
    gt, pr = _dataset(tmp_path)
    plain = tmp_path / "plain.json"
    r = CliRunner().invoke(cli, ["eval", "posetrack", str(gt), str(pr), "--json", str(plain)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["eval", "posetrack", str(gt), str(pr), "--report", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    data, _, _ = parse_page((tmp_path / "r.html").read_text())
    expected = json.loads(plain.read_text())
    assert {k: v for k, v in data.items() if k != "sequences"} == expected


def test_benchmark_runner_report(tmp_path):
    """The benchmark runner's per-sequence results feed the same page."""
    from posetrack.evaluation import synthetic_dataset as sd
    from posetrack.evaluation.benchmark import run_benchmark
    from posetrack.report.eval_report import write_eval_report
    from tests.evaluation.test_benchmark import OraclePose, _pipeline_factory

    root = str(tmp_path / "data")
    seqs = sd.generate_sequences(n_sequences=2, n_frames=6, n_people=2, label_every=2, seed=1)
    sd.write_dataset(root, seqs)
    summary = run_benchmark(root, "val", _pipeline_factory(OraclePose(root, seqs)), tmp_path / "pred", boxes="gt",
                            progress=False, per_sequence=True)
    write_eval_report(tmp_path / "b.html", summary.result.to_dict())
    data, images, _ = parse_page((tmp_path / "b.html").read_text())
    assert data == json.loads(json.dumps(summary.result.to_dict()))
    assert sorted(data["sequences"]) == sorted(s.name for s in seqs) and len(images) == 2
