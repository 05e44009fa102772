"""The daily report: the day's takes as the document the camera and script departments hand to post.

:func:`day_report` reads one day's takes from a take store (a stage's own, or the facility store) into a
:class:`DayReport`; :func:`render_html` writes it as one standalone printable HTML document, and
:func:`render_fragment` as the body a web page embeds (styled by :data:`REPORT_CSS`). See docs/takes.md,
"Daily report".
"""

from stagectl.takes.report.build import FacilityReader, TakeReader, day_report, take_line
from stagectl.takes.report.model import CameraLine, DayReport, NoteLine, RateTotal, TakeLine
from stagectl.takes.report.render import REPORT_CSS, render_fragment, render_html

__all__ = ["REPORT_CSS", "CameraLine", "DayReport", "FacilityReader", "NoteLine", "RateTotal", "TakeLine",
           "TakeReader", "day_report", "render_fragment", "render_html", "take_line"]
