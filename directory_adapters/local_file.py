"""The CSV directory's former module, kept so that its imports go on working.

The adapter lives in directory_adapters/csv/ now; import it from there.
"""

import os  # noqa: F401 - tests replace os functions through this module

from directory_adapters.csv import DEFAULT_COLUMNS, FIELDS, CsvDirectory, DirectoryProblem
from directory_adapters.csv.cells import _read_back, _set_cell

__all__ = [
    "DEFAULT_COLUMNS",
    "FIELDS",
    "CsvDirectory",
    "DirectoryProblem",
    "_read_back",
    "_set_cell",
]
