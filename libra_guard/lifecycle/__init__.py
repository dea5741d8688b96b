"""After rollout: what the served guard decides, where traffic drifts, and feedback into training.

- ``levels``: one rule for "near the decision threshold", shared by metrics and capture.
- ``capture``: sampled, day-partitioned JSONL of served decisions (opt-in; never the API key).
- ``feedback``: captured items -> Libra-Test rows for review -> validated real-data source.
- ``drift``: the captured traffic of a window against the champion's evaluation data.

The core stays free of Ray Serve: the serving package calls into these modules.
"""
