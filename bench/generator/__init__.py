"""The parts of `bench/datagen.py`, by concern (its docstring says what the data is).

- `names`: the name tables, the weighted draws, the spellings (accents, mojibake, logins);
- `people`: the vocabulary (categories, labels) and the records, people and accounts;
- `population`: who is in the establishment, and which hard case each person carries;
- `cases`: the records and accounts drawn from the people, and what each case changes;
- `pronote`: the identifiers file, in the reference and the timetable forms;
- `directory`: the directory CSV, and the accounts of other establishments streamed into it;
- `truth`: truth.json, what a perfect matcher would find.
"""
