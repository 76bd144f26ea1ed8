"""Reading: archived document bytes → a ``Reading`` (the cells of the template with how each was read,
the metadata, the prose). Never judges: the rules run later, in ``monitor.judgement``."""
