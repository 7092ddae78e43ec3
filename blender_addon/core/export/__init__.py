"""Exports of a Mayhem dataset to other training-label layouts.
"""
