"""The web status page: a server-rendered FastAPI app over the stored statuses (``create_app``).

Reading is public; acting (start a crawl, review a finding, correct a verdict, manage subscribers) needs an
operator login. Each concern lives in its own small module: ``settings`` (the ``web:`` config section),
``queries`` (filters → SQL, keyset pages), ``summary`` (the table's counts per generation), ``search`` (the
name index), ``freshness`` (last crawl, last check, next crawl; the crawl runs), ``auth``, ``accounts``,
``audit``, ``exports``, ``display`` and ``report_view`` (rows and tables rendered in Python), ``agency_page``,
``evidence`` and one ``routes_*`` module per group of pages. The words are ``monitor.status.wording``'s.
"""

from monitor.web.app import create_app

__all__ = ["create_app"]
