"""crawler/portal/spiders"""
