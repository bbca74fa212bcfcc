"""The headless commands, `idpronote COMMAND …`: cli/main.py the frame, cli/commands/ the rest.

Nothing here imports Textual at module level; the wizard and the setup screen
are launched from inside the two functions that start them
(cli/commands/wizard.py, cli/commands/config.py).
"""
