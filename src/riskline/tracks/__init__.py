"""riskline.tracks"""
