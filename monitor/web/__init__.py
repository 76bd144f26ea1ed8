"""The web status page: a server-rendered FastAPI app over the stored statuses (``create_app``).

Reading is public; acting (start a crawl, review a finding) needs an operator login. Each concern lives in
its own small module: ``settings`` (the ``web:`` config section), ``queries`` (filters → SQL), ``auth``,
``audit``, ``exports``, ``report_view`` and one ``routes_*`` module per group of pages.
"""

from monitor.web.app import create_app

__all__ = ["create_app"]
