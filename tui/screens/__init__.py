"""The wizard's screens: each shows core state and sends the admin's intent back."""

from core.i18n import register

# Messages shared by several screens live here: importing any screen registers
# them, whatever order the screens are imported in.
register(
    {
        "tui.key.imported": ("Importés", "Imported"),
    }
)
