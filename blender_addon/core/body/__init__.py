"""SMPL-X bodies in numpy: the model file and forward pass, skeleton constants, a person's
appearance draws and posing in the world.
"""
