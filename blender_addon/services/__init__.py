"""Service functions: the one implementation behind both the add-on's operators and the CLIs."""
