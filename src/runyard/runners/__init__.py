"""Runners execute submitted scripts: ``local`` launches a supervisor process per run."""
