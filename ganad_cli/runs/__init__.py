"""Run-folder I/O: reading a run folder (config, splits), its plots and reports, its lock, and the
checks on untrusted files in it."""
