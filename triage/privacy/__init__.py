"""Privacy: erasure (`forget`), suppression, retention (`purge`); docs/privacy.md."""
