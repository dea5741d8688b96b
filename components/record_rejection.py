"""``record_rejection``: the fail branch. Record why the challenger was rejected and with
which metrics, on the pipeline run's MLflow parent run; register and promote nothing."""

from kfp import dsl
from kfp.dsl import Artifact, Input

from components import COMPONENT_OPTIONS, PROJECT_IMAGE


@dsl.component(base_image=PROJECT_IMAGE, **COMPONENT_OPTIONS)
def record_rejection(decision: Input[Artifact], parent_run_id: str) -> str:
    """Log the gate's rejection.

    Args:
        decision: the gate's decision JSON (passed, reasons, checks, comparison, the
            challenger's headline metrics).
        parent_run_id: the pipeline run's MLflow parent run.

    Returns:
        The reasons, one per line, as recorded.
    """
    from libra_guard.steps.gate import read_decision
    from libra_guard.tracking import runs

    outcome = read_decision(decision.path)
    reasons = list(outcome.decision.reasons)
    runs.log_stage(
        parent_run_id,
        "record_rejection",
        metrics={f"rejected.{k}": v for k, v in outcome.challenger_average.items()},
        tags={"libra.gate.rejected": "true", "libra.gate.reasons": "\n".join(reasons)[:5000]},
    )
    print("challenger rejected; nothing registered, no alias moved:")
    for reason in reasons:
        print(f"  - {reason}")
    return "\n".join(reasons)
