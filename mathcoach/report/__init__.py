"""The report: one self-contained HTML file built from run files alone (issue 19)."""
