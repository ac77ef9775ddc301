"""evaluate: WER per set for teacher, student-at-init and distilled student; speed vs teacher; the publish gate."""
