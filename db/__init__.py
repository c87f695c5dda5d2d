"""Persistence for studies, drafts, reviews and audit records (SQLAlchemy)."""
