"""riskline.ingest"""
