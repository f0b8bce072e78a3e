"""The ``runyard`` command line: thin commands that wire the SDK and the store to a terminal.

``main.py`` holds the top-level group and turns runyard errors into one-line messages;
``experiments.py`` and ``runs.py`` hold one command group each, ``submit.py`` the ``submit``
command; ``logs.py``, ``compare.py``, ``metrics.py`` and ``export.py`` hold ``runs logs``,
``runs compare``, ``runs metrics`` and ``runs export``; ``_query.py`` the run-search options
(``--filter``, ``--sort``...) that ``runs list`` and ``runs export`` share, ``_columns.py`` the
fields of ``--columns``; ``_output.py`` formats tables and JSON; ``_context.py`` finds the
workspace.
"""
