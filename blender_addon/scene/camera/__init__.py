"""Camera objects in Blender.
"""
