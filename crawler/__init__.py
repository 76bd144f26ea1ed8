"""Finding, fetching and reading annual reports: the Scrapy project (spiders, platforms, pipelines)
and the document parser (``crawler.reading.documents`` reads any format, ``crawler.report`` finds the tables)."""
