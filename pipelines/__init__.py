"""The Libra-Guard pipeline: its DAG, its compiled IR YAML, and how to run it locally or
submit it to a Kubeflow Pipelines backend."""
