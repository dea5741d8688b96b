"""MLflow tracking and registry: pipeline runs with nested stages, and the ``libra-guard``
registered model with its aliases (``challenger``, ``champion``) and lineage tags.

- ``runs``: one experiment per pipeline, a parent run per pipeline run, a nested run per
  stage; dataset inputs with digests, evaluation metrics and files, the gate report.
- ``registry``: log a trained model folder and register it, move aliases, download a
  version for ``GuardJudge.load``, read a version's lineage.
- ``lineage``: the lineage record, its tags and its printed form.
- ``store``: tracking URI, experiments and their artifact locations.

The submodules import MLflow; import them where needed (``from libra_guard.tracking import
registry``), so importing this package stays cheap.
"""
