"""The status stage: deadlines, publication evidence, the report that stands for an agency-year, and
the verdict of each agency-year (``gkwatch check`` / ``gkwatch status``)."""
