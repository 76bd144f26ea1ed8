"""crawler/platforms"""
