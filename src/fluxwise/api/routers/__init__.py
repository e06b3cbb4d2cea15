"""The endpoints of the HTTP API, one module per kind of object, all mounted under ``/api``."""
