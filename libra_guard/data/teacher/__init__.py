"""Stage-1 data the way the Libra paper makes it, from teacher models behind
OpenAI-compatible endpoints (vLLM, Ray Serve LLM, a hosted API), on Ray Data.

Stages (``pipeline.synthesize``): element combinations over the 39 subcategories -> query
generation -> augmentation (rewrite, paraphrase, red-team) -> exact and MinHash near-duplicate
removal -> answers from every answerer -> both judges in the Libra answer format -> rows where
the judges agree. The template generator (``libra_guard.data.synth``) stays the embedded
default; this package runs only when a teacher config is given.

    libra-guard data synth-llm --config configs/teacher.yaml --n 1000 --out stage1.jsonl
"""

from libra_guard.data.teacher.config import TeacherConfig, load_teacher_config
from libra_guard.data.teacher.pipeline import SynthesisResult, plan_requests, synthesize

__all__ = [
    "SynthesisResult",
    "TeacherConfig",
    "load_teacher_config",
    "plan_requests",
    "synthesize",
]
