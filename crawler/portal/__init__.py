"""The portal stage: the Scrapy project that finds each agency's report on its portal and archives what it
fetched (pages, attachments, listing snapshots, problems). Never parses documents: reading comes after."""
