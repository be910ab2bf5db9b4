"""`tspanel kpis`: placeholder wired by the domain-model work."""
