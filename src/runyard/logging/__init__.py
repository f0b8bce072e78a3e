"""The buffered metric pipeline (``pipeline.py``) and the checks of values (``values.py``)."""
