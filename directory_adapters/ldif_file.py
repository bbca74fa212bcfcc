"""The LDIF directory's former module, kept so that its imports go on working.

The adapter lives in directory_adapters/ldif/ now; import it from there.
"""

import os  # noqa: F401 - tests replace os functions through this module

from directory_adapters.ldif import CHANGES_SUFFIX, MAX_FILE_SIZE, DirectoryProblem, LdifDirectory
from directory_adapters.ldif.names import _dn_key, _parse_filter
from directory_adapters.ldif.syntax import _ldif_line, _LdifReader

__all__ = [
    "CHANGES_SUFFIX",
    "MAX_FILE_SIZE",
    "DirectoryProblem",
    "LdifDirectory",
    "_LdifReader",
    "_dn_key",
    "_ldif_line",
    "_parse_filter",
]
