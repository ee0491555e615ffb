"""Tables the package reads at run time (see README.md here)."""
