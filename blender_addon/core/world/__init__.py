"""Where people stand: environments (floor height fields), scene summaries, built-in rooms,
and non-touching placement.
"""
