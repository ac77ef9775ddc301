"""Data-quality gates: Great Expectations suites kept as JSON, one gate function, reports."""
