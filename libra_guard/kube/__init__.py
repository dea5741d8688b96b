"""Talking to Kubernetes (cluster mode): the API client, RayJobs for training and the
RayService the guard is served from. Only the official ``kubernetes`` client is used."""
