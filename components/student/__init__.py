"""init-student: the teacher's encoder plus a few decoder layers copied from maximally spaced teacher layers."""
