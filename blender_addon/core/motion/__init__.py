"""Motions in SMPL-X parameters: AMASS files and the bundled procedural clips.
"""
