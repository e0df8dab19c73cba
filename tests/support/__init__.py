"""Shared test fixtures and helpers: the one place a test finds a stand-in, a recorded engine or an
inventory. Test modules import from here, never from each other."""
