"""Segments: the condition language, its evaluation in Python, and which events can change
which segment. The SQL a condition compiles to belongs to the SQL adapter
(`storage/sql/conditions.py`); evaluation as a phase of the processor is
`processor/segments.py`."""
