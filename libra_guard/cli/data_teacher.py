"""``libra-guard data synth-llm``: stage-1 data from teacher models (wiring only; the logic is
in ``libra_guard.data.teacher``).

    libra-guard data synth-llm --config configs/teacher.yaml --n 1000 --out stage1.jsonl --dry-run
    libra-guard data synth-llm --config configs/teacher.yaml --n 1000 --out stage1.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from libra_guard.cli.errors import handle_errors

console = Console(soft_wrap=True)


@handle_errors
def synth_llm(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="Teacher config YAML (see configs/teacher.yaml).",
            show_default=False,
        ),
    ],
    n: Annotated[
        int,
        typer.Option(
            "--n", min=1, help="Queries to generate before augmentation.", show_default=False
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="JSON Lines file of agreed rows; stage outputs, cache and report go beside it.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print requests per stage and role; send none.")
    ] = False,
    mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log counts and costs to MLflow.")
    ] = True,
) -> None:
    """Make stage-1 rows the paper's way: generate, augment, deduplicate, answer, judge twice,
    keep agreed rows. Rerunning the same command reuses every finished request."""
    from libra_guard.data.teacher import load_teacher_config, plan_requests, synthesize

    teacher = load_teacher_config(config)
    if dry_run:
        plan = plan_requests(teacher, n)
        table = Table(title=f"Requests for --n {n} (after stage 2: at most)")
        for column in ("stage", "role", "model", "requests"):
            table.add_column(column, justify="right" if column == "requests" else "left")
        endpoints = teacher.endpoints()
        for stage, roles in plan.items():
            for role, count in roles.items():
                table.add_row(stage, role, endpoints[role].label, str(count))
        total = sum(count for roles in plan.values() for count in roles.values())
        table.add_row("all", "", "", str(total))
        console.print(table)
        return
    result = synthesize(
        teacher, n, out, log=lambda line: console.print(line, markup=False), mlflow=mlflow
    )
    report = result.report
    costs = Table(title="Requests and tokens per role")
    for column in (
        "role",
        "requests",
        "http tries",
        "cached",
        "failed",
        "prompt tok",
        "completion tok",
    ):
        costs.add_column(column, justify="left" if column == "role" else "right")
    for role, cost in report["costs"].items():
        costs.add_row(
            role,
            *(
                str(cost.get(key, 0))
                for key in (
                    "requests",
                    "http_attempts",
                    "cached",
                    "failed",
                    "prompt_tokens",
                    "completion_tokens",
                )
            ),
        )
    console.print(costs)
    drops = Table(title="Dropped, by stage and reason")
    drops.add_column("reason")
    drops.add_column("rows", justify="right")
    for reason, count in report["dropped_by_reason"].items():
        drops.add_row(reason, str(count))
    console.print(drops)
    agreement = report["agreement"]
    console.print(
        f"agreement filter: {agreement['kept']} of {agreement['judged_answers']} judged answers "
        f"kept ({100 * agreement['dropped_share']:.1f}% dropped)",
        markup=False,
    )
    console.print(f"rows   {result.out_path}  digest {result.digest}", markup=False)
    console.print(f"report {report['outputs']['report']}", markup=False)
