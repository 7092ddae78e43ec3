"""File formats Mayhem reads and writes byte-exactly: atomic writes, npz, EXR, PNG.
"""
