"""Teacher synthesis as the pipeline's stage-1 data source (``DemoConfig.teacher_config``).

The run's files live under the state folder, in a place named by the config's content and N,
so the pipeline's next run with the same config resumes from the same request cache (a KFP
step's own working folder is thrown away after each run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from libra_guard.data.schema import GuardRow
from libra_guard.data.teacher.config import load_teacher_config
from libra_guard.data.teacher.pipeline import synthesize
from libra_guard.errors import ConfigError
from libra_guard.settings import Settings


def teacher_stage1_rows(
    config_path: str, n: int, settings: Settings, log: Callable[[str], object]
) -> list[GuardRow]:
    """Agreed rows of a teacher run for ``n`` queries, with its cache under the state folder.

    Raises:
        ConfigError: the config file is missing or invalid.
        EndpointError: an endpoint fails (see ``libra_guard.data.teacher.chat_client``).
    """
    path = Path(config_path)
    if not path.is_file():
        raise ConfigError(f"teacher_config {config_path} is not a file; fix demo.teacher_config")
    config = load_teacher_config(path)
    content = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    out = Path(settings.state_dir) / "teacher" / f"stage1-{content}-n{n}.jsonl"
    log(f"stage 1 from teacher models ({config_path}), files beside {out}")
    return synthesize(config, n, out, log=log).rows
