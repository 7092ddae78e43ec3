"""Animation into Blender in bulk: F-curves on slotted actions.
"""
