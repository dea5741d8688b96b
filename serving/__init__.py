"""The guard API on Ray Serve: HTTP ingress, batched model replicas, health, and rollouts.

Layout (one responsibility per module):

- ``config``: ``ServingConfig``, every limit and knob of the service, typed and validated.
- ``schemas``: the request and response bodies (pydantic), which the OpenAPI schema shows.
- ``parsing``: raw request body -> validated request, with a 4xx for every kind of bad input.
- ``auth``: the optional bearer token (``LIBRA_API_KEY``).
- ``http_errors``: the one place where exceptions become HTTP status codes.
- ``model_source``: a ``models:/`` URI or a folder -> local folder and its description.
- ``judge_runner``: one loaded ``GuardJudge`` behind one worker thread, with a canary.
- ``backend``: what the API needs of a model (``GuardBackend``) and the in-process one.
- ``api``: ``create_api``, the FastAPI app shared by Ray Serve and the plain baseline.
- ``guard_deployment``: the model replica (``@serve.batch``, concurrency and queue bounds).
- ``app``: the Serve ingress and the application builders a Serve config names.
- ``plain``: the same API in one process without Ray (the benchmark's baseline).
- ``rollout``: bring a new version up beside the old one, smoke it, switch traffic.
- ``service`` and ``client``: what ``libra-guard serve`` and ``libra-guard moderate`` run.

The core (``libra_guard``) never imports this package.
"""
