"""The fake API server answers the official client the way a real API server would; the
tests of RayJob training and RayService rollout rely on that."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayjobs"


def _rayjob(name: str) -> dict:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": name},
        "spec": {"entrypoint": "python -c 1"},
    }


def test_create_get_patch_delete_through_the_official_client(fake_kube):
    api = client.CustomObjectsApi(fake_kube.api_client())
    created = api.create_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, _rayjob("a"))
    assert created["metadata"]["namespace"] == "ml" and created["metadata"]["uid"]

    patched = api.patch_namespaced_custom_object(
        GROUP, VERSION, "ml", PLURAL, "a", {"spec": {"entrypoint": "python -c 2"}}
    )
    assert patched["spec"]["entrypoint"] == "python -c 2"
    assert patched["metadata"]["generation"] == 2

    api.delete_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a")
    with pytest.raises(ApiException) as missing:
        api.get_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a")
    assert missing.value.status == 404


def test_duplicates_stale_writes_and_unknown_namespaces_are_refused(fake_kube):
    api = client.CustomObjectsApi(fake_kube.api_client())
    first = api.create_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, _rayjob("a"))
    with pytest.raises(ApiException) as duplicate:
        api.create_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, _rayjob("a"))
    assert duplicate.value.status == 409 and "already exists" in duplicate.value.body

    api.patch_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a", {"spec": {"x": 1}})
    with pytest.raises(ApiException) as stale:
        api.replace_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a", first)
    assert stale.value.status == 409

    with pytest.raises(ApiException) as nowhere:
        api.create_namespaced_custom_object(GROUP, VERSION, "other", PLURAL, _rayjob("b"))
    assert nowhere.value.status == 404


def test_status_subresource_keeps_the_spec(fake_kube):
    api = client.CustomObjectsApi(fake_kube.api_client())
    api.create_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, _rayjob("a"))
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, "ml", PLURAL, "a", {"status": {"jobStatus": "RUNNING"}, "spec": {}}
    )
    stored = fake_kube.get_object(GROUP, VERSION, "ml", PLURAL, "a")
    assert stored["status"] == {"jobStatus": "RUNNING"}
    assert stored["spec"]["entrypoint"] == "python -c 1"


def test_reactors_play_the_operator_and_failures_can_be_injected(fake_kube):
    def operator(api, verb, obj):
        if verb == "create":
            api.update_stored(
                GROUP,
                VERSION,
                "ml",
                PLURAL,
                obj["metadata"]["name"],
                lambda o: o.setdefault("status", {}).update(jobDeploymentStatus="Initializing"),
            )

    fake_kube.on(PLURAL, operator)
    api = client.CustomObjectsApi(fake_kube.api_client())
    api.create_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, _rayjob("a"))
    got = api.get_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a")
    assert got["status"]["jobDeploymentStatus"] == "Initializing"

    fake_kube.fail_next("GET", r"/rayjobs/a$", 503, "etcd is unavailable")
    with pytest.raises(ApiException) as failed:
        api.get_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a")
    assert failed.value.status == 503 and "etcd is unavailable" in failed.value.body
    assert api.get_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a")


def test_json_patch_and_pod_logs_on_core_objects(fake_kube):
    fake_kube.put_object("", "v1", "ml", "pods", {"metadata": {"name": "p", "labels": {}}})
    core = client.CoreV1Api(fake_kube.api_client())
    core.patch_namespaced_pod(
        "p", "ml", [{"op": "add", "path": "/metadata/labels/a", "value": "b"}]
    )
    assert core.read_namespaced_pod("p", "ml").metadata.labels == {"a": "b"}

    fake_kube.set_pod_log("ml", "p", "step 1 loss 0.5\n")
    assert core.read_namespaced_pod_log("p", "ml") == "step 1 loss 0.5\n"


def test_watch_streams_existing_objects_then_changes(fake_kube):
    api = client.CustomObjectsApi(fake_kube.api_client())
    api.create_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, _rayjob("a"))

    def later():
        api.patch_namespaced_custom_object(GROUP, VERSION, "ml", PLURAL, "a", {"spec": {"y": 1}})

    timer = threading.Timer(0.3, later)
    timer.start()
    events = []
    for event in watch.Watch().stream(
        api.list_namespaced_custom_object, GROUP, VERSION, "ml", PLURAL, timeout_seconds=2
    ):
        events.append((event["type"], event["object"]["spec"].get("y")))
        if len(events) == 2:
            break
    timer.join()
    assert events == [("ADDED", None), ("MODIFIED", 1)]
