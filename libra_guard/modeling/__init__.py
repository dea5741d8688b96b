"""Model: the Libra prompt, the answer format, the model factory and the judges."""
