"""The verbs: :func:`~fastrank.api.evaluate.evaluate` (a table of scored rows) and
:func:`~fastrank.api.runs.evaluate_run` (top-N runs against held-out truth), their option records
(:mod:`fastrank.api.options`) and what they return (:mod:`fastrank.api.results`)."""
