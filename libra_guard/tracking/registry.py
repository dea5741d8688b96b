"""The model registry: the registered model ``libra-guard``, its versions, aliases and lineage.

A version is created only when the gate passes (the pipeline calls ``log_and_register`` on
its pass branch). It gets the alias ``challenger`` at once; moving ``champion`` onto it is a
separate ``set_alias`` call, so a deployment can watch ``champion`` and a rollback is one
alias move. Each version carries its lineage as tags (``lineage.py``).

How the model is stored (see ``guard_model.py``): an MLflow pyfunc model whose artifact is
the trained model folder itself, merged weights included, so ``models:/libra-guard@champion``
loads with no hub access and scores exactly as the folder did.

Usage::

    version = log_and_register("runs/demo/model/final", {"dataset_digests": digests})
    set_alias(version.version, CHAMPION)
    folder = download_model("models:/libra-guard@champion")
    judge = GuardJudge.load(folder)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from libra_guard.atomic import staged_folder
from libra_guard.errors import ConfigError, ModelError
from libra_guard.safe_names import dot_segment_problem
from libra_guard.settings import Settings
from libra_guard.tracking.lineage import Lineage
from libra_guard.tracking.manifest import MANIFEST_TAG, Manifest, build_manifest, verify_folder
from libra_guard.tracking.model_version import ModelVersion
from libra_guard.tracking.store import client, ensure_experiment, resolve_tracking_uri, tracking_to

logger = logging.getLogger(__name__)

MODEL_NAME = "libra-guard"
CHALLENGER = "challenger"
CHAMPION = "champion"
#: Experiment of registration runs when the caller gives no run to log the model in.
REGISTRY_EXPERIMENT = "libra-guard-registry"
#: Name of the logged model inside its run.
LOGGED_MODEL_NAME = "guard"
PROVENANCE_FILE = "libra_guard.json"
VERSION_TAG = "libra.registered_version"
CODE_FILE = Path(__file__).with_name("guard_model_code.py")
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
#: How long to wait for a version to become READY (a remote registry may copy first).
READY_TIMEOUT_S = 300


def log_and_register(
    model_dir: str | Path,
    lineage: Lineage | Mapping | None = None,
    *,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    experiment: str = REGISTRY_EXPERIMENT,
    model_name: str = MODEL_NAME,
    alias: str | None = CHALLENGER,
) -> ModelVersion:
    """Log the model folder, register it as a new version, tag its lineage, set ``alias``.

    Args:
        model_dir: a trained model folder (``train`` writes ``OUT/final``).
        lineage: ``Lineage`` or its fields as a dict; missing base model and dataset digests
            are read from the folder's ``libra_guard.json``, a missing checkpoint URI is the
            folder's path.
        run_id: the MLflow run to log the model in (e.g. the pipeline's ``register_guard``
            stage run); default: the active run, else a new run in ``experiment``.
        tracking_uri: the tracking store (default ``Settings().tracking_uri``).
        alias: alias set on the new version (``None`` sets none).

    Raises:
        ModelError: the folder is not a model folder, the model name has a ``..`` segment,
            or the registry refuses the version.
        ConfigError: ``lineage`` has unknown or malformed fields.
    """
    check_model_name(model_name)
    model_dir = Path(model_dir).resolve()
    if not (model_dir / "config.json").is_file():
        raise ModelError(f"{model_dir} is not a model folder (no config.json); pass OUT/final")
    tags = complete_lineage(lineage, model_dir).to_tags()
    # Hashed before logging: the manifest records the files as they were handed over.
    version_tags = {**tags, MANIFEST_TAG: build_manifest(model_dir).to_tag()}
    uri = resolve_tracking_uri(tracking_uri)
    started = time.perf_counter()
    # MLflow resolves the logged model through the process-wide URI, so both steps run
    # inside ``tracking_to``.
    with tracking_to(uri):
        with _logging_run(run_id, experiment, uri) as logging_run_id:
            info = _log_guard_model(model_dir, tags)
        created = _create_version(uri, model_name, info, logging_run_id, version_tags, alias)
    seconds = time.perf_counter() - started
    logger.info("registered %s version %s in %.1fs", model_name, created.version, seconds)
    return ModelVersion(
        name=model_name,
        version=str(created.version),
        aliases=(alias,) if alias else (),
        lineage=_lineage_of(tags, run_id=logging_run_id, source=info.model_uri),
    )


def complete_lineage(lineage: Lineage | Mapping | None, model_dir: Path) -> Lineage:
    """``lineage`` with gaps filled from the model folder's ``libra_guard.json``.

    Raises:
        ConfigError: unknown or malformed lineage fields.
    """
    if isinstance(lineage, Lineage):
        values = lineage.model_dump(exclude_unset=True)
    else:
        values = dict(lineage or {})
    provenance = _provenance(model_dir)
    if not values.get("base_model") and provenance.get("base_model"):
        values["base_model"] = str(provenance["base_model"])
    if not values.get("dataset_digests") and provenance.get("data_digests"):
        values["dataset_digests"] = dict(provenance["data_digests"])
    if not values.get("checkpoint_uri"):
        values["checkpoint_uri"] = str(model_dir)
    try:
        return Lineage.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"invalid lineage for {model_dir}: {exc}") from exc


def set_alias(
    version: str | int,
    alias: str,
    *,
    tracking_uri: str | None = None,
    model_name: str = MODEL_NAME,
) -> None:
    """Point ``alias`` (e.g. ``champion``) at ``version``, moving it from any other version.

    Raises:
        ModelError: no such version.
    """
    mlflow_client = client(tracking_uri)
    with _registry_errors(tracking_uri, f"set alias {alias!r} on {model_name} v{version}"):
        mlflow_client.get_model_version(model_name, str(version))
        mlflow_client.set_registered_model_alias(model_name, alias, str(version))


#: What MLflow answers for an unset alias or an unregistered model (the REST store and SQLite).
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


def alias_version(
    alias: str, *, tracking_uri: str | None = None, model_name: str = MODEL_NAME
) -> str | None:
    """The version ``alias`` points at, or ``None`` (no such alias or no model registered).

    Raises:
        ModelError: the registry refused the call (e.g. 401: no or wrong credentials) or failed.
    """
    from mlflow.exceptions import MlflowException

    with _registry_errors(tracking_uri, f"read {model_name}'s alias {alias!r}"):
        try:
            return str(client(tracking_uri).get_model_version_by_alias(model_name, alias).version)
        except MlflowException as exc:
            if exc.error_code in _NOT_FOUND:
                return None
            raise


def resolve_version(
    reference: str | int, *, tracking_uri: str | None = None, model_name: str = MODEL_NAME
) -> str:
    """A version number from ``3``, ``"3"``, an alias (``champion``) or a ``models:/`` URI.

    Raises:
        ModelError: the alias is unset, the version does not exist or the URI names another
            model or is malformed.
    """
    text = str(reference)
    match = _MODEL_URI.match(text)
    if text.startswith("models:/") and match is None:
        raise ModelError(
            f"cannot read model URI {text!r}; use models:/NAME@ALIAS or models:/NAME/VERSION"
        )
    if match is not None:
        model_name = match["name"]
        text = match["version"] or match["alias"]
    if text.isdigit():
        with _registry_errors(tracking_uri, f"find {model_name} version {text}"):
            client(tracking_uri).get_model_version(model_name, text)
        return text
    version = alias_version(text, tracking_uri=tracking_uri, model_name=model_name)
    if version is None:
        raise ModelError(f"{model_name} has no version with alias {text!r}")
    return version


def check_model_name(model_name: str) -> None:
    """Raise ``ModelError`` for a model name that would leave the cache folder (``..``)."""
    problem = dot_segment_problem(model_name)
    if problem:
        raise ModelError(f"refusing the model name: {problem}")


def download_model(
    uri: str,
    dst: str | Path | None = None,
    *,
    tracking_uri: str | None = None,
) -> Path:
    """A local folder ``GuardJudge.load`` loads, from ``models:/libra-guard@champion``,
    ``models:/libra-guard/3`` (or just an alias or version number).

    Aliases are resolved to a version first; versions never change, so each is downloaded
    once into ``dst/<name>/<version>-<run id>`` (default ``dst``: ``<state_dir>/models``) and
    reused. Every call checks the folder against the version's sha256 manifest
    (``manifest.py``): a fresh download before it is kept, a kept copy before it is returned.

    Raises:
        WeightsMismatchError: the files differ from the manifest, or the version has none.
        ModelError: the version cannot be found or is not a guard logged by this module.
    """
    import mlflow

    from libra_guard.tracking.guard_model import GUARD_ARTIFACT

    uri_match = _MODEL_URI.match(str(uri))
    model_name = uri_match["name"] if uri_match else MODEL_NAME
    check_model_name(model_name)
    tracking = resolve_tracking_uri(tracking_uri)
    version = resolve_version(uri, tracking_uri=tracking, model_name=model_name)
    root = Path(dst) if dst is not None else Settings().state_dir / "models"
    with _registry_errors(tracking, f"look up {uri}"):
        details = client(tracking).get_model_version(model_name, version)
    # Version numbers restart in every registry (a new database, another tracking server), so
    # the cached folder is named by the logged model's run too: a number alone once served a
    # stale model from an earlier registry.
    identity = details.run_id or hashlib.sha256(str(details.source).encode()).hexdigest()
    target = root / model_name / f"{version}-{identity[:12]}"
    where = f"{model_name} version {version}"
    expected = Manifest.from_tags(details.tags, where=where)
    if (target / "MLmodel").is_file():
        folder = target / _artifact_path(target, GUARD_ARTIFACT)
        verify_folder(folder, expected, where=where)
        return folder
    # A folder already there was published complete (another process won the race).
    with (
        staged_folder(target, keep_existing=True) as staging,
        tracking_to(tracking),
        _registry_errors(tracking, f"download {uri}"),
    ):
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model_name}/{version}", dst_path=str(staging)
        )
        verify_folder(staging / _artifact_path(staging, GUARD_ARTIFACT), expected, where=where)
    return target / _artifact_path(target, GUARD_ARTIFACT)


def describe(
    reference: str | int, *, tracking_uri: str | None = None, model_name: str = MODEL_NAME
) -> ModelVersion:
    """The ``ModelVersion`` of a version number, alias or ``models:/`` URI; downloads nothing.

    Its lineage holds the ``Lineage`` fields (``dataset_digests``, ``pipeline_run_id``,
    ``checkpoint_uri``, ``git_commit``, ``base_model``, ``gate_decision``) and the MLflow
    ``run_id``, ``source``, ``status`` and ``created``. ``format_lineage`` prints it.

    Raises:
        ModelError: no such version or alias.
    """
    match = _MODEL_URI.match(str(reference))
    model_name = match["name"] if match else model_name
    tracking = resolve_tracking_uri(tracking_uri)
    number = resolve_version(reference, tracking_uri=tracking, model_name=model_name)
    with _registry_errors(tracking, f"read {model_name} version {number}"):
        found = client(tracking).get_model_version(model_name, number)
    created = datetime.fromtimestamp(found.creation_timestamp / 1000, tz=UTC)
    return ModelVersion(
        name=model_name,
        version=str(found.version),
        aliases=tuple(sorted(found.aliases)),
        lineage=_lineage_of(
            found.tags,
            run_id=found.run_id,
            source=found.source,
            status=found.status,
            created=created.isoformat(timespec="seconds"),
        ),
    )


def _lineage_of(tags: Mapping[str, str], **facts: str | None) -> dict:
    """The ``Lineage`` fields from a version's tags, plus MLflow's own facts about it."""
    return {**Lineage.from_tags(tags).model_dump(), **facts}


def _log_guard_model(model_dir: Path, tags: Mapping[str, str]):
    """Log ``model_dir`` as a pyfunc model in the active run; returns MLflow's ModelInfo."""
    import mlflow

    import libra_guard
    from libra_guard.tracking.guard_model import GUARD_ARTIFACT, SIGNATURE, pip_requirements

    with warnings.catch_warnings():
        # An input example would run the model at logging time (minutes for a 14B model);
        # the explicit signature already documents the input.
        warnings.filterwarnings("ignore", message=".*input example was not provided.*")
        return mlflow.pyfunc.log_model(
            name=LOGGED_MODEL_NAME,
            python_model=str(CODE_FILE),
            artifacts={GUARD_ARTIFACT: str(model_dir)},
            signature=SIGNATURE,
            pip_requirements=pip_requirements(),
            metadata={
                "libra_guard_version": libra_guard.__version__,
                "load_folder": f"GuardJudge.load(<model>/artifacts/{model_dir.name})",
                "needs": "libra_guard importable at load time (not a pip requirement)",
            },
            tags=dict(tags),
        )


def _create_version(
    tracking_uri: str,
    model_name: str,
    info,
    run_id: str,
    tags: Mapping[str, str],
    alias: str | None,
):
    """Register the logged model as a new version, wait until READY, set ``alias``."""
    mlflow_client = client(tracking_uri)
    with _registry_errors(tracking_uri, f"register {info.model_uri} as {model_name}"):
        _ensure_registered_model(mlflow_client, model_name)
        created = mlflow_client.create_model_version(
            model_name, info.model_uri, run_id=run_id, tags=dict(tags), model_id=info.model_id
        )
        _wait_until_ready(mlflow_client, model_name, created.version)
        mlflow_client.set_tag(run_id, VERSION_TAG, f"{model_name}/{created.version}")
        if alias:
            mlflow_client.set_registered_model_alias(model_name, alias, created.version)
    return created


@contextmanager
def _logging_run(run_id: str | None, experiment: str, tracking_uri: str) -> Iterator[str]:
    """The run to log the model in: ``run_id``, else the active run, else a new one.

    A run that was RUNNING before (a pipeline run still in progress) is left RUNNING.
    """
    import mlflow

    active = mlflow.active_run()
    if active is not None and run_id in (None, active.info.run_id):
        yield active.info.run_id
        return
    if run_id is None:
        experiment_id = ensure_experiment(experiment, tracking_uri=tracking_uri)
        with mlflow.start_run(experiment_id=experiment_id, run_name="register_guard") as run:
            yield run.info.run_id
        return
    mlflow_client = client(tracking_uri)
    with _registry_errors(tracking_uri, f"find MLflow run {run_id}"):
        previous_status = mlflow_client.get_run(run_id).info.status
    with mlflow.start_run(run_id=run_id, nested=active is not None):
        yield run_id
    if previous_status == "RUNNING":
        mlflow_client.update_run(run_id, status="RUNNING")


def _ensure_registered_model(mlflow_client, model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(model_name)
    except MlflowException:
        try:
            mlflow_client.create_registered_model(
                model_name,
                description="Libra-Guard: Chinese content-safety guard (question, response).",
            )
        except MlflowException as exc:
            # Another process registered it between the two calls.
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise


def _wait_until_ready(mlflow_client, model_name: str, version: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        status = mlflow_client.get_model_version(model_name, version).status
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION" or time.monotonic() > deadline:
            raise ModelError(f"{model_name} version {version} did not become READY ({status})")
        time.sleep(1)


def _artifact_path(model_folder: Path, key: str) -> str:
    """Where the pyfunc model keeps artifact ``key``, read from its ``MLmodel`` file."""
    from mlflow.models import Model

    try:
        flavor = Model.load(str(model_folder / "MLmodel")).flavors["python_function"]
        return flavor["artifacts"][key]["path"]
    except (KeyError, TypeError, OSError) as exc:
        raise ModelError(
            f"{model_folder} is not a guard logged by libra_guard (no '{key}' artifact)"
        ) from exc


def _provenance(model_dir: Path) -> dict:
    path = model_dir / PROVENANCE_FILE
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


@contextmanager
def _registry_errors(tracking_uri: str | None, action: str) -> Iterator[None]:
    """Turn MLflow's errors into ``ModelError`` naming what was attempted and where."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        where = tracking_uri or Settings().tracking_uri
        raise ModelError(
            f"cannot {action} in the MLflow registry at {where}: {exc.message}"
        ) from exc
