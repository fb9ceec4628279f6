"""riskline.detection"""
