"""The bundled sample RPM repository used by the demo and the payload tests."""
