"""Run reports (report.md / report.html) and comparison tables across runs."""

from respicast.report.run_report import write_run_report

__all__ = ["write_run_report"]
