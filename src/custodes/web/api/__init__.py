"""The JSON API under ``/api/``: the same operations as the pages."""
