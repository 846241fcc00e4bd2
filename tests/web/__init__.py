"""Web-app tests (API and browser); a package so its conftest does not shadow tests/conftest.py."""
