"""The ``runyard`` command line: thin commands that wire the SDK and the store to a terminal.

``main.py`` holds the top-level group and turns runyard errors into one-line messages;
``experiments.py`` and ``runs.py`` hold one command group each, ``submit.py`` the ``submit``
command and ``logs.py`` ``runs logs``; ``_output.py`` formats tables and JSON; ``_context.py``
finds the workspace.
"""
