"""riskline.incidents"""
