"""crawler/documents"""
