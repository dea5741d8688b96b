"""The pipeline's steps as plain functions: paths and typed values in, a typed result out.

One module per step of the DAG (``prepare``, ``train``, ``evaluate``, ``gate``,
``register``). A KFP component (``components/``) only unpacks its artifacts into paths, calls
its step here and writes the returned figures as metadata; the CLI and tests call the same
functions without KFP. Each writer has its reader beside it (``evaluation.outputs.
read_predictions``, ``gate.read_decision``, ``training.runner.read_stage_outcome``), so no
component parses a file by hand. Deploying is ``serving.rollout.deploy.deploy_registered``:
it needs Ray Serve, which this core does not import.
"""
