"""The directory as a CSV file on disk, one concern a module:

- adapter.py: `CsvDirectory`, the port over the file;
- reader.py: the bytes, their layout, the rows as accounts, the index;
- view.py: one establishment's records, read as the full read reads them;
- writer.py: the identifier cells rewritten, the file replaced atomically;
- cells.py: records and cells as text (where they are, one cell rewritten).

What it shares with the LDIF adapter is in directory_adapters/file_index.py
(the accounts in memory, search, census) and file_store.py (the write protocol).
"""

from directory_adapters.csv.adapter import DEFAULT_COLUMNS, FIELDS, CsvDirectory
from directory_adapters.file_store import DirectoryProblem

__all__ = ["DEFAULT_COLUMNS", "FIELDS", "CsvDirectory", "DirectoryProblem"]
