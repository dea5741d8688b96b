"""The synthetic data set is pinned: ``libra-guard data synth --n 2000 --seed 0`` writes the same
bytes as before the lexicon moved from Python tuples to YAML package data (issue 12, item 5).

A change to the lexicon, the generator or the JSON Lines writer changes the digest; when such a
change is intended, recompute the digest with the command above and say why in the commit.

Issue 14 added prompt-task rows, on by default (``--prompt-share``, 0.2): the default output
changed deliberately (2,000 response rows, then 400 prompt rows). With ``--prompt-share 0`` the
command still writes the bytes pinned before, which shows the response rows did not move, and
the default output begins with exactly those bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from libra_guard.cli.data import app
from libra_guard.data.digest import read_digest

#: sha256 of the JSON Lines file written by ``libra-guard data synth --n 2000 --seed 0
#: --prompt-share 0`` (and with ``--hard``), computed on the code before the lexicon move
#: (commit 8897466), when the command wrote response rows only.
PINNED_SYNTH_DIGEST = "8fcef7c86a44bd94cba360d93bf01d9a668dc8b72e13119614914bd55d000cff"
PINNED_HARD_DIGEST = "292f436484eaa478b767f2df391df3cfa12c84ea233ad78abae8db29978460a6"
#: The same commands with the default prompt share (0.2), computed when it was introduced.
PINNED_SYNTH_WITH_PROMPTS = "7cd989a140066dcbb71c390cbd627e09638ea58c1a7f0a6786fab053d7962462"
PINNED_HARD_WITH_PROMPTS = "fc55cd76263bc36553de4f8605aaae77bc8c2c9455714f8bba2f872d16e8a00e"


def _synth(tmp_path: Path, name: str, flags: list[str]) -> Path:
    root = typer.Typer()
    root.add_typer(app, name="data")
    out = tmp_path / name
    args = ["data", "synth", "--n", "2000", "--seed", "0", "--out", str(out), *flags]
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(
    ("flags", "pinned", "with_prompts"),
    [
        ([], PINNED_SYNTH_DIGEST, PINNED_SYNTH_WITH_PROMPTS),
        (["--hard"], PINNED_HARD_DIGEST, PINNED_HARD_WITH_PROMPTS),
    ],
)
def test_synth_2000_seed_0_output_is_unchanged(
    tmp_path: Path, flags: list[str], pinned: str, with_prompts: str
) -> None:
    only_responses = _synth(tmp_path, "responses.jsonl", [*flags, "--prompt-share", "0"])
    assert hashlib.sha256(only_responses.read_bytes()).hexdigest() == pinned
    assert read_digest(only_responses) == pinned
    default = _synth(tmp_path, "default.jsonl", flags)
    assert hashlib.sha256(default.read_bytes()).hexdigest() == with_prompts
    assert read_digest(default) == with_prompts
    lines = default.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2400
    assert b"".join(lines[:2000]) == only_responses.read_bytes()
    assert all(b'"task":"prompt"' in line for line in lines[2000:])
