"""The interactive installer: a Textual UI and a line-based mode, both thin clients of the engine."""
