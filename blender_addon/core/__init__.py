"""Pure-numpy core of Mayhem: no bpy, no torch, importable anywhere numpy is."""
