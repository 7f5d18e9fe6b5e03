"""The book's tests: a package, so that tests/conftest.py and chapters/conftest.py
do not collide as one module named conftest."""
