"""riskline.storage"""
