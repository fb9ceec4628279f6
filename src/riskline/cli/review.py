"""``riskline review``: the annual review of a channel, computed from its cosigned log."""

from __future__ import annotations

from pathlib import Path

import typer

from riskline.cli.node_common import NODE_DIR, fail, guard, opened


def register(app: typer.Typer) -> None:
    app.command("review")(review_command)


def review_command(
    year: int = typer.Option(..., "--year", help="Calendar year (UTC)."),
    channel: str | None = typer.Option(None, "--channel", help="One channel: figures both ends compute alike."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: standard output)."),
    fmt: str | None = typer.Option(None, "--format", help="json, md or html (default: from -o's suffix, else md)."),
    send_to: bool = typer.Option(False, "--send", help="Sign the written file into the log and send it on --channel."),
    node_dir: Path | None = NODE_DIR,
) -> None:
    """The year's incidents, response times, escalations, link tests, notices, meetings and action items.

    Every figure names the log entries it comes from; for one channel, --format json is the same bytes on
    both ends of the channel.

    Example: riskline review --year 2026 --channel RU-EE -o review-2026.html
    """
    from riskline.node.review import FORMATS, render, review_of, send_review

    chosen = fmt or (output.suffix.lstrip(".").lower() if output is not None else "md")
    chosen = {"markdown": "md", "htm": "html"}.get(chosen, chosen)
    if chosen not in FORMATS:
        raise fail(f"--format: one of {', '.join(FORMATS)}, got {chosen!r}")
    if send_to and (channel is None or output is None):
        raise fail("--send: needs --channel and -o (the file that is signed and sent)")
    with opened(node_dir) as node, guard():
        data = render(review_of(node, year, channel), chosen)
        if output is None:
            typer.echo(data.decode("utf-8"), nl=False)
            return
        try:
            output.write_bytes(data)
        except OSError as error:
            raise fail(f"-o: cannot write {output}: {error.strerror}") from None
        typer.echo(f"wrote {output} ({chosen}, {len(data):,} bytes)")
        if send_to and channel is not None:
            sent = send_review(node, output, channel=channel, year=year)
            typer.echo(f"signed and queued on {channel}: free_text {sent.envelope.id} with {output.name} attached")
