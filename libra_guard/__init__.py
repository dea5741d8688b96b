"""Libra-Guard platform core: data, model, training, evaluation.

The core imports no KFP and no Ray Serve; components, pipelines and serving build on it.
"""

__version__ = "0.1.0"
