"""The headless commands: each drives the core and prints a report."""
