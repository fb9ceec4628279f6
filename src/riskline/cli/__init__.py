"""riskline.cli"""
