"""Kickstarts as profiles (docs/kickstart.md).

convert.py reads a kickstart with pykickstart and turns it into a profile; errors.py holds what its
problems are made of. Nothing is imported here: `from profiles.kickstart.errors import ...` stays
light, and pykickstart loads only with convert.py, when a kickstart is read.
"""
