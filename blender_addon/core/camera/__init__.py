"""Cameras in the label convention: pinhole maths and each sequence's camera path.
"""
