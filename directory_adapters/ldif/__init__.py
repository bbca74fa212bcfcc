"""The directory as an LDIF export, its changes as an ldapmodify file, one concern a module:

- adapter.py: `LdifDirectory`, the port over the export and its changes file;
- loader.py: the export read as accounts (untrusted input, never a URL followed);
- changes.py: the changes file, replayed on open and appended to by a write;
- syntax.py: LDIF as text (lines, records, values, modify records);
- names.py: DNs as LDAP compares them, the person filter as a predicate.

What it shares with the CSV adapter is in directory_adapters/file_index.py
(the accounts in memory, search, census) and file_store.py (the write protocol).
"""

from directory_adapters.file_store import DirectoryProblem
from directory_adapters.ldif.adapter import CHANGES_SUFFIX, MAX_FILE_SIZE, LdifDirectory

__all__ = ["CHANGES_SUFFIX", "MAX_FILE_SIZE", "DirectoryProblem", "LdifDirectory"]
