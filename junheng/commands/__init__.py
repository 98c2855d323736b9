"""The command layer: every action that changes state or releases data is one function here.

Each takes the acting account (None for a guest, `accounts.SYSTEM` for the command line) and, in this order,
checks the role and that every region the action touches lies inside the actor's region (`gate.authorize`),
validates, writes through the crash-safe store, and writes the audit entry. Pages, the command line and any API
call these functions and nothing below them (accounts.*, store.*, an importer's write, audit.record).
"""
