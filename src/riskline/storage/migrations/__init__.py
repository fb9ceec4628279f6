"""Alembic migrations of riskline's database, shipped inside the package (see ``riskline.storage.engine``).

``env.py`` is alembic's entry point; ``versions/`` holds one file per revision, in one line of history.
"""
