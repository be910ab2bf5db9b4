"""`tspanel generate`: placeholder wired by the generator work."""
