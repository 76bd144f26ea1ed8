"""crawler/report"""
