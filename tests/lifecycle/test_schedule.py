"""``submit --schedule CRON``: a KFP recurring run through KFP's own client, its HTTP calls
answered by a loopback stand-in of the v2beta1 API (``kfp_api.py``)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from libra_guard.cli.main import app
from libra_guard.errors import ConfigError
from pipelines.config import PipelineConfig
from pipelines.schedule import kfp_cron, schedule
from pipelines.submit import BackendError
from tests.lifecycle.kfp_api import FakeKfpApi


def test_five_field_cron_gains_kfp_s_seconds_field_and_junk_is_refused() -> None:
    assert kfp_cron("0 3 * * 1") == "0 0 3 * * 1"
    assert kfp_cron("30 0 3 * * 1") == "30 0 3 * * 1"
    with pytest.raises(ConfigError, match="not a cron expression"):
        kfp_cron("weekly")


def test_schedule_creates_a_recurring_run_with_the_config_s_arguments() -> None:
    config = PipelineConfig()
    with FakeKfpApi() as api:
        first = schedule(config, api.url, "0 3 * * 1")
        second = schedule(config, api.url, "0 4 * * *")
    assert len(api.experiments) == 1  # the second call found the experiment by name
    (experiment,) = api.experiments.values()
    assert experiment["display_name"] == config.experiment
    run = api.recurring_runs[first.recurring_run_id]
    assert run["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * 1"
    assert run["experiment_id"] == experiment["experiment_id"]
    assert run["mode"] == "ENABLE" and run["no_catchup"] is True
    assert int(run["max_concurrency"]) == 1
    assert run["service_account"] == config.service_account
    # Sent inline: the compiled IR and its Kubernetes platform spec (kfp-kubernetes wiring).
    assert run["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"]
    assert run["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]
    assert set(run["runtime_config"]["parameters"]) == set(config.arguments())
    assert api.recurring_runs[second.recurring_run_id]["trigger"]["cron_schedule"]["cron"] == (
        "0 0 4 * * *"
    )
    assert first.url.endswith(f"/#/recurringrun/details/{first.recurring_run_id}")


def test_cli_schedule_reports_the_recurring_run_and_refuses_wait() -> None:
    runner = CliRunner()
    with FakeKfpApi() as api:
        result = runner.invoke(app, ["submit", "--host", api.url, "--schedule", "0 3 * * 1"])
        refused = runner.invoke(
            app, ["submit", "--host", api.url, "--schedule", "0 3 * * 1", "--wait"]
        )
    assert result.exit_code == 0, result.output
    assert "recurring run" in result.output and len(api.recurring_runs) == 1
    assert refused.exit_code == 2 and "--wait does not apply" in refused.output


def test_a_backend_refusal_is_a_clear_error() -> None:
    # A host URL whose path is not the KFP API: every call answers 404.
    refusal = pytest.raises(BackendError, match="cannot create the recurring run")
    with FakeKfpApi() as api, refusal:
        schedule(PipelineConfig(), f"{api.url}/not-kfp", "0 3 * * 1")
    assert not api.recurring_runs
