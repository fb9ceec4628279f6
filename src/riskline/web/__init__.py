"""riskline.web"""
