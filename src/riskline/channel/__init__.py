"""riskline.channel"""
