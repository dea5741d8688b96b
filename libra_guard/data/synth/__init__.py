"""Stage-1 synthetic guard data in Chinese, covering all 7 scenarios and 39 subcategories.

``generate(n, seed, hard=False)`` is the entry point; see ``generator.py`` for the recipe.
"""

from libra_guard.data.synth.generator import SynthesisError, SynthResult, generate
from libra_guard.data.synth.labelers import intended_label, judge_label

__all__ = ["SynthResult", "SynthesisError", "generate", "intended_label", "judge_label"]
