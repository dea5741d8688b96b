"""Rolling a new model version into the guard service without dropping a request.

``base`` holds the procedure (``roll_out``) and the interface it drives (``Rollout``);
``local`` implements it on a Ray Serve instance reached through the Ray dashboard's Serve
REST API. A RayService implementation patches the same Serve config (``serve_config``) into
the custom resource's ``serveConfigV2`` instead.
"""
