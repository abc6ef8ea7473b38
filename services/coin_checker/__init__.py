"""The coin checker: margin calls, liquidations and stop orders (coin holdings, positions)."""
