"""MLflow "models from code" entry: MLflow runs this file to build the pyfunc model.

It is copied into every logged model and executed when the model is logged or loaded
(``mlflow.pyfunc.log_model(python_model=<this file>)``), so loading a registered guard never
unpickles objects. Do not import it from other modules.
"""

import mlflow

from libra_guard.tracking.guard_model import GuardVerdictModel

mlflow.models.set_model(GuardVerdictModel())
