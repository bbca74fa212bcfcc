"""The wizard's screens: each shows core state and sends the admin's intent back."""
