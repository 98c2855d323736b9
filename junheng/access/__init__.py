"""Who may read what: accounts and roles, region scope, sessions, the audit log."""
