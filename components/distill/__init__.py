"""distill: train the student on pseudo-labels with a frozen encoder: 0.8 * CE + KL(teacher || student) at T=2."""
