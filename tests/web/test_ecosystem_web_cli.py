"""`uptake networks`, `uptake barriers` and `uptake adopters` on the web test workspace, through the root app:
a usage error exits 2 (capacity 0, a date not written YYYY-MM-DD), a refusal of the data exits 1 with the field
and the reason (nothing saved), and the commands that work print or write what they say."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from uptake.cli import app

runner = CliRunner()


def run(demo, *args: str):
    return runner.invoke(app, [*args, "--workspace", str(demo.workspace.root)], env={"COLUMNS": "200"})


def test_networks_list_and_download(demo, tmp_path: Path) -> None:
    listed = run(demo, "networks", "list")
    assert listed.exit_code == 0, listed.output
    assert "doac-share" in listed.stdout
    out = tmp_path / "networks.xlsx"
    written = run(demo, "networks", "list", "--priority", "doac-share", "--output", str(out), "--format", "xlsx")
    assert written.exit_code == 0, written.output
    assert out.exists() and "Wrote 4 rows" in written.stdout  # the four ICB footprints of the test hierarchy
    members = run(demo, "networks", "members", "QMJ", "--priority", "doac-share")
    assert members.exit_code == 0 and "MJ0" in members.stdout
    assert run(demo, "networks", "members", "NOPE", "--priority", "doac-share").exit_code == 1


def test_a_round_on_the_command_line(demo) -> None:
    zero = run(demo, "networks", "challenge", "--title", "R", "--priority", "doac-share", "--capacity", "0")
    assert zero.exit_code == 2 and "--capacity must be at least 1" in zero.stderr
    unknown = run(demo, "networks", "challenge", "--title", "R", "--priority", "nope")
    assert unknown.exit_code == 1 and "NSF priorities" in unknown.stderr
    made = run(demo, "networks", "challenge", "--title", "CLI round", "--priority", "doac-share", "--capacity", "2",
               "--funding", "10000")
    assert made.exit_code == 0, made.output
    round_id = made.stdout.split()[1].rstrip(":")
    pairs = run(demo, "networks", "partnerships", round_id)
    assert pairs.exit_code == 0 and "explanation" in pairs.stdout.splitlines()[0]
    assert run(demo, "networks", "designations", round_id).exit_code == 0
    assert "CLI round" in run(demo, "networks", "rounds").stdout


def test_adopters_and_barriers_on_the_command_line(demo) -> None:
    bad_date = run(demo, "adopters", "add", "--org", "MJ1", "--innovation", "doacs", "--date", "01/04/2024",
                   "--what", "w", "--adaptations", "a", "--contact-name", "n", "--contact-email", "n@nhs.net")
    assert bad_date.exit_code == 2
    bad_email = run(demo, "adopters", "add", "--org", "MJ1", "--innovation", "doacs", "--date", "2024-04-01",
                    "--what", "w", "--adaptations", "a", "--contact-name", "n", "--contact-email", "nobody")
    assert bad_email.exit_code == 1 and "email" in bad_email.stderr
    good = run(demo, "adopters", "add", "--org", "MJ1", "--innovation", "doacs", "--date", "2024-04-01",
               "--what", "Switching clinic", "--adaptations", "Run by PCN pharmacists", "--contact-name", "N",
               "--contact-email", "n@nhs.net", "--cost", "5000")
    assert good.exit_code == 0, good.output
    assert "Run by PCN pharmacists" in run(demo, "adopters", "log", "--innovation", "doacs").stdout
    near = run(demo, "adopters", "near", "--innovation", "doacs", "--org", "MJ0")
    assert near.exit_code == 0, near.output
    assert "MJ1" in near.stdout  # in the log, so it does it
    refused = run(demo, "barriers", "add", "--org", "MJ0", "--innovation", "narcolepsy-medicines", "--date",
                  "2025-01-01", *[x for k in ("risk-averse-culture", "complexity-not-invented-here", "lack-of-resource")
                                  for x in (f"--{k}", "present")],
                  *[x for k in ("condition", "technology", "value-proposition", "adopters", "organisation",
                                "wider-system", "embedding") for x in (f"--nasss-{k}", "simple")])
    assert refused.exit_code == 1 and "does not use" in refused.stderr
    assert run(demo, "barriers", "association").exit_code == 0
