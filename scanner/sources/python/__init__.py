"""Discovery of Python dependencies: manifests and lockfiles in a folder, installed environments,
and the index metadata of the packages they name."""
