"""Judging reports: the rules, deadlines, statuses, scheduler, alert mail, web page and the CLI."""
