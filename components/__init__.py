"""KFP components of the Libra-Guard pipeline, one module per step.

Every component is a lightweight Python component whose body imports ``libra_guard``: the
project image carries the package (and KFP), so nothing is pip-installed at run time, and the
local subprocess runner (``use_venv=False``) runs the bodies in the current environment.
Bodies import inside the function because KFP ships only the function's source to the step.
A body only unpacks its artifacts into paths, calls its step (``libra_guard.steps``, or
``serving.rollout.deploy.deploy_step``) and writes the returned figures as metadata.

``with_image`` rebuilds a component on another image; the pipeline factory uses it so that the
image is configuration, not code.
"""

from __future__ import annotations

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

#: The project image the checked-in pipeline names; ``configs/pipeline.yaml`` may override it.
PROJECT_IMAGE = "ghcr.io/libra-guard/libra-guard:0.1.0"

#: Every component's build options: the image has the project and KFP installed.
COMPONENT_OPTIONS: dict = {"packages_to_install": [], "install_kfp_package": False}


def with_image(component: PythonComponent, image: str) -> PythonComponent:
    """The same component running on ``image``."""
    return dsl.component(component.python_func, base_image=image, **COMPONENT_OPTIONS)
