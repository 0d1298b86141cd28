"""One plain function per command (train, evaluate, ensemble, detect, bench, report, data summary):
results returned and written into their folders, never printed; ganad_cli.cli runs them."""
