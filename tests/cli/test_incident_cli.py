"""``riskline watch --node``, ``incident list|show|plot|report`` and what a new user ran into (issue 6, part 5).

In process through Typer's runner where that is enough; real processes where a signal or a closed pipe is the
point. Real data: the Baltic demo scenario (real incidents among real traffic) and the pyais NMEA sample.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskline.channel.envelope import MAX_ATTACHMENT_SIZE
from riskline.cli.main import app
from riskline.incidents.report import JSON_KEYS
from riskline.node.local import init_node
from riskline.testing.nodes import wait_until

runner = CliRunner()


@pytest.fixture(scope="module")
def baltic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baltic")
    result = runner.invoke(app, ["scenario", "baltic", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def ee_node(baltic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EE's node, with the RU-EE channel and RU pinned, and the Baltic scenario watched into its database."""
    base = tmp_path_factory.mktemp("nodes")
    root = base / "ee"
    init_node(root, party="EE", name="Estonian Defence Forces ops", node_id="ee-mod", tls_enabled=False)
    ru = init_node(base / "ru", party="RU", name="NDMC", node_id="ru-nmdc", tls_enabled=False)
    added = runner.invoke(app, ["channel", "add", "RU-EE", "--kind", "bilateral", "--members", "RU,EE",
                                "--no-agreement", "--node", str(root)])
    assert added.exit_code == 0, added.output
    from riskline.node.local import LocalNode
    from riskline.testing.nodes import pin

    with LocalNode.open(root) as ee, LocalNode.open(base / "ru") as ru_node:
        pin(ee, ru_node)
    assert ru.config.party == "RU"
    watched = runner.invoke(app, ["watch", str(baltic / "demo_positions.csv"), "--fleet",
                                  str(baltic / "demo_fleet.toml"), "--node", str(root), "--json"])
    assert watched.exit_code == 0, watched.output
    return root


def listed(node: Path) -> list[dict[str, object]]:
    result = runner.invoke(app, ["incident", "list", "--node", str(node), "--json", "--limit", "100"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def log_size(node: Path) -> int:
    with sqlite3.connect(node / "node.db") as connection:
        return int(connection.execute("SELECT count(*) FROM log_entries").fetchone()[0])


def one_line_error(result: object) -> str:
    """The one line on standard error (CliRunner's ``stderr``, or a finished process's)."""
    output = getattr(result, "stderr", "")
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("riskline: error: ")
    return lines[0]


def test_watch_with_node_stores_the_incidents_in_the_nodes_database(ee_node: Path) -> None:
    rows = listed(ee_node)
    assert len(rows) == 17
    for row in rows:
        assert tuple(row) == ("id", *JSON_KEYS)
    cooperative = [r for r in rows if r["rule"] == "non_cooperative_aircraft" and r["occurred"]]
    assert [(r["a"], r["b"]) for r in cooperative] == [("id:d1-il-20", "id:d1-sas-sk681-b737")]


def test_the_il20_and_sk681_incident_keeps_the_evidence_their_tracks_get_when_watched_alone(
    ee_node: Path, baltic: Path, tmp_path: Path
) -> None:
    [row] = [r for r in listed(ee_node) if r["rule"] == "non_cooperative_aircraft" and r["occurred"]]
    shown = json.loads(runner.invoke(app, ["incident", "show", str(row["id"]), "--node", str(ee_node)]).stdout)
    lines = (baltic / "demo_positions.csv").read_text().splitlines()
    alone = tmp_path / "alone.csv"
    pair_only = [line for line in lines[1:] if "d1-il-20" in line or "d1-sas-sk681" in line]
    alone.write_text("\n".join([lines[0], *pair_only]) + "\n")
    db = tmp_path / "alone.db"
    watched = runner.invoke(app, ["watch", str(alone), "--fleet", str(baltic / "demo_fleet.toml"), "--db", str(db)])
    assert watched.exit_code == 0, watched.output
    listing = runner.invoke(app, ["incident", "list", "--db", str(db), "--json", "--rule", "non_cooperative_aircraft"])
    [single] = [json.loads(line) for line in listing.stdout.splitlines() if json.loads(line)["occurred"]]
    by_itself = json.loads(runner.invoke(app, ["incident", "show", str(single["id"]), "--db", str(db)]).stdout)
    assert shown["evidence"] == by_itself["evidence"]
    # the closest approach is measured between observed fixes and falls on a fix time (1 Hz): the evidence
    # window of ±150 s around it holds both of its ends
    assert shown["evidence"] == {"fixes_a": 301, "fixes_b": 301, "separation_samples": 301}


def test_incident_report_signs_and_queues_the_report_and_says_no_server_delivers_it(ee_node: Path) -> None:
    [row] = [r for r in listed(ee_node) if r["rule"] == "ship_contact_range"]
    before = log_size(ee_node)
    result = runner.invoke(app, ["incident", "report", str(row["id"]), "--channel", "RU-EE", "--node", str(ee_node),
                                 "--narrative", "Corvette closed to 0.6 NM at night."])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"incident {row['id']} (ship_contact_range, low) reported on RU-EE as incident_report ")
    assert lines[1].startswith("evidence: 91 + 91 fixes, 91 separation samples; plot incident-")
    assert lines[2] == ("queued for ru-nmdc: no server is running for this node — start it (`riskline node serve`) "
                        "or deliver now with `riskline outbox --flush`")
    assert log_size(ee_node) == before + 1
    shown = json.loads(runner.invoke(app, ["incident", "show", str(row["id"]), "--node", str(ee_node)]).stdout)
    assert [r["channel"] for r in shown["reports"]] == ["RU-EE"]
    again = runner.invoke(app, ["incident", "report", str(row["id"]), "--channel", "RU-EE", "--node", str(ee_node)])
    assert again.exit_code == 2
    assert "was already reported on RU-EE" in one_line_error(again)


def test_a_level_the_channel_does_not_know_is_a_one_line_error(ee_node: Path) -> None:
    [row] = [r for r in listed(ee_node) if r["rule"] == "air_intercept"]
    before = log_size(ee_node)
    result = runner.invoke(app, ["incident", "report", str(row["id"]), "--channel", "RU-EE", "--level", "general",
                                 "--node", str(ee_node)])
    assert result.exit_code == 2
    assert one_line_error(result).startswith("riskline: error: level: unknown level of contact 'general'; channel ")
    sent = runner.invoke(app, ["send", "free_text", "--text", "x", "--channel", "RU-EE", "--level", "general",
                               "--node", str(ee_node)])
    assert sent.exit_code == 2
    assert "level: unknown level of contact 'general'" in one_line_error(sent)
    assert log_size(ee_node) == before


def test_an_attachment_over_the_limit_is_a_one_line_error_naming_the_field(ee_node: Path, tmp_path: Path) -> None:
    big = tmp_path / "radar.bin"
    with big.open("wb") as file:
        file.truncate(MAX_ATTACHMENT_SIZE + 1)
    before = log_size(ee_node)
    result = runner.invoke(app, ["send", "free_text", "--text", "radar picture", "--channel", "RU-EE",
                                 "--attach", str(big), "--node", str(ee_node)])
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "riskline: error: attachments.0.size: radar.bin: 16,777,217 bytes is larger than the limit of 16,777,216 "
        "bytes (16 MiB)"
    )
    assert log_size(ee_node) == before
    assert not any(path.stat().st_size > MAX_ATTACHMENT_SIZE for path in (ee_node / "attachments").glob("*"))


def test_plot_to_a_directory_that_does_not_exist_is_a_one_line_error(ee_node: Path) -> None:
    [row] = [r for r in listed(ee_node) if r["rule"] == "air_intercept"]
    result = runner.invoke(app, ["incident", "plot", str(row["id"]), "-o", "/nonexistent/x.png", "--node",
                                 str(ee_node)])
    assert result.exit_code == 2
    assert one_line_error(result) == "riskline: error: cannot write /nonexistent/x.png: No such file or directory"


def test_piped_incident_list_prints_every_row_whole(ee_node: Path) -> None:
    result = runner.invoke(app, ["incident", "list", "--node", str(ee_node)])
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if "id:d1-il-20" in line]
    assert len(rows) == sum(1 for r in listed(ee_node) if r["a"] == "id:d1-il-20") == 2
    for line in rows:
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        assert cells[1] in ("non_cooperative_aircraft", "air_proximity")
        assert cells[3:6] == ["id:d1-il-20", "id:d1-sas-sk681-b737", "RU–civil"]


def test_piped_rules_show_prints_the_names_that_set_needs_whole() -> None:
    result = runner.invoke(app, ["rules", "show"])
    assert result.exit_code == 0
    for name in ("non_cooperative_aircraft", "repeated_low_passes", "ship_contact_range", "territorial_entry"):
        assert any(line.split("│")[1].strip() == name for line in result.stdout.splitlines() if line.count("│") > 2)


@pytest.mark.parametrize("start", ["yesterday", "2024-13-45"])
def test_a_start_time_that_is_not_a_time_is_a_one_line_error(start: str, data_dir: Path) -> None:
    result = runner.invoke(app, ["watch", str(data_dir / "ais" / "pyais_nmea_data_sample.txt"), "--start-time",
                                 start, "--db", os.devnull + ".none"])
    assert result.exit_code == 2
    assert one_line_error(result) == (
        f"riskline: error: --start-time: not a time: {start!r}; give ISO 8601 UTC (2021-11-01T00:00:00Z) or POSIX "
        "seconds"
    )


@pytest.mark.parametrize("command", [["rules", "show"], ["watch", "x.nm4"]])
def test_a_binary_rulebook_is_a_one_line_error(command: list[str], tmp_path: Path) -> None:
    rulebook = tmp_path / "rules.toml"
    rulebook.write_bytes(bytes(range(256)))
    extra = ["--db", str(tmp_path / "w.db")] if command[0] == "watch" else []
    result = subprocess.run(riskline_command(*command, "--rules", str(rulebook), *extra), env=child_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert one_line_error(result) == (
        f"riskline: error: {rulebook}: not a rulebook: not UTF-8 text (byte 0x80 at offset 128); a rulebook is a "
        "TOML file"
    )


def test_plain_nmea_takes_its_time_from_start_time_and_the_summary_says_how(data_dir: Path, tmp_path: Path) -> None:
    sample = str(data_dir / "ais" / "pyais_nmea_data_sample.txt")
    untimed = runner.invoke(app, ["watch", sample, "--db", str(tmp_path / "a.db")])
    assert untimed.exit_code == 0
    assert "rejected: no_timestamp" in untimed.stdout
    assert "878 messages carry no time of their own: give --start-time 2021-11-01T00:00:00Z" in untimed.stdout
    timed = runner.invoke(app, ["watch", sample, "--db", str(tmp_path / "b.db"), "--start-time",
                                "2021-11-01T00:00:00Z"])
    assert timed.exit_code == 0
    assert "no_timestamp" not in timed.stdout
    accepted = next(line for line in timed.stdout.splitlines() if "│ accepted" in line)
    assert accepted.split("│")[2].strip() == "764"
    assert "data time of last tick" in timed.stdout
    assert "2021-11-01T00:0" in timed.stdout


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def riskline_command(*args: str) -> list[str]:
    """The real ``riskline`` entry point (``run_guarded``: library errors become one line) in a new process."""
    return [sys.executable, "-c", "from riskline.cli.main import main; main()", *args]


def watch_process(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(riskline_command("watch", *args), env=child_env(), **kwargs)  # type: ignore[call-overload]


def runs(db: Path) -> list[tuple[int, bool, str | None]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            rows = connection.execute("SELECT id, finished IS NOT NULL, ended_by FROM ingest_runs").fetchall()
        except sqlite3.OperationalError:
            return []
    return [(int(i), bool(f), e) for i, f, e in rows]


def test_a_closed_pipe_ends_the_run_cleanly_marked_interrupted(baltic: Path, tmp_path: Path) -> None:
    db = tmp_path / "piped.db"
    process = watch_process([str(baltic / "demo_positions.csv"), "--fleet", str(baltic / "demo_fleet.toml"),
                             "--db", str(db), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    first = json.loads(process.stdout.readline())
    assert tuple(first) == JSON_KEYS
    process.stdout.close()  # what `| head -1` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in stderr
    assert "riskline: watch interrupted (closed pipe): run 1 stored with" in stderr
    assert runs(db) == [(1, True, "closed pipe")]


def test_sigterm_ends_a_live_watch_cleanly_marked_interrupted(tmp_path: Path) -> None:
    from riskline.testing.nodes import free_port

    db = tmp_path / "live.db"
    process = watch_process(["--listen", f"tcp://127.0.0.1:{free_port()}", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: runs(db) != [], timeout=60, what="the live run to begin")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "Traceback" not in stderr.decode()
    assert runs(db) == [(1, True, "SIGTERM")]
