"""One error type for every bad input, so CLIs can print one line and exit 2."""
from __future__ import annotations


class MayhemInputError(ValueError):
    """Bad user input: a config, model file, motion file, mesh or scene.

    The message always names the file and the field (key) at fault so the user
    can fix it without reading a traceback.
    """

    def __init__(self, path, field: str | None, problem: str):
        self.path = str(path) if path is not None else None
        self.field = field
        self.problem = problem
        where = self.path or "<input>"
        if field:
            where = f"{where}: {field}"
        # One line, whatever a library's message or a key read from the file held.
        super().__init__(" ".join(f"{where}: {problem}".split()))
