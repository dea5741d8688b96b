"""Training: the two-stage curriculum (synthetic pretraining, real fine-tuning) on Ray Train."""
