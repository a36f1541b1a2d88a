"""The dataset report: the three steps' outputs as one self-contained HTML page and ``report.json``."""

from .build import DEFAULT_OUTPUT_DIR, ReportOptions, ReportResult, build_report
from .listen import ListenOptions

__all__ = ["DEFAULT_OUTPUT_DIR", "ListenOptions", "ReportOptions", "ReportResult", "build_report"]
