"""Clothing in Blender: cloth simulation, dressing a person, fabric materials, user outfits
and painted outfits.
"""
