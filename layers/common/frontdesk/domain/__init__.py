"""Pure rules: no AWS, no I/O. Most tests live here."""
