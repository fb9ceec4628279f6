"""riskline.node"""
