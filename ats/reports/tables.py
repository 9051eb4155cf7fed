"""Each report as a CSV table: one row per stage, reason or job (the JSON's figures, flat)."""
import csv
import io

TABLE_COLUMNS = {
    "funnel": ("stage", "entered", "current", "conversion"),
    "time-in-stage": ("stage", "count", "median_hours", "p90_hours"),
    "time-to-hire": ("job_id", "count", "median_days", "p90_days"),
    "outcomes": ("outcome", "by", "key", "count"),
}


def _rows(name: str, report: dict) -> list:
    if name in ("funnel", "time-in-stage"):
        return report["stages"]
    if name == "time-to-hire":  # every job first: job_id "all"
        return [{**report, "job_id": "all"}, *report["jobs"]]
    return [{"outcome": outcome, "by": by.removeprefix("by_"), "key": key, "count": n}
            for outcome, groups in report.items() for by, counts in groups.items()
            for key, n in counts.items()]


def as_csv(name: str, report: dict) -> str:
    """RFC 4180: a header line, CRLF line ends, empty fields for nulls."""
    out = io.StringIO()
    writer = csv.DictWriter(out, TABLE_COLUMNS[name], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(_rows(name, report))
    return out.getvalue()
