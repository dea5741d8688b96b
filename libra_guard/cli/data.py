"""``libra-guard data ...``: validate, synthesise, describe and split datasets.

The commands only wire arguments to ``libra_guard.data`` and print what happened; every rule
lives in the library. Inputs are URIs (a path, ``file://``, ``s3://`` on MinIO, or
``hf://datasets/ID[:SPLIT]``); outputs are paths or ``s3://`` URIs, written atomically with a
``.sha256`` digest beside them.

    libra-guard data validate raw.jsonl --out clean.jsonl
    libra-guard data synth --n 2000 --seed 7 --out synth.jsonl
    libra-guard data synth-llm --config configs/teacher.yaml --n 1000 --out stage1.jsonl
    libra-guard data stats clean.jsonl --json
    libra-guard data split clean.jsonl --test-fraction 0.2 --seed 0 \\
        --train-out train.jsonl --test-out test.jsonl
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from libra_guard.cli.data_teacher import synth_llm
from libra_guard.cli.errors import handle_errors
from libra_guard.data.digest import dataset_digest, write_digest
from libra_guard.data.io import read_rows, write_jsonl
from libra_guard.data.preparation import DEFAULT_PROMPT_TASK_SHARE
from libra_guard.data.schema import DEFAULT_MAX_TEXT_CHARS, LABELS
from libra_guard.data.sources import refuse_overlapping_outputs
from libra_guard.data.split import split_by_question
from libra_guard.data.stats import dataset_stats
from libra_guard.data.validate import validate_file

app = typer.Typer(
    help=(
        "Prepare datasets: validate and quarantine bad rows, generate synthetic data, "
        "show statistics, split by question. Inputs may be paths, file://, s3:// (MinIO, "
        "LIBRA_S3_* settings) or hf://datasets/ID[:SPLIT]."
    ),
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
app.command("synth-llm")(synth_llm)

InputUri = Annotated[
    str,
    typer.Argument(
        help="Dataset to read: a path, file://, s3://bucket/key or hf://datasets/ID[:SPLIT]. "
        "JSON Lines or a JSON list (Libra-Test's test.json), detected by content.",
        show_default=False,
    ),
]


@app.command("validate")
@handle_errors
def validate(
    in_uri: InputUri,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Where good rows go (JSON Lines). Bad rows go to OUT's stem + "
            ".quarantine.jsonl beside it, the digest to OUT.sha256.",
            show_default=False,
        ),
    ],
    max_chars: Annotated[
        int,
        typer.Option(
            "--max-chars", min=1, help="Longest question or response accepted, in characters."
        ),
    ] = DEFAULT_MAX_TEXT_CHARS,
) -> None:
    """Validate a dataset: keep good rows, quarantine bad ones with the reason, digest OUT.

    Exit 0 when the input was read, even with quarantined rows; exit 2 when it is unreadable.
    """
    report = validate_file(in_uri, out, max_chars=max_chars)
    console.print(
        f"[bold]{report.total}[/] records read from {report.source}: "
        f"[green]{report.kept} kept[/], "
        f"[{'yellow' if report.quarantined else 'green'}]{report.quarantined} quarantined[/]"
    )
    if report.reasons:
        table = Table(title="Quarantined records by reason")
        table.add_column("reason")
        table.add_column("records", justify="right")
        for kind, count in report.reasons.items():
            table.add_row(kind, str(count))
        console.print(table)
        for position, reason in report.examples:
            console.print(f"  {report.position_word} {position}: {reason}", markup=False)
    console.print(f"digest      {report.digest}", markup=False)
    console.print(f"rows        {report.out_path}", markup=False)
    console.print(f"quarantine  {report.quarantine_path}", markup=False)
    console.print(f"digest file {report.digest_path}", markup=False)


@app.command("synth")
@handle_errors
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="Rows to generate.", show_default=False)],
    out: Annotated[
        str,
        typer.Option("--out", "-o", help="JSON Lines file to write.", show_default=False),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same rows.")] = 0,
    hard: Annotated[
        bool,
        typer.Option("--hard", help="Use the generator's hard mode (see libra_guard.data.synth)."),
    ] = False,
    prompt_share: Annotated[
        float,
        typer.Option(
            "--prompt-share",
            min=0.0,
            max=0.5,
            help="Prompt-task rows per response row, from the same questions (the run's "
            "data.prompt_task_share default); 0: response rows only.",
        ),
    ] = DEFAULT_PROMPT_TASK_SHARE,
) -> None:
    """Generate synthetic guard-pretraining rows (stage 1) and write them with their digest:
    ``n`` response rows, then ``round(prompt_share * n)`` prompt-task rows."""
    # Imported here so that the other data commands work without the generator installed.
    from libra_guard.data.synth import generate

    result = generate(n, seed, hard=hard, prompt_share=prompt_share)
    written = write_jsonl(result.rows, out)
    digest = dataset_digest(result.rows)
    write_digest(out, digest)
    stats = dataset_stats(result.rows)
    table = Table(title=f"Synthetic data: {written}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("rows", str(stats["rows"]))
    table.add_row("prompt-task rows", str(result.prompt_rows))
    for label, count in stats["labels"].items():
        table.add_row(f"label {label}", str(count))
    table.add_row("scenarios covered", str(len(stats["scenarios"])))
    table.add_row("subcategories covered", str(stats["subcategories"]))
    table.add_row("labeller disagreements dropped", str(result.disagreements_dropped))
    table.add_row("distinct question skeletons", str(result.question_skeletons))
    table.add_row("distinct answer skeletons", str(result.answer_skeletons))
    console.print(table)
    console.print(f"digest {digest}", markup=False)


@app.command("stats")
@handle_errors
def stats(
    in_uri: InputUri,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the statistics as JSON instead of tables.")
    ] = False,
) -> None:
    """Show counts by label, source and scenario, and question/response lengths."""
    summary = dataset_stats(read_rows(in_uri))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console.print(
        f"[bold]{summary['rows']}[/] rows, {summary['distinct_questions']} distinct questions, "
        f"{summary['subcategories']} subcategories"
    )
    for title, key in (("label", "labels"), ("source", "sources"), ("scenario", "scenarios")):
        console.print(_count_table(title, summary[key], summary["rows"]))
    lengths = Table(title="Text length (characters)")
    lengths.add_column("text")
    for column in ("min", "mean", "median", "max"):
        lengths.add_column(column, justify="right")
    for name in ("question", "response"):
        values = summary[f"{name}_chars"]
        lengths.add_row(name, *(_number(values[c]) for c in ("min", "mean", "median", "max")))
    console.print(lengths)


@app.command("split")
@handle_errors
def split(
    in_uri: InputUri,
    train_out: Annotated[
        str, typer.Option("--train-out", help="JSON Lines file for train rows.", show_default=False)
    ],
    test_out: Annotated[
        str, typer.Option("--test-out", help="JSON Lines file for test rows.", show_default=False)
    ],
    test_fraction: Annotated[
        float,
        typer.Option(
            "--test-fraction",
            min=0.0,
            max=1.0,
            help="Fraction of distinct questions (not rows) that go to test.",
        ),
    ] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same split.")] = 0,
) -> None:
    """Split a dataset into train and test by question: a question's rows never straddle."""
    refuse_overlapping_outputs({"IN": in_uri}, {"--train-out": train_out, "--test-out": test_out})
    rows = read_rows(in_uri)
    train_rows, test_rows = split_by_question(rows, test_fraction, seed)
    table = Table(title=f"Split of {in_uri} by question (seed {seed})")
    for column in ("side", "rows", "questions", *LABELS, "file"):
        table.add_column(column, justify="left" if column in ("side", "file") else "right")
    digests: list[str] = []
    for side, side_rows, path in (("train", train_rows, train_out), ("test", test_rows, test_out)):
        write_jsonl(side_rows, path)
        digest = dataset_digest(side_rows)
        write_digest(path, digest)
        side_stats = dataset_stats(side_rows)
        table.add_row(
            side,
            str(side_stats["rows"]),
            str(side_stats["distinct_questions"]),
            *(str(count) for count in side_stats["labels"].values()),
            path,
        )
        digests.append(f"{side:<5} digest {digest}")
    console.print(table)
    for line in digests:
        console.print(line, markup=False)


def _count_table(title: str, counts: Mapping[str, int], total: int) -> Table:
    table = Table(title=f"Rows by {title}")
    table.add_column(title)
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count), f"{100 * count / total:.1f}%" if total else "-")
    return table


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)
