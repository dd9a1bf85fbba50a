"""Prompt optimization: a teacher model writes and refines a student's system message from its mistakes."""
