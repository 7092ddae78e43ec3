"""Clothing in numpy: procedural garments, fabrics, pre-roll, checks, looks, user outfits, and
each person's outfit draw.
"""
