"""The synthetic data set is pinned: ``libra-guard data synth --n 2000 --seed 0`` writes the same
bytes as before the lexicon moved from Python tuples to YAML package data (issue 12, item 5).

A change to the lexicon, the generator or the JSON Lines writer changes the digest; when such a
change is intended, recompute the digest with the command above and say why in the commit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from libra_guard.cli.data import app
from libra_guard.data.digest import read_digest

#: sha256 of the JSON Lines file written by ``libra-guard data synth --n 2000 --seed 0`` (and
#: with ``--hard``), computed on the code before the move (commit 8897466).
PINNED_SYNTH_DIGEST = "8fcef7c86a44bd94cba360d93bf01d9a668dc8b72e13119614914bd55d000cff"
PINNED_HARD_DIGEST = "292f436484eaa478b767f2df391df3cfa12c84ea233ad78abae8db29978460a6"


@pytest.mark.parametrize(
    ("flags", "pinned"), [([], PINNED_SYNTH_DIGEST), (["--hard"], PINNED_HARD_DIGEST)]
)
def test_synth_2000_seed_0_output_is_unchanged(
    tmp_path: Path, flags: list[str], pinned: str
) -> None:
    root = typer.Typer()
    root.add_typer(app, name="data")
    out = tmp_path / "synth.jsonl"
    args = ["data", "synth", "--n", "2000", "--seed", "0", "--out", str(out), *flags]
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == pinned
    assert read_digest(out) == pinned
