"""Reviews keep no tables of their own: a decision is a registration's status change
(`registrations.version`, `fix_deadline`), its timeline event, its notice and its audit event.
"""
