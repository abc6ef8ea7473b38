"""Pure trading rules: no Flask, pymongo, redis or sockets below this package."""
