"""A person in Blender: the SMPL-X rig, skin material, hair and shoes.
"""
